"""SQL of the connector log: every gateway call attempted and every callback event received."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.payment.domain.model import Disposition
from services.payment.domain.states import Status


def record_attempt(
    session: Session,
    payment_id: str,
    connector: str,
    operation: str,
    reference: str,
    outcome: str,
    external_reference: str = "",
    detail: str = "",
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO connector_attempts (payment_id, connector, operation, reference, outcome, "
            "external_reference, detail) VALUES (:p, :c, :o, :r, :out, :x, :d)"
        ),
        {
            "p": payment_id,
            "c": connector,
            "o": operation,
            "r": reference,
            "out": outcome,
            "x": external_reference,
            "d": detail[:500],
        },
    )


def event_seen(session: Session, connector: str, event_id: str) -> Any | None:
    return session.execute(
        sa.text(
            "SELECT payment_id, disposition, status_after FROM connector_events "
            "WHERE connector = :c AND event_id = :e"
        ),
        {"c": connector, "e": event_id},
    ).first()


def record_event(
    session: Session,
    connector: str,
    event_id: str,
    payment_id: str,
    outcome: str,
    disposition: Disposition,
    status_after: Status,
) -> bool:
    row = session.execute(
        sa.text(
            "INSERT INTO connector_events (connector, event_id, payment_id, outcome, disposition, "
            "status_after) "
            "VALUES (:c, :e, :p, :o, :d, :s) ON CONFLICT DO NOTHING RETURNING event_id"
        ),
        {
            "c": connector,
            "e": event_id,
            "p": payment_id,
            "o": outcome,
            "d": int(disposition),
            "s": int(status_after),
        },
    ).first()
    return row is not None
