"""The ledger accounts a service opened, by (owner, purpose, currency): the table
``ledger_accounts`` that the payment and the credit service each keep in their own database, so
that each account is opened at the ledger once (the ledger's idempotency key makes a repeated
opening return the same account)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.runtime.db import run_in_transaction
from services.runtime.ledger_client import AccountType, BalanceRule, LedgerClient


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


def opened_account(
    engine: Engine,
    ledger: LedgerClient,
    *,
    owner_id: str,
    purpose: str,
    currency: str,
    type_: AccountType,
    rule: BalanceRule,
    request_id: str,
) -> str:
    """The ledger account (owner, purpose, currency): the one recorded, else one opened at the ledger
    under ``request_id`` (derived from the triple, so concurrent first uses open one account) and
    recorded. A failed call raises :class:`services.runtime.clients.RemoteError` for the caller to map."""
    found = run_in_transaction(engine, lambda s: ledger_account(s, owner_id, purpose, currency))
    if found:
        return found
    account = ledger.create_account(
        owner_id=owner_id, name=purpose, type_=type_, currency=currency, rule=rule, request_id=request_id
    )
    run_in_transaction(engine, lambda s: save_ledger_account(s, owner_id, purpose, currency, account.id))
    return account.id


def account_named(ledger: LedgerClient, owner_id: str, name: str, currency: str) -> str | None:
    """The id of the owner's ledger account of that name and currency (e.g. the wallet the payment
    service opened), found in the ledger; None when it has none."""
    for account in ledger.accounts_of(owner_id):
        if account.name == name and account.currency == currency:
            return account.id
    return None
