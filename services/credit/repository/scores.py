"""Credit scores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.credit.domain.model import (
    Score,
)
from services.credit.repository.codecs import (
    created_within,
    reasons,
    reasons_json,
)

# -- scores --------------------------------------------------------------------------------------


def insert_score(session: Session, score: Score) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_scores (id, user_id, score, default_probability_bps, reasons, model_version, "
            "application_id, create_time) VALUES (:id, :u, :s, :p, CAST(:r AS jsonb), :m, :a, :t)"
        ),
        {
            "id": score.id,
            "u": score.user_id,
            "s": score.score,
            "p": score.default_probability_bps,
            "r": reasons_json(score.reasons),
            "m": score.model_version,
            "a": score.application_id,
            "t": score.create_time,
        },
    )


def _score(row: Any) -> Score:
    return Score(
        row.id,
        row.user_id,
        row.score,
        row.default_probability_bps,
        reasons(row.reasons),
        row.model_version,
        row.create_time,
        row.application_id,
    )


_SCORE_COLUMNS = (
    "id, user_id, score, default_probability_bps, reasons, model_version, create_time, application_id"
)


def latest_score(session: Session, user_id: str) -> Score | None:
    row = session.execute(
        sa.text(
            f"SELECT {_SCORE_COLUMNS} FROM credit_scores WHERE user_id = :u "
            "ORDER BY create_time DESC, id DESC LIMIT 1"
        ),
        {"u": user_id},
    ).first()
    return None if row is None else _score(row)


def get_score(session: Session, score_id: str) -> Score | None:
    row = session.execute(
        sa.text(f"SELECT {_SCORE_COLUMNS} FROM credit_scores WHERE id = :id"), {"id": score_id}
    ).first()
    return None if row is None else _score(row)


@dataclass(frozen=True)
class ScoreFilter:
    """Which of a user's scores a history returns (newest first): those created in [start, end)."""

    user_id: str
    start: datetime | None = None
    end: datetime | None = None


def list_scores(
    session: Session, where: ScoreFilter, after: tuple[datetime, str] | None, limit: int
) -> list[Score]:
    clauses = ["user_id = :u"]
    params: dict[str, Any] = {"u": where.user_id, "n": limit}
    created_within(clauses, params, where.start, where.end)
    if after is not None:
        clauses.append("(create_time, id) < (:at, :aid)")
        params["at"], params["aid"] = after
    rows = session.execute(
        sa.text(
            f"SELECT {_SCORE_COLUMNS} FROM credit_scores WHERE {' AND '.join(clauses)} "
            "ORDER BY create_time DESC, id DESC LIMIT :n"
        ),
        params,
    ).all()
    return [_score(r) for r in rows]
