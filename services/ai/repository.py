"""The AI service's tables and queries, used only inside a unit of work (a Session in a transaction).

Plain SQL through SQLAlchemy Core ``text``, as in the other services. The
registry's own tables are queried in ``registry.py``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.ai.domain import Decision, InferenceRecord, Kind, result_from_json, to_json


@dataclass(frozen=True)
class CheckedTxn:
    """One row of ``checked_transactions``: a transaction submitted to CheckFraud."""

    user_id: str
    inference_id: str
    txn_time: datetime
    amount_minor: int
    currency: str
    merchant_id: str
    category: str
    country: str
    device_id: str
    channel: int
    decision: str


def locked_history(session: Session, user_id: str, start: datetime, end: datetime) -> list[CheckedTxn]:
    """Take ``user_id``'s fraud-check lock, then read its checked transactions with
    ``start < txn_time <= end``, oldest first: one round trip (migration 0003's ``ai_locked_history``).

    The lock (transaction-scoped, held to the commit) serializes checks of one user across every
    process and replica, so concurrent checks of a user see each other in the velocity features;
    the read runs after the lock is granted, so it sees the row of the check it waited for.
    """
    rows = session.execute(_LOCKED_HISTORY, {"u": user_id, "s": start, "e": end}).all()
    return [CheckedTxn(**row._mapping) for row in rows]


# Built once: a TextClause parses its text for bind parameters when constructed (per call, it was a
# visible share of a check's Python time in py-spy's --gil profile).
_LOCKED_HISTORY = sa.text(
    "SELECT user_id, inference_id, txn_time, amount_minor, currency, merchant_id, category, country, "
    "device_id, channel, decision FROM ai_locked_history(:u, :s, :e)"
)


def _record(row: Any) -> InferenceRecord:
    kind = Kind(row.kind)
    output = row.output if isinstance(row.output, dict) else json.loads(row.output)
    return InferenceRecord(
        id=row.id,
        kind=kind,
        model_name=row.model_name,
        model_version=row.model_version,
        caller=row.caller,
        request_id=row.request_id,
        input_sha256=row.input_sha256.strip(),
        output=result_from_json(kind, output),
        latency_micros=int(row.latency_micros),
        create_time=row.create_time,
    )


_INFERENCE_COLUMNS = (
    "id, kind, model_name, model_version, caller, request_id, input_sha256, output, "
    "latency_micros, create_time"
)


def get_inference(session: Session, inference_id: str) -> InferenceRecord | None:
    row = session.execute(
        sa.text(f"SELECT {_INFERENCE_COLUMNS} FROM inferences WHERE id = :id"), {"id": inference_id}
    ).one_or_none()
    return None if row is None else _record(row)


def insert_inference(session: Session, record: InferenceRecord) -> None:
    session.execute(sa.text(_INSERT_INFERENCE), _inference_params(record))


_INSERT_INFERENCE = (
    "INSERT INTO inferences (id, kind, model_name, model_version, caller, request_id, input_sha256, "
    "output, latency_micros, create_time) VALUES (:id, :kind, :model, :version, :caller, :rid, :sha, "
    "CAST(:output AS jsonb), :latency, :t)"
)
_INSERT_CHECKED = (
    "INSERT INTO checked_transactions (user_id, inference_id, txn_time, amount_minor, currency, "
    "merchant_id, category, country, device_id, channel, decision) VALUES (:user_id, :inference_id, "
    ":txn_time, :amount_minor, :currency, :merchant_id, :category, :country, :device_id, :channel, "
    ":decision)"
)


def _inference_params(record: InferenceRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind.value,
        "model": record.model_name,
        "version": record.model_version,
        "caller": record.caller,
        "rid": record.request_id,
        "sha": record.input_sha256,
        "output": to_json(record.output),
        "latency": record.latency_micros,
        "t": record.create_time,
    }


def insert_fraud_check(
    session: Session, record: InferenceRecord, txn: CheckedTxn, key: tuple[str, dict[str, Any]]
) -> None:
    """A fraud check's audit row, its history row and its idempotency key's stored response
    (``key``: ``IdempotencyStore.complete_statement``) in one statement: one round trip while the
    user's lock is held, instead of three."""
    key_sql, key_params = key
    params = {**_inference_params(record), **txn.__dict__}
    assert not params.keys() & key_params.keys(), "parameter names of the audit and the key collide"
    session.execute(_fraud_check_statement(key_sql), {**params, **key_params})


@functools.lru_cache(maxsize=8)
def _fraud_check_statement(key_sql: str) -> sa.TextClause:
    return sa.text(f"WITH audit AS ({_INSERT_INFERENCE}), response AS ({key_sql}) {_INSERT_CHECKED}")


def checked_history(
    session: Session, user_id: str, start: datetime, end: datetime, *, exclude_declined: bool = False
) -> list[CheckedTxn]:
    """The user's checked transactions with ``start < txn_time <= end``, oldest first."""
    rows = session.execute(
        sa.text(
            "SELECT user_id, inference_id, txn_time, amount_minor, currency, merchant_id, category, country, "
            "device_id, channel, decision FROM checked_transactions "
            "WHERE user_id = :u AND txn_time > :s AND txn_time <= :e AND (NOT :x OR decision <> :decline) "
            "ORDER BY txn_time, id"
        ),
        {"u": user_id, "s": start, "e": end, "x": exclude_declined, "decline": Decision.DECLINE.value},
    ).all()
    return [CheckedTxn(**row._mapping) for row in rows]


def first_checked_time(session: Session, user_id: str, currency: str) -> datetime | None:
    value = session.execute(
        sa.text(
            "SELECT min(txn_time) FROM checked_transactions WHERE user_id = :u AND currency = :c "
            "AND decision <> :decline"
        ),
        {"u": user_id, "c": currency, "decline": Decision.DECLINE.value},
    ).scalar()
    return value if isinstance(value, datetime) else None


def daily_spending(
    session: Session, user_id: str, currency: str, first_day: int, last_day: int
) -> dict[int, int]:
    """Outgoing money per UTC day (days since the epoch) in [first_day, last_day], without declined ones."""
    rows = session.execute(
        sa.text(
            "SELECT floor(extract(epoch FROM txn_time) / 86400)::bigint AS day, "
            "sum(amount_minor)::bigint AS total "
            "FROM checked_transactions WHERE user_id = :u AND currency = :c AND decision <> :decline "
            "AND txn_time >= to_timestamp(:a * 86400) AND txn_time < to_timestamp((:b + 1) * 86400) "
            "GROUP BY 1"
        ),
        {"u": user_id, "c": currency, "a": first_day, "b": last_day, "decline": Decision.DECLINE.value},
    ).all()
    return {int(r.day): int(r.total) for r in rows}
