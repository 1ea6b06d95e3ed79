"""Credit lines and their changes."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.credit.domain.model import (
    CreditLine,
    LineStatus,
)

# -- credit lines --------------------------------------------------------------------------------


def get_line(session: Session, user_id: str, *, lock: bool = False) -> CreditLine | None:
    row = session.execute(
        sa.text(
            "SELECT id, user_id, currency, limit_minor, status, apr_bps, ledger_account_id, create_time, "
            "update_time FROM credit_lines WHERE user_id = :u" + (" FOR UPDATE" if lock else "")
        ),
        {"u": user_id},
    ).first()
    if row is None:
        return None
    return CreditLine(
        row.id,
        row.user_id,
        row.currency,
        row.limit_minor,
        LineStatus(row.status),
        row.apr_bps,
        row.ledger_account_id,
        row.create_time,
        row.update_time,
    )


def insert_line(session: Session, line: CreditLine) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_lines (id, user_id, currency, limit_minor, status, apr_bps, "
            "ledger_account_id, create_time, update_time) VALUES (:id, :u, :c, :l, :s, :a, :acc, :ct, :ut)"
        ),
        {
            "id": line.id,
            "u": line.user_id,
            "c": line.currency,
            "l": line.limit,
            "s": int(line.status),
            "a": line.apr_bps,
            "acc": line.ledger_account_id,
            "ct": line.create_time,
            "ut": line.update_time,
        },
    )


def update_line(session: Session, line: CreditLine) -> None:
    session.execute(
        sa.text(
            "UPDATE credit_lines SET limit_minor = :l, status = :s, apr_bps = :a, update_time = :ut "
            "WHERE id = :id"
        ),
        {"id": line.id, "l": line.limit, "s": int(line.status), "a": line.apr_bps, "ut": line.update_time},
    )


def add_line_change(session: Session, line: CreditLine, reason: str, actor: str, request_id: str) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_line_changes (credit_line_id, limit_minor, status, apr_bps, reason, actor, "
            "request_id, change_time) VALUES (:id, :l, :s, :a, :r, :actor, :rid, :t)"
        ),
        {
            "id": line.id,
            "l": line.limit,
            "s": int(line.status),
            "a": line.apr_bps,
            "r": reason,
            "actor": actor,
            "rid": request_id,
            "t": line.update_time,
        },
    )
