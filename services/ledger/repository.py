"""The ledger's tables and queries, used only inside a unit of work (a Session in a transaction).

Plain SQL through SQLAlchemy Core ``text``: the statements are few, hot and
PostgreSQL-specific (row locks, ON CONFLICT, multi-row VALUES), and spelling
them out keeps the exact lock order visible.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.ledger.domain.model import (
    Account,
    AccountType,
    BalanceRule,
    Direction,
    Entry,
    NewEntry,
    PendingStatus,
    PendingTransfer,
    PostingLine,
    TransactionType,
)
from services.ledger.domain.rules import BalanceState, headline_amount
from services.runtime.errors import NotFound


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# -- accounts and balances -----------------------------------------------------------------------

_ACCOUNT_COLUMNS = ("a.id, a.owner_id, a.name, a.type, a.currency, a.balance_rule, a.credit_limit_minor, "
                    "a.metadata, a.create_time")


def _account(row: Any) -> Account:
    return Account(id=row.id, owner_id=row.owner_id, name=row.name, type=AccountType(row.type),
                   currency=row.currency, balance_rule=BalanceRule(row.balance_rule),
                   credit_limit_minor=row.credit_limit_minor, metadata=dict(row.metadata),
                   create_time=_utc(row.create_time))


def insert_account(session: Session, account: Account, request_id: str, normal: Direction,
                   floor: int | None) -> Account:
    row = session.execute(sa.text(
        "INSERT INTO accounts (id, owner_id, name, type, currency, balance_rule, credit_limit_minor, "
        "metadata, request_id) VALUES (:id, :owner_id, :name, :type, :currency, :rule, :limit, "
        "CAST(:metadata AS jsonb), :request_id) RETURNING create_time"),
        {"id": account.id, "owner_id": account.owner_id, "name": account.name, "type": int(account.type),
         "currency": account.currency, "rule": int(account.balance_rule), "limit": account.credit_limit_minor,
         "metadata": json.dumps(account.metadata), "request_id": request_id}).one()
    session.execute(sa.text(
        "INSERT INTO balances (account_id, currency, normal_side, floor_minor) "
        "VALUES (:id, :currency, :normal, :floor)"),
        {"id": account.id, "currency": account.currency, "normal": int(normal), "floor": floor})
    return Account(**{**account.__dict__, "create_time": _utc(row.create_time)})


def update_account_limit(session: Session, account_id: str, credit_limit_minor: int,
                         floor: int | None) -> None:
    """The account's limit and the floor its balance row enforces, changed together."""
    session.execute(sa.text("UPDATE accounts SET credit_limit_minor = :limit WHERE id = :id"),
                    {"id": account_id, "limit": credit_limit_minor})
    session.execute(sa.text("UPDATE balances SET floor_minor = :floor WHERE account_id = :id"),
                    {"id": account_id, "floor": floor})


def get_account(session: Session, account_id: str) -> Account:
    row = session.execute(sa.text(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = :id"),
                          {"id": account_id}).one_or_none()
    if row is None:
        raise NotFound(f"account {account_id} not found", "ACCOUNT_NOT_FOUND", {"account_id": account_id})
    return _account(row)


def list_accounts(session: Session, owner_id: str | None, after_id: str, limit: int) -> list[Account]:
    rows = session.execute(sa.text(
        f"SELECT {_ACCOUNT_COLUMNS} FROM accounts a "
        "WHERE (CAST(:owner AS text) IS NULL OR a.owner_id = :owner) AND a.id > :after "
        "ORDER BY a.id LIMIT :limit"), {"owner": owner_id, "after": after_id, "limit": limit}).all()
    return [_account(r) for r in rows]


def _state(row: Any) -> BalanceState:
    return BalanceState(account_id=row.account_id, currency=row.currency, normal=Direction(row.normal_side),
                        floor=row.floor_minor, posted=row.posted, pending_debits=row.pending_debits,
                        pending_credits=row.pending_credits)


_BALANCE_COLUMNS = "account_id, currency, normal_side, floor_minor, posted, pending_debits, pending_credits"


def balance_states(session: Session, account_ids: Iterable[str], *, lock: bool) -> dict[str, BalanceState]:
    """The balance rows of ``account_ids``; NOT_FOUND naming the first unknown one.

    With ``lock``, rows are locked FOR UPDATE in account-id order: every writer
    locks in the same order, so concurrent writers wait for each other instead
    of deadlocking.
    """
    ids = sorted(set(account_ids))
    suffix = " FOR UPDATE" if lock else ""
    rows = session.execute(sa.text(
        f"SELECT {_BALANCE_COLUMNS} FROM balances WHERE account_id = ANY(:ids) ORDER BY account_id{suffix}"),
        {"ids": ids}).all()
    states = {row.account_id: _state(row) for row in rows}
    for account_id in ids:
        if account_id not in states:
            raise NotFound(f"account {account_id} not found", "ACCOUNT_NOT_FOUND", {"account_id": account_id})
    return states


def save_balances(session: Session, before: Mapping[str, BalanceState],
                  after: Mapping[str, BalanceState]) -> None:
    """Write the changed balance rows in one statement."""
    changed = [s for account_id, s in after.items() if s != before.get(account_id)]
    if not changed:
        return
    values = ", ".join(f"(:id{i}, :p{i}, :d{i}, :c{i})" for i in range(len(changed)))
    params: dict[str, Any] = {}
    for i, state in enumerate(changed):
        params.update({f"id{i}": state.account_id, f"p{i}": state.posted, f"d{i}": state.pending_debits,
                       f"c{i}": state.pending_credits})
    session.execute(sa.text(
        "UPDATE balances b SET posted = CAST(v.posted AS bigint), "
        "pending_debits = CAST(v.debits AS bigint), pending_credits = CAST(v.credits AS bigint) "
        f"FROM (VALUES {values}) AS v(id, posted, debits, credits) WHERE b.account_id = v.id"), params)


def posted_as_of(session: Session, account_id: str, normal: Direction, as_of: datetime | None,
                 before: bool = False) -> int:
    """The posted balance (normal side) from the postings up to ``as_of`` (inclusive, or exclusive
    with ``before``); None means every posting."""
    op = "<" if before else "<="
    row = session.execute(sa.text(
        "SELECT COALESCE(SUM(CASE WHEN direction = :normal THEN amount_minor ELSE -amount_minor END), 0) "
        f"FROM postings WHERE account_id = :id AND (CAST(:t AS timestamptz) IS NULL OR create_time {op} :t)"),
        {"normal": int(normal), "id": account_id, "t": as_of}).scalar_one()
    return int(row)


def database_now(session: Session) -> datetime:
    return _utc(session.execute(sa.text("SELECT clock_timestamp()")).scalar_one())


# -- entries ---------------------------------------------------------------------------------------

def entry_item(entry_id: str, new: NewEntry, request_hash: str = "") -> dict[str, Any]:
    """The JSON form of an entry that ``ledger_insert_entry`` and ``ledger_post_entries`` take."""
    amount, currency = headline_amount(new.postings)
    return {"id": entry_id, "u": new.user_id, "ty": int(new.type), "de": new.description,
            "re": new.related_entity_id, "am": amount, "cu": currency, "md": new.metadata,
            "rid": new.request_id, "rh": request_hash, "rv": new.reverses_id or "",
            "pt": new.pending_transfer_id or "",
            "p": [[p.account_id, int(p.direction), p.amount_minor, p.currency] for p in new.postings]}


def recorded_entry(entry_id: str, new: NewEntry, insert_id: int, create_time: datetime) -> Entry:
    """The entry as just inserted: not sealed yet (sequence 0, no hashes)."""
    amount, currency = headline_amount(new.postings)
    return Entry(id=entry_id, sequence=0, user_id=new.user_id, type=new.type, description=new.description,
                 related_entity_id=new.related_entity_id, amount_minor=amount, currency=currency,
                 metadata=dict(new.metadata), request_id=new.request_id, reverses_id=new.reverses_id,
                 pending_transfer_id=new.pending_transfer_id, create_time=_utc(create_time),
                 previous_hash="", hash="", postings=new.postings, insert_id=insert_id)


def append_entries(session: Session, entries: Sequence[tuple[str, NewEntry]]) -> list[Entry]:
    """Insert ``entries`` with their postings; they are sealed (sequence, hashes) after commit.

    No global lock: the sealer orders and chains committed entries later (see
    services/ledger/sealer.py).
    """
    recorded: list[Entry] = []
    for entry_id, new in entries:
        row = session.execute(sa.text(
            "SELECT o_insert_id, o_create_time FROM ledger_insert_entry(CAST(:item AS jsonb))"),
            {"item": json.dumps(entry_item(entry_id, new))}).one()
        recorded.append(recorded_entry(entry_id, new, row.o_insert_id, row.o_create_time))
    return recorded


@dataclass(frozen=True)
class PostOutcome:
    """What ``ledger_post_entries`` did with one item."""

    outcome: str  # 'ok', 'replay' or 'check' (refused without writing; the service finds out why)
    operation: str | None
    request_hash: str | None
    result_id: str | None
    insert_id: int | None
    create_time: datetime | None


_POST_SQL = ("SELECT o_outcome, o_operation, o_request_hash, o_result_id, o_insert_id, o_create_time "
             "FROM ledger_post_entries(%(scope)s, %(op)s, %(items)s::jsonb) ORDER BY o_item")


def post_entries(connection: sa.Connection | Any, scope: str, operation: str,
                 items: Sequence[Mapping[str, Any]]) -> list[PostOutcome]:
    """Lock keys and balances for ``items`` and record each one that passes (one round trip).

    ``connection`` is a SQLAlchemy connection or a psycopg2 one (the ledger's direct connections).
    """
    params = {"scope": scope, "op": operation, "items": json.dumps(items)}
    if isinstance(connection, sa.Connection):
        rows = connection.exec_driver_sql(_POST_SQL, params).all()
    else:
        with connection.cursor() as cursor:
            cursor.execute(_POST_SQL, params)
            rows = cursor.fetchall()
    return [PostOutcome(*row) for row in rows]


def post_entries_open(cursor: Any, scope: str, operation: str,
                      items: Sequence[Mapping[str, Any]]) -> list[PostOutcome]:
    """:func:`post_entries` in a transaction left open (BEGIN in the same round trip) on a direct connection.

    The caller seals in it, or commits it (services/ledger/sealer.py, ``Sealer.seal_within``).
    """
    cursor.execute("BEGIN; " + _POST_SQL, {"scope": scope, "op": operation, "items": json.dumps(items)})
    return [PostOutcome(*row) for row in cursor.fetchall()]


_ENTRY_COLUMNS = ("e.id, e.insert_id, COALESCE(s.sequence, 0) AS sequence, e.user_id, e.type, e.description, "
                  "e.related_entity_id, e.amount_minor, e.currency, e.metadata, e.request_id, e.reverses_id, "
                  "e.pending_transfer_id, e.create_time, COALESCE(s.previous_hash, '') AS previous_hash, "
                  "COALESCE(s.hash, '') AS hash")
# Entries with their seal, if they have one yet.
_SEALED_ENTRIES = "entries e LEFT JOIN entry_seals s ON s.entry_id = e.id"
_REVERSED_BY = "(SELECT r.id FROM entries r WHERE r.reverses_id = e.id) AS reversed_by_id"


def _postings_of(session: Session, entry_ids: Sequence[str]) -> dict[str, list[PostingLine]]:
    postings: dict[str, list[PostingLine]] = {entry_id: [] for entry_id in entry_ids}
    if not entry_ids:
        return postings
    rows = session.execute(sa.text(
        "SELECT entry_id, account_id, direction, amount_minor, currency FROM postings "
        "WHERE entry_id = ANY(:ids) ORDER BY entry_id, idx"), {"ids": list(entry_ids)}).all()
    for row in rows:
        postings[row.entry_id].append(PostingLine(row.account_id, Direction(row.direction),
                                                  row.amount_minor, row.currency))
    return postings


def _entries(session: Session, rows: Sequence[Any], with_reversed_by: bool = True) -> list[Entry]:
    postings = _postings_of(session, [r.id for r in rows])
    return [Entry(id=r.id, sequence=r.sequence, user_id=r.user_id, type=TransactionType(r.type),
                  description=r.description, related_entity_id=r.related_entity_id,
                  amount_minor=r.amount_minor, currency=r.currency, metadata=dict(r.metadata),
                  request_id=r.request_id, reverses_id=r.reverses_id,
                  pending_transfer_id=r.pending_transfer_id,
                  create_time=_utc(r.create_time), previous_hash=r.previous_hash, hash=r.hash,
                  postings=tuple(postings[r.id]),
                  reversed_by_id=r.reversed_by_id if with_reversed_by else None, insert_id=r.insert_id)
            for r in rows]


def get_entry(session: Session, entry_id: str) -> Entry:
    rows = session.execute(sa.text(
        f"SELECT {_ENTRY_COLUMNS}, {_REVERSED_BY} FROM {_SEALED_ENTRIES} WHERE e.id = :id"),
        {"id": entry_id}).all()
    if not rows:
        raise NotFound(f"transaction {entry_id} not found", "TRANSACTION_NOT_FOUND",
                       {"transaction_id": entry_id})
    return _entries(session, rows)[0]


def reversal_of(session: Session, entry_id: str) -> str | None:
    value = session.execute(sa.text("SELECT id FROM entries WHERE reverses_id = :id"),
                            {"id": entry_id}).scalar_one_or_none()
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
        clauses.append("(e.user_id = :user OR e.insert_id IN (SELECT p.insert_id FROM postings p "
                       "JOIN accounts a ON a.id = p.account_id WHERE a.owner_id = :user))")
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
    rows = session.execute(sa.text(
        f"SELECT {_ENTRY_COLUMNS}, {_REVERSED_BY} FROM {_SEALED_ENTRIES} WHERE {condition} "
        "ORDER BY e.insert_id DESC LIMIT :limit"), params).all()
    return _entries(session, rows)


def entries_after(session: Session, after_sequence: int, limit: int) -> list[Entry]:
    """Sealed entries with a sequence above ``after_sequence``, in sequence order (the change feed)."""
    rows = session.execute(sa.text(
        f"SELECT {_ENTRY_COLUMNS}, {_REVERSED_BY} FROM entry_seals s JOIN entries e ON e.id = s.entry_id "
        "WHERE s.sequence > :after ORDER BY s.sequence LIMIT :limit"),
        {"after": after_sequence, "limit": limit}).all()
    return _entries(session, rows)


def iter_chain(session: Session, batch: int = 2000) -> Iterator[list[Entry]]:
    """Every sealed entry in sequence order, in batches, as stored (for chain verification)."""
    after = 0
    while True:
        rows = session.execute(sa.text(
            f"SELECT {_ENTRY_COLUMNS} FROM entry_seals s JOIN entries e ON e.id = s.entry_id "
            "WHERE s.sequence > :after ORDER BY s.sequence LIMIT :n"),
            {"after": after, "n": batch}).all()
        if not rows:
            return
        yield _entries(session, rows, with_reversed_by=False)
        after = rows[-1].sequence


def account_movements(session: Session, account_id: str, normal: Direction, start: datetime | None,
                      end: datetime | None, limit: int) -> list[tuple[Entry, int]]:
    """Entries touching the account in [start, end), oldest first, with the net normal-side change."""
    rows = session.execute(sa.text(
        f"SELECT {_ENTRY_COLUMNS}, NULL AS reversed_by_id, m.change FROM {_SEALED_ENTRIES} JOIN ("
        "  SELECT p.insert_id, SUM(CASE WHEN p.direction = :normal THEN p.amount_minor "
        "         ELSE -p.amount_minor END) AS change FROM postings p WHERE p.account_id = :id "
        "  AND (CAST(:start AS timestamptz) IS NULL OR p.create_time >= :start) "
        "  AND (CAST(:end AS timestamptz) IS NULL OR p.create_time < :end) GROUP BY p.insert_id"
        ") m ON m.insert_id = e.insert_id ORDER BY e.insert_id LIMIT :limit"),
        {"normal": int(normal), "id": account_id, "start": start, "end": end, "limit": limit}).all()
    entries = _entries(session, rows, with_reversed_by=False)
    return [(entry, int(row.change)) for entry, row in zip(entries, rows, strict=True)]


def trial_balance(session: Session, as_of: datetime | None) -> list[tuple[Account, int, int]]:
    """Every account with postings up to ``as_of``: (account, debit total, credit total)."""
    rows = session.execute(sa.text(
        f"SELECT {_ACCOUNT_COLUMNS}, t.debits, t.credits FROM accounts a JOIN ("
        "  SELECT account_id, SUM(CASE WHEN direction = 1 THEN amount_minor ELSE 0 END) AS debits, "
        "         SUM(CASE WHEN direction = 2 THEN amount_minor ELSE 0 END) AS credits "
        "  FROM postings WHERE CAST(:t AS timestamptz) IS NULL OR create_time <= :t GROUP BY account_id"
        ") t ON t.account_id = a.id ORDER BY a.currency, a.id"), {"t": as_of}).all()
    return [(_account(r), int(r.debits), int(r.credits)) for r in rows]


# -- idempotency -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdempotencyRecord:
    operation: str
    request_hash: str
    result_id: str


def claim_key(session: Session, scope: str, request_id: str, operation: str, request_hash: str,
              result_id: str) -> IdempotencyRecord | None:
    """Claim ``request_id`` for this request; None if claimed, else the earlier claim.

    The advisory lock makes a concurrent claimer of the same key wait for us to
    finish: if we commit it sees our record (one wins, the other replays it); if
    we roll back, it claims the key itself.
    """
    # The key's advisory lock first (see the lock order in service.py): a batch holding
    # several keys takes them in this order too, before any balance row.
    claimed = session.execute(sa.text(
        "SELECT pg_advisory_xact_lock(hashtextextended(:scope || '/' || :rid, 0)); "
        "INSERT INTO idempotency_keys (scope, request_id, operation, request_hash, result_id) "
        "VALUES (:scope, :rid, :op, :hash, :result) ON CONFLICT DO NOTHING RETURNING 1"),
        {"scope": scope, "rid": request_id, "op": operation, "hash": request_hash,
         "result": result_id}).scalar_one_or_none()
    if claimed is not None:
        return None
    row = session.execute(sa.text(
        "SELECT operation, request_hash, result_id FROM idempotency_keys "
        "WHERE scope = :scope AND request_id = :rid"),
        {"scope": scope, "rid": request_id}).one()
    return IdempotencyRecord(row.operation, row.request_hash, row.result_id)


# -- pending transfers -----------------------------------------------------------------------------

_PENDING_COLUMNS = ("id, debit_account_id, credit_account_id, amount_minor, currency, posted_minor, status, "
                    "user_id, type, description, related_entity_id, expire_time, transaction_id, request_id, "
                    "create_time, update_time")


def _pending(row: Any) -> PendingTransfer:
    return PendingTransfer(id=row.id, debit_account_id=row.debit_account_id,
                           credit_account_id=row.credit_account_id, amount_minor=row.amount_minor,
                           currency=row.currency, posted_minor=row.posted_minor,
                           status=PendingStatus(row.status),
                           user_id=row.user_id, type=TransactionType(row.type), description=row.description,
                           related_entity_id=row.related_entity_id, expire_time=_utc(row.expire_time),
                           transaction_id=row.transaction_id, request_id=row.request_id,
                           create_time=_utc(row.create_time), update_time=_utc(row.update_time))


def insert_pending(session: Session, transfer: PendingTransfer) -> None:
    session.execute(sa.text(
        f"INSERT INTO pending_transfers ({_PENDING_COLUMNS}) VALUES (:id, :debit, :credit, :amount, "
        ":currency, :posted, :status, :user_id, :type, :description, :related, :expire, :txn, :rid, "
        ":created, :updated)"),
        _pending_params(transfer))


def _pending_params(transfer: PendingTransfer) -> dict[str, Any]:
    return {"id": transfer.id, "debit": transfer.debit_account_id, "credit": transfer.credit_account_id,
            "amount": transfer.amount_minor, "currency": transfer.currency, "posted": transfer.posted_minor,
            "status": int(transfer.status), "user_id": transfer.user_id, "type": int(transfer.type),
            "description": transfer.description, "related": transfer.related_entity_id,
            "expire": transfer.expire_time, "txn": transfer.transaction_id, "rid": transfer.request_id,
            "created": transfer.create_time, "updated": transfer.update_time}


def update_pending(session: Session, transfer: PendingTransfer) -> None:
    session.execute(sa.text(
        "UPDATE pending_transfers SET status = :status, posted_minor = :posted, transaction_id = :txn, "
        "update_time = :updated WHERE id = :id"), _pending_params(transfer))


def get_pending(session: Session, transfer_id: str, *, lock: bool = False) -> PendingTransfer:
    suffix = " FOR UPDATE" if lock else ""
    row = session.execute(sa.text(f"SELECT {_PENDING_COLUMNS} FROM pending_transfers WHERE id = :id{suffix}"),
                          {"id": transfer_id}).one_or_none()
    if row is None:
        raise NotFound(f"pending transfer {transfer_id} not found", "PENDING_TRANSFER_NOT_FOUND",
                       {"pending_transfer_id": transfer_id})
    return _pending(row)


def due_pending_ids(session: Session, limit: int, account_ids: Sequence[str] | None = None) -> list[str]:
    """Ids of pending transfers past their expire_time (optionally touching ``account_ids``)."""
    rows = session.execute(sa.text(
        "SELECT id FROM pending_transfers WHERE status = 1 AND expire_time <= clock_timestamp() "
        "AND (CAST(:ids AS text[]) IS NULL OR debit_account_id = ANY(:ids) OR credit_account_id = ANY(:ids)) "
        "ORDER BY expire_time LIMIT :limit"),
        {"limit": limit, "ids": list(account_ids) if account_ids is not None else None}).all()
    return [r.id for r in rows]


# -- reconciliation reads and the books' invariants ---------------------------------------------------

# The basic view of an entry (no description, postings, metadata or hashes): bulk reads that only
# match entries to records skip the postings query, the JSON and the reversal lookup.
_BASIC_COLUMNS = ("e.id, e.insert_id, COALESCE(s.sequence, 0) AS sequence, e.user_id, e.type, "
                  "e.related_entity_id, e.amount_minor, e.currency, e.request_id, e.reverses_id, "
                  "e.pending_transfer_id, e.create_time")


def _basic_entries(rows: Sequence[Any]) -> list[Entry]:
    return [Entry(id=r.id, sequence=r.sequence, user_id=r.user_id, type=TransactionType(r.type),
                  description="", related_entity_id=r.related_entity_id, amount_minor=r.amount_minor,
                  currency=r.currency, metadata={}, request_id=r.request_id, reverses_id=r.reverses_id,
                  pending_transfer_id=r.pending_transfer_id, create_time=_utc(r.create_time),
                  previous_hash="", hash="", postings=(), reversed_by_id=None, insert_id=r.insert_id)
            for r in rows]


def _select_entries(session: Session, condition: str, params: dict[str, Any], full: bool) -> list[Entry]:
    columns = f"{_ENTRY_COLUMNS}, {_REVERSED_BY}" if full else _BASIC_COLUMNS
    query = sa.text(f"SELECT {columns} FROM {_SEALED_ENTRIES} WHERE {condition}")
    rows = session.execute(query, params).all()
    return _entries(session, rows) if full else _basic_entries(rows)


def related_entries(session: Session, related_ids: Sequence[str], *, full: bool = True) -> list[Entry]:
    """Every entry naming one of ``related_ids``, each once, in recording order."""
    return _select_entries(session, "e.related_entity_id = ANY(:ids) ORDER BY e.insert_id",
                           {"ids": list(related_ids)}, full)


def related_pending(session: Session, related_ids: Sequence[str]) -> list[PendingTransfer]:
    """Every pending transfer naming one of ``related_ids``, oldest first."""
    rows = session.execute(sa.text(
        f"SELECT {_PENDING_COLUMNS} FROM pending_transfers WHERE related_entity_id = ANY(:ids) "
        "ORDER BY create_time, id"), {"ids": list(related_ids)}).all()
    return [_pending(r) for r in rows]


def entries_of_type(session: Session, related_type: str, start: datetime | None, end: datetime | None,
                    after: tuple[datetime, int] | None, limit: int, *, full: bool = True) -> list[Entry]:
    """Entries whose related_entity_id is of ``related_type`` (before its first underscore), recorded
    in [start, end), oldest first, after the (create_time, insert_id) position ``after``.

    One range scan of the (type, create_time, insert_id) index from the page's position, stopped
    by the LIMIT: a page costs its own rows, whatever the size of the ledger. The planner is told
    so: with statistics that lag a bulk load (a few rows estimated where thousands are) it picks a
    bitmap scan and a sort of every entry after the position, which made a 100,000-entry scan take
    half a minute. SET LOCAL holds for this read transaction only."""
    session.execute(sa.text("SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; "
                            "SET LOCAL enable_seqscan = off"))
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
        {**params, "type": related_type, "end": end, "limit": limit}, full)


def currency_totals(session: Session) -> list[tuple[str, int, int]]:
    """(currency, debits, credits) over every posting."""
    rows = session.execute(sa.text(
        "SELECT currency, SUM(CASE WHEN direction = 1 THEN amount_minor ELSE 0 END) AS debits, "
        "SUM(CASE WHEN direction = 2 THEN amount_minor ELSE 0 END) AS credits "
        "FROM postings GROUP BY currency ORDER BY currency")).all()
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
    rows = session.execute(sa.text(
        "SELECT b.account_id, b.posted, b.pending_debits, b.pending_credits, "
        "  COALESCE(p.net, 0) AS net, COALESCE(d.open, 0) AS open_debits, "
        "  COALESCE(c.open, 0) AS open_credits "
        "FROM balances b "
        "LEFT JOIN (SELECT q.account_id, SUM(CASE WHEN q.direction = x.normal_side THEN q.amount_minor "
        "           ELSE -q.amount_minor END) AS net "
        "           FROM postings q JOIN balances x ON x.account_id = q.account_id "
        "           GROUP BY q.account_id) p ON p.account_id = b.account_id "
        "LEFT JOIN (SELECT debit_account_id AS account_id, SUM(amount_minor) AS open FROM pending_transfers "
        "           WHERE status = 1 GROUP BY debit_account_id) d ON d.account_id = b.account_id "
        "LEFT JOIN (SELECT credit_account_id AS account_id, SUM(amount_minor) AS open FROM pending_transfers "
        "           WHERE status = 1 GROUP BY credit_account_id) c ON c.account_id = b.account_id")).all()
    drifts = [BalanceDrift(r.account_id, int(r.posted), int(r.net), int(r.pending_debits), int(r.open_debits),
                           int(r.pending_credits), int(r.open_credits))
              for r in rows
              if (r.posted, r.pending_debits, r.pending_credits) != (r.net, r.open_debits, r.open_credits)]
    return len(rows), drifts


def holds_past_expiry(session: Session, grace_seconds: int) -> tuple[int, list[PendingTransfer]]:
    """How many pending transfers are open, and those open more than ``grace_seconds`` past expiry."""
    count_open = sa.text("SELECT count(*) FROM pending_transfers WHERE status = 1")
    count = int(session.execute(count_open).scalar_one())
    rows = session.execute(sa.text(
        f"SELECT {_PENDING_COLUMNS} FROM pending_transfers WHERE status = 1 "
        "AND expire_time < clock_timestamp() - make_interval(secs => :grace) "
        "ORDER BY expire_time LIMIT 1000"),
        {"grace": grace_seconds}).all()
    return count, [_pending(r) for r in rows]
