"""Sealing commits are heard by the other processes' sealers (LISTEN/NOTIFY on ``ledger_sealed``).

A writer whose entry was committed while another process held the ledger head waits for that
process's commit to be heard instead of polling; here two ledgers stand for two processes.
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from services.ledger.domain.model import Entry
from services.ledger.service import Ledger
from tests.integration.ledger.ledger_support import LedgerClient, usd_transfer

SCOPE = "svc_seal_wakeup"


def _listening(ledger: Ledger) -> None:
    deadline = time.monotonic() + 30
    while not ledger.sealer.listening:
        assert time.monotonic() < deadline, "the sealer did not start listening"
        time.sleep(0.01)


def test_a_seal_in_one_process_is_heard_by_the_others_and_not_by_itself(
    ledger: LedgerClient, ledger_db: Engine
) -> None:
    a, b = ledger.wallet().id, ledger.wallet().id
    ledger.fund(a, 100)
    one, other = Ledger(ledger_db), Ledger(ledger_db)
    for replica in (one, other):
        replica.sealer.start()
    try:
        for replica in (one, other):
            _listening(replica)
        heard_by_other, heard_by_self = other.sealer.generation(), one.sealer.generation()
        entry = one.create_transaction(SCOPE, usd_transfer(a, b))
        assert entry.sequence > 0
        assert other.sealer.await_release(heard_by_other, 30)
        # Its own notification is not one of the "others'": nothing new for it to look at.
        assert not one.sealer.await_release(heard_by_self, 0.2)
    finally:
        for replica in (one, other):
            replica.sealer.stop()
            replica.direct.close()


def test_a_writer_that_found_the_head_taken_gets_its_seal_when_the_holder_commits(
    ledger: LedgerClient, ledger_db: Engine
) -> None:
    a, b = ledger.wallet().id, ledger.wallet().id
    ledger.fund(a, 100)
    writer = Ledger(ledger_db, seal_wait_seconds=60)
    writer.sealer.start()
    _listening(writer)
    results: list[Entry] = []
    try:
        with ledger_db.connect() as connection:
            # Another process's sealing transaction holds the head while the writer commits.
            connection.execute(sa.text("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE"))
            thread = threading.Thread(
                target=lambda: results.append(writer.create_transaction(SCOPE, usd_transfer(a, b)))
            )
            thread.start()
            deadline = time.monotonic() + 30
            while writer.sealed_after_commit < 1:
                assert time.monotonic() < deadline, "the writer did not commit while the head was held"
                time.sleep(0.01)
            # What a sealing pass elsewhere sends in its transaction (heard at its commit).
            connection.execute(sa.text("SELECT pg_notify('ledger_sealed', 'elsewhere')"))
            connection.commit()
        thread.join(60)
        assert not thread.is_alive()
        # Sealed after the holder's commit was heard (its own pass, or the holder's).
        assert results and results[0].sequence > 0
    finally:
        writer.sealer.stop()
        writer.direct.close()
