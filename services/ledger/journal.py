"""Journal entries one at a time: recording (fast path and general path), reading, reversing.

Plain journal entries (CreateTransaction and the batch, services/ledger/batches.py) take
a fast path: one call of the SQL function ``ledger_post_entries`` that claims the keys,
locks, checks, records, stores the key's response and (for a single entry, in autocommit)
commits in one round trip. When it declines an item (unknown account, currency mismatch,
insufficient funds) the general path below runs for that item and reports the exact error.

When the head is free (``FOR UPDATE SKIP LOCKED``, and no pass under way in this process),
the sealing pass runs inside the writer's own transaction, so the entry and its seal commit
together; otherwise the writer commits and a pass after commit seals it, grouping every
writer that waited (``LedgerSettings.seal_in_write`` off always does the latter). A write
waits for its entries' seal (``seal_wait_seconds``) so that it returns them sealed; if the
wait times out the entry is returned with sequence 0 and empty hashes, and is sealed moments later.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import psycopg2
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from services.ledger import repository as repo
from services.ledger.core import LedgerCore
from services.ledger.domain.model import Entry, NewEntry, TransactionType
from services.ledger.domain.rules import apply_postings, check_currencies, mirror, validate_postings
from services.ledger.feed import FeedNotifier
from services.ledger.repository import PostOutcome, PostResult
from services.ledger.repository.responses import entry_from_response, entry_response
from services.ledger.settings import LedgerSettings
from services.runtime import metrics
from services.runtime.db import RETRYABLE_SQLSTATES
from services.runtime.errors import FailedPrecondition
from services.runtime.idempotency import key_reused, request_in_progress
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.ledger")

CREATE_TRANSACTION = "CreateTransaction"
_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
WRITE_SEALS = metrics.counter(
    "nexafi_ledger_write_seals",
    "Fast-path writes by where they were sealed: in their own transaction "
    "(in_write, one commit) or after it, by a sealing pass (after_commit: the head was taken).",
    ("path",),
)


class JournalUseCases(LedgerCore):
    def __init__(
        self,
        engine: Engine,
        notifier: FeedNotifier | None = None,
        seal_wait_seconds: float | None = None,
        settings: LedgerSettings | None = None,
    ) -> None:
        super().__init__(engine, notifier, seal_wait_seconds, settings)
        self._counts_lock = threading.Lock()
        self.sealed_in_write = 0  # fast-path writes sealed in their own transaction
        self.sealed_after_commit = 0  # fast-path writes committed unsealed (the head was taken)

    def create_transaction(self, scope: str, new: NewEntry) -> Entry:
        """Record a journal entry (or replay the one recorded under the same request_id)."""
        validate_postings(new.postings)
        entry_id = new_id("txn")
        fingerprint = self.fingerprint(CREATE_TRANSACTION, entry_body(new))
        outcomes = self._post_fast(scope, [repo.entry_item(entry_id, new, fingerprint)])
        if outcomes is not None:
            done = self._fast_result(outcomes[0], entry_id, new, fingerprint)
            if done is not None:
                return self._finished(*done)
        return self._create_general(scope, entry_id, new, fingerprint)

    def _create_general(self, scope: str, entry_id: str, new: NewEntry, fingerprint: str) -> Entry:
        """The general path: exact errors (and the expiry retry) for what the fast path declined."""
        account_ids = sorted({p.account_id for p in new.postings})

        def work(session: Session) -> tuple[Entry, bool]:
            return self._post_claimed(session, scope, entry_id, new, fingerprint, account_ids)

        entry, replayed = self._with_expiry_retry(account_ids, lambda: self._write(work))
        return self._finished(entry, replayed)

    def _post_claimed(
        self,
        session: Session,
        scope: str,
        entry_id: str,
        new: NewEntry,
        fingerprint: str,
        account_ids: list[str],
    ) -> tuple[Entry, bool]:
        """Claim the entry's key and post it in ``session``; (entry, True) when the key replays."""
        claim = self._claim(session, scope, new.request_id, CREATE_TRANSACTION, fingerprint)
        if isinstance(claim, bytes):
            return entry_from_response(claim), True
        entry = self._post(session, entry_id, new, account_ids)
        self._complete(session, claim, lambda: entry_response(entry), entry.id)
        return entry, False

    def _post_fast(self, scope: str, items: list[dict[str, object]]) -> list[PostOutcome] | None:
        """Run ``ledger_post_entries`` as its own transaction (one round trip on a direct connection).

        None if it failed in a way the general path should look into (the caller falls back).
        """
        try:
            with self.direct.connection() as connection:
                if not self.seal_in_write or self.seal_wait_seconds <= 0:
                    return repo.post_entries(
                        connection, scope, CREATE_TRANSACTION, items, keep_hours=self.keys.retention_hours
                    )
                return self._post_and_seal(connection, scope, items)
        except (DBAPIError, psycopg2.Error) as exc:
            orig = exc.orig if isinstance(exc, DBAPIError) else exc
            # A constraint the fast path's checks did not foresee (the CHECK on balances is the
            # last line of defence), or a conflict: the general path decides, exactly.
            if (
                isinstance(orig, psycopg2.IntegrityError)
                or getattr(orig, "pgcode", None) in RETRYABLE_SQLSTATES
            ):
                log.info("fast path declined: %s", orig)
                return None
            # A broken connection: whether the statement committed is unknown, but every item
            # carries an idempotency key, so the general path replays it if it did.
            if isinstance(orig, psycopg2.OperationalError | psycopg2.InterfaceError) and all(
                item["rid"] for item in items
            ):
                log.warning("fast path lost its connection (%s); taking the general path", orig)
                return None
            raise

    def _post_and_seal(
        self, connection: Any, scope: str, items: list[dict[str, object]]
    ) -> list[PostOutcome]:
        """``ledger_post_entries``, then the seal in the same transaction when the head is free: one commit.

        When this process's sealing turn or the head is taken, the transaction commits
        unsealed and the caller waits for the seal as before (the sealer's group commit).
        """
        with connection.cursor() as cursor:
            try:
                outcomes = repo.post_entries_open(
                    cursor, scope, CREATE_TRANSACTION, items, keep_hours=self.keys.retention_hours
                )
                if not any(o.outcome is PostResult.OK for o in outcomes) or not self.sealer.try_begin_turn():
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

    @staticmethod
    def _fast_result(
        outcome: PostOutcome, entry_id: str, new: NewEntry, fingerprint: str
    ) -> tuple[Entry, bool] | None:
        """(the entry the fast path recorded or replayed, whether replayed); None when it declined."""
        if outcome.outcome is PostResult.OK:
            assert outcome.insert_id is not None and outcome.create_time is not None
            return repo.recorded_entry(entry_id, new, outcome.insert_id, outcome.create_time), False
        if outcome.outcome is PostResult.REPLAY:
            return replayed_entry(outcome, new, fingerprint), True
        if outcome.outcome is PostResult.BUSY:
            raise request_in_progress(new.request_id)
        return None

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
        fingerprint = self.fingerprint("ReverseTransaction", {"transaction_id": entry_id, "reason": reason})

        def work(session: Session) -> tuple[Entry, bool]:
            claim = self._claim(session, scope, request_id, "ReverseTransaction", fingerprint)
            if isinstance(claim, bytes):
                return entry_from_response(claim), True
            original = repo.get_entry(session, entry_id)
            if original.reverses_id is not None:
                raise FailedPrecondition(
                    f"transaction {entry_id} is a reversal; record a new entry instead",
                    "REVERSAL_NOT_REVERSIBLE",
                    {"transaction_id": entry_id},
                )
            account_ids = sorted({p.account_id for p in original.postings})
            states = repo.balance_states(session, account_ids, lock=True)
            # Checked again under the balance locks: a concurrent reversal of the same
            # entry holds them until it commits, so this read sees it.
            refuse_if_reversed(repo.reversal_of(session, entry_id), entry_id)
            postings = mirror(original.postings)
            after = apply_postings(states, postings)
            repo.save_balances(session, states, after)
            description = f"Reversal of {entry_id}" + (f": {reason}" if reason else "")
            new = NewEntry(
                user_id=original.user_id,
                type=TransactionType.REVERSAL,
                description=description[:500],
                related_entity_id=original.related_entity_id,
                postings=postings,
                request_id=request_id,
                reverses_id=entry_id,
            )
            reversal = repo.append_entries(session, [(reversal_id, new)])[0]
            self._complete(session, claim, lambda: entry_response(reversal), reversal.id)
            return reversal, False

        try:
            entry, replayed = self._write(work)
        except IntegrityError as exc:
            if "entries_reverses_id_key" in str(exc.orig):
                refuse_if_reversed("another reversal", entry_id)
            raise
        return self._finished(entry, replayed)


def replayed_entry(outcome: PostOutcome, new: NewEntry, fingerprint: str) -> Entry:
    """The entry a fast-path item's key stored, if the key was used for this very request."""
    if (
        outcome.operation != CREATE_TRANSACTION
        or outcome.fingerprint != fingerprint
        or outcome.response is None
    ):
        raise key_reused(new.request_id)
    return entry_from_response(outcome.response)


def refuse_if_reversed(reversal_id: str | None, entry_id: str) -> None:
    if reversal_id is not None:
        raise FailedPrecondition(
            f"transaction {entry_id} was already reversed",
            "ALREADY_REVERSED",
            {"transaction_id": entry_id, "reversed_by_transaction_id": reversal_id},
        )


def entry_body(new: NewEntry) -> dict[str, object]:
    return {
        "user_id": new.user_id,
        "type": int(new.type),
        "description": new.description,
        "related_entity_id": new.related_entity_id,
        "metadata": new.metadata,
        "postings": [[p.account_id, int(p.direction), p.amount_minor, p.currency] for p in new.postings],
    }
