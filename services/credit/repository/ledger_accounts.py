"""The ledger accounts the credit service opened, by owner, purpose and currency."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

# -- ledger accounts -----------------------------------------------------------------------------


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
