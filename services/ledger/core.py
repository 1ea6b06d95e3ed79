"""What the ledger's use cases share: transactions, seals, idempotency keys and lapsed holds.

Every write runs in one database transaction in this lock order, the same for
every writer, so writers queue instead of deadlocking:

1. the idempotency keys: a transaction-scoped advisory lock per key, *tried* (never
   waited for: a key held by another transaction is a request in progress, answered
   ABORTED REQUEST_IN_PROGRESS at once), then the key's row; the key and the first
   response are stored in this same transaction (services/runtime/idempotency.py,
   the in-transaction variant), so they commit with the effect or not at all,
2. the pending transfer row, when there is one,
3. the balance rows of bounded accounts (a floor to keep), in account-id order,
4. last, just before the commit, the balance rows of unbounded accounts (clearing and other
   system accounts), in account-id order: they have no limit to check, so their change is
   added to the row (``posted = posted + delta``) instead of read and written under a lock
   taken at the start (``repository.save_balances``). A hot clearing account's row is then
   locked only from that statement to the commit; a writer holding it waits for nothing else.

No writer waits for a global lock: entries get their gap-free ``sequence`` and hash
chain from a sealing pass (services/ledger/sealer.py), the only holder of the ledger
head (see services/ledger/journal.py for the fast path that seals in the writer's
own transaction when the head is free).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.ledger import repository as repo
from services.ledger.direct import DirectConnections
from services.ledger.domain import pending as pending_rules
from services.ledger.domain.model import Balances, Direction, Entry, PendingTransfer, PostingLine
from services.ledger.domain.rules import BalanceState, check_limits
from services.ledger.feed import FeedNotifier
from services.ledger.seal_rows import SealedPass
from services.ledger.sealer import Sealer
from services.ledger.settings import LedgerSettings
from services.runtime.db import UnitOfWork, run_in_transaction
from services.runtime.errors import FailedPrecondition, InsufficientFunds
from services.runtime.fingerprints import request_fingerprint
from services.runtime.idempotency import Claim, IdempotencyStore

T = TypeVar("T")

# The HMAC key of the ledger's request fingerprints. Ledger requests hold no secret (no card
# data), so the key needs none either; a fixed one keeps fingerprints valid across deploys.
FINGERPRINT_KEY = b"nexafi-ledger-request-fingerprint"
KEYS_TABLE = "idempotency_keys"


class LedgerCore:
    def __init__(
        self,
        engine: Engine,
        notifier: FeedNotifier | None = None,
        seal_wait_seconds: float | None = None,
        settings: LedgerSettings | None = None,
    ) -> None:
        self.settings = settings or LedgerSettings()
        self.engine = engine
        self.notifier = notifier or FeedNotifier()
        self.direct = DirectConnections(engine, self.settings.direct_connections)
        self.sealer = Sealer(engine, self.direct, on_sealed=self.notifier.notify)
        self.seal_wait_seconds = (
            self.settings.seal_wait_seconds if seal_wait_seconds is None else seal_wait_seconds
        )
        # Seal inside the writer's transaction when the head is free (one commit per transfer).
        self.seal_in_write = self.settings.seal_in_write
        self.keys = IdempotencyStore(
            engine, retention_hours=self.settings.idempotency_retention_hours, table=KEYS_TABLE
        )
        self._read = UnitOfWork(engine)

    # -- transactions ---------------------------------------------------------------------------
    def _write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a transaction and commit; if it inserted entries, seal them in it when free.

        As the fast path does (``Sealer.seal_within``): when this process has no sealing pass under
        way and the head is free, the sealing pass runs as the transaction's last statements, so
        the entries and their seals commit together (one commit, not two). The unbounded
        accounts' increments go first, so the head is never held while waiting for a row lock.
        """
        if not self.seal_in_write or self.seal_wait_seconds <= 0:
            return run_in_transaction(self.engine, work)
        turn = [False]
        passes: list[SealedPass] = []

        def sealing(session: Session) -> T:
            passes.clear()
            result = work(session)
            if session.info.get(repo.APPENDED):
                repo.apply_deferred_balances(session)
                if turn[0] or self.sealer.try_begin_turn():
                    turn[0] = True
                    cursor = session.connection().connection.cursor()
                    try:
                        sealed = self.sealer.seal_open(cursor)
                    finally:
                        cursor.close()
                    if sealed is not None:
                        passes.append(sealed)
            return result

        published = False
        try:
            result = run_in_transaction(self.engine, sealing)
            for sealed in passes:  # committed (the last attempt's pass): its waiters may know
                self.sealer.publish(sealed)
                published = bool(sealed.seals)
            return result
        finally:
            if turn[0]:
                self.sealer.end_turn(published)

    def _reading(self, work: Callable[[Session], T]) -> T:
        with self._read() as session:
            return work(session)

    # -- seals ------------------------------------------------------------------------------------
    def _sealed(self, entries: list[Entry]) -> list[Entry]:
        """Committed ``entries`` with their sequence and hashes, once sealed (by this thread, usually).

        Without waiting (``seal_wait_seconds`` 0), the background sealer is woken to seal them.
        """
        if self.seal_wait_seconds <= 0:
            self.sealer.wake()
            return entries
        return self.sealer.wait(entries, self.seal_wait_seconds)

    def _replayed(self, entries: list[Entry]) -> list[Entry]:
        """Entries replayed from stored responses, with the seals they got since (or waited for)."""
        if not entries:
            return entries
        found = self._reading(lambda s: repo.with_seals(s, entries))
        unsealed = [e for e in found if e.sequence == 0]
        if not unsealed:
            return found
        sealed = {e.id: e for e in self._sealed(unsealed)}
        return [sealed.get(e.id, e) for e in found]

    def _finished(self, entry: Entry, replayed: bool) -> Entry:
        if entry.sequence:
            return entry
        return self._replayed([entry])[0] if replayed else self._sealed([entry])[0]

    # -- idempotency keys ---------------------------------------------------------------------------
    @staticmethod
    def fingerprint(operation: str, body: Mapping[str, Any]) -> str:
        return request_fingerprint(FINGERPRINT_KEY, operation, body)

    def _claim(
        self, session: Session, scope: str, request_id: str, operation: str, fingerprint: str
    ) -> Claim | bytes | None:
        """A claim on ``request_id`` (None without one), or the stored first response to replay."""
        if not request_id:
            return None
        return self.keys.claim_in_transaction(session, scope, request_id, operation, fingerprint)

    def _complete(
        self, session: Session, claim: Claim | None, response: Callable[[], bytes], resource_id: str
    ) -> None:
        if claim is not None:
            self.keys.complete_in_transaction(session, claim, response(), resource_id)

    # -- lapsed holds ---------------------------------------------------------------------------
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
        after = release(states, held_legs(transfer))
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

    def purge_expired_keys(self) -> int:
        """Delete idempotency keys past their retention (the expiry sweep calls it)."""
        return self.keys.purge_expired()


# -- small pure helpers of the use cases ------------------------------------------------------------


def legs(debit_id: str, credit_id: str, amount: int, currency: str) -> tuple[PostingLine, ...]:
    return (
        PostingLine(debit_id, Direction.DEBIT, amount, currency),
        PostingLine(credit_id, Direction.CREDIT, amount, currency),
    )


def held_legs(transfer: PendingTransfer) -> tuple[PostingLine, ...]:
    """The legs a pending transfer holds: its whole amount, released when it is posted or voided."""
    return legs(
        transfer.debit_account_id, transfer.credit_account_id, transfer.amount_minor, transfer.currency
    )


def reserve(states: dict[str, BalanceState], lines: tuple[PostingLine, ...]) -> dict[str, BalanceState]:
    after = dict(states)
    for leg in lines:
        after[leg.account_id] = after[leg.account_id].reserve(leg.direction, leg.amount_minor)
    check_limits(states, after)
    return after


def release(states: dict[str, BalanceState], lines: tuple[PostingLine, ...]) -> dict[str, BalanceState]:
    after = dict(states)
    for leg in lines:
        after[leg.account_id] = after[leg.account_id].release(leg.direction, leg.amount_minor)
    return after


def balances_of(state: BalanceState, now: datetime) -> Balances:
    return Balances(
        state.currency, state.posted, state.pending_debits, state.pending_credits, state.available, now
    )
