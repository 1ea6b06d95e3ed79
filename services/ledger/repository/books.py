"""Reconciliation reads and the books' invariants: trial balance, totals, drifts, late holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.ledger.domain.model import (
    Account,
    Direction,
    Entry,
    PendingStatus,
    PendingTransfer,
    TransactionType,
)
from services.ledger.repository.accounts import ACCOUNT_COLUMNS, account_row
from services.ledger.repository.entries import ENTRY_COLUMNS, REVERSED_BY, SEALED_ENTRIES, entries_from_rows
from services.ledger.repository.pending import PENDING_COLUMNS, pending_row
from services.ledger.repository.rows import utc

# The enums' stored values, spelled into the SQL (constants, never user input).
_DEBIT, _CREDIT = int(Direction.DEBIT), int(Direction.CREDIT)
_OPEN = int(PendingStatus.PENDING)


def trial_balance(session: Session, as_of: datetime | None) -> list[tuple[Account, int, int]]:
    """Every account with postings up to ``as_of``: (account, debit total, credit total)."""
    rows = session.execute(
        sa.text(
            f"SELECT {ACCOUNT_COLUMNS}, t.debits, t.credits FROM accounts a JOIN ("
            f"  SELECT account_id, SUM(CASE WHEN direction = {_DEBIT} THEN amount_minor ELSE 0 END) AS "
            "debits, "
            f"         SUM(CASE WHEN direction = {_CREDIT} THEN amount_minor ELSE 0 END) AS credits "
            "  FROM postings WHERE CAST(:t AS timestamptz) IS NULL OR create_time <= :t GROUP BY account_id"
            ") t ON t.account_id = a.id ORDER BY a.currency, a.id"
        ),
        {"t": as_of},
    ).all()
    return [(account_row(r), int(r.debits), int(r.credits)) for r in rows]


# The basic view of an entry (no description, postings, metadata or hashes): bulk reads that only
# match entries to records skip the postings query, the JSON and the reversal lookup.
_BASIC_COLUMNS = (
    "e.id, e.insert_id, COALESCE(s.sequence, 0) AS sequence, e.user_id, e.type, "
    "e.related_entity_id, e.amount_minor, e.currency, e.request_id, e.reverses_id, "
    "e.pending_transfer_id, e.create_time"
)


def _basic_entries(rows: Sequence[Any]) -> list[Entry]:
    return [
        Entry(
            id=r.id,
            sequence=r.sequence,
            user_id=r.user_id,
            type=TransactionType(r.type),
            description="",
            related_entity_id=r.related_entity_id,
            amount_minor=r.amount_minor,
            currency=r.currency,
            metadata={},
            request_id=r.request_id,
            reverses_id=r.reverses_id,
            pending_transfer_id=r.pending_transfer_id,
            create_time=utc(r.create_time),
            previous_hash="",
            hash="",
            postings=(),
            reversed_by_id=None,
            insert_id=r.insert_id,
        )
        for r in rows
    ]


def _select_entries(session: Session, condition: str, params: dict[str, Any], full: bool) -> list[Entry]:
    columns = f"{ENTRY_COLUMNS}, {REVERSED_BY}" if full else _BASIC_COLUMNS
    query = sa.text(f"SELECT {columns} FROM {SEALED_ENTRIES} WHERE {condition}")
    rows = session.execute(query, params).all()
    return entries_from_rows(session, rows) if full else _basic_entries(rows)


def related_entries(session: Session, related_ids: Sequence[str], *, full: bool = True) -> list[Entry]:
    """Every entry naming one of ``related_ids``, each once, in recording order."""
    return _select_entries(
        session, "e.related_entity_id = ANY(:ids) ORDER BY e.insert_id", {"ids": list(related_ids)}, full
    )


def related_pending(session: Session, related_ids: Sequence[str]) -> list[PendingTransfer]:
    """Every pending transfer naming one of ``related_ids``, oldest first."""
    rows = session.execute(
        sa.text(
            f"SELECT {PENDING_COLUMNS} FROM pending_transfers WHERE related_entity_id = ANY(:ids) "
            "ORDER BY create_time, id"
        ),
        {"ids": list(related_ids)},
    ).all()
    return [pending_row(r) for r in rows]


def entries_of_type(
    session: Session,
    related_type: str,
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
    *,
    full: bool = True,
) -> list[Entry]:
    """Entries whose related_entity_id is of ``related_type`` (before its first underscore), recorded
    in [start, end), oldest first, after the (create_time, insert_id) position ``after``.

    One range scan of the (type, create_time, insert_id) index from the page's position, stopped
    by the LIMIT: a page costs its own rows, whatever the size of the ledger. The planner is told
    so: with statistics that lag a bulk load (a few rows estimated where thousands are) it picks a
    bitmap scan and a sort of every entry after the position, which made a 100,000-entry scan take
    half a minute. SET LOCAL holds for this read transaction only."""
    session.execute(
        sa.text(
            "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"
        )
    )
    if after is None:
        position = "e.create_time >= COALESCE(CAST(:start AS timestamptz), '-infinity')"
        params: dict[str, Any] = {"start": start}
    else:
        position = "(e.create_time, e.insert_id) > (CAST(:since AS timestamptz), CAST(:after_id AS bigint))"
        params = {"since": after[0], "after_id": after[1]}
    return _select_entries(
        session,
        f"split_part(e.related_entity_id, '_', 1) = :type AND {position} "
        "AND (CAST(:end AS timestamptz) IS NULL OR e.create_time < :end) "
        "ORDER BY e.create_time, e.insert_id LIMIT :limit",
        {**params, "type": related_type, "end": end, "limit": limit},
        full,
    )


def currency_totals(session: Session) -> list[tuple[str, int, int]]:
    """(currency, debits, credits) over every posting."""
    rows = session.execute(
        sa.text(
            f"SELECT currency, SUM(CASE WHEN direction = {_DEBIT} THEN amount_minor ELSE 0 END) AS debits, "
            f"SUM(CASE WHEN direction = {_CREDIT} THEN amount_minor ELSE 0 END) AS credits "
            "FROM postings GROUP BY currency ORDER BY currency"
        )
    ).all()
    return [(r.currency, int(r.debits), int(r.credits)) for r in rows]


@dataclass(frozen=True)
class BalanceDrift:
    """An account whose stored balance row differs from what its postings and holds add up to."""

    account_id: str
    posted: int
    posted_from_postings: int
    pending_debits: int
    open_debits: int
    pending_credits: int
    open_credits: int


def balance_drifts(session: Session) -> tuple[int, list[BalanceDrift]]:
    """How many balance rows there are, and those that differ from their postings or open holds."""
    rows = session.execute(
        sa.text(
            "SELECT b.account_id, b.posted, b.pending_debits, b.pending_credits, "
            "  COALESCE(p.net, 0) AS net, COALESCE(d.open, 0) AS open_debits, "
            "  COALESCE(c.open, 0) AS open_credits "
            "FROM balances b "
            "LEFT JOIN (SELECT q.account_id, SUM(CASE WHEN q.direction = x.normal_side THEN q.amount_minor "
            "           ELSE -q.amount_minor END) AS net "
            "           FROM postings q JOIN balances x ON x.account_id = q.account_id "
            "           GROUP BY q.account_id) p ON p.account_id = b.account_id "
            "LEFT JOIN (SELECT debit_account_id AS account_id, SUM(amount_minor) AS open FROM "
            "pending_transfers "
            f"           WHERE status = {_OPEN} GROUP BY debit_account_id) d ON d.account_id = b.account_id "
            "LEFT JOIN (SELECT credit_account_id AS account_id, SUM(amount_minor) AS open FROM "
            "pending_transfers "
            f"           WHERE status = {_OPEN} GROUP BY credit_account_id) c "
            "ON c.account_id = b.account_id"
        )
    ).all()
    drifts = [
        BalanceDrift(
            r.account_id,
            int(r.posted),
            int(r.net),
            int(r.pending_debits),
            int(r.open_debits),
            int(r.pending_credits),
            int(r.open_credits),
        )
        for r in rows
        if (r.posted, r.pending_debits, r.pending_credits) != (r.net, r.open_debits, r.open_credits)
    ]
    return len(rows), drifts


def holds_past_expiry(session: Session, grace_seconds: int) -> tuple[int, list[PendingTransfer]]:
    """How many pending transfers are open, and those open more than ``grace_seconds`` past expiry."""
    count_open = sa.text(f"SELECT count(*) FROM pending_transfers WHERE status = {_OPEN}")
    count = int(session.execute(count_open).scalar_one())
    rows = session.execute(
        sa.text(
            f"SELECT {PENDING_COLUMNS} FROM pending_transfers WHERE status = {_OPEN} "
            "AND expire_time < clock_timestamp() - make_interval(secs => :grace) "
            "ORDER BY expire_time LIMIT 1000"
        ),
        {"grace": grace_seconds},
    ).all()
    return count, [pending_row(r) for r in rows]
