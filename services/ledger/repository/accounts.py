"""Accounts and their balance rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2.extras
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.ledger.domain.model import Account, AccountType, BalanceRule, Direction, PendingStatus
from services.ledger.domain.rules import BalanceState
from services.ledger.repository.rows import utc
from services.runtime.errors import NotFound

ACCOUNT_COLUMNS = (
    "a.id, a.owner_id, a.name, a.type, a.currency, a.balance_rule, a.credit_limit_minor, "
    "a.metadata, a.create_time"
)


def account_row(row: Any) -> Account:
    return Account(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        type=AccountType(row.type),
        currency=row.currency,
        balance_rule=BalanceRule(row.balance_rule),
        credit_limit_minor=row.credit_limit_minor,
        metadata=dict(row.metadata),
        create_time=utc(row.create_time),
    )


def insert_account(
    session: Session, account: Account, request_id: str, normal: Direction, floor: int | None
) -> Account:
    row = session.execute(
        sa.text(
            "INSERT INTO accounts (id, owner_id, name, type, currency, balance_rule, credit_limit_minor, "
            "metadata, request_id) VALUES (:id, :owner_id, :name, :type, :currency, :rule, :limit, "
            "CAST(:metadata AS jsonb), :request_id) RETURNING create_time"
        ),
        {
            "id": account.id,
            "owner_id": account.owner_id,
            "name": account.name,
            "type": int(account.type),
            "currency": account.currency,
            "rule": int(account.balance_rule),
            "limit": account.credit_limit_minor,
            "metadata": json.dumps(account.metadata),
            "request_id": request_id,
        },
    ).one()
    session.execute(
        sa.text(
            "INSERT INTO balances (account_id, currency, normal_side, floor_minor) "
            "VALUES (:id, :currency, :normal, :floor)"
        ),
        {"id": account.id, "currency": account.currency, "normal": int(normal), "floor": floor},
    )
    return Account(**{**account.__dict__, "create_time": utc(row.create_time)})


def update_account_limit(
    session: Session, account_id: str, credit_limit_minor: int, floor: int | None
) -> None:
    """The account's limit and the floor its balance row enforces, changed together."""
    session.execute(
        sa.text("UPDATE accounts SET credit_limit_minor = :limit WHERE id = :id"),
        {"id": account_id, "limit": credit_limit_minor},
    )
    session.execute(
        sa.text("UPDATE balances SET floor_minor = :floor WHERE account_id = :id"),
        {"id": account_id, "floor": floor},
    )


def account_not_found(account_id: str) -> NotFound:
    return NotFound(f"account {account_id} not found", "ACCOUNT_NOT_FOUND", {"account_id": account_id})


def get_account(session: Session, account_id: str) -> Account:
    row = session.execute(
        sa.text(f"SELECT {ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = :id"), {"id": account_id}
    ).one_or_none()
    if row is None:
        raise account_not_found(account_id)
    return account_row(row)


@dataclass(frozen=True)
class AccountView:
    """An account, its balance row and the database's clock, read together; ``due`` when a pending
    transfer touching the account is past its expire_time (not yet released)."""

    account: Account
    state: BalanceState
    now: datetime
    due: bool


_ACCOUNT_VIEW_SQL = (
    f"SELECT {ACCOUNT_COLUMNS}, b.account_id, b.currency AS balance_currency, b.normal_side, b.floor_minor, "
    "b.posted, b.pending_debits, b.pending_credits, clock_timestamp() AS now, "
    "EXISTS (SELECT 1 FROM pending_transfers p "
    f"        WHERE p.status = {int(PendingStatus.PENDING)} AND p.expire_time <= clock_timestamp() "
    "         AND (p.debit_account_id = %(id)s OR p.credit_account_id = %(id)s)) AS due "
    "FROM accounts a JOIN balances b ON b.account_id = a.id WHERE a.id = %(id)s"
)


def account_view(connection: Any, account_id: str) -> AccountView | None:
    """The account ``account_id`` with its balance row in one statement: one round trip on an
    autocommit psycopg2 connection (the statement is its own read-only snapshot); None if unknown."""
    with connection.cursor(cursor_factory=psycopg2.extras.NamedTupleCursor) as cursor:
        cursor.execute(_ACCOUNT_VIEW_SQL, {"id": account_id})
        row = cursor.fetchone()
    if row is None:
        return None
    state = BalanceState(
        account_id=row.account_id,
        currency=row.balance_currency,
        normal=Direction(row.normal_side),
        floor=row.floor_minor,
        posted=row.posted,
        pending_debits=row.pending_debits,
        pending_credits=row.pending_credits,
    )
    return AccountView(account=account_row(row), state=state, now=utc(row.now), due=row.due)


_ACCOUNT_AS_OF_SQL = (
    f"SELECT {ACCOUNT_COLUMNS}, (SELECT COALESCE(SUM(CASE WHEN p.direction = b.normal_side "
    "THEN p.amount_minor ELSE -p.amount_minor END), 0) FROM postings p "
    "WHERE p.account_id = a.id AND p.create_time <= %(t)s) AS posted "
    "FROM accounts a JOIN balances b ON b.account_id = a.id WHERE a.id = %(id)s"
)


def account_posted_as_of(connection: Any, account_id: str, as_of: datetime) -> tuple[Account, int] | None:
    """The account and its posted balance (normal side) from its postings up to ``as_of`` (inclusive),
    in one statement on an autocommit psycopg2 connection; None if unknown."""
    with connection.cursor(cursor_factory=psycopg2.extras.NamedTupleCursor) as cursor:
        cursor.execute(_ACCOUNT_AS_OF_SQL, {"id": account_id, "t": as_of})
        row = cursor.fetchone()
    if row is None:
        return None
    return account_row(row), int(row.posted)


def list_accounts(session: Session, owner_id: str | None, after_id: str, limit: int) -> list[Account]:
    rows = session.execute(
        sa.text(
            f"SELECT {ACCOUNT_COLUMNS} FROM accounts a "
            "WHERE (CAST(:owner AS text) IS NULL OR a.owner_id = :owner) AND a.id > :after "
            "ORDER BY a.id LIMIT :limit"
        ),
        {"owner": owner_id, "after": after_id, "limit": limit},
    ).all()
    return [account_row(r) for r in rows]


def _state(row: Any) -> BalanceState:
    return BalanceState(
        account_id=row.account_id,
        currency=row.currency,
        normal=Direction(row.normal_side),
        floor=row.floor_minor,
        posted=row.posted,
        pending_debits=row.pending_debits,
        pending_credits=row.pending_credits,
    )


_BALANCE_COLUMNS = "account_id, currency, normal_side, floor_minor, posted, pending_debits, pending_credits"


def balance_states(session: Session, account_ids: Iterable[str], *, lock: bool) -> dict[str, BalanceState]:
    """The balance rows of ``account_ids``; NOT_FOUND naming the first unknown one.

    With ``lock``, the rows of bounded accounts (a floor: non-negative and credit-limit
    accounts) are locked FOR UPDATE in account-id order: every writer locks in the same
    order, so concurrent writers wait for each other instead of deadlocking. Unbounded
    accounts' rows (clearing and other system accounts, no floor to check) are read without
    a lock: :func:`save_balances` applies their change as an increment at the commit, so a
    hot one is locked only from there to the end of the transaction (services/ledger/core.py).
    Whether an account has a floor never changes (only a credit limit's value can).
    """
    ids = sorted(set(account_ids))
    if lock:
        sql = (
            f"WITH locked AS (SELECT {_BALANCE_COLUMNS} FROM balances WHERE account_id = ANY(:ids) "
            "AND floor_minor IS NOT NULL ORDER BY account_id FOR UPDATE) "
            f"SELECT {_BALANCE_COLUMNS} FROM locked UNION ALL "
            f"SELECT {_BALANCE_COLUMNS} FROM balances WHERE account_id = ANY(:ids) AND floor_minor IS NULL"
        )
    else:
        sql = f"SELECT {_BALANCE_COLUMNS} FROM balances WHERE account_id = ANY(:ids) ORDER BY account_id"
    rows = session.execute(sa.text(sql), {"ids": ids}).all()
    states = {row.account_id: _state(row) for row in rows}
    for account_id in ids:
        if account_id not in states:
            raise account_not_found(account_id)
    return states


# Unbounded accounts' pending increments of a session: account id -> (posted, debits, credits).
_DEFERRED = "ledger_deferred_balances"


def save_balances(
    session: Session, before: Mapping[str, BalanceState], after: Mapping[str, BalanceState]
) -> None:
    """Write the changed balance rows: bounded ones now (they are locked), unbounded ones at the commit.

    An unbounded account's change is added to the row (``posted = posted + delta``) just before
    the session commits, in account-id order, after every other lock of the transaction, so
    the row lock of a hot clearing account is held only for that statement and the commit.
    """
    changed = [s for account_id, s in after.items() if s != before.get(account_id)]
    bounded = [s for s in changed if s.floor is not None]
    deferred = [s for s in changed if s.floor is None]
    if deferred:
        pending: dict[str, tuple[int, int, int]] = session.info.get(_DEFERRED, {})
        if _DEFERRED not in session.info:
            session.info[_DEFERRED] = pending
            sa.event.listen(session, "before_commit", apply_deferred_balances, once=True)
            if not sa.event.contains(session, "after_soft_rollback", _forget_deferred):
                sa.event.listen(session, "after_soft_rollback", _forget_deferred)
        for state in deferred:
            old = before[state.account_id]
            posted, debits, credits = pending.get(state.account_id, (0, 0, 0))
            pending[state.account_id] = (
                posted + state.posted - old.posted,
                debits + state.pending_debits - old.pending_debits,
                credits + state.pending_credits - old.pending_credits,
            )
    if not bounded:
        return
    values = ", ".join(f"(:id{i}, :p{i}, :d{i}, :c{i})" for i in range(len(bounded)))
    params: dict[str, Any] = {}
    for i, state in enumerate(bounded):
        params.update(
            {
                f"id{i}": state.account_id,
                f"p{i}": state.posted,
                f"d{i}": state.pending_debits,
                f"c{i}": state.pending_credits,
            }
        )
    session.execute(
        sa.text(
            "UPDATE balances b SET posted = CAST(v.posted AS bigint), "
            "pending_debits = CAST(v.debits AS bigint), pending_credits = CAST(v.credits AS bigint) "
            f"FROM (VALUES {values}) AS v(id, posted, debits, credits) WHERE b.account_id = v.id"
        ),
        params,
    )


def apply_deferred_balances(session: Session) -> None:
    """Add the unbounded accounts' increments of ``session`` (the before_commit hook of save_balances).

    One row at a time in account-id order: the order every writer takes these last locks in.
    """
    pending: dict[str, tuple[int, int, int]] = session.info.pop(_DEFERRED, {})
    for account_id in sorted(pending):
        posted, debits, credits = pending[account_id]
        if posted == debits == credits == 0:
            continue
        session.execute(
            sa.text(
                "UPDATE balances SET posted = posted + :p, pending_debits = pending_debits + :d, "
                "pending_credits = pending_credits + :c WHERE account_id = :id"
            ),
            {"id": account_id, "p": posted, "d": debits, "c": credits},
        )


def _forget_deferred(session: Session, previous_transaction: Any) -> None:
    """A rolled-back transaction's increments are not applied by a later commit of the session.

    Only when the session's own transaction ended: a savepoint rolled back inside it keeps them.
    """
    if not session.in_transaction():
        session.info.pop(_DEFERRED, None)


def posted_as_of(
    session: Session, account_id: str, normal: Direction, as_of: datetime | None, before: bool = False
) -> int:
    """The posted balance (normal side) from the postings up to ``as_of`` (inclusive, or exclusive
    with ``before``); None means every posting."""
    op = "<" if before else "<="
    row = session.execute(
        sa.text(
            "SELECT COALESCE(SUM(CASE WHEN direction = :normal THEN amount_minor ELSE -amount_minor END), 0) "
            "FROM postings WHERE account_id = :id AND (CAST(:t AS timestamptz) IS NULL OR create_time "
            f"{op} :t)"
        ),
        {"normal": int(normal), "id": account_id, "t": as_of},
    ).scalar_one()
    return int(row)


def database_now(session: Session) -> datetime:
    return utc(session.execute(sa.text("SELECT clock_timestamp()")).scalar_one())
