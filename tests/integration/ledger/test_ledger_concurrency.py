"""Many writers on a few hot accounts: no lost update, no overdraft, no deadlock."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import grpc
from nexafi.ledger.v1 import ledger_pb2

from tests.integration.ledger.ledger_support import (
    LedgerClient,
    assert_ledger_invariants,
    describe,
    money,
    posting_sums,
    rid,
)

THREADS = 12
OPERATIONS = 30
START = 1_000


def test_random_concurrent_transfers_keep_the_books(ledger: LedgerClient, ledger_db) -> None:
    wallets = [ledger.wallet().id for _ in range(4)]
    for wallet in wallets:
        ledger.fund(wallet, START)
    outcomes: Counter[str] = Counter()
    unexpected: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
        # A conflict that outlasted the server's own retries is UNAVAILABLE (TRANSACTION_CONFLICT),
        # the documented retryable answer; a client retries it with the same key.
        for _ in range(5):
            try:
                return "ok", method(*args, **kwargs)
            except grpc.RpcError as error:
                reason = describe(error).reason
                if (error.code(), reason) != (grpc.StatusCode.UNAVAILABLE, "TRANSACTION_CONFLICT"):  # type: ignore[attr-defined]
                    return reason, None
        return "TRANSACTION_CONFLICT", None

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(OPERATIONS):
            a, b = rng.sample(wallets, 2)
            amount = rng.randint(1, 400)  # often more than is left: overspend attempts
            key = rid()
            if rng.random() < 0.7:
                status, _ = call(ledger.transfer, a, b, amount, request_id=key)
            else:
                status, hold = call(ledger.pend, a, b, amount, request_id=key)
                if status == "ok" and rng.random() < 0.5:
                    request = ledger_pb2.PostPendingTransferRequest(
                        pending_transfer_id=hold.id, amount=money(rng.randint(1, amount)), request_id=rid()
                    )
                    status, _ = call(
                        ledger.stub.PostPendingTransfer, request, metadata=ledger.ops, timeout=30
                    )
                elif status == "ok":
                    request = ledger_pb2.VoidPendingTransferRequest(pending_transfer_id=hold.id)
                    status, _ = call(
                        ledger.stub.VoidPendingTransfer, request, metadata=ledger.ops, timeout=30
                    )
            with lock:
                outcomes[status] += 1
                if status not in ("ok", "INSUFFICIENT_FUNDS"):
                    unexpected.append(status)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung: deadlock?"
    assert unexpected == []
    assert outcomes["ok"] > 0 and outcomes["INSUFFICIENT_FUNDS"] > 0  # both paths were exercised
    balances = [ledger.balance(w) for w in wallets]
    assert all(b.available.amount_minor >= 0 and b.pending_debits.amount_minor == 0 for b in balances)
    # A closed system: no money created or lost between the hot accounts.
    assert sum(b.posted.amount_minor for b in balances) == START * len(wallets)
    sums = posting_sums(ledger_db, wallets)
    assert [sums[w] for w in wallets] == [b.posted.amount_minor for b in balances]
    assert_ledger_invariants(ledger_db)


def test_concurrent_batches_and_singles_sharing_keys_keep_the_books(ledger: LedgerClient, ledger_db) -> None:
    """Batches (one transaction, per-item outcomes) racing singles on hot accounts, some on the same keys.

    A shared key is recorded once; the others replay it, or are told REQUEST_IN_PROGRESS
    (ABORTED) while the transaction that holds it has not committed.
    """
    wallets = [ledger.wallet().id for _ in range(4)]
    for wallet in wallets:
        ledger.fund(wallet, START)
    shared = [rid() for _ in range(8)]  # iteration i: every thread sends the same transfer under shared[i]
    recorded: dict[str, set[str]] = {key: set() for key in shared}
    unexpected: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def transfer(a: str, b: str, amount: int, key: str) -> ledger_pb2.Transfer:
        return ledger_pb2.Transfer(
            debit_account_id=a,
            credit_account_id=b,
            amount=money(amount),
            type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
            request_id=key,
        )

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for i, key in enumerate(shared):
            if seed % 2:
                items = [transfer(*rng.sample(wallets, 2), rng.randint(1, 300), rid()) for _ in range(9)]
                items.insert(rng.randint(0, 9), transfer(wallets[0], wallets[1], 1 + i, key))
                response = ledger.stub.CreateTransactions(
                    ledger_pb2.CreateTransactionsRequest(transfers=items), metadata=ledger.ops, timeout=60
                )
                outcomes = [
                    (item.request_id, r.transaction.id if r.code == 0 else r.reason)
                    for item, r in zip(items, response.results, strict=True)
                ]
            else:
                try:
                    txn = ledger.transfer(wallets[0], wallets[1], 1 + i, request_id=key)
                    outcomes = [(key, txn.id)]
                except grpc.RpcError as error:
                    outcomes = [(key, describe(error).reason)]
            with lock:
                for request_id, result in outcomes:
                    if result.startswith("txn_"):
                        recorded.get(request_id, set()).add(result)
                    elif result == "REQUEST_IN_PROGRESS" and request_id in recorded:
                        continue  # a shared key held by another thread's transaction at that moment
                    elif result != "INSUFFICIENT_FUNDS":
                        unexpected.append(result)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung: deadlock?"
    assert unexpected == []
    # One entry per shared key, whichever path (batch item or single) recorded it; the rest replayed it.
    assert all(len(ids) <= 1 for ids in recorded.values()) and any(recorded.values())
    balances = [ledger.balance(w) for w in wallets]
    assert all(b.available.amount_minor >= 0 for b in balances)
    assert sum(b.posted.amount_minor for b in balances) == START * len(wallets)
    sums = posting_sums(ledger_db, wallets)
    assert [sums[w] for w in wallets] == [b.posted.amount_minor for b in balances]
    assert_ledger_invariants(ledger_db)
