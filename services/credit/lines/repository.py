"""SQL of credit lines in use: the line's running state, intents, and the append-only records.

Used only inside a transaction that holds the line's ``credit_lines`` row ``FOR UPDATE``
(the one lock that orders everything done to a line), except ``insert_intent``, which is
committed on its own connection before the ledger call. ``line_intents`` has no foreign key:
its ``KEY SHARE`` lock would wait on the line row that the calling transaction holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

IDEMPOTENCY_TABLE = "credit_line_idempotency_keys"


@dataclass(frozen=True)
class LineState:
    """What the line owes now: principal drawn, unpaid interest, the interest fraction carried."""

    line_id: str
    principal: int
    interest_due: int
    carry: int
    accrued_through: date  # the last day whose interest is posted


@dataclass(frozen=True)
class Intent:
    """A draw or repayment written down before its ledger call, so the money moves once."""

    seq: int
    kind: str  # "draw" | "repayment"
    op_id: str
    line_id: str
    scope: str
    request_id: str
    actor: str
    day: date  # the day it takes effect (the clock's date when it was made)
    amount: int
    interest: int
    principal: int
    wallet_account_id: str
    ledger_key: str
    create_time: datetime


@dataclass(frozen=True)
class Draw:
    id: str
    line_id: str
    user_id: str
    amount: int
    currency: str
    day: date
    transaction_id: str
    request_id: str
    actor: str
    create_time: datetime


@dataclass(frozen=True)
class LineRepayment:
    id: str
    line_id: str
    user_id: str
    amount: int
    interest: int
    principal: int
    currency: str
    day: date
    transaction_id: str
    request_id: str
    actor: str
    create_time: datetime


@dataclass(frozen=True)
class Statement:
    id: str
    line_id: str
    user_id: str
    currency: str
    period_start: date
    period_end: date
    opening_balance: int
    draws: int
    repayments: int
    interest: int
    closing_balance: int
    minimum_payment: int
    due_date: date
    apr_bps: int
    create_time: datetime


# -- state -------------------------------------------------------------------------------------------
def get_state(session: Session, line_id: str) -> LineState | None:
    row = session.execute(
        sa.text(
            "SELECT line_id, principal_minor, interest_due_minor, carry, accrued_through "
            "FROM credit_line_state WHERE line_id = :l"
        ),
        {"l": line_id},
    ).first()
    return (
        None
        if row is None
        else LineState(
            row.line_id, row.principal_minor, row.interest_due_minor, row.carry, row.accrued_through
        )
    )


def save_state(session: Session, state: LineState, now: datetime) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_line_state (line_id, principal_minor, interest_due_minor, carry, "
            "accrued_through, update_time) VALUES (:l, :p, :i, :c, :d, :t) ON CONFLICT (line_id) DO UPDATE "
            "SET principal_minor = :p, interest_due_minor = :i, carry = :c, accrued_through = :d, "
            "update_time = :t"
        ),
        {
            "l": state.line_id,
            "p": state.principal,
            "i": state.interest_due,
            "c": state.carry,
            "d": state.accrued_through,
            "t": now,
        },
    )


def lines_in_use(session: Session, after: str, limit: int) -> list[str]:
    """Ids of the users whose lines have a state (drawn at least once), in id order, for the daily job."""
    rows = session.execute(
        sa.text(
            "SELECT l.user_id FROM credit_line_state s JOIN credit_lines l ON l.id = s.line_id "
            "WHERE l.user_id > :a ORDER BY l.user_id LIMIT :n"
        ),
        {"a": after, "n": limit},
    )
    return [str(r.user_id) for r in rows]


# -- intents -----------------------------------------------------------------------------------------
_INTENT_COLUMNS = (
    "seq, kind, op_id, line_id, scope, request_id, actor, day, amount_minor, interest_minor, "
    "principal_minor, wallet_account_id, ledger_key, create_time"
)


def insert_intent(session: Session, intent: Intent) -> int:
    seq = session.execute(
        sa.text(
            "INSERT INTO credit_line_intents (kind, op_id, line_id, scope, request_id, actor, day, "
            "amount_minor, interest_minor, principal_minor, wallet_account_id, ledger_key, create_time) "
            "VALUES (:k, :o, :l, :s, :r, :a, :d, :m, :i, :p, :w, :key, :t) RETURNING seq"
        ),
        {
            "k": intent.kind,
            "o": intent.op_id,
            "l": intent.line_id,
            "s": intent.scope,
            "r": intent.request_id,
            "a": intent.actor,
            "d": intent.day,
            "m": intent.amount,
            "i": intent.interest,
            "p": intent.principal,
            "w": intent.wallet_account_id,
            "key": intent.ledger_key,
            "t": intent.create_time,
        },
    ).scalar_one()
    return int(seq)


def intents(session: Session, line_id: str) -> list[Intent]:
    rows = session.execute(
        sa.text(f"SELECT {_INTENT_COLUMNS} FROM credit_line_intents WHERE line_id = :l ORDER BY seq"),
        {"l": line_id},
    )
    return [
        Intent(
            r.seq,
            r.kind,
            r.op_id,
            r.line_id,
            r.scope,
            r.request_id,
            r.actor,
            r.day,
            r.amount_minor,
            r.interest_minor,
            r.principal_minor,
            r.wallet_account_id,
            r.ledger_key,
            r.create_time,
        )
        for r in rows
    ]


def delete_intent(session: Session, seq: int) -> None:
    session.execute(sa.text("DELETE FROM credit_line_intents WHERE seq = :s"), {"s": seq})


# -- records (append-only) ---------------------------------------------------------------------------
def insert_draw(session: Session, draw: Draw) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_line_draws (id, line_id, user_id, amount_minor, currency, day, "
            "transaction_id, request_id, actor, create_time) "
            "VALUES (:id, :l, :u, :m, :c, :d, :tx, :r, :a, :t)"
        ),
        {
            "id": draw.id,
            "l": draw.line_id,
            "u": draw.user_id,
            "m": draw.amount,
            "c": draw.currency,
            "d": draw.day,
            "tx": draw.transaction_id,
            "r": draw.request_id,
            "a": draw.actor,
            "t": draw.create_time,
        },
    )


def get_draw(session: Session, draw_id: str) -> Draw | None:
    r = session.execute(
        sa.text(
            "SELECT id, line_id, user_id, amount_minor, currency, day, transaction_id, request_id, actor, "
            "create_time FROM credit_line_draws WHERE id = :id"
        ),
        {"id": draw_id},
    ).first()
    return (
        None
        if r is None
        else Draw(
            r.id,
            r.line_id,
            r.user_id,
            r.amount_minor,
            r.currency,
            r.day,
            r.transaction_id,
            r.request_id,
            r.actor,
            r.create_time,
        )
    )


def insert_repayment(session: Session, rep: LineRepayment) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_line_repayments (id, line_id, user_id, amount_minor, interest_minor, "
            "principal_minor, currency, day, transaction_id, request_id, actor, create_time) "
            "VALUES (:id, :l, :u, :m, :i, :p, :c, :d, :tx, :r, :a, :t)"
        ),
        {
            "id": rep.id,
            "l": rep.line_id,
            "u": rep.user_id,
            "m": rep.amount,
            "i": rep.interest,
            "p": rep.principal,
            "c": rep.currency,
            "d": rep.day,
            "tx": rep.transaction_id,
            "r": rep.request_id,
            "a": rep.actor,
            "t": rep.create_time,
        },
    )


def get_repayment(session: Session, repayment_id: str) -> LineRepayment | None:
    r = session.execute(
        sa.text(
            "SELECT id, line_id, user_id, amount_minor, interest_minor, principal_minor, currency, day, "
            "transaction_id, request_id, actor, create_time FROM credit_line_repayments WHERE id = :id"
        ),
        {"id": repayment_id},
    ).first()
    return (
        None
        if r is None
        else LineRepayment(
            r.id,
            r.line_id,
            r.user_id,
            r.amount_minor,
            r.interest_minor,
            r.principal_minor,
            r.currency,
            r.day,
            r.transaction_id,
            r.request_id,
            r.actor,
            r.create_time,
        )
    )


def insert_interest(
    session: Session,
    line_id: str,
    day: date,
    principal: int,
    apr_bps: int,
    interest: int,
    carry: int,
    transaction_id: str,
    now: datetime,
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO credit_line_interest (line_id, day, principal_minor, apr_bps, interest_minor, "
            "carry, transaction_id, create_time) VALUES (:l, :d, :p, :apr, :i, :c, :tx, :t)"
        ),
        {
            "l": line_id,
            "d": day,
            "p": principal,
            "apr": apr_bps,
            "i": interest,
            "c": carry,
            "tx": transaction_id,
            "t": now,
        },
    )


@dataclass(frozen=True)
class PeriodSums:
    draws: int
    repayments: int
    interest: int
    active: bool  # anything happened in the period


def period_sums(session: Session, line_id: str, first: date, last: date) -> PeriodSums:
    row = session.execute(
        sa.text(
            "SELECT (SELECT COALESCE(SUM(amount_minor), 0) FROM credit_line_draws "
            "         WHERE line_id = :l AND day BETWEEN :f AND :t) AS draws, "
            "       (SELECT COALESCE(SUM(amount_minor), 0) FROM credit_line_repayments "
            "         WHERE line_id = :l AND day BETWEEN :f AND :t) AS repayments, "
            "       (SELECT COALESCE(SUM(interest_minor), 0) FROM credit_line_interest "
            "         WHERE line_id = :l AND day BETWEEN :f AND :t) AS interest, "
            "       EXISTS (SELECT 1 FROM credit_line_draws WHERE line_id = :l AND day BETWEEN :f AND :t) "
            "       OR EXISTS (SELECT 1 FROM credit_line_repayments WHERE line_id = :l "
            "                  AND day BETWEEN :f AND :t) AS active"
        ),
        {"l": line_id, "f": first, "t": last},
    ).one()
    return PeriodSums(int(row.draws), int(row.repayments), int(row.interest), bool(row.active))


def first_activity_day(session: Session, line_id: str) -> date | None:
    value = session.execute(
        sa.text("SELECT MIN(day) FROM credit_line_draws WHERE line_id = :l"), {"l": line_id}
    ).scalar()
    return value if isinstance(value, date) else None


_STATEMENT_COLUMNS = (
    "id, line_id, user_id, currency, period_start, period_end, opening_minor, draws_minor, "
    "repayments_minor, interest_minor, closing_minor, minimum_payment_minor, due_date, "
    "apr_bps, create_time"
)


def _statement(r: sa.Row) -> Statement:
    return Statement(
        r.id,
        r.line_id,
        r.user_id,
        r.currency,
        r.period_start,
        r.period_end,
        r.opening_minor,
        r.draws_minor,
        r.repayments_minor,
        r.interest_minor,
        r.closing_minor,
        r.minimum_payment_minor,
        r.due_date,
        r.apr_bps,
        r.create_time,
    )


def insert_statement(session: Session, s: Statement) -> None:
    session.execute(
        sa.text(
            f"INSERT INTO credit_line_statements ({_STATEMENT_COLUMNS}) VALUES (:id, :l, :u, :c, :ps, :pe, "
            ":o, :d, :r, :i, :cl, :mp, :due, :apr, :t)"
        ),
        {
            "id": s.id,
            "l": s.line_id,
            "u": s.user_id,
            "c": s.currency,
            "ps": s.period_start,
            "pe": s.period_end,
            "o": s.opening_balance,
            "d": s.draws,
            "r": s.repayments,
            "i": s.interest,
            "cl": s.closing_balance,
            "mp": s.minimum_payment,
            "due": s.due_date,
            "apr": s.apr_bps,
            "t": s.create_time,
        },
    )


def latest_statement(session: Session, line_id: str) -> Statement | None:
    r = session.execute(
        sa.text(
            f"SELECT {_STATEMENT_COLUMNS} FROM credit_line_statements WHERE line_id = :l "
            "ORDER BY period_start DESC LIMIT 1"
        ),
        {"l": line_id},
    ).first()
    return None if r is None else _statement(r)


def statements(session: Session, user_id: str, before: date | None, limit: int) -> list[Statement]:
    """A user's statements, newest first, those of periods starting before ``before``."""
    rows = session.execute(
        sa.text(
            f"SELECT {_STATEMENT_COLUMNS} FROM credit_line_statements WHERE user_id = :u "
            "AND (CAST(:b AS date) IS NULL OR period_start < :b) ORDER BY period_start DESC LIMIT :n"
        ),
        {"u": user_id, "b": before, "n": limit},
    )
    return [_statement(r) for r in rows]


def get_statement(session: Session, statement_id: str) -> Statement | None:
    r = session.execute(
        sa.text(f"SELECT {_STATEMENT_COLUMNS} FROM credit_line_statements WHERE id = :id"),
        {"id": statement_id},
    ).first()
    return None if r is None else _statement(r)
