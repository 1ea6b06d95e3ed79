"""The ledger's use cases: each one a transaction script over the repository and the domain rules.

Every write runs in one database transaction in this lock order, the same for
every writer, so writers queue instead of deadlocking:

1. the idempotency keys: a transaction-scoped advisory lock per key (in hash order
   when a batch holds several), then the claim, so a concurrent duplicate waits
   for us and replays our result,
2. the pending transfer row, when there is one,
3. the balance rows, in account-id order.

No writer waits for a global lock: entries get their gap-free ``sequence`` and hash
chain from a sealing pass (services/ledger/sealer.py), the only holder of the ledger
head. On the fast path below, when the head is free (``FOR UPDATE SKIP LOCKED``, and
no pass under way in this process), the pass runs inside the writer's own transaction,
so the entry and its seal commit together; otherwise the writer commits and a pass
after commit seals it, grouping every writer that waited (``LEDGER_SEAL_IN_WRITE=off``
always does the latter). A write waits for its entries' seal (``LEDGER_SEAL_WAIT_MS``,
2000 by default) so that it returns them sealed; if the wait times out the entry
is returned with sequence 0 and empty hashes, and is sealed moments later.

Plain journal entries (CreateTransaction and the batch) take a fast path: one
call of the SQL function ``ledger_post_entries`` that locks, checks, records and
(for a single entry, in autocommit) commits in one round trip. When it declines
an item (unknown account, currency mismatch, insufficient funds) the general
path below runs for that item and reports the exact error.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import grpc
import psycopg2
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from services.ledger import repository as repo
from services.ledger.direct import DirectConnections
from services.ledger.domain import pending as pending_rules
from services.ledger.domain.chain import ChainReport, ChainVerifier
from services.ledger.domain.idempotency import fingerprint
from services.ledger.domain.model import (
    Account,
    AccountType,
    BalanceRule,
    Balances,
    Direction,
    Entry,
    NewEntry,
    PendingStatus,
    PendingTransfer,
    PostingLine,
    TransactionType,
)
from services.ledger.domain.rules import (
    BalanceState,
    apply_postings,
    balance_floor,
    check_currencies,
    check_limits,
    mirror,
    normal_side,
    post_all,
    validate_postings,
)
from services.ledger.sealer import Sealer
from services.runtime import metrics
from services.runtime.config import env_int, env_str
from services.runtime.db import RETRYABLE_SQLSTATES, UnitOfWork, run_in_transaction
from services.runtime.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InsufficientFunds,
    InvalidArgument,
)
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.ledger")

T = TypeVar("T")

DEFAULT_PENDING_TTL = timedelta(days=7)
MAX_STATEMENT_LINES = 10_000
_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
WRITE_SEALS = metrics.counter(
    "nexafi_ledger_write_seals", "Fast-path writes by where they were sealed: in their own transaction "
    "(in_write, one commit) or after it, by a sealing pass (after_commit: the head was taken).", ("path",))


class FeedNotifier:
    """Wakes change-feed streams when this process seals entries, and ends them on shutdown.

    Streams also poll, so entries committed by another replica are seen within
    the poll interval; the local wake-up only makes the common case immediate.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0
        self.closed = False

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self.closed = True
            self._condition.notify_all()

    def generation(self) -> int:
        with self._condition:
            return self._generation

    def wait(self, seen_generation: int, timeout: float) -> None:
        with self._condition:
            if self._generation == seen_generation and not self.closed:
                self._condition.wait(timeout)


@dataclass(frozen=True)
class NewAccount:
    owner_id: str
    name: str
    type: AccountType
    currency: str
    balance_rule: BalanceRule
    credit_limit_minor: int
    metadata: dict[str, str]
    request_id: str


@dataclass(frozen=True)
class NewPendingTransfer:
    debit_account_id: str
    credit_account_id: str
    amount_minor: int
    currency: str
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    expire_time: datetime | None
    request_id: str


@dataclass(frozen=True)
class Statement:
    account: Account
    opening_minor: int
    closing_minor: int
    lines: list[tuple[Entry, int, int]]


@dataclass(frozen=True)
class BooksReport:
    """What VerifyBooks found: the chain, the totals per currency, and the rows that disagree."""

    chain: ChainReport
    totals: list[tuple[str, int, int]]
    accounts_checked: int
    drifts: list[repo.BalanceDrift]
    open_pending: int
    late_holds: list[PendingTransfer]

    @property
    def clean(self) -> bool:
        return (self.chain.valid and not self.drifts and not self.late_holds
                and all(debits == credits for _, debits, credits in self.totals))


class Ledger:
    """The service layer: what the gRPC adapter calls."""

    def __init__(self, engine: Engine, notifier: FeedNotifier | None = None,
                 seal_wait_seconds: float | None = None) -> None:
        self.engine = engine
        self.notifier = notifier or FeedNotifier()
        self.direct = DirectConnections(engine,
                                        env_int("LEDGER_DIRECT_CONNECTIONS", 16, minimum=1, maximum=256))
        self.sealer = Sealer(engine, self.direct, on_sealed=self.notifier.notify)
        if seal_wait_seconds is None:
            seal_wait_seconds = env_int("LEDGER_SEAL_WAIT_MS", 2000, minimum=0, maximum=60_000) / 1000
        self.seal_wait_seconds = seal_wait_seconds
        # Seal inside the writer's transaction when the head is free (one commit per transfer).
        self.seal_in_write = env_str("LEDGER_SEAL_IN_WRITE", "on") != "off"
        self._counts_lock = threading.Lock()
        self.sealed_in_write = 0  # fast-path writes sealed in their own transaction
        self.sealed_after_commit = 0  # fast-path writes committed unsealed (the head was taken)
        self._read = UnitOfWork(engine)

    # -- helpers --------------------------------------------------------------------------------
    def _write(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.engine, work)

    def _reading(self, work: Callable[[Session], T]) -> T:
        with self._read() as session:
            return work(session)

    def _sealed(self, entries: list[Entry]) -> list[Entry]:
        """Committed ``entries`` with their sequence and hashes, once sealed (by this thread, usually).

        Without waiting (``LEDGER_SEAL_WAIT_MS=0``), the background sealer is woken to seal them.
        """
        if self.seal_wait_seconds <= 0:
            self.sealer.wake()
            return entries
        return self.sealer.wait(entries, self.seal_wait_seconds)

    @staticmethod
    def _claim(session: Session, scope: str, request_id: str, operation: str, body_hash: str,
               result_id: str) -> str | None:
        """None when this request may proceed; the earlier result's id on a faithful replay."""
        if not request_id:
            return None
        earlier = repo.claim_key(session, scope, request_id, operation, body_hash, result_id)
        if earlier is None:
            return None
        if earlier.operation != operation or earlier.request_hash != body_hash:
            raise AlreadyExists(f"request_id {request_id!r} was already used with another request",
                                "IDEMPOTENCY_KEY_REUSED", {"request_id": request_id})
        return earlier.result_id

    def _with_expiry_retry(self, account_ids: list[str], attempt: Callable[[], T]) -> T:
        """Run ``attempt``; on INSUFFICIENT_FUNDS, release lapsed reservations on the accounts and retry once.

        Expired pending transfers are released lazily: a reservation that lapsed
        since the last sweep must not make a transfer fail.
        """
        try:
            return attempt()
        except InsufficientFunds:
            if not self.expire_due(account_ids=account_ids):
                raise
            return attempt()

    # -- accounts -------------------------------------------------------------------------------
    def create_account(self, scope: str, request: NewAccount) -> Account:
        account_id = new_id("acc")
        body_hash = fingerprint("CreateAccount", request.__dict__)

        def work(session: Session) -> Account:
            earlier = self._claim(session, scope, request.request_id, "CreateAccount", body_hash, account_id)
            if earlier is not None:
                return self._account_with_balance(session, earlier)
            account = Account(id=account_id, owner_id=request.owner_id, name=request.name, type=request.type,
                              currency=request.currency, balance_rule=request.balance_rule,
                              credit_limit_minor=request.credit_limit_minor, metadata=request.metadata,
                              create_time=datetime.min)
            repo.insert_account(session, account, request.request_id, normal_side(account.type),
                                balance_floor(account.balance_rule, account.credit_limit_minor))
            return self._account_with_balance(session, account_id)

        return self._write(work)

    def update_account_limit(self, scope: str, account_id: str, credit_limit_minor: int,
                             request_id: str) -> Account:
        """Set a credit account's limit; refused when the balance is already below the new floor."""
        body_hash = fingerprint("UpdateAccountLimit", {"account_id": account_id,
                                                       "credit_limit_minor": credit_limit_minor})

        def work(session: Session) -> Account:
            earlier = self._claim(session, scope, request_id, "UpdateAccountLimit", body_hash, account_id)
            if earlier is not None:
                return self._account_with_balance(session, earlier)
            account = repo.get_account(session, account_id)
            if account.balance_rule is not BalanceRule.CREDIT_LIMIT:
                raise FailedPrecondition(f"account {account_id} has no credit limit to change",
                                         "NOT_A_CREDIT_ACCOUNT", {"account_id": account_id})
            # Under the balance row's lock, so no concurrent posting can slip below the new floor.
            state = repo.balance_states(session, [account_id], lock=True)[account_id]
            floor = balance_floor(account.balance_rule, credit_limit_minor)
            if floor is not None and state.available < floor:
                raise FailedPrecondition(
                    f"account {account_id} is already below minus the new limit",
                    "LIMIT_BELOW_BALANCE",
                    {"account_id": account_id, "available_minor": str(state.available)})
            repo.update_account_limit(session, account_id, credit_limit_minor, floor)
            return self._account_with_balance(session, account_id)

        return self._write(work)

    def _account_with_balance(self, session: Session, account_id: str) -> Account:
        account = repo.get_account(session, account_id)
        state = repo.balance_states(session, [account_id], lock=False)[account_id]
        return replace(account, balances=_balances(state, repo.database_now(session)))

    def get_account(self, account_id: str) -> Account:
        self.expire_due(account_ids=[account_id])
        return self._reading(lambda s: self._account_with_balance(s, account_id))

    def account_owner(self, account_id: str) -> str:
        """The owner of an account (NOT_FOUND if unknown), for authorization."""
        return self._reading(lambda s: repo.get_account(s, account_id).owner_id)

    def account_identity(self, account_id: str) -> tuple[str, str]:
        """An account's (owner id, name), both fixed at opening (NOT_FOUND if unknown), for scopes."""
        def work(session: Session) -> tuple[str, str]:
            account = repo.get_account(session, account_id)
            return account.owner_id, account.name

        return self._reading(work)

    def list_accounts(self, owner_id: str | None, after_id: str, limit: int) -> list[Account]:
        def work(session: Session) -> list[Account]:
            accounts = repo.list_accounts(session, owner_id, after_id, limit)
            states = repo.balance_states(session, [a.id for a in accounts], lock=False)
            now = repo.database_now(session)
            return [replace(a, balances=_balances(states[a.id], now)) for a in accounts]

        return self._reading(work)

    def balance(self, account_id: str, as_of: datetime | None) -> Balances:
        if as_of is None:
            account = self.get_account(account_id)
            assert account.balances is not None
            return account.balances

        def work(session: Session) -> Balances:
            account = repo.get_account(session, account_id)
            posted = repo.posted_as_of(session, account_id, normal_side(account.type), as_of)
            return Balances(account.currency, posted, 0, 0, posted, as_of)

        return self._reading(work)

    # -- entries --------------------------------------------------------------------------------
    def create_transaction(self, scope: str, new: NewEntry) -> Entry:
        """Record a journal entry (or replay the one recorded under the same request_id)."""
        validate_postings(new.postings)
        entry_id = new_id("txn")
        body_hash = fingerprint("CreateTransaction", _entry_body(new))
        outcomes = self._post_fast(scope, [repo.entry_item(entry_id, new, body_hash)])
        if outcomes is not None:
            done = self._fast_result(outcomes[0], entry_id, new, body_hash)
            if done is not None:
                return self._sealed([done])[0] if done.sequence == 0 else done
        return self._create_general(scope, entry_id, new, body_hash)

    def _create_general(self, scope: str, entry_id: str, new: NewEntry, body_hash: str) -> Entry:
        """The general path: exact errors (and the expiry retry) for what the fast path declined."""
        account_ids = sorted({p.account_id for p in new.postings})

        def work(session: Session) -> Entry:
            earlier = self._claim(session, scope, new.request_id, "CreateTransaction", body_hash, entry_id)
            if earlier is not None:
                return repo.get_entry(session, earlier)
            return self._post(session, entry_id, new, account_ids)

        entry = self._with_expiry_retry(account_ids, lambda: self._write(work))
        return self._sealed([entry])[0] if entry.sequence == 0 else entry

    def _post_fast(self, scope: str, items: list[dict[str, object]]) -> list[repo.PostOutcome] | None:
        """Run ``ledger_post_entries`` as its own transaction (one round trip on a direct connection).

        None if it failed in a way the general path should look into (the caller falls back).
        """
        try:
            with self.direct.connection() as connection:
                if not self.seal_in_write or self.seal_wait_seconds <= 0:
                    return repo.post_entries(connection, scope, "CreateTransaction", items)
                return self._post_and_seal(connection, scope, items)
        except (DBAPIError, psycopg2.Error) as exc:
            orig = exc.orig if isinstance(exc, DBAPIError) else exc
            # A constraint the fast path's checks did not foresee (the CHECK on balances is the
            # last line of defence), or a conflict: the general path decides, exactly.
            if isinstance(orig, psycopg2.IntegrityError) \
                    or getattr(orig, "pgcode", None) in RETRYABLE_SQLSTATES:
                log.info("fast path declined: %s", orig)
                return None
            # A broken connection: whether the statement committed is unknown, but every item
            # carries an idempotency key, so the general path replays it if it did.
            if isinstance(orig, psycopg2.OperationalError | psycopg2.InterfaceError) \
                    and all(item["rid"] for item in items):
                log.warning("fast path lost its connection (%s); taking the general path", orig)
                return None
            raise

    def _post_and_seal(self, connection: Any, scope: str,
                       items: list[dict[str, object]]) -> list[repo.PostOutcome]:
        """``ledger_post_entries``, then the seal in the same transaction when the head is free: one commit.

        When this process's sealing turn or the head is taken, the transaction commits
        unsealed and the caller waits for the seal as before (the sealer's group commit).
        """
        with connection.cursor() as cursor:
            try:
                outcomes = repo.post_entries_open(cursor, scope, "CreateTransaction", items)
                if not any(o.outcome == "ok" for o in outcomes) or not self.sealer.try_begin_turn():
                    cursor.execute("COMMIT")
                    self._count_write(False)
                    return outcomes
                sealed = False
                try:
                    sealed = self.sealer.seal_within(cursor)
                finally:
                    self.sealer.end_turn(sealed)
                self._count_write(sealed)
                return outcomes
            except BaseException:
                if not connection.closed and connection.info.transaction_status != _IDLE:
                    # psycopg2's rollback() is a no-op in autocommit; a connection left
                    # in a transaction is not reused anyway (DirectConnections).
                    with contextlib.suppress(psycopg2.Error):
                        cursor.execute("ROLLBACK")
                raise

    def _count_write(self, sealed: bool) -> None:
        with self._counts_lock:
            if sealed:
                self.sealed_in_write += 1
            else:
                self.sealed_after_commit += 1
        WRITE_SEALS.labels("in_write" if sealed else "after_commit").inc()

    def _fast_result(self, outcome: repo.PostOutcome, entry_id: str, new: NewEntry,
                     body_hash: str) -> Entry | None:
        """The entry the fast path recorded or replayed; None when it declined the item."""
        if outcome.outcome == "ok":
            assert outcome.insert_id is not None and outcome.create_time is not None
            return repo.recorded_entry(entry_id, new, outcome.insert_id, outcome.create_time)
        if outcome.outcome == "replay":
            if outcome.operation != "CreateTransaction" or outcome.request_hash != body_hash:
                raise AlreadyExists(f"request_id {new.request_id!r} was already used with another request",
                                    "IDEMPOTENCY_KEY_REUSED", {"request_id": new.request_id})
            assert outcome.result_id is not None
            return self.get_transaction(outcome.result_id)
        return None

    def create_transactions(self, scope: str,
                            news: list[NewEntry | DomainError]) -> list[Entry | DomainError]:
        """Record many entries, each on its own (per item, not all-or-nothing).

        Items run in order in one database transaction: one call locks every key and
        balance row involved (in the global lock order) and records each item that
        passes; an item it declines is retried by the general path under a savepoint,
        which rolls back that item alone and reports its exact error. An item refused
        for insufficient funds is retried once on its own after lapsed reservations
        on its accounts are released, as a single transfer would be. If the batch's
        transaction itself fails, every item is run on its own instead.
        """
        results: list[Entry | DomainError | _Replay | None] = [None] * len(news)
        prepared: list[tuple[int, str, NewEntry, str]] = []
        for index, new in enumerate(news):
            if isinstance(new, DomainError):
                results[index] = new
                continue
            try:
                validate_postings(new.postings)
            except DomainError as exc:
                results[index] = exc
                continue
            prepared.append((index, new_id("txn"), new, fingerprint("CreateTransaction", _entry_body(new))))
        if prepared:
            try:
                self._batch(scope, prepared, results)
            except Exception:
                # Nothing of it committed (or, if the commit's outcome is unknown, every item
                # carries its idempotency key and replays): run each item on its own instead.
                log.exception("batch transaction failed; running its items one by one")
                for index, _, new, _ in prepared:
                    results[index] = self._one(scope, new)
        for index, result in enumerate(results):
            if isinstance(result, _Replay):
                results[index] = self._one(scope, result.new)  # the original is committed: replay it
        retry = [i for i, r in enumerate(results) if isinstance(r, InsufficientFunds)]
        if retry:
            accounts = sorted({p.account_id for i in retry for p in _as_new(news[i]).postings})
            if self.expire_due(account_ids=accounts):
                for index in retry:
                    results[index] = self._one(scope, _as_new(news[index]))
        fresh = [(i, r) for i, r in enumerate(results) if isinstance(r, Entry) and r.sequence == 0]
        for (index, _), entry in zip(fresh, self._sealed([r for _, r in fresh]), strict=True):
            results[index] = entry
        final = [r for r in results if isinstance(r, Entry | DomainError)]
        assert len(final) == len(results)
        return final

    def _one(self, scope: str, new: NewEntry) -> Entry | DomainError:
        try:
            return self.create_transaction(scope, new)
        except DomainError as exc:
            return exc
        except Exception:
            # One broken item must not lose the results of the others, already committed.
            log.exception("batch item %s failed unexpectedly", new.request_id)
            return _ItemFailed("internal error")

    def _batch(self, scope: str, prepared: list[tuple[int, str, NewEntry, str]],
               results: list[Entry | DomainError | _Replay | None]) -> None:
        items = [repo.entry_item(entry_id, new, body_hash) for _, entry_id, new, body_hash in prepared]
        with self.engine.begin() as connection:
            outcomes = repo.post_entries(connection, scope, "CreateTransaction", items)
            for (index, entry_id, new, body_hash), outcome in zip(prepared, outcomes, strict=True):
                if outcome.outcome == "ok":
                    assert outcome.insert_id is not None and outcome.create_time is not None
                    results[index] = repo.recorded_entry(entry_id, new, outcome.insert_id,
                                                         outcome.create_time)
                elif outcome.outcome == "replay":
                    if outcome.operation != "CreateTransaction" or outcome.request_hash != body_hash:
                        results[index] = AlreadyExists(
                            f"request_id {new.request_id!r} was already used with another request",
                            "IDEMPOTENCY_KEY_REUSED", {"request_id": new.request_id})
                    else:
                        results[index] = _Replay(new)
                else:
                    results[index] = self._declined_item(connection, scope, entry_id, new, body_hash)

    def _declined_item(self, connection: object, scope: str, entry_id: str, new: NewEntry,
                       body_hash: str) -> Entry | DomainError:
        """The general path for one declined batch item, under a savepoint of the batch's transaction."""
        account_ids = sorted({p.account_id for p in new.postings})
        session = Session(bind=connection, join_transaction_mode="create_savepoint")  # type: ignore[arg-type]
        try:
            earlier = self._claim(session, scope, new.request_id, "CreateTransaction", body_hash, entry_id)
            entry = repo.get_entry(session, earlier) if earlier is not None else \
                self._post(session, entry_id, new, account_ids)
            session.commit()  # releases the savepoint
            return entry
        except DomainError as exc:
            return exc
        finally:
            session.close()  # rolls back to the savepoint unless released

    @staticmethod
    def _post(session: Session, entry_id: str, new: NewEntry, account_ids: list[str]) -> Entry:
        states = repo.balance_states(session, account_ids, lock=True)
        check_currencies(new.postings, {a: s.currency for a, s in states.items()})
        after = apply_postings(states, new.postings)
        repo.save_balances(session, states, after)
        return repo.append_entries(session, [(entry_id, new)])[0]

    def get_transaction(self, entry_id: str) -> Entry:
        return self._reading(lambda s: repo.get_entry(s, entry_id))

    def entry_account_owners(self, entry: Entry) -> set[str]:
        def work(session: Session) -> set[str]:
            return {repo.get_account(session, p.account_id).owner_id for p in entry.postings}

        return self._reading(work)

    def list_transactions(self, where: repo.EntryFilter, limit: int) -> list[Entry]:
        return self._reading(lambda s: repo.list_entries(s, where, limit))

    def reverse_transaction(self, scope: str, entry_id: str, reason: str, request_id: str) -> Entry:
        reversal_id = new_id("txn")
        body_hash = fingerprint("ReverseTransaction", {"transaction_id": entry_id, "reason": reason})

        def work(session: Session) -> Entry:
            earlier = self._claim(session, scope, request_id, "ReverseTransaction", body_hash, reversal_id)
            if earlier is not None:
                return repo.get_entry(session, earlier)
            original = repo.get_entry(session, entry_id)
            if original.reverses_id is not None:
                raise FailedPrecondition(f"transaction {entry_id} is a reversal; record a new entry instead",
                                         "REVERSAL_NOT_REVERSIBLE", {"transaction_id": entry_id})
            account_ids = sorted({p.account_id for p in original.postings})
            states = repo.balance_states(session, account_ids, lock=True)
            # Checked again under the balance locks: a concurrent reversal of the same
            # entry holds them until it commits, so this read sees it.
            _refuse_if_reversed(repo.reversal_of(session, entry_id), entry_id)
            postings = mirror(original.postings)
            after = apply_postings(states, postings)
            repo.save_balances(session, states, after)
            description = f"Reversal of {entry_id}" + (f": {reason}" if reason else "")
            new = NewEntry(user_id=original.user_id, type=TransactionType.REVERSAL,
                           description=description[:500], related_entity_id=original.related_entity_id,
                           postings=postings, request_id=request_id, reverses_id=entry_id)
            return repo.append_entries(session, [(reversal_id, new)])[0]

        try:
            entry = self._write(work)
        except IntegrityError as exc:
            if "entries_reverses_id_key" in str(exc.orig):
                _refuse_if_reversed("another reversal", entry_id)
            raise
        return self._sealed([entry])[0] if entry.sequence == 0 else entry

    # -- two-phase transfers --------------------------------------------------------------------
    def create_pending(self, scope: str, request: NewPendingTransfer) -> PendingTransfer:
        transfer_id = new_id("pnd")
        expire_text = request.expire_time.isoformat() if request.expire_time else ""
        body = {**request.__dict__, "expire_time": expire_text}
        body_hash = fingerprint("CreatePendingTransfer", body)
        account_ids = sorted({request.debit_account_id, request.credit_account_id})
        if len(account_ids) != 2:
            raise InvalidArgument("the two accounts must differ", field="credit_account_id",
                                  description="must differ from debit_account_id")

        def work(session: Session) -> PendingTransfer:
            earlier = self._claim(session, scope, request.request_id, "CreatePendingTransfer", body_hash,
                                  transfer_id)
            if earlier is not None:
                return repo.get_pending(session, earlier)
            now = repo.database_now(session)
            expire = request.expire_time or now + DEFAULT_PENDING_TTL
            if expire <= now:
                raise InvalidArgument("expire_time is in the past", field="expire_time",
                                      description="must be in the future")
            states = repo.balance_states(session, account_ids, lock=True)
            legs = _legs(request.debit_account_id, request.credit_account_id, request.amount_minor,
                         request.currency)
            check_currencies(legs, {a: s.currency for a, s in states.items()})
            after = _reserve(states, legs)
            repo.save_balances(session, states, after)
            transfer = PendingTransfer(
                id=transfer_id, debit_account_id=request.debit_account_id,
                credit_account_id=request.credit_account_id, amount_minor=request.amount_minor,
                currency=request.currency, posted_minor=0, status=PendingStatus.PENDING,
                user_id=request.user_id, type=request.type, description=request.description,
                related_entity_id=request.related_entity_id,
                expire_time=expire, transaction_id=None, request_id=request.request_id, create_time=now,
                update_time=now)
            repo.insert_pending(session, transfer)
            return transfer

        return self._with_expiry_retry(account_ids, lambda: self._write(work))

    def get_pending(self, transfer_id: str) -> PendingTransfer:
        transfer = self._reading(lambda s: repo.get_pending(s, transfer_id))
        if pending_rules.is_expired(transfer, datetime.now(UTC)) and self._expire_one(transfer_id):
            transfer = self._reading(lambda s: repo.get_pending(s, transfer_id))
        return transfer

    def post_pending(self, scope: str, transfer_id: str, amount_minor: int | None, currency: str | None,
                     request_id: str, metadata: Mapping[str, str] | None = None
                     ) -> tuple[PendingTransfer, Entry]:
        entry_id = new_id("txn")
        body: dict[str, object] = {"id": transfer_id, "amount": amount_minor, "currency": currency}
        if metadata:
            # Only when present, so a key first used without metadata keeps its fingerprint.
            body["metadata"] = dict(sorted(metadata.items()))
        body_hash = fingerprint("PostPendingTransfer", body)

        def work(session: Session) -> tuple[PendingTransfer, Entry]:
            earlier = self._claim(session, scope, request_id, "PostPendingTransfer", body_hash, entry_id)
            if earlier is not None:
                entry = repo.get_entry(session, earlier)
                assert entry.pending_transfer_id is not None
                return repo.get_pending(session, entry.pending_transfer_id), entry
            transfer = repo.get_pending(session, transfer_id, lock=True)
            if currency is not None and currency != transfer.currency:
                raise FailedPrecondition(f"the pending transfer is in {transfer.currency}, not {currency}",
                                         "CURRENCY_MISMATCH", {"pending_transfer_id": transfer_id})
            now = repo.database_now(session)
            posted = pending_rules.post(transfer, amount_minor, now)
            states = repo.balance_states(session, [transfer.debit_account_id, transfer.credit_account_id],
                                         lock=True)
            legs = _legs(transfer.debit_account_id, transfer.credit_account_id, transfer.amount_minor,
                         transfer.currency)
            released = _release(states, legs)
            postings = _legs(transfer.debit_account_id, transfer.credit_account_id, posted.posted_minor,
                             transfer.currency)
            after = post_all(released, postings)
            check_limits(states, after)
            repo.save_balances(session, states, after)
            new = NewEntry(user_id=transfer.user_id, type=transfer.type, description=transfer.description,
                           related_entity_id=transfer.related_entity_id, postings=postings,
                           metadata=dict(metadata or {}), request_id=request_id,
                           pending_transfer_id=transfer_id)
            entry = repo.append_entries(session, [(entry_id, new)])[0]
            posted = replace(posted, transaction_id=entry.id, update_time=entry.create_time)
            repo.update_pending(session, posted)
            return posted, entry

        transfer, entry = self._expiring(transfer_id, lambda: self._write(work))
        return transfer, self._sealed([entry])[0] if entry.sequence == 0 else entry

    def void_pending(self, transfer_id: str) -> PendingTransfer:
        def work(session: Session) -> PendingTransfer:
            transfer = repo.get_pending(session, transfer_id, lock=True)
            voided = pending_rules.void(transfer, repo.database_now(session))
            self._release_reservation(session, transfer)
            repo.update_pending(session, voided)
            return voided

        return self._expiring(transfer_id, lambda: self._write(work))

    def _expiring(self, transfer_id: str, attempt: Callable[[], T]) -> T:
        """Run ``attempt``; if it failed because the transfer lapsed, record the expiry before failing.

        Without this, a lapsed transfer would stay PENDING (and its amount
        reserved) until the next sweep, although the caller was told it expired.
        """
        try:
            return attempt()
        except FailedPrecondition as exc:
            if exc.reason == "PENDING_TRANSFER_NOT_PENDING" and exc.metadata.get("status") == "EXPIRED":
                self._expire_one(transfer_id)
            raise

    @staticmethod
    def _release_reservation(session: Session, transfer: PendingTransfer) -> None:
        account_ids = [transfer.debit_account_id, transfer.credit_account_id]
        states = repo.balance_states(session, account_ids, lock=True)
        after = _release(states, _legs(transfer.debit_account_id, transfer.credit_account_id,
                                       transfer.amount_minor, transfer.currency))
        repo.save_balances(session, states, after)

    def _expire_one(self, transfer_id: str) -> bool:
        def work(session: Session) -> bool:
            transfer = repo.get_pending(session, transfer_id, lock=True)
            now = repo.database_now(session)
            if not pending_rules.is_expired(transfer, now):
                return False  # posted, voided or swept meanwhile
            self._release_reservation(session, transfer)
            repo.update_pending(session, pending_rules.expire(transfer, now))
            return True

        return self._write(work)

    def expire_due(self, *, account_ids: list[str] | None = None, limit: int = 100) -> int:
        """Release pending transfers past their expire_time; how many were expired.

        One transaction per transfer keeps the lock order (pending row, then
        balances) and the transactions short.
        """
        due = self._reading(lambda s: repo.due_pending_ids(s, limit, account_ids))
        return sum(1 for transfer_id in due if self._expire_one(transfer_id))

    # -- feed, chain and reports ----------------------------------------------------------------
    def entries_after(self, after_sequence: int, limit: int = 500) -> list[Entry]:
        return self._reading(lambda s: repo.entries_after(s, after_sequence, limit))

    def verify_chain(self) -> ChainReport:
        def work(session: Session) -> ChainReport:
            verifier = ChainVerifier()
            for batch in repo.iter_chain(session):
                if not verifier.feed(batch):
                    break
            return verifier.report()

        return self._reading(work)

    # -- reconciliation reads and the books ------------------------------------------------------
    def related(self, related_ids: list[str], *, full: bool) -> tuple[list[Entry], list[PendingTransfer]]:
        """Every entry and pending transfer naming one of ``related_ids``, read in one snapshot."""

        def work(session: Session) -> tuple[list[Entry], list[PendingTransfer]]:
            return (repo.related_entries(session, related_ids, full=full),
                    repo.related_pending(session, related_ids))

        return self._reading(work)

    def of_type(self, related_type: str, start: datetime | None, end: datetime | None,
                after: tuple[datetime, int] | None, limit: int, *, full: bool) -> list[Entry]:
        return self._reading(
            lambda s: repo.entries_of_type(s, related_type, start, end, after, limit, full=full))

    def verify_books(self, *, hold_grace_seconds: int) -> BooksReport:
        """The ledger's invariants, each checked by the database over all of history.

        A hold is reported only ``hold_grace_seconds`` past its expiry: the sweeper releases
        lapsed holds every few seconds, so a just-lapsed one is not yet a fault."""
        chain = self.verify_chain()

        def work(session: Session) -> BooksReport:
            totals = repo.currency_totals(session)
            accounts, drifts = repo.balance_drifts(session)
            open_holds, late = repo.holds_past_expiry(session, hold_grace_seconds)
            return BooksReport(chain=chain, totals=totals, accounts_checked=accounts, drifts=drifts,
                               open_pending=open_holds, late_holds=late)

        return self._reading(work)

    def trial_balance(self, as_of: datetime | None) -> tuple[list[tuple[Account, int, int]], datetime]:
        def work(session: Session) -> tuple[list[tuple[Account, int, int]], datetime]:
            moment = as_of or repo.database_now(session)
            return repo.trial_balance(session, moment), moment

        return self._reading(work)

    def statement(self, account_id: str, start: datetime | None, end: datetime | None) -> Statement:
        def work(session: Session) -> Statement:
            account = self._account_with_balance(session, account_id)
            normal = normal_side(account.type)
            opening = repo.posted_as_of(session, account_id, normal, start, before=True) if start else 0
            movements = repo.account_movements(session, account_id, normal, start, end,
                                               MAX_STATEMENT_LINES + 1)
            if len(movements) > MAX_STATEMENT_LINES:
                raise InvalidArgument("the period has too many movements for one statement",
                                      field="time_range",
                                      description=f"must cover at most {MAX_STATEMENT_LINES} movements")
            running = opening
            lines = []
            for entry, change in movements:
                running += change
                lines.append((entry, change, running))
            return Statement(account, opening, running, lines)

        return self._reading(work)

    def stream(self, after_sequence: int, follow: bool, active: Callable[[], bool],
               poll_seconds: float = 0.25) -> Iterator[Entry]:
        """Entries after ``after_sequence`` in order; with ``follow``, new ones as they commit.

        The checkpoint advances only past delivered entries and sequences are
        gap-free in commit order, so resuming from the last delivered sequence
        neither skips nor repeats.
        """
        cursor = after_sequence
        while active() and not self.notifier.closed:
            seen = self.notifier.generation()
            batch = self.entries_after(cursor)
            for entry in batch:
                yield entry
                cursor = entry.sequence
            if batch:
                continue
            if not follow:
                return
            self.notifier.wait(seen, poll_seconds)


class _ItemFailed(DomainError):
    """A batch item that failed unexpectedly (reported as INTERNAL for that item alone)."""

    code = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"


@dataclass(frozen=True)
class _Replay:
    """A batch item whose request_id recorded this very entry before: replayed after the batch commits."""

    new: NewEntry


def _as_new(item: NewEntry | DomainError) -> NewEntry:
    assert isinstance(item, NewEntry)
    return item


def _refuse_if_reversed(reversal_id: str | None, entry_id: str) -> None:
    if reversal_id is not None:
        raise FailedPrecondition(f"transaction {entry_id} was already reversed", "ALREADY_REVERSED",
                                 {"transaction_id": entry_id, "reversed_by_transaction_id": reversal_id})


def _legs(debit_id: str, credit_id: str, amount: int, currency: str) -> tuple[PostingLine, ...]:
    return (PostingLine(debit_id, Direction.DEBIT, amount, currency),
            PostingLine(credit_id, Direction.CREDIT, amount, currency))


def _reserve(states: dict[str, BalanceState], legs: tuple[PostingLine, ...]) -> dict[str, BalanceState]:
    after = dict(states)
    for leg in legs:
        after[leg.account_id] = after[leg.account_id].reserve(leg.direction, leg.amount_minor)
    check_limits(states, after)
    return after


def _release(states: dict[str, BalanceState], legs: tuple[PostingLine, ...]) -> dict[str, BalanceState]:
    after = dict(states)
    for leg in legs:
        after[leg.account_id] = after[leg.account_id].release(leg.direction, leg.amount_minor)
    return after


def _balances(state: BalanceState, now: datetime) -> Balances:
    return Balances(state.currency, state.posted, state.pending_debits, state.pending_credits,
                    state.available, now)


def _entry_body(new: NewEntry) -> dict[str, object]:
    return {"user_id": new.user_id, "type": int(new.type), "description": new.description,
            "related_entity_id": new.related_entity_id, "metadata": new.metadata,
            "postings": [[p.account_id, int(p.direction), p.amount_minor, p.currency] for p in new.postings]}
