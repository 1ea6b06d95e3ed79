"""Sealing after commit: entries get their gap-free sequence and hash chain from the sealer.

Writers take no global lock; the sealer numbers committed entries. These tests
hold a writer's transaction open while others commit, run a second sealer as a
second replica would, and upgrade a database that 0001 had already filled.
"""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2

from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger import repository as repo
from services.ledger.domain.chain import GENESIS_HASH, entry_hash
from services.ledger.domain.model import Direction, Entry, NewEntry, PostingLine, TransactionType
from services.ledger.sealer import Sealer
from services.ledger.service import Ledger
from services.runtime import migrations
from services.runtime.db import create_engine
from tests.integration.ledger.ledger_support import LedgerClient, assert_ledger_invariants, rid


def feed(ledger: LedgerClient, after: int) -> list[ledger_pb2.Transaction]:
    request = ledger_pb2.StreamTransactionsRequest(after_sequence=after, follow=False)
    return [
        item.transaction for item in ledger.stub.StreamTransactions(request, metadata=ledger.ops, timeout=30)
    ]


def last_sequence(ledger_db) -> int:
    with ledger_db.connect() as connection:
        return int(
            connection.execute(sa.text("SELECT COALESCE(max(sequence), 0) FROM entry_seals")).scalar_one()
        )


def sealed(ledger: LedgerClient, transaction_id: str, timeout: float = 10) -> ledger_pb2.Transaction:
    deadline = time.monotonic() + timeout
    while True:
        txn = ledger.stub.GetTransaction(
            ledger_pb2.GetTransactionRequest(transaction_id=transaction_id),
            metadata=ledger.ops,
            timeout=10,
        ).transaction
        if txn.sequence or time.monotonic() > deadline:
            return txn
        time.sleep(0.02)


def test_a_write_returns_its_entry_sealed_as_the_feed_delivers_it(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 50)
    txn = ledger.transfer(a.id, b.id, 20)
    assert txn.sequence > 0 and len(txn.hash) == 64 and len(txn.previous_hash) == 64
    assert feed(ledger, txn.sequence - 1)[0] == txn


def test_an_old_transaction_committing_late_is_sealed_after_what_committed_before_it(
    ledger: LedgerClient, ledger_db
) -> None:
    held_a, held_b = ledger.wallet(), ledger.wallet()
    ledger.fund(held_a.id, 100)
    others = [ledger.wallet().id for _ in range(2)]
    ledger.fund(others[0], 100)
    checkpoint = last_sequence(ledger_db)
    new = NewEntry(
        user_id="usr_held",
        type=TransactionType.TRANSFER,
        description="held",
        related_entity_id="",
        postings=(
            PostingLine(held_a.id, Direction.DEBIT, 30, "USD"),
            PostingLine(held_b.id, Direction.CREDIT, 30, "USD"),
        ),
        request_id=rid(),
    )
    item = repo.entry_item("txn_held_" + rid()[4:20], new, "h")
    connection = ledger_db.connect()
    try:
        transaction = connection.begin()
        outcome = connection.execute(
            sa.text(
                "SELECT o_outcome, o_insert_id FROM ledger_post_entries('svc_tests', 'CreateTransaction', "
                "CAST(:items AS jsonb))"
            ),
            {"items": json.dumps([item])},
        ).one()
        assert outcome.o_outcome == "ok"
        # Meanwhile, entries inserted after it commit and are sealed: it is not visible yet.
        meanwhile = [ledger.transfer(others[0], others[1], 1) for _ in range(3)]
        assert all(t.sequence > checkpoint for t in meanwhile)
        assert sealed(ledger, meanwhile[-1].id).sequence == meanwhile[-1].sequence
        transaction.commit()
    finally:
        connection.close()
    late = sealed(ledger, item["id"])
    assert late.sequence > max(t.sequence for t in meanwhile)  # sealed after what committed first
    delivered = feed(ledger, checkpoint)
    sequences = [t.sequence for t in delivered]
    assert sequences == list(range(checkpoint + 1, checkpoint + 1 + len(sequences)))
    ids = [t.id for t in delivered]
    assert len(ids) == len(set(ids)) and {item["id"], *(t.id for t in meanwhile)} <= set(ids)
    assert ledger.stub.VerifyChain(ledger_pb2.VerifyChainRequest(), metadata=ledger.admin, timeout=30).valid
    assert_ledger_invariants(ledger_db)


def test_two_sealers_as_two_replicas_never_fork_the_chain(ledger: LedgerClient, ledger_db, pg) -> None:
    engine = create_engine(pg.url("nexafi_ledger"))
    second = Sealer(engine, interval_seconds=0.001)
    wallets = [ledger.wallet().id for _ in range(4)]
    for wallet in wallets:
        ledger.fund(wallet, 1_000)
    checkpoint = last_sequence(ledger_db)
    written: list[str] = []
    lock = threading.Lock()

    def write(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(20):
            a, b = rng.sample(wallets, 2)
            txn = ledger.transfer(a, b, rng.randint(1, 10))
            with lock:
                written.append(txn.id)

    second.start()
    try:
        writers = [threading.Thread(target=write, args=(seed,)) for seed in range(4)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=60)
        assert not any(w.is_alive() for w in writers)
    finally:
        second.stop()
        engine.dispose()
    assert all(sealed(ledger, txn_id).sequence > checkpoint for txn_id in written)
    delivered = feed(ledger, checkpoint)
    sequences = [t.sequence for t in delivered]
    assert sequences == list(range(checkpoint + 1, checkpoint + 1 + len(sequences)))
    assert len({t.id for t in delivered}) == len(delivered) and set(written) <= {t.id for t in delivered}
    report = ledger.stub.VerifyChain(ledger_pb2.VerifyChainRequest(), metadata=ledger.admin, timeout=30)
    assert report.valid and report.entries_checked >= sequences[-1]


def test_upgrading_a_ledger_filled_by_0001_keeps_its_chain(pg: EmbeddedPostgres) -> None:
    url = pg.url("nexafi_ledger_upgrade")
    migrations.upgrade("ledger", url, "0001")
    engine = create_engine(url)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    previous = GENESIS_HASH
    try:
        with engine.begin() as connection:
            for account in ("acc_up_clearing", "acc_up_wallet"):
                connection.execute(
                    sa.text(
                        "INSERT INTO accounts (id, owner_id, name, type, currency, balance_rule, request_id) "
                        "VALUES (:id, 'system', 'n', :type, 'USD', 3, '')"
                    ),
                    {"id": account, "type": 1 if account.endswith("clearing") else 2},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO balances (account_id, currency, normal_side, posted) "
                        "VALUES (:id, 'USD', :side, 30)"
                    ),
                    {"id": account, "side": 1 if "clearing" in account else 2},
                )
            for sequence in (1, 2, 3):
                postings = (
                    PostingLine("acc_up_clearing", Direction.DEBIT, 10, "USD"),
                    PostingLine("acc_up_wallet", Direction.CREDIT, 10, "USD"),
                )
                draft = Entry(
                    id=f"txn_up_{sequence}",
                    sequence=sequence,
                    user_id="usr_up",
                    type=TransactionType.DEPOSIT,
                    description="old",
                    related_entity_id="",
                    amount_minor=10,
                    currency="USD",
                    metadata={},
                    request_id=f"r{sequence}",
                    reverses_id=None,
                    pending_transfer_id=None,
                    create_time=t0 + timedelta(seconds=sequence),
                    previous_hash=previous,
                    hash="",
                    postings=postings,
                )
                digest = entry_hash(previous, draft)
                connection.execute(
                    sa.text(
                        "INSERT INTO entries (id, sequence, user_id, type, description, related_entity_id, "
                        "amount_minor, currency, metadata, request_id, create_time, previous_hash, hash) "
                        "VALUES (:id, :s, 'usr_up', 1, 'old', '', 10, 'USD', '{}', :r, :t, :p, :h)"
                    ),
                    {
                        "id": draft.id,
                        "s": sequence,
                        "r": draft.request_id,
                        "t": draft.create_time,
                        "p": previous,
                        "h": digest,
                    },
                )
                for idx, posting in enumerate(postings):
                    connection.execute(
                        sa.text(
                            "INSERT INTO postings (entry_id, idx, account_id, direction, amount_minor, "
                            "currency, sequence, create_time) VALUES (:e, :i, :a, :d, 10, 'USD', :s, :t)"
                        ),
                        {
                            "e": draft.id,
                            "i": idx,
                            "a": posting.account_id,
                            "d": int(posting.direction),
                            "s": sequence,
                            "t": draft.create_time,
                        },
                    )
                connection.execute(
                    sa.text("UPDATE ledger_head SET last_sequence = :s, last_hash = :h, last_time = :t"),
                    {"s": sequence, "h": digest, "t": draft.create_time},
                )
                previous = digest
        migrations.upgrade("ledger", url)
        ledger = Ledger(engine, seal_wait_seconds=5)  # no sealer thread: writes seal inline
        report = ledger.verify_chain()
        assert (report.valid, report.entries_checked) == (True, 3)
        assert [e.id for e in ledger.entries_after(1)] == ["txn_up_2", "txn_up_3"]
        entry = ledger.create_transaction(
            "svc_up",
            NewEntry(
                user_id="usr_up",
                type=TransactionType.DEPOSIT,
                description="new",
                related_entity_id="",
                postings=(
                    PostingLine("acc_up_clearing", Direction.DEBIT, 5, "USD"),
                    PostingLine("acc_up_wallet", Direction.CREDIT, 5, "USD"),
                ),
                request_id=rid(),
            ),
        )
        assert (entry.sequence, entry.previous_hash) == (4, previous)
        assert entry.insert_id == 4
        report = ledger.verify_chain()
        assert (report.valid, report.entries_checked) == (True, 4)
    finally:
        engine.dispose()
