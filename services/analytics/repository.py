"""SQL of the analytics service, used only inside a unit of work (one session = one transaction).

Writes come from the feed consumer only: ``apply_entries`` locks the consumer's
checkpoint row, skips an entry at or below it, and otherwise writes the entry's
flows, the daily summaries and volumes and the new checkpoint in the caller's
transaction, which makes every entry count exactly once whatever is re-delivered.

Reads combine daily summaries (whole UTC days inside the range) with per-entry
flows (the partial first and last days), so any range is answered exactly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.analytics.domain.analysis import DayRow
from services.analytics.domain.model import AccountInfo, Direction, Entry, Flow
from services.analytics.domain.periods import ceil_day, floor_day


@dataclass(frozen=True)
class Checkpoint:
    consumer: str
    last_sequence: int
    last_entry_time: datetime | None
    applied_count: int
    update_time: datetime


@dataclass(frozen=True)
class FlowLine:
    """One flow, as a statement line."""

    transaction_id: str
    occurred_at: datetime
    direction: Direction
    amount_minor: int
    category: str
    type: int
    description: str
    sequence: int


@dataclass(frozen=True)
class VolumeRow:
    day: date
    type: int
    entry_count: int
    volume_minor: int


# -- consumer side -------------------------------------------------------------------------------


def get_checkpoint(session: Session, consumer: str, *, for_update: bool = False) -> Checkpoint | None:
    row = session.execute(
        sa.text(
            "SELECT consumer, last_sequence, last_entry_time, applied_count, update_time "
            "FROM feed_checkpoints WHERE consumer = :c" + (" FOR UPDATE" if for_update else "")
        ),
        {"c": consumer},
    ).one_or_none()
    return Checkpoint(*row) if row is not None else None


def ensure_checkpoint(session: Session, consumer: str) -> None:
    session.execute(
        sa.text("INSERT INTO feed_checkpoints (consumer) VALUES (:c) ON CONFLICT (consumer) DO NOTHING"),
        {"c": consumer},
    )


def known_accounts(session: Session, account_ids: Iterable[str]) -> dict[str, AccountInfo]:
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    rows = session.execute(
        sa.text(
            "SELECT account_id, owner_id, type, currency FROM ledger_accounts WHERE account_id = ANY(:ids)"
        ),
        {"ids": ids},
    ).all()
    return {r[0]: AccountInfo(r[0], r[1], r[2], r[3]) for r in rows}


def save_accounts(session: Session, accounts: Iterable[AccountInfo]) -> None:
    for account in accounts:
        session.execute(
            sa.text(
                "INSERT INTO ledger_accounts (account_id, owner_id, type, currency) "
                "VALUES (:a, :o, :t, :c) ON CONFLICT (account_id) DO NOTHING"
            ),
            {"a": account.account_id, "o": account.owner_id, "t": account.type, "c": account.currency},
        )


class FeedGap(Exception):
    """Entries were handed over out of feed order or with one missing."""


def apply_entries(session: Session, consumer: str, batch: Sequence[tuple[Entry, Sequence[Flow]]]) -> int:
    """Record the effects of the entries of ``batch`` (in feed order) that are above the checkpoint,
    and advance the checkpoint past them, in this one transaction; returns how many were applied.

    One transaction for several entries: under a backlog the consumer pays one commit per batch,
    not per entry, and each entry still counts exactly once (the checkpoint moves with it)."""
    checkpoint = get_checkpoint(session, consumer, for_update=True)
    if checkpoint is None:
        raise LookupError(f"no checkpoint row for consumer {consumer!r}")
    last: Entry | None = None
    applied = 0
    for entry, flows in batch:
        previous = last.sequence if last else checkpoint.last_sequence
        if entry.sequence <= previous:
            continue
        if entry.sequence != previous + 1:
            # The ledger's sequences have no gaps: moving the checkpoint past a missing entry
            # would lose it for good. The caller re-reads the feed from the checkpoint.
            raise FeedGap(f"entry {entry.sequence} does not follow the checkpoint {previous}")
        _record(session, entry, flows)
        last = entry
        applied += 1
    if last is not None:
        session.execute(
            sa.text(
                "UPDATE feed_checkpoints SET last_sequence = :s, last_entry_time = :at, "
                "applied_count = applied_count + :n, update_time = now() WHERE consumer = :c"
            ),
            {"s": last.sequence, "at": last.timestamp, "n": applied, "c": consumer},
        )
    return applied


def _record(session: Session, entry: Entry, flows: Sequence[Flow]) -> None:
    day = entry.timestamp.date()
    for flow in flows:
        session.execute(
            sa.text(
                "INSERT INTO flows (transaction_id, user_id, currency, direction, amount_minor, category, "
                "type, "
                "description, occurred_at, sequence, account_ids, counterparties) "
                "VALUES (:t, :u, :c, :d, :a, :cat, :ty, :desc, :at, :s, :acc, :cp)"
            ),
            {
                "t": entry.transaction_id,
                "u": flow.user_id,
                "c": flow.currency,
                "d": int(flow.direction),
                "a": flow.amount_minor,
                "cat": flow.category,
                "ty": entry.type,
                "desc": entry.description[:500],
                "at": entry.timestamp,
                "s": entry.sequence,
                "acc": list(flow.account_ids),
                "cp": list(flow.counterparties),
            },
        )
        session.execute(
            sa.text(
                "INSERT INTO daily_summaries "
                "(user_id, currency, direction, day, category, total_minor, entry_count) "
                "VALUES (:u, :c, :d, :day, :cat, :a, 1) "
                "ON CONFLICT (user_id, currency, day, direction, category) DO UPDATE SET "
                "total_minor = daily_summaries.total_minor + EXCLUDED.total_minor, "
                "entry_count = daily_summaries.entry_count + 1"
            ),
            {
                "u": flow.user_id,
                "c": flow.currency,
                "d": int(flow.direction),
                "day": day,
                "cat": flow.category,
                "a": flow.amount_minor,
            },
        )
    if entry.currency and entry.amount_minor > 0:
        session.execute(
            sa.text(
                "INSERT INTO daily_volumes (day, currency, type, entry_count, volume_minor) "
                "VALUES (:day, :c, :t, 1, :a) ON CONFLICT (day, currency, type) DO UPDATE SET "
                "entry_count = daily_volumes.entry_count + 1, "
                "volume_minor = daily_volumes.volume_minor + EXCLUDED.volume_minor"
            ),
            {"day": day, "c": entry.currency, "t": entry.type, "a": entry.amount_minor},
        )


# -- read side -----------------------------------------------------------------------------------


def set_snapshot(session: Session) -> None:
    """Make every read of this transaction see one snapshot (figures agree with the checkpoint)."""
    session.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


def _flow_rows(session: Session, user_id: str, currency: str, start: datetime, end: datetime) -> list[DayRow]:
    rows = session.execute(
        sa.text(
            "SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, direction, category, "
            "sum(amount_minor), count(*) FROM flows "
            "WHERE user_id = :u AND currency = :c AND occurred_at >= :s AND occurred_at < :e "
            "GROUP BY 1, 2, 3"
        ),
        {"u": user_id, "c": currency, "s": start, "e": end},
    ).all()
    return [DayRow(r[0], Direction(r[1]), r[2], int(r[3]), int(r[4])) for r in rows]


def _summary_rows(
    session: Session, user_id: str, currency: str, first_day: date, end_day: date
) -> list[DayRow]:
    rows = session.execute(
        sa.text(
            "SELECT day, direction, category, total_minor, entry_count FROM daily_summaries "
            "WHERE user_id = :u AND currency = :c AND day >= :f AND day < :e"
        ),
        {"u": user_id, "c": currency, "f": first_day, "e": end_day},
    ).all()
    return [DayRow(r[0], Direction(r[1]), r[2], int(r[3]), int(r[4])) for r in rows]


def day_rows(session: Session, user_id: str, currency: str, start: datetime, end: datetime) -> list[DayRow]:
    """The user's flows in [start, end) summed per day, direction and category."""
    whole_start, whole_end = ceil_day(start), floor_day(end)
    if whole_start >= whole_end:
        return _flow_rows(session, user_id, currency, start, end)
    rows = _summary_rows(session, user_id, currency, whole_start.date(), whole_end.date())
    if start < whole_start:
        rows += _flow_rows(session, user_id, currency, start, whole_start)
    if whole_end < end:
        rows += _flow_rows(session, user_id, currency, whole_end, end)
    return rows


def balance_before(session: Session, user_id: str, currency: str, moment: datetime) -> int:
    """The user's balance in ``currency`` (income minus spending over all time) just before ``moment``."""
    day = floor_day(moment)
    whole = session.execute(
        sa.text(
            "SELECT coalesce(sum(CASE direction WHEN :income THEN total_minor ELSE -total_minor END), 0) "
            "FROM daily_summaries WHERE user_id = :u AND currency = :c AND day < :d"
        ),
        {"u": user_id, "c": currency, "d": day.date(), "income": int(Direction.INCOME)},
    ).scalar_one()
    partial = session.execute(
        sa.text(
            "SELECT coalesce(sum(CASE direction WHEN :income THEN amount_minor ELSE -amount_minor END), 0) "
            "FROM flows WHERE user_id = :u AND currency = :c AND occurred_at >= :s AND occurred_at < :e"
        ),
        {"u": user_id, "c": currency, "s": day, "e": moment, "income": int(Direction.INCOME)},
    ).scalar_one()
    return int(whole) + int(partial)


def currency_counts(session: Session, user_id: str, start: datetime, end: datetime) -> dict[str, int]:
    """How many flows the user had per currency in [start, end)."""
    rows = session.execute(
        sa.text(
            "SELECT currency, count(*) FROM flows WHERE user_id = :u AND occurred_at >= :s AND occurred_at "
            "< :e "
            "GROUP BY currency"
        ),
        {"u": user_id, "s": start, "e": end},
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def flow_lines(
    session: Session, user_id: str, currency: str, start: datetime, end: datetime
) -> list[FlowLine]:
    rows = session.execute(
        sa.text(
            "SELECT transaction_id, occurred_at, direction, amount_minor, category, type, description, "
            "sequence "
            "FROM flows WHERE user_id = :u AND currency = :c AND occurred_at >= :s AND occurred_at < :e "
            "ORDER BY occurred_at, sequence"
        ),
        {"u": user_id, "c": currency, "s": start, "e": end},
    ).all()
    return [FlowLine(r[0], r[1], Direction(r[2]), int(r[3]), r[4], int(r[5]), r[6], int(r[7])) for r in rows]


def volumes(session: Session, currency: str, start: datetime, end: datetime) -> list[VolumeRow]:
    """Entry counts and volumes per day and type for the UTC days [start, end) covers (whole days)."""
    rows = session.execute(
        sa.text(
            "SELECT day, type, entry_count, volume_minor FROM daily_volumes "
            "WHERE currency = :c AND day >= :f AND day < :e ORDER BY day, type"
        ),
        {"c": currency, "f": floor_day(start).date(), "e": ceil_day(end).date()},
    ).all()
    return [VolumeRow(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


# -- custom reports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDefinition:
    id: str
    user_id: str
    fingerprint: str
    definition: dict[str, object]
    create_time: datetime


_DEFINITION_COLUMNS = "id, user_id, fingerprint, definition, create_time"


def _stored(row: sa.Row[tuple[str, str, str, dict[str, object], datetime]]) -> StoredDefinition:
    return StoredDefinition(row[0], row[1], row[2], dict(row[3]), row[4])


def insert_definition(
    session: Session,
    definition_id: str,
    user_id: str,
    request_id: str,
    fingerprint: str,
    definition: dict[str, object],
) -> StoredDefinition:
    """Save a definition; ``request_id`` records the request that created it (its key lives in
    ``idempotency_keys``)."""
    row = session.execute(
        sa.text(
            "INSERT INTO report_definitions (id, user_id, request_id, fingerprint, definition) "
            f"VALUES (:id, :u, :r, :f, CAST(:d AS jsonb)) RETURNING {_DEFINITION_COLUMNS}"
        ),
        {"id": definition_id, "u": user_id, "r": request_id, "f": fingerprint, "d": json.dumps(definition)},
    ).one()
    return _stored(row)


def get_definition(session: Session, definition_id: str) -> StoredDefinition | None:
    row = session.execute(
        sa.text(f"SELECT {_DEFINITION_COLUMNS} FROM report_definitions WHERE id = :id"), {"id": definition_id}
    ).one_or_none()
    return _stored(row) if row is not None else None


def list_definitions(
    session: Session, user_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[StoredDefinition]:
    """Newest first; ``after`` is the (create_time, id) of the last definition of the previous page."""
    condition = "AND (create_time, id) < (:t, :id) " if after is not None else ""
    rows = session.execute(
        sa.text(
            f"SELECT {_DEFINITION_COLUMNS} FROM report_definitions WHERE user_id = :u {condition}"
            "ORDER BY create_time DESC, id DESC LIMIT :n"
        ),
        {"u": user_id, "t": after[0] if after else None, "id": after[1] if after else None, "n": limit},
    ).all()
    return [_stored(row) for row in rows]


def delete_definition(session: Session, definition_id: str) -> None:
    session.execute(sa.text("DELETE FROM report_definitions WHERE id = :id"), {"id": definition_id})


def user_categories(session: Session, user_id: str) -> set[str]:
    """Every category the user's flows were ever given."""
    rows = session.execute(
        sa.text("SELECT DISTINCT category FROM daily_summaries WHERE user_id = :u"), {"u": user_id}
    ).all()
    return {r[0] for r in rows}


def custom_rows(
    session: Session,
    user_id: str,
    *,
    currency: str,
    direction: Direction,
    start: datetime,
    end: datetime,
    account_ids: Sequence[str],
    categories: Sequence[str],
    counterparties: Sequence[str],
    by_category: bool,
) -> list[tuple[Any, int, int]]:
    """The user's flows matching a custom report's filters, summed per category or per UTC day:
    (key, total, count) rows."""
    key = "category" if by_category else "(occurred_at AT TIME ZONE 'UTC')::date"
    filters = ""
    if account_ids:
        filters += " AND account_ids && CAST(:acc AS text[])"
    if categories:
        filters += " AND category = ANY(CAST(:cat AS text[]))"
    if counterparties:
        filters += " AND counterparties && CAST(:cp AS text[])"
    rows = session.execute(
        sa.text(
            f"SELECT {key}, sum(amount_minor), count(*) FROM flows "
            "WHERE user_id = :u AND currency = :c AND direction = :d AND occurred_at >= :s AND occurred_at "
            "< :e"
            f"{filters} GROUP BY 1"
        ),
        {
            "u": user_id,
            "c": currency,
            "d": int(direction),
            "s": start,
            "e": end,
            "acc": list(account_ids),
            "cat": list(categories),
            "cp": list(counterparties),
        },
    ).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]
