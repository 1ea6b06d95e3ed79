"""The sealer: gives committed entries their gap-free sequence and hash chain, after commit.

(Or in the writer's own transaction when the head is free: :meth:`Sealer.seal_within`,
the same pass run before the writer's commit.)

Writers insert entries without any global lock. The sealer then, in one
transaction at a time:

1. locks the ``ledger_head`` row (``FOR UPDATE SKIP LOCKED``: a sealer in another
   replica that holds it is at work, and this one skips its turn), which holds
   the last sequence, the last hash and the watermark ``seal_xmin``;
2. reads the committed entries without a seal, in insert order. Only entries of
   transactions that were still unfinished at the previous pass can be unsealed
   (every committed one older than that pass's snapshot ``xmin`` was visible to it
   and sealed), so the search is ``xid >= seal_xmin``, on an index;
3. numbers them after the last sequence, chains their hashes, inserts the seals
   and advances the head, and commits.

Why the order is consistent with commits: a sealing pass sees a set of committed
entries and appends them after everything sealed before, in insert order. An
entry whose transaction could see another entry (it committed later and touched
the same bounded balance rows, locked before its insert, or it started after the
other committed) was inserted after it and is visible to a pass only if the other
one is too, so it is never sealed before it. So every bounded account's entries
are sealed in the order its balance went through them, and replaying the feed
never takes it below its floor. (Unbounded accounts' rows are added to at the end
of a write, after its insert: two writes through one clearing account may be
sealed in either order, which no rule of that account can tell apart.) Seals
are inserted by one transaction at a time, each numbering after the last
committed seal, so a reader that sees sequence n sees every sequence below it:
the feed has no gap and no duplicate.

Across processes (replicas, or ``NEXAFI_WORKERS`` workers of one service: each has its own
sealer), a pass that commits seals also sends ``NOTIFY ledger_sealed`` in its transaction
(delivered at commit). Every sealer ``LISTEN``s on its own connection and, on another
process's notification, wakes its writers that found the head taken (they look for their
seals and take the next turn at once instead of polling) and its change-feed streams.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Engine

from services.ledger.direct import DirectConnections
from services.ledger.domain.chain import entry_hash
from services.ledger.domain.model import Entry
from services.ledger.seal_rows import (
    ANY_UNSEALED_SQL,
    LOCK_HEAD_SQL,
    NO_SEQSCAN,
    UNSEALED_SQL,
    Seal,
    SealedPass,
    record_sealed,
    unsealed_entry,
)

log = logging.getLogger("nexafi.ledger")

RECENT_SEALS = 10_000

# Sent in every sealing transaction (so at its commit); the payload names the sealer that sent it.
CHANNEL = "ledger_sealed"


class _Waiter:
    def __init__(self, entry_ids: Sequence[str]) -> None:
        self.missing = set(entry_ids)
        self.seals: dict[str, Seal] = {}
        self.done = threading.Event()

    def resolve(self, seal: Seal) -> None:
        self.seals[seal.entry_id] = seal
        self.missing.discard(seal.entry_id)
        if not self.missing:
            self.done.set()


class Sealer:
    """Seals committed entries: a thread woken by local commits, and polling for other replicas' ones."""

    def __init__(
        self,
        engine: Engine,
        connections: DirectConnections | None = None,
        on_sealed: Any = None,
        interval_seconds: float = 0.05,
        batch: int = 1000,
    ) -> None:
        self.engine = engine
        self.connections = connections or DirectConnections(engine, 2)
        self.on_sealed = on_sealed  # called after a pass that sealed something (wakes the feed)
        self.interval_seconds = interval_seconds
        self.batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._turn = threading.Condition()  # guards _busy; notified when a pass ends
        self._busy = False  # a sealing pass is under way in this process (one at a time)
        self._waiters_lock = threading.Lock()
        self._waiters: dict[str, list[_Waiter]] = {}
        # The last seals made here: a writer whose entry was sealed before it came to wait finds it here.
        self._recent: OrderedDict[str, Seal] = OrderedDict()
        self._thread: threading.Thread | None = None
        # Other processes' sealing commits, counted by the listener (LISTEN ledger_sealed).
        self._token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._released = threading.Condition()
        self._generation = 0
        self._listening = False  # the listener's LISTEN is in place: waiters need not poll fast
        self._listener: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ledger-sealer", daemon=True)
        self._thread.start()
        self._listener = threading.Thread(target=self._listen, name="ledger-seal-listener", daemon=True)
        self._listener.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        for thread in (self._thread, self._listener):
            if thread is not None:
                thread.join(timeout=5)

    # -- other processes' seals (LISTEN/NOTIFY) -------------------------------------------------
    @property
    def listening(self) -> bool:
        """The listener's LISTEN is in place (other processes' sealing commits are heard)."""
        return self._listening

    def generation(self) -> int:
        """How many other processes' sealing commits were heard (see :meth:`await_release`)."""
        with self._released:
            return self._generation

    def await_release(self, seen: int, timeout_seconds: float) -> bool:
        """Wait until a sealing commit elsewhere is heard after ``seen`` (True), or the timeout."""
        with self._released:
            return self._released.wait_for(lambda: self._generation != seen, timeout_seconds)

    def _heard(self) -> None:
        with self._released:
            self._generation += 1
            self._released.notify_all()
        if self.on_sealed is not None:
            self.on_sealed()  # the feed's streams read the new seals at once

    def _listen(self) -> None:
        """LISTEN on a connection of its own; reconnects after an error until stopped."""
        while not self._stop.is_set():
            proxied = None
            try:
                proxied = self.engine.raw_connection()
                proxied.detach()
                connection: Any = proxied.dbapi_connection  # psycopg2's: poll() and notifies
                assert connection is not None
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANNEL}")
                self._listening = True
                # Heard nothing while not listening: waiters of that gap look again now.
                self._heard()
                while not self._stop.is_set():
                    if select.select([connection], [], [], 0.5)[0]:
                        connection.poll()
                        others = [n for n in connection.notifies if n.payload != self._token]
                        connection.notifies.clear()
                        if others:
                            self._heard()
            except Exception:
                log.exception("listening for seals failed; reconnecting")
                self._stop.wait(0.5)
            finally:
                self._listening = False
                if proxied is not None:
                    try:
                        proxied.close()
                    except Exception:
                        log.debug("closing the listener's connection failed", exc_info=True)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.seal_pending(probe=True)
            except Exception:
                log.exception("sealing failed; retrying")
                self._stop.wait(0.5)

    # -- waiting for seals --------------------------------------------------------------------
    def wait(self, entries: Sequence[Entry], timeout_seconds: float) -> list[Entry]:
        """``entries`` (committed) with their seals, waiting up to ``timeout_seconds``; unsealed as given.

        The waiting writer seals itself when no pass is under way in this process
        (no hand-off to another thread); otherwise it waits for that pass, whose
        seals cover every entry committed before it began, and takes the next turn
        if its entries were not among them.
        """
        if timeout_seconds <= 0 or not entries:
            return list(entries)
        waiter = _Waiter([e.id for e in entries])
        with self._waiters_lock:
            for entry_id in list(waiter.missing):
                recent = self._recent.get(entry_id)
                if recent is not None:  # sealed by a pass that ended before we came to wait
                    waiter.resolve(recent)
                else:
                    self._waiters.setdefault(entry_id, []).append(waiter)
        deadline = time.monotonic() + timeout_seconds
        try:
            while True:
                remaining = deadline - time.monotonic()
                with self._turn:
                    while self._busy and not waiter.done.is_set() and remaining > 0:
                        self._turn.wait(remaining)  # a pass is under way: its end notifies
                        remaining = deadline - time.monotonic()
                    if waiter.done.is_set() or remaining <= 0:
                        break
                    self._busy = True  # this writer's turn to seal
                heard = self.generation()  # before the attempt: a release after it is not missed
                try:
                    sealed, contended = self._seal_all()
                except Exception:
                    # The entries are committed whatever happens here: report them unsealed and
                    # leave them to the next pass (the background sealer's, at the latest).
                    log.exception("sealing failed; returning the entries unsealed")
                    break
                finally:
                    self._end_turn()
                if self.on_sealed is not None and sealed:
                    self.on_sealed()
                if not waiter.done.is_set() and (contended or not sealed):
                    # Sealed by another process's sealer, or being sealed by it: look, then wait for
                    # its commit (heard by the listener), or a short poll when not listening.
                    self._lookup(list(waiter.missing))
                    if not waiter.done.is_set():
                        if self._listening:
                            # Bounded all the same: a pass elsewhere that found nothing to seal
                            # ends without a notification.
                            self.await_release(heard, min(remaining, self.interval_seconds / 2))
                        else:
                            waiter.done.wait(min(remaining, self.interval_seconds / 5))
        finally:
            with self._waiters_lock:
                for entry_id in [e.id for e in entries]:
                    waiting = self._waiters.get(entry_id, [])
                    if waiter in waiting:
                        waiting.remove(waiter)
                    if not waiting:
                        self._waiters.pop(entry_id, None)
        result = []
        for entry in entries:
            seal = waiter.seals.get(entry.id)
            result.append(
                entry
                if seal is None
                else replace(entry, sequence=seal.sequence, previous_hash=seal.previous_hash, hash=seal.hash)
            )
        return result

    def _begin_turn(self) -> None:
        with self._turn:
            while self._busy:
                self._turn.wait()
            self._busy = True

    def _end_turn(self) -> None:
        with self._turn:
            self._busy = False
            self._turn.notify_all()

    def _resolve(self, seals: Sequence[Seal]) -> None:
        with self._waiters_lock:
            for seal in seals:
                for waiter in self._waiters.pop(seal.entry_id, []):
                    waiter.resolve(seal)
                self._recent[seal.entry_id] = seal
            while len(self._recent) > RECENT_SEALS:
                self._recent.popitem(last=False)

    def _lookup(self, entry_ids: list[str]) -> None:
        """Resolve waiters from the seals table (for entries another replica's sealer sealed)."""
        if not entry_ids:
            return
        with self.connections.connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT entry_id, sequence, previous_hash, hash FROM entry_seals "
                "WHERE entry_id = ANY(%(ids)s)",
                {"ids": entry_ids},
            )
            rows = cursor.fetchall()
        self._resolve([Seal(*row) for row in rows])

    # -- sealing ------------------------------------------------------------------------------
    def seal_pending(self, probe: bool = True) -> int:
        """Seal every entry committed so far (unless another replica's sealer is at it); how many."""
        self._begin_turn()
        try:
            sealed, _ = self._seal_all(probe)
        finally:
            self._end_turn()
        if sealed and self.on_sealed is not None:
            self.on_sealed()
        return sealed

    def _seal_all(self, probe: bool = False) -> tuple[int, bool]:
        """Passes until nothing committed is left unsealed: (how many, whether another sealer was at it).

        The caller has the turn (``_busy``). ``probe`` first checks, read-only, that there is
        anything to seal, so idle polls neither write nor take a transaction id.
        """
        total = 0
        with self.connections.connection() as connection, connection.cursor() as cursor:
            try:
                if probe:
                    cursor.execute("BEGIN READ ONLY; " + NO_SEQSCAN + ANY_UNSEALED_SQL)
                    anything = cursor.fetchone()[0]
                    cursor.execute("ROLLBACK")
                    if not anything:
                        return 0, False
                while True:
                    seals, more, contended = self._seal_once(cursor)
                    total += len(seals)
                    if not more:
                        return total, contended
            except Exception:
                if not connection.closed:
                    connection.rollback()  # leave no transaction open on a reused connection
                raise

    def _seal_once(self, cursor: Any) -> tuple[list[Seal], bool, bool]:
        """One sealing transaction in three round trips: (seals committed, more waiting, head was taken)."""
        cursor.execute("BEGIN; " + NO_SEQSCAN + LOCK_HEAD_SQL)
        head = cursor.fetchone()
        if head is None:
            cursor.execute("ROLLBACK")
            return [], False, True  # another sealer holds the head
        seals, more = self._seal_locked(cursor, head, "ROLLBACK")
        return seals, more, False

    # -- sealing inside a writer's transaction ------------------------------------------------
    def try_begin_turn(self) -> bool:
        """Take this process's sealing turn if no pass is under way; False (at once) otherwise."""
        with self._turn:
            if self._busy:
                return False
            self._busy = True
            return True

    def end_turn(self, sealed: bool) -> None:
        """End a turn taken with :meth:`try_begin_turn`; ``sealed``: it sealed something (wake the feed)."""
        self._end_turn()
        if sealed and self.on_sealed is not None:
            self.on_sealed()

    def seal_within(self, cursor: Any) -> bool:
        """Seal inside the caller's open transaction, which has inserted entries, and commit it.

        The caller holds this process's turn (:meth:`try_begin_turn`). If the head is free,
        this is a sealing pass like any other, run in the writer's transaction: its snapshot
        sees every committed unsealed entry and the writer's own (uncommitted, so seen by no
        one else), numbers them all after the last sequence in insert order, and commits the
        entries, their seals and the head together: one commit per transfer instead of two.
        The watermark is this statement's snapshot xmin, which is at most the writer's own
        xid (still running), so nothing a later pass must see is left below it. Every
        argument of the module docstring holds as for the sealer's own passes: the head's
        row lock is held to the commit, so seals are still appended one transaction at a time.

        Returns False when another sealer holds the head: the transaction is committed
        without seals and the writer waits for them as before (:meth:`wait`, group commit).
        """
        cursor.execute(NO_SEQSCAN + LOCK_HEAD_SQL)
        head = cursor.fetchone()
        if head is None:
            cursor.execute("COMMIT")
            return False
        seals, more = self._seal_locked(cursor, head, "COMMIT")
        if more:
            self.wake()  # a backlog beyond one batch: the background sealer takes the rest
        return bool(seals)

    def seal_open(self, cursor: Any) -> SealedPass | None:
        """Seal inside the caller's open transaction, leaving the commit to the caller.

        :meth:`seal_within` for a transaction the caller commits itself (a SQLAlchemy session's):
        the caller holds this process's turn (:meth:`try_begin_turn`) until it has committed,
        then hands the result to :meth:`publish` (the seals are not known to waiters before the
        commit, which may still fail). None when another sealer holds the head: the caller
        commits unsealed and waits for its seal as before.
        """
        cursor.execute(NO_SEQSCAN + LOCK_HEAD_SQL)
        head = cursor.fetchone()
        if head is None:
            return None
        return self._seal_rows(cursor, head, "")

    def publish(self, sealed: SealedPass) -> None:
        """After the commit of :meth:`seal_open`'s transaction: resolve its waiters, count its entries."""
        if sealed.seals:
            self._resolve(sealed.seals)
            record_sealed(sealed.entries)
        if sealed.more:
            self.wake()  # a backlog beyond one batch: the background sealer takes the rest

    def _seal_locked(self, cursor: Any, head: Sequence[Any], end_if_none: str) -> tuple[list[Seal], bool]:
        """Seal in the open transaction that holds the head, and commit: (seals committed, more waiting).

        With nothing to seal the transaction ends with ``end_if_none``.
        """
        sealed = self._seal_rows(cursor, head, "COMMIT", end_if_none)
        self.publish(replace(sealed, more=False))
        return sealed.seals, sealed.more

    def _seal_rows(self, cursor: Any, head: Sequence[Any], commit: str, end_if_none: str = "") -> SealedPass:
        """Number, chain and insert the seals of what the open transaction (holding the head) sees.

        Ends the transaction with ``commit`` after them, or with ``end_if_none`` if there are
        none ("" leaves it open either way).
        """
        last_sequence, last_hash, seal_xmin = head
        cursor.execute(UNSEALED_SQL, {"xmin": seal_xmin, "n": self.batch})
        rows = cursor.fetchall()
        snapshot_xmin = rows[0][0]
        found = [row for row in rows if row[1] is not None]
        if not found:
            if end_if_none:
                cursor.execute(end_if_none)
            return SealedPass([], [], False)
        seals: list[Seal] = []
        sealed: list[Entry] = []
        previous = last_hash
        for offset, row in enumerate(found, start=1):
            entry = unsealed_entry(row, last_sequence + offset)
            digest = entry_hash(previous, entry)
            seals.append(Seal(entry.id, entry.sequence, previous, digest))
            sealed.append(entry)
            previous = digest
        more = len(found) >= self.batch
        params: dict[str, Any] = {
            "last": seals[-1].sequence,
            "hash": previous,
            "xmin": seal_xmin if more else snapshot_xmin,
            "me": self._token,
        }
        values = []
        for i, seal in enumerate(seals):
            values.append(f"(%(s{i})s, %(e{i})s, %(p{i})s, %(h{i})s)")
            params.update(
                {
                    f"s{i}": seal.sequence,
                    f"e{i}": seal.entry_id,
                    f"p{i}": seal.previous_hash,
                    f"h{i}": seal.hash,
                }
            )
        cursor.execute(
            f"INSERT INTO entry_seals (sequence, entry_id, previous_hash, hash) VALUES {', '.join(values)}; "
            "UPDATE ledger_head SET last_sequence = %(last)s, last_hash = %(hash)s, "
            "seal_xmin = %(xmin)s::xid8 WHERE id = 1; "
            f"SELECT pg_notify('{CHANNEL}', %(me)s); {commit}",
            params,
        )
        return SealedPass(seals, sealed, more)
