"""Hot clearing and fee accounts under contention, from several processes: every write path.

Unbounded accounts' balance rows are added to at the end of a write instead of locked at its
start (migration 0005, ``repository.save_balances``), and sealing passes wake the other
processes' waiters by NOTIFY. Here four processes, each its own ledger (its own sealer and
listener, as ``NEXAFI_WORKERS`` workers or replicas are), drive every write path through one
clearing account and one fee account at once: deposits and payouts with a fee on the fast path
(``ledger_post_entries``), batches, card holds posted in part or voided, and reversals, with
payouts often larger than the wallet holds. Afterwards the books must be exactly what the
old lock-everything-first order guaranteed: the trial balance zero, every balance row equal to
its postings and open holds, no bounded account below its floor, and one gap-free chain that
verifies.
"""

from __future__ import annotations

import multiprocessing
import random

import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.engine import Engine

from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger.commands import NewPendingTransfer
from services.ledger.domain.model import Direction, NewEntry, PostingLine, TransactionType
from services.ledger.service import Ledger
from services.runtime.errors import DomainError
from tests.integration.ledger.ledger_support import LedgerClient, assert_ledger_invariants, rid

PROCESSES = 4
THREADS = 4
OPERATIONS = 25
START = 5_000
SCOPE = "svc_unbounded_contention"


def _line(account: str, direction: Direction, amount: int) -> PostingLine:
    return PostingLine(account, direction, amount, "USD")


def _entry(kind: TransactionType, *lines: PostingLine) -> NewEntry:
    return NewEntry(
        user_id="",
        type=kind,
        description="",
        related_entity_id="",
        postings=tuple(lines),
        request_id=rid(),
    )


def _drive(url: str, clearing: str, fees: str, wallets: list[str], seed: int) -> dict[str, int]:
    """One process: a ledger of its own, THREADS writers; counts of what happened, by outcome."""
    import threading

    engine = sa.create_engine(url, pool_size=THREADS + 2)
    ledger = Ledger(engine)
    ledger.sealer.start()
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def count(what: str) -> None:
        with lock:
            counts[what] = counts.get(what, 0) + 1

    def writer(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        for _ in range(OPERATIONS):
            wallet = rng.choice(wallets)
            amount = rng.randint(2, 900)
            kind = rng.random()
            try:
                if kind < 0.25:  # a deposit: the clearing account funds the wallet
                    ledger.create_transaction(
                        SCOPE,
                        _entry(
                            TransactionType.DEPOSIT,
                            _line(clearing, Direction.DEBIT, amount),
                            _line(wallet, Direction.CREDIT, amount),
                        ),
                    )
                elif kind < 0.5:  # a payout with a fee: two unbounded rows, both added to last
                    entry = ledger.create_transaction(
                        SCOPE,
                        _entry(
                            TransactionType.WITHDRAWAL,
                            _line(wallet, Direction.DEBIT, amount),
                            _line(clearing, Direction.CREDIT, amount - 1),
                            _line(fees, Direction.CREDIT, 1),
                        ),
                    )
                    if rng.random() < 0.3:
                        ledger.reverse_transaction(SCOPE, entry.id, "test", rid())
                elif kind < 0.65:  # a batch of deposits and payouts
                    items: list[NewEntry | DomainError] = [
                        _entry(
                            TransactionType.DEPOSIT,
                            _line(clearing, Direction.DEBIT, amount),
                            _line(rng.choice(wallets), Direction.CREDIT, amount),
                        ),
                        _entry(
                            TransactionType.WITHDRAWAL,
                            _line(rng.choice(wallets), Direction.DEBIT, amount * 3),
                            _line(clearing, Direction.CREDIT, amount * 3 - 2),
                            _line(fees, Direction.CREDIT, 2),
                        ),
                    ]
                    for result in ledger.create_transactions(SCOPE, items):
                        count("batch item refused" if isinstance(result, DomainError) else "batch item")
                    continue
                else:  # a card hold on the wallet (a payment to the clearing account), posted or voided
                    hold = ledger.create_pending(
                        SCOPE,
                        NewPendingTransfer(
                            debit_account_id=wallet,
                            credit_account_id=clearing,
                            amount_minor=amount,
                            currency="USD",
                            user_id="",
                            type=TransactionType.PAYMENT,
                            description="card hold",
                            related_entity_id="",
                            expire_time=None,
                            request_id=rid(),
                        ),
                    )
                    if rng.random() < 0.6:
                        ledger.post_pending(SCOPE, hold.id, rng.randint(1, amount), "USD", rid())
                    elif rng.random() < 0.8:
                        ledger.void_pending(hold.id)
                    # else: left open, so the books hold open reservations on both kinds of row
                count("ok")
            except DomainError as exc:
                count(exc.reason)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.sealer.seal_pending()
    ledger.sealer.stop()
    ledger.direct.close()
    engine.dispose()
    return counts


def test_clearing_and_fee_accounts_under_contention_from_several_processes(
    ledger: LedgerClient, ledger_db: Engine, pg: EmbeddedPostgres
) -> None:
    unbounded = ledger_pb2.BALANCE_RULE_UNBOUNDED
    clearing = ledger.open("system", type=ledger_pb2.ACCOUNT_TYPE_ASSET, rule=unbounded, name="clearing").id
    fees = ledger.open("system", type=ledger_pb2.ACCOUNT_TYPE_INCOME, rule=unbounded, name="fees").id
    wallets = [ledger.wallet().id for _ in range(6)]
    for wallet in wallets:
        ledger.transfer(clearing, wallet, START, type=ledger_pb2.TRANSACTION_TYPE_DEPOSIT)

    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        results = pool.starmap(
            _drive,
            [(pg.url("nexafi_ledger"), clearing, fees, wallets, seed) for seed in range(PROCESSES)],
        )
    totals: dict[str, int] = {}
    for counts in results:
        for what, n in counts.items():
            totals[what] = totals.get(what, 0) + n
    # Only refusals the rules call for: payouts and holds beyond what a wallet holds.
    assert set(totals) <= {"ok", "batch item", "batch item refused", "INSUFFICIENT_FUNDS"}, totals
    assert totals.get("ok", 0) > PROCESSES * THREADS  # the contention happened

    # The trial balance is zero, balances equal postings and open holds, no floor is breached.
    assert_ledger_invariants(ledger_db)
    with ledger_db.connect() as connection:
        low = connection.execute(
            sa.text("SELECT account_id FROM balances WHERE account_id = ANY(:ids) AND posted < 0"),
            {"ids": wallets},
        ).all()
        entries = int(connection.execute(sa.text("SELECT count(*) FROM entries")).scalar_one())
        sequences = (
            connection.execute(sa.text("SELECT sequence FROM entry_seals ORDER BY sequence")).scalars().all()
        )
    assert low == []
    # Every entry sealed once, gap-free, and the chain verifies.
    assert sequences == list(range(1, entries + 1))
    checker = Ledger(ledger_db)
    try:
        report = checker.verify_chain()
    finally:
        checker.direct.close()
    assert report.valid, report.detail
    assert report.entries_checked == entries
