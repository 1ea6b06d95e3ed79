"""SQL of refunds; used only inside a unit of work (a Session)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.payment.domain.model import Refund, RefundState


def refund_from_row(row: Any) -> Refund:
    m = row._mapping
    return Refund(
        id=m["id"],
        payment_id=m["payment_id"],
        amount_minor=m["amount_minor"],
        currency=m["currency"],
        reason=m["reason"],
        state=RefundState(m["state"]),
        transaction_id=m["transaction_id"],
        external_reference=m["external_reference"],
        request_id=m["request_id"],
        actor=m["actor"],
        create_time=m["create_time"],
    )


def insert_refund(session: Session, refund: Refund) -> None:
    session.execute(
        sa.text(
            "INSERT INTO refunds (id, payment_id, amount_minor, currency, reason, state, request_id, actor, "
            "create_time) VALUES (:id, :p, :a, :c, :r, :pending, :k, :actor, :now)"
        ),
        {
            "id": refund.id,
            "p": refund.payment_id,
            "a": refund.amount_minor,
            "c": refund.currency,
            "r": refund.reason,
            "k": refund.request_id,
            "pending": RefundState.PENDING.value,
            "actor": refund.actor,
            "now": refund.create_time,
        },
    )


def get_refund(session: Session, refund_id: str) -> Refund:
    row = session.execute(sa.text("SELECT * FROM refunds WHERE id = :id"), {"id": refund_id}).one()
    return refund_from_row(row)


def stale_pending_refunds(
    session: Session, now: datetime, stale_after_seconds: int, limit: int
) -> list[Refund]:
    """Refunds still pending after ``stale_after_seconds``: their driver died or the gateway failed."""
    rows = session.execute(
        sa.text(
            "SELECT * FROM refunds WHERE state = :pending "
            "AND create_time < CAST(:now AS timestamptz) - make_interval(secs => :s) "
            "ORDER BY create_time LIMIT :n"
        ),
        {"s": stale_after_seconds, "n": limit, "now": now, "pending": RefundState.PENDING.value},
    ).all()
    return [refund_from_row(r) for r in rows]


def refunds_of(session: Session, payment_id: str) -> list[Refund]:
    rows = session.execute(
        sa.text("SELECT * FROM refunds WHERE payment_id = :p AND state <> :failed ORDER BY create_time"),
        {"p": payment_id, "failed": RefundState.FAILED.value},
    ).all()
    return [refund_from_row(r) for r in rows]


def refunds_in_flight(session: Session, payment_id: str) -> int:
    value = session.execute(
        sa.text(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM refunds WHERE payment_id = :p AND state = :pending"
        ),
        {"p": payment_id, "pending": RefundState.PENDING.value},
    ).scalar_one()
    return int(value)


def update_refund(session: Session, refund_id: str, **fields: str) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    values = {name: str(value) for name, value in fields.items()}  # a RefundState binds as its text
    session.execute(sa.text(f"UPDATE refunds SET {assignments} WHERE id = :id"), {**values, "id": refund_id})
