"""Many journal entries in one call (CreateTransactions): each item on its own, in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc
from sqlalchemy.orm import Session

from services.ledger import repository as repo
from services.ledger.domain.model import Entry, NewEntry
from services.ledger.domain.rules import validate_postings
from services.ledger.journal import CREATE_TRANSACTION, JournalUseCases, entry_body, replayed_entry
from services.ledger.repository import PostResult
from services.runtime.errors import DomainError, InsufficientFunds
from services.runtime.idempotency import request_in_progress
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.ledger")


class _ItemFailed(DomainError):
    """A batch item that failed unexpectedly (reported as INTERNAL for that item alone)."""

    code = grpc.StatusCode.INTERNAL
    default_reason = "INTERNAL"


@dataclass(frozen=True)
class _Replayed:
    """A batch item whose key replays the first response: its seal is looked up after the batch commits."""

    entry: Entry


@dataclass(frozen=True)
class _Prepared:
    index: int
    entry_id: str
    new: NewEntry
    fingerprint: str


_Result = Entry | DomainError | _Replayed | None


class BatchUseCases(JournalUseCases):
    def create_transactions(
        self, scope: str, news: list[NewEntry | DomainError]
    ) -> list[Entry | DomainError]:
        """Record many entries, each on its own (per item, not all-or-nothing).

        Items run in order in one database transaction: one call claims every key and locks
        every balance row involved (in the global lock order) and records each item that
        passes; an item whose key is held by another transaction is ABORTED
        (REQUEST_IN_PROGRESS), and one whose key was used before replays its own first
        response; an item it declines is retried by the general path under a savepoint,
        which rolls back that item alone and reports its exact error. An item refused
        for insufficient funds is retried once on its own after lapsed reservations
        on its accounts are released, as a single transfer would be. If the batch's
        transaction itself fails, every item is run on its own instead.
        """
        results: list[_Result] = [None] * len(news)
        prepared: list[_Prepared] = []
        for index, new in enumerate(news):
            if isinstance(new, DomainError):
                results[index] = new
                continue
            try:
                validate_postings(new.postings)
            except DomainError as exc:
                results[index] = exc
                continue
            prepared.append(
                _Prepared(index, new_id("txn"), new, self.fingerprint(CREATE_TRANSACTION, entry_body(new)))
            )
        if prepared:
            try:
                self._batch(scope, prepared, results)
            except Exception:
                # Nothing of it committed (or, if the commit's outcome is unknown, every item
                # carries its idempotency key and replays): run each item on its own instead.
                log.exception("batch transaction failed; running its items one by one")
                for item in prepared:
                    results[item.index] = self._one(scope, item.new)
        retry = [i for i, r in enumerate(results) if isinstance(r, InsufficientFunds)]
        if retry:
            accounts = sorted({p.account_id for i in retry for p in _as_new(news[i]).postings})
            if self.expire_due(account_ids=accounts):
                for index in retry:
                    results[index] = self._one(scope, _as_new(news[index]))
        replays = [(i, r.entry) for i, r in enumerate(results) if isinstance(r, _Replayed)]
        for (index, _), entry in zip(replays, self._replayed([e for _, e in replays]), strict=True):
            results[index] = entry
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

    def _batch(self, scope: str, prepared: list[_Prepared], results: list[_Result]) -> None:
        items = [repo.entry_item(p.entry_id, p.new, p.fingerprint) for p in prepared]
        with self.engine.begin() as connection:
            outcomes = repo.post_entries(
                connection, scope, CREATE_TRANSACTION, items, keep_hours=self.keys.retention_hours
            )
            for item, outcome in zip(prepared, outcomes, strict=True):
                if outcome.outcome is PostResult.OK:
                    assert outcome.insert_id is not None and outcome.create_time is not None
                    results[item.index] = repo.recorded_entry(
                        item.entry_id, item.new, outcome.insert_id, outcome.create_time
                    )
                elif outcome.outcome is PostResult.REPLAY:
                    try:
                        results[item.index] = _Replayed(replayed_entry(outcome, item.new, item.fingerprint))
                    except DomainError as exc:
                        results[item.index] = exc
                elif outcome.outcome is PostResult.BUSY:
                    results[item.index] = request_in_progress(item.new.request_id)
                else:
                    results[item.index] = self._declined_item(connection, scope, item)

    def _declined_item(
        self, connection: object, scope: str, item: _Prepared
    ) -> Entry | DomainError | _Replayed:
        """The general path for one declined batch item, under a savepoint of the batch's transaction."""
        account_ids = sorted({p.account_id for p in item.new.postings})
        session = Session(bind=connection, join_transaction_mode="create_savepoint")  # type: ignore[arg-type]
        try:
            entry, replayed = self._post_claimed(
                session, scope, item.entry_id, item.new, item.fingerprint, account_ids
            )
            session.commit()  # releases the savepoint
            return _Replayed(entry) if replayed else entry
        except DomainError as exc:
            return exc
        finally:
            session.close()  # rolls back to the savepoint unless released


def _as_new(item: NewEntry | DomainError) -> NewEntry:
    assert isinstance(item, NewEntry)
    return item
