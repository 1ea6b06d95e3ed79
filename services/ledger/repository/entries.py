"""Journal entries and their postings: writing them (the one-round-trip path included) and reading them."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.ledger.domain.model import Direction, Entry, NewEntry, PostingLine, TransactionType
from services.ledger.domain.rules import headline_amount
from services.ledger.repository.rows import utc
from services.runtime.errors import NotFound


def entry_item(entry_id: str, new: NewEntry, request_hash: str = "") -> dict[str, Any]:
    """The JSON form of an entry that ``ledger_insert_entry`` and ``ledger_post_entries`` take."""
    amount, currency = headline_amount(new.postings)
    return {
        "id": entry_id,
        "u": new.user_id,
        "ty": int(new.type),
        "de": new.description,
        "re": new.related_entity_id,
        "am": amount,
        "cu": currency,
        "md": new.metadata,
        "rid": new.request_id,
        "rh": request_hash,
        "rv": new.reverses_id or "",
        "pt": new.pending_transfer_id or "",
        "p": [[p.account_id, int(p.direction), p.amount_minor, p.currency] for p in new.postings],
    }


def recorded_entry(entry_id: str, new: NewEntry, insert_id: int, create_time: datetime) -> Entry:
    """The entry as just inserted: not sealed yet (sequence 0, no hashes)."""
    amount, currency = headline_amount(new.postings)
    return Entry(
        id=entry_id,
        sequence=0,
        user_id=new.user_id,
        type=new.type,
        description=new.description,
        related_entity_id=new.related_entity_id,
        amount_minor=amount,
        currency=currency,
        metadata=dict(new.metadata),
        request_id=new.request_id,
        reverses_id=new.reverses_id,
        pending_transfer_id=new.pending_transfer_id,
        create_time=utc(create_time),
        previous_hash="",
        hash="",
        postings=new.postings,
        insert_id=insert_id,
    )


# Set in a session's info once it has inserted entries.
APPENDED = "ledger_appended_entries"


def append_entries(session: Session, entries: Sequence[tuple[str, NewEntry]]) -> list[Entry]:
    """Insert ``entries`` with their postings; they are sealed (sequence, hashes) after commit.

    No global lock: the sealer orders and chains committed entries later (see
    services/ledger/sealer.py).
    """
    recorded: list[Entry] = []
    if entries:
        session.info[APPENDED] = True  # the ledger may seal them before its commit (LedgerCore._write)
    for entry_id, new in entries:
        row = session.execute(
            sa.text("SELECT o_insert_id, o_create_time FROM ledger_insert_entry(CAST(:item AS jsonb))"),
            {"item": json.dumps(entry_item(entry_id, new))},
        ).one()
        recorded.append(recorded_entry(entry_id, new, row.o_insert_id, row.o_create_time))
    return recorded


class PostResult(StrEnum):
    """What ``ledger_post_entries`` did with one item (its o_outcome)."""

    OK = "ok"  # recorded, with its key and response
    REPLAY = "replay"  # the key was used before: its operation, fingerprint and stored response
    BUSY = "busy"  # another transaction holds the key: a request in progress
    CHECK = "check"  # refused without writing; the service finds out why


@dataclass(frozen=True)
class PostOutcome:
    """What ``ledger_post_entries`` did with one item."""

    outcome: PostResult
    operation: str | None
    fingerprint: str | None
    response: bytes | None
    insert_id: int | None
    create_time: datetime | None


_POST_SQL = (
    "SELECT o_outcome, o_operation, o_fingerprint, o_response, o_insert_id, o_create_time "
    "FROM ledger_post_entries(%(scope)s, %(op)s, %(items)s::jsonb, %(keep)s) ORDER BY o_item"
)


def _outcome(row: Sequence[Any]) -> PostOutcome:
    outcome, operation, fingerprint, response, insert_id, create_time = row
    return PostOutcome(
        PostResult(outcome),
        operation,
        fingerprint,
        bytes(response) if response is not None else None,
        insert_id,
        create_time,
    )


def post_entries(
    connection: sa.Connection | Any,
    scope: str,
    operation: str,
    items: Sequence[Mapping[str, Any]],
    *,
    keep_hours: int,
) -> list[PostOutcome]:
    """Claim keys, lock balances and record each item of ``items`` that passes (one round trip).

    ``connection`` is a SQLAlchemy connection or a psycopg2 one (the ledger's direct connections).
    A recorded item's key keeps its response for ``keep_hours``.
    """
    params = {"scope": scope, "op": operation, "items": json.dumps(items), "keep": keep_hours}
    if isinstance(connection, sa.Connection):
        rows = connection.exec_driver_sql(_POST_SQL, params).all()
    else:
        with connection.cursor() as cursor:
            cursor.execute(_POST_SQL, params)
            rows = cursor.fetchall()
    return [_outcome(row) for row in rows]


def post_entries_open(
    cursor: Any, scope: str, operation: str, items: Sequence[Mapping[str, Any]], *, keep_hours: int
) -> list[PostOutcome]:
    """:func:`post_entries` in a transaction left open (BEGIN in the same round trip) on a direct connection.

    The caller seals in it, or commits it (services/ledger/sealer.py, ``Sealer.seal_within``).
    """
    cursor.execute(
        "BEGIN; " + _POST_SQL,
        {"scope": scope, "op": operation, "items": json.dumps(items), "keep": keep_hours},
    )
    return [_outcome(row) for row in cursor.fetchall()]


def with_seals(session: Session, entries: Sequence[Entry]) -> list[Entry]:
    """``entries`` with the seal each has by now (a seal never changes once given); unsealed as given."""
    rows = session.execute(
        sa.text("SELECT entry_id, sequence, previous_hash, hash FROM entry_seals WHERE entry_id = ANY(:ids)"),
        {"ids": [e.id for e in entries]},
    ).all()
    seals = {r.entry_id: r for r in rows}
    return [
        replace(
            e, sequence=seals[e.id].sequence, previous_hash=seals[e.id].previous_hash, hash=seals[e.id].hash
        )
        if e.id in seals
        else e
        for e in entries
    ]


ENTRY_COLUMNS = (
    "e.id, e.insert_id, COALESCE(s.sequence, 0) AS sequence, e.user_id, e.type, e.description, "
    "e.related_entity_id, e.amount_minor, e.currency, e.metadata, e.request_id, e.reverses_id, "
    "e.pending_transfer_id, e.create_time, COALESCE(s.previous_hash, '') AS previous_hash, "
    "COALESCE(s.hash, '') AS hash"
)
# Entries with their seal, if they have one yet.
SEALED_ENTRIES = "entries e LEFT JOIN entry_seals s ON s.entry_id = e.id"
REVERSED_BY = "(SELECT r.id FROM entries r WHERE r.reverses_id = e.id) AS reversed_by_id"


def _postings_of(session: Session, entry_ids: Sequence[str]) -> dict[str, list[PostingLine]]:
    postings: dict[str, list[PostingLine]] = {entry_id: [] for entry_id in entry_ids}
    if not entry_ids:
        return postings
    rows = session.execute(
        sa.text(
            "SELECT entry_id, account_id, direction, amount_minor, currency FROM postings "
            "WHERE entry_id = ANY(:ids) ORDER BY entry_id, idx"
        ),
        {"ids": list(entry_ids)},
    ).all()
    for row in rows:
        postings[row.entry_id].append(
            PostingLine(row.account_id, Direction(row.direction), row.amount_minor, row.currency)
        )
    return postings


def entries_from_rows(session: Session, rows: Sequence[Any], with_reversed_by: bool = True) -> list[Entry]:
    postings = _postings_of(session, [r.id for r in rows])
    return [
        Entry(
            id=r.id,
            sequence=r.sequence,
            user_id=r.user_id,
            type=TransactionType(r.type),
            description=r.description,
            related_entity_id=r.related_entity_id,
            amount_minor=r.amount_minor,
            currency=r.currency,
            metadata=dict(r.metadata),
            request_id=r.request_id,
            reverses_id=r.reverses_id,
            pending_transfer_id=r.pending_transfer_id,
            create_time=utc(r.create_time),
            previous_hash=r.previous_hash,
            hash=r.hash,
            postings=tuple(postings[r.id]),
            reversed_by_id=r.reversed_by_id if with_reversed_by else None,
            insert_id=r.insert_id,
        )
        for r in rows
    ]


def get_entry(session: Session, entry_id: str) -> Entry:
    rows = session.execute(
        sa.text(f"SELECT {ENTRY_COLUMNS}, {REVERSED_BY} FROM {SEALED_ENTRIES} WHERE e.id = :id"),
        {"id": entry_id},
    ).all()
    if not rows:
        raise NotFound(
            f"transaction {entry_id} not found", "TRANSACTION_NOT_FOUND", {"transaction_id": entry_id}
        )
    return entries_from_rows(session, rows)[0]


def reversal_of(session: Session, entry_id: str) -> str | None:
    value = session.execute(
        sa.text("SELECT id FROM entries WHERE reverses_id = :id"), {"id": entry_id}
    ).scalar_one_or_none()
    return str(value) if value is not None else None


@dataclass(frozen=True)
class EntryFilter:
    """Which entries a history query returns, newest first."""

    user_id: str | None = None
    account_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    types: tuple[int, ...] = ()
    before_insert_id: int | None = None


def list_entries(session: Session, where: EntryFilter, limit: int) -> list[Entry]:
    clauses = []
    params: dict[str, Any] = {"limit": limit}
    if where.user_id is not None:
        # A user's history: entries about them and entries touching an account they own
        # (the receiving side of a transfer is recorded with the sender's user_id).
        clauses.append(
            "(e.user_id = :user OR e.insert_id IN (SELECT p.insert_id FROM postings p "
            "JOIN accounts a ON a.id = p.account_id WHERE a.owner_id = :user))"
        )
        params["user"] = where.user_id
    if where.account_id is not None:
        clauses.append("e.insert_id IN (SELECT p.insert_id FROM postings p WHERE p.account_id = :account)")
        params["account"] = where.account_id
    if where.start_time is not None:
        clauses.append("e.create_time >= :start")
        params["start"] = where.start_time
    if where.end_time is not None:
        clauses.append("e.create_time < :end")
        params["end"] = where.end_time
    if where.types:
        clauses.append("e.type = ANY(:types)")
        params["types"] = list(where.types)
    if where.before_insert_id is not None:
        clauses.append("e.insert_id < :before")
        params["before"] = where.before_insert_id
    condition = " AND ".join(clauses) or "TRUE"
    rows = session.execute(
        sa.text(
            f"SELECT {ENTRY_COLUMNS}, {REVERSED_BY} FROM {SEALED_ENTRIES} WHERE {condition} "
            "ORDER BY e.insert_id DESC LIMIT :limit"
        ),
        params,
    ).all()
    return entries_from_rows(session, rows)


def _sealed_after(
    session: Session, after_sequence: int, limit: int, *, with_reversed_by: bool
) -> list[Entry]:
    columns = f"{ENTRY_COLUMNS}, {REVERSED_BY}" if with_reversed_by else ENTRY_COLUMNS
    rows = session.execute(
        sa.text(
            f"SELECT {columns} FROM entry_seals s JOIN entries e ON e.id = s.entry_id "
            "WHERE s.sequence > :after ORDER BY s.sequence LIMIT :limit"
        ),
        {"after": after_sequence, "limit": limit},
    ).all()
    return entries_from_rows(session, rows, with_reversed_by=with_reversed_by)


def entries_after(session: Session, after_sequence: int, limit: int) -> list[Entry]:
    """Sealed entries with a sequence above ``after_sequence``, in sequence order (the change feed)."""
    return _sealed_after(session, after_sequence, limit, with_reversed_by=True)


def iter_chain(session: Session, batch: int = 2000) -> Iterator[list[Entry]]:
    """Every sealed entry in sequence order, in batches, as stored (for chain verification)."""
    after = 0
    while True:
        entries = _sealed_after(session, after, batch, with_reversed_by=False)
        if not entries:
            return
        yield entries
        after = entries[-1].sequence


def account_movements(
    session: Session,
    account_id: str,
    normal: Direction,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[tuple[Entry, int]]:
    """Entries touching the account in [start, end), oldest first, with the net normal-side change."""
    rows = session.execute(
        sa.text(
            f"SELECT {ENTRY_COLUMNS}, NULL AS reversed_by_id, m.change FROM {SEALED_ENTRIES} JOIN ("
            "  SELECT p.insert_id, SUM(CASE WHEN p.direction = :normal THEN p.amount_minor "
            "         ELSE -p.amount_minor END) AS change FROM postings p WHERE p.account_id = :id "
            "  AND (CAST(:start AS timestamptz) IS NULL OR p.create_time >= :start) "
            "  AND (CAST(:end AS timestamptz) IS NULL OR p.create_time < :end) GROUP BY p.insert_id"
            ") m ON m.insert_id = e.insert_id ORDER BY e.insert_id LIMIT :limit"
        ),
        {"normal": int(normal), "id": account_id, "start": start, "end": end, "limit": limit},
    ).all()
    entries = entries_from_rows(session, rows, with_reversed_by=False)
    return [(entry, int(row.change)) for entry, row in zip(entries, rows, strict=True)]
