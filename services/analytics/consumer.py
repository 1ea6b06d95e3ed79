"""The consumer of the ledger's change feed that keeps the analytics summaries.

It resumes after its committed checkpoint, follows ``StreamTransactions`` and
applies entries in transactions together with the checkpoint (see
``repository.apply_entries``), so a crash, a restart, a re-delivered entry or a
second replica consuming the same feed can never count an entry twice or skip
one. A reader thread receives the stream into a bounded queue; the applier takes
whatever has arrived, up to MAX_BATCH entries, into one transaction: one commit
per entry when the feed is quiet (lowest lag), one per batch under a backlog.
When the ledger is unreachable or the stream breaks, it reconnects with
exponential backoff (capped), resuming from the checkpoint again.

Account owners are not on the feed (postings name accounts only), so the first
entry touching an account looks it up once with ``GetAccount`` and keeps it in
``ledger_accounts`` (owner, class and currency never change in the ledger).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import grpc
from sqlalchemy.engine import Engine

from services.analytics import repository as repo
from services.analytics.clients import FeedStream, LedgerClient
from services.analytics.domain.model import AccountInfo, Entry, flows_of
from services.runtime import metrics
from services.runtime.db import run_in_transaction

log = logging.getLogger("nexafi.analytics.consumer")

# The feed's lag in entries is nexafi_ledger_last_sequence - nexafi_analytics_feed_sequence
# (zero when idle); in time, this histogram (from the entry's ledger timestamp to its commit here).
FEED_SEQUENCE = metrics.gauge(
    "nexafi_analytics_feed_sequence", "The ledger sequence the analytics summaries are complete up to."
)
FEED_LAG = metrics.histogram(
    "nexafi_analytics_feed_lag_seconds",
    "Time from a ledger entry's timestamp to its application to the analytics summaries.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0),
)

SUMMARIES_CONSUMER = "analytics-summaries"
# Accounts are immutable in what we keep of them; the cache only bounds memory.
MAX_CACHED_ACCOUNTS = 100_000
# Entries applied in one transaction at most, and entries received ahead of the applier.
MAX_BATCH = 200
QUEUE_SIZE = 2 * MAX_BATCH
_END = object()


class FeedConsumer:
    """Applies the ledger feed to the summaries, in a background thread or on demand."""

    def __init__(
        self,
        engine: Engine,
        ledger: LedgerClient,
        name: str = SUMMARIES_CONSUMER,
        *,
        min_backoff_seconds: float = 0.2,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.name = name
        self.min_backoff = min_backoff_seconds
        self.max_backoff = max_backoff_seconds
        self._accounts: dict[str, AccountInfo] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._call: FeedStream | None = None
        self._thread: threading.Thread | None = None
        # Observability of the background loop (read by health logs and tests).
        self.delivered_total = 0
        self.interruptions = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        run_in_transaction(self.engine, lambda s: repo.ensure_checkpoint(s, self.name))
        FEED_SEQUENCE.set(self.checkpoint().last_sequence)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            if self._call is not None:
                self._call.cancel()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        backoff = self.min_backoff
        while not self._stop.is_set():
            delivered_before = self.delivered_total
            problem = "ended"  # the ledger closes streams when it shuts down
            try:
                self._consume(follow=True)
            except grpc.RpcError as exc:
                if self._stop.is_set():
                    break
                code = exc.code() if hasattr(exc, "code") else None
                problem = f"interrupted ({code})"
                if code == grpc.StatusCode.UNAVAILABLE:
                    self.ledger.reconnect()
            except Exception:
                problem = "failed"
                log.exception("applying the ledger feed failed")
            if self._stop.is_set():
                break
            self.interruptions += 1
            if self.delivered_total > delivered_before:
                # The connection worked for a while: a new outage starts at the shortest delay.
                backoff = self.min_backoff
            log.warning("ledger feed %s; reconnecting in %.1fs", problem, backoff)
            if self._stop.wait(backoff):
                break
            backoff = min(backoff * 2, self.max_backoff)

    # -- consuming ---------------------------------------------------------------------------------

    def checkpoint(self) -> repo.Checkpoint:
        found = run_in_transaction(self.engine, lambda s: repo.get_checkpoint(s, self.name))
        if found is None:
            raise LookupError(f"no checkpoint for consumer {self.name!r}")
        return found

    def catch_up(self, after_sequence: int | None = None) -> tuple[int, int]:
        """Apply what the ledger has committed so far, then return (delivered, applied).

        ``after_sequence`` replays from an earlier point (re-delivery); entries at or
        below the checkpoint are delivered but not applied again.
        """
        return self._consume(follow=False, after_sequence=after_sequence)

    def _consume(self, *, follow: bool, after_sequence: int | None = None) -> tuple[int, int]:
        start = self.checkpoint().last_sequence if after_sequence is None else after_sequence
        call = self.ledger.stream(start, follow=follow)
        with self._lock:
            self._call = call
            if self._stop.is_set() and follow:
                call.cancel()
        delivered = applied = 0
        try:
            for entries in _batches(call):
                delivered += len(entries)
                self.delivered_total += len(entries)
                applied += self.apply_batch(entries)
        finally:
            with self._lock:
                self._call = None
        return delivered, applied

    def apply(self, entry: Entry) -> bool:
        """Apply one entry and advance the checkpoint in one transaction; False if it was applied before."""
        return self.apply_batch([entry]) == 1

    def apply_batch(self, entries: list[Entry]) -> int:
        """Apply ``entries`` (in feed order) with the checkpoint in one transaction; how many were new."""
        for entry in entries:
            if entry.sequence <= 0:
                raise ValueError(f"entry {entry.transaction_id} has no sequence")
        accounts = self._lookup({a for entry in entries for a in entry.account_ids})
        batch = [(entry, flows_of(entry, accounts)) for entry in entries]
        applied = run_in_transaction(self.engine, lambda s: repo.apply_entries(s, self.name, batch))
        if applied and entries:
            now = time.time()
            for entry in entries[-applied:]:
                FEED_LAG.observe(max(0.0, now - entry.timestamp.timestamp()))
            FEED_SEQUENCE.set(entries[-1].sequence)
        return applied

    def _lookup(self, account_ids: Iterable[str]) -> dict[str, AccountInfo]:
        wanted = set(account_ids)
        found = {a: self._accounts[a] for a in wanted if a in self._accounts}
        missing = wanted - found.keys()
        if missing:
            stored = run_in_transaction(self.engine, lambda s: repo.known_accounts(s, missing))
            fetched = [self.ledger.account_info(a) for a in sorted(missing - stored.keys())]
            if fetched:
                run_in_transaction(self.engine, lambda s: repo.save_accounts(s, fetched))
            found.update(stored)
            found.update({a.account_id: a for a in fetched})
            if len(self._accounts) > MAX_CACHED_ACCOUNTS:
                self._accounts.clear()
            self._accounts.update(found)
        return found


def _batches(call: FeedStream) -> Iterator[list[Any]]:
    """The items of a blocking stream, grouped as they arrive: each group holds what was received
    by the time the previous one was handled (at least one item, at most MAX_BATCH).

    A daemon thread reads the stream into a bounded queue; the stream's end or error reaches the
    caller after the items before it. When the caller stops early (an error while applying), the
    call is cancelled and the queue drained, so the reader ends too."""
    received: queue.Queue[object] = queue.Queue(QUEUE_SIZE)

    def read() -> None:
        outcome: object = _END
        try:
            for item in call:
                received.put(item)
        except grpc.RpcError as exc:  # handed to the applier, which raises it
            outcome = exc
        except Exception as exc:
            log.exception("reading the ledger feed failed")
            outcome = exc
        # Full only when the applier has gone (it cancelled the call and drained the queue).
        with contextlib.suppress(queue.Full):
            received.put(outcome, timeout=1)

    threading.Thread(target=read, name="feed-reader", daemon=True).start()
    try:
        while True:
            batch: list[Any] = []
            item = received.get()
            while True:
                if item is _END or isinstance(item, Exception):
                    if batch:
                        yield batch
                    if isinstance(item, Exception):
                        raise item
                    return
                batch.append(item)
                if len(batch) >= MAX_BATCH:
                    break
                try:
                    item = received.get_nowait()
                except queue.Empty:
                    break
            yield batch
    finally:
        call.cancel()
        while True:
            try:
                received.get_nowait()
            except queue.Empty:
                break
