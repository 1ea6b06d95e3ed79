"""The ledger accounts a service opened, by (owner, purpose, currency): the table
``ledger_accounts`` that the payment and the credit service each keep in their own database, so
that each account is opened at the ledger once (the ledger's idempotency key makes a repeated
opening return the same account)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session


def ledger_account(session: Session, owner_id: str, purpose: str, currency: str) -> str | None:
    value = session.execute(
        sa.text(
            "SELECT account_id FROM ledger_accounts WHERE owner_id = :o AND purpose = :p AND currency = :c"
        ),
        {"o": owner_id, "p": purpose, "c": currency},
    ).scalar()
    return None if value is None else str(value)


def save_ledger_account(
    session: Session, owner_id: str, purpose: str, currency: str, account_id: str
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO ledger_accounts (owner_id, purpose, currency, account_id) VALUES (:o, :p, :c, :a) "
            "ON CONFLICT DO NOTHING"
        ),
        {"o": owner_id, "p": purpose, "c": currency, "a": account_id},
    )
