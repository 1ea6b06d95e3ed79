"""The credit service's idempotency keys."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session


def lock_key(session: Session, scope: str, key: str) -> None:
    """Serialize requests with the same idempotency key until this transaction ends."""
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"credit/{scope}/{key}"}
    )

# -- idempotency ---------------------------------------------------------------------------------


def get_key(session: Session, scope: str, key: str) -> tuple[str, str, bytes] | None:
    row = session.execute(
        sa.text(
            "SELECT operation, fingerprint, response FROM idempotency_keys WHERE scope = :s AND key = :k"
        ),
        {"s": scope, "k": key},
    ).first()
    return None if row is None else (row.operation, row.fingerprint, bytes(row.response))


def save_key(
    session: Session, scope: str, key: str, operation: str, fingerprint: str, response: bytes
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO idempotency_keys (scope, key, operation, fingerprint, response) "
            "VALUES (:s, :k, :o, :f, :r)"
        ),
        {"s": scope, "k": key, "o": operation, "f": fingerprint, "r": response},
    )
