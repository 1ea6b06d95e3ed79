"""The change feed: commit order, resume with no gap and no duplicate under concurrent writes, shutdown."""

from __future__ import annotations

import random
import threading
import time

import grpc
import pytest
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.ledger.spec import SPEC
from services.runtime.config import AuthSettings
from services.runtime.server import start_server
from tests.integration.ledger.ledger_support import LedgerClient, failure
from tests.support.harness import ServiceRunner, service_settings


def feed(ledger: LedgerClient, after: int, follow: bool, stub=None, timeout: float = 30):
    request = ledger_pb2.StreamTransactionsRequest(after_sequence=after, follow=follow)
    return (stub or ledger.stub).StreamTransactions(request, metadata=ledger.ops, timeout=timeout)


def last_sequence(ledger: LedgerClient) -> int:
    sequence = 0
    for item in feed(ledger, 0, follow=False):
        sequence = item.transaction.sequence
    return sequence


def test_the_feed_replays_every_entry_in_commit_order(ledger: LedgerClient) -> None:
    wallet = ledger.wallet()
    recorded = [ledger.fund(wallet.id, n) for n in (1, 2, 3)]
    sequences = [item.transaction.sequence for item in feed(ledger, 0, follow=False)]
    assert sequences == list(range(1, len(sequences) + 1))
    tail = [item.transaction for item in feed(ledger, recorded[0].sequence, follow=False)]
    assert [t.id for t in tail[:2]] == [t.id for t in recorded[1:]]
    assert tail[0] == recorded[1]


def test_a_consumer_resumes_with_no_gap_and_no_duplicate_while_writers_run(ledger: LedgerClient) -> None:
    wallets = [ledger.wallet().id for _ in range(3)]
    for wallet in wallets:
        ledger.fund(wallet, 10_000)
    checkpoint = last_sequence(ledger)
    written: list[str] = []
    lock = threading.Lock()

    def write(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(25):
            a, b = rng.sample(wallets, 2)
            txn = ledger.transfer(a, b, rng.randint(1, 50))
            with lock:
                written.append(txn.id)

    writers = [threading.Thread(target=write, args=(seed,)) for seed in range(3)]
    for writer in writers:
        writer.start()
    delivered: list[ledger_pb2.Transaction] = []
    sessions = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sessions += 1
        stream = feed(ledger, checkpoint, follow=True)
        for item in stream:
            delivered.append(item.transaction)
            checkpoint = item.transaction.sequence
            if len(delivered) % 20 == 0:
                stream.cancel()  # the consumer stops mid-stream and comes back from its checkpoint
                break
            if not any(w.is_alive() for w in writers) and len(delivered) >= len(written):
                stream.cancel()
                break
        if not any(w.is_alive() for w in writers) and len(delivered) >= len(written) == 75:
            break
    sequences = [t.sequence for t in delivered]
    assert sessions > 1
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert sorted(t.id for t in delivered) == sorted(written)


def test_the_feed_is_for_services_and_validates(ledger: LedgerClient) -> None:
    result = failure(
        lambda: list(
            ledger.stub.StreamTransactions(
                ledger_pb2.StreamTransactionsRequest(), metadata=ledger.customer("usr_1"), timeout=10
            )
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED
    result = failure(lambda: list(feed(ledger, -1, follow=False)))
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT


def test_following_streams_end_on_server_shutdown(
    ledger: LedgerClient, services: ServiceRunner, auth_settings: AuthSettings
) -> None:
    running = start_server(SPEC, service_settings("ledger", services.database_url("ledger"), auth_settings))
    ended = threading.Event()
    received: list[int] = []
    with grpc.insecure_channel(running.address) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)

        def consume() -> None:
            try:
                for item in feed(ledger, 0, follow=True, stub=stub, timeout=60):
                    received.append(item.transaction.sequence)
            except grpc.RpcError:
                pass  # ended by the server going away is fine too; hanging is not
            ended.set()

        consumer = threading.Thread(target=consume)
        consumer.start()
        time.sleep(0.5)
        assert received and not ended.is_set()
        started = time.monotonic()
        running.stop(5)
        assert ended.wait(5)
        assert time.monotonic() - started < 4
        consumer.join()


@pytest.mark.parametrize("follow", [False, True])
def test_a_cancelled_stream_releases_its_worker(ledger: LedgerClient, follow: bool) -> None:
    for _ in range(20):  # more than the server's worker threads: cancelled streams must not leak them
        stream = feed(ledger, 0, follow=follow)
        next(stream)
        stream.cancel()
    assert ledger.balance(ledger.clearing()).posted.currency == "USD"
