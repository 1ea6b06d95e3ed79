"""Sealing inside the writer's transaction, under contention: both write paths, one chain.

Two ledger replicas (plus the session's server) write to one database from many threads:
a writer seals in its own transaction when the head is free and commits unsealed (sealed
by a pass after commit) when it is not. Whatever mix happens, the books and the chain must
come out as if every entry had been sealed by the sealer alone.
"""

from __future__ import annotations

import random
import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.ledger.domain.model import Entry
from services.ledger.service import Ledger
from services.runtime.errors import DomainError
from tests.integration.ledger.ledger_support import LedgerClient, assert_ledger_invariants, usd_transfer

THREADS = 16
OPERATIONS = 20
HELD = 4
START = 10_000
SCOPE = "svc_seal_in_write"


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(sql)).scalar_one())


def test_writers_sealing_in_their_transaction_and_after_commit_keep_one_chain(
    ledger: LedgerClient, ledger_db: Engine
) -> None:
    wallets = [ledger.wallet().id for _ in range(4)]
    for wallet in wallets:
        ledger.fund(wallet, START)
    replicas = [Ledger(ledger_db), Ledger(ledger_db)]
    for replica in replicas:
        replica.sealer.start()
    returned: list[Entry] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def write(replica: Ledger, debit: str, credit: str, amount: int) -> None:
        try:
            entry = replica.create_transaction(SCOPE, usd_transfer(debit, credit, amount))
        except DomainError:
            return  # insufficient funds: a refusal, not a failure
        except BaseException as exc:  # reported below
            with lock:
                failures.append(exc)
            return
        with lock:
            returned.append(entry)

    try:
        # 1. The head held by another transaction (a sealer elsewhere): every writer commits
        #    unsealed, then gets its seal from a pass after the head is released.
        before = _count(ledger_db, "SELECT count(*) FROM entries")
        with ledger_db.connect() as holder:
            holder.execute(sa.text("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE"))
            held = [
                threading.Thread(
                    target=write, args=(replicas[i % 2], wallets[i % 4], wallets[(i + 1) % 4], 1)
                )
                for i in range(HELD)
            ]
            for thread in held:
                thread.start()
            deadline = time.monotonic() + 60
            while _count(ledger_db, "SELECT count(*) FROM entries") < before + HELD:
                assert time.monotonic() < deadline, "the writers did not commit while the head was held"
                time.sleep(0.05)
            assert sum(r.sealed_after_commit for r in replicas) >= HELD
            assert sum(r.sealed_in_write for r in replicas) == 0
            holder.rollback()
        for thread in held:
            thread.join()

        # 2. Contention: many writers on a few hot accounts, over both replicas.
        barrier = threading.Barrier(THREADS)

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            barrier.wait()
            for _ in range(OPERATIONS):
                a, b = rng.sample(wallets, 2)
                write(replicas[rng.randrange(2)], a, b, rng.randint(1, 2_000))

        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for replica in replicas:
            replica.sealer.seal_pending()
    finally:
        for replica in replicas:
            replica.sealer.stop()
            replica.direct.close()

    assert failures == []
    assert sum(r.sealed_in_write for r in replicas) > 0
    assert sum(r.sealed_after_commit for r in replicas) >= HELD
    # Every entry sealed once, the sequence gap-free, the chain intact, the books balanced.
    entries = _count(ledger_db, "SELECT count(*) FROM entries")
    with ledger_db.connect() as connection:
        sequences = (
            connection.execute(sa.text("SELECT sequence FROM entry_seals ORDER BY sequence")).scalars().all()
        )
        stored = {
            row.entry_id: (row.sequence, row.hash)
            for row in connection.execute(sa.text("SELECT entry_id, sequence, hash FROM entry_seals"))
        }
    assert sequences == list(range(1, entries + 1))
    report = replicas[0].verify_chain()
    assert report.valid, report.detail
    assert report.entries_checked == entries
    assert_ledger_invariants(ledger_db)
    # What each writer was told is what was recorded (a writer may return before its seal only
    # on a timeout; then it says so with sequence 0).
    for entry in returned:
        if entry.sequence:
            assert stored[entry.id] == (entry.sequence, entry.hash)
    assert len({e.sequence for e in returned if e.sequence}) == len([e for e in returned if e.sequence])
