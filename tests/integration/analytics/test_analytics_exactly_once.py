"""Every ledger entry counts exactly once: re-delivery, a restarted consumer, a second replica."""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from nexafi.analytics.v1 import analytics_pb2
from sqlalchemy.engine import Engine

from services.analytics.clients import LedgerClient, entry_from_pb
from services.analytics.consumer import FeedConsumer
from services.analytics.repository import FeedGap
from services.analytics.spec import SPEC as ANALYTICS
from services.analytics.spec import AnalyticsSettings, ledger_client
from services.ledger.spec import SPEC as LEDGER
from services.runtime.clients import ServiceTokenProvider, grpc_service, service_channel
from services.runtime.server import start_server
from tests.integration.analytics.analytics_support import Books, time_range
from tests.support.harness import ServiceRunner, service_settings


def totals(books: Books, user_id: str) -> tuple[int, int, int, int]:
    now = datetime.now(UTC)
    bounds = time_range(now - timedelta(hours=1), now + timedelta(hours=1))
    spent = books.analytics.GetSpendingAnalysis(
        analytics_pb2.GetSpendingAnalysisRequest(user_id=user_id, time_range=bounds),
        metadata=books.admin,
        timeout=10,
    ).spending_analysis
    received = books.analytics.GetIncomeAnalysis(
        analytics_pb2.GetIncomeAnalysisRequest(user_id=user_id, time_range=bounds),
        metadata=books.admin,
        timeout=10,
    ).income_analysis
    return (
        received.total.amount_minor,
        received.transaction_count,
        spent.total.amount_minor,
        spent.transaction_count,
    )


def test_redelivery_and_restarts_never_double_count(
    books: Books, analytics_db: Engine, services: ServiceRunner
) -> None:
    user, wallet = books.user()
    first = books.deposit(wallet, 1_000)
    second = books.spend(wallet, 300)
    books.wait_applied(first, second)
    assert totals(books, user) == (1_000, 1, 300, 1)

    # A consumer restarted from scratch that is re-delivered the feed from before these entries.
    ledger = ledger_client(AnalyticsSettings().tokens())
    try:
        restarted = FeedConsumer(analytics_db, ledger)
        delivered, applied = restarted.catch_up(after_sequence=books.sequence_of(first.id) - 1)
        assert delivered >= 2 and applied <= delivered - 2
        sealed = dataclasses.replace(entry_from_pb(second), sequence=books.sequence_of(second.id))
        assert restarted.apply(sealed) is False
    finally:
        ledger.close()
    assert totals(books, user) == (1_000, 1, 300, 1)

    # A second server on the same database: both consumers follow the feed, each entry lands once.
    replica = start_server(
        ANALYTICS, service_settings("analytics", services.database_url("analytics"), services.auth)
    )
    try:
        third = books.deposit(wallet, 500)
        books.wait_applied(third)
    finally:
        replica.stop(0)
    fourth = books.spend(wallet, 100)
    books.wait_applied(fourth)
    assert totals(books, user) == (1_500, 2, 400, 2)


def test_a_batch_straddling_the_checkpoint_applies_only_the_new_entries(
    books: Books, analytics_db: Engine
) -> None:
    user, wallet = books.user()
    first = books.deposit(wallet, 2_000)
    books.wait_applied(first)
    second, third = books.spend(wallet, 250), books.spend(wallet, 50)
    ledger = ledger_client(AnalyticsSettings().tokens())
    try:
        # The feed from the first entry on (already applied) to the newest: the running consumer
        # applies the newer ones too, before or after this batch, and each lands once.
        feed = ledger.stream(books.sequence_of(first.id) - 1, follow=False)
        batch = list(feed)
        assert [e.transaction_id for e in batch[:1]] == [first.id]
        consumer = FeedConsumer(analytics_db, ledger)
        assert consumer.apply_batch(batch) <= len(batch) - 1
        assert consumer.apply_batch(batch) == 0
        # A batch with a hole is refused whole: the checkpoint never moves past a missing entry.
        later = [dataclasses.replace(e, sequence=e.sequence + 10**9) for e in batch]
        with pytest.raises(FeedGap):
            consumer.apply_batch(later)
    finally:
        ledger.close()
    books.wait_applied(second, third)
    assert totals(books, user) == (2_000, 1, 300, 2)


def test_the_consumer_waits_out_a_ledger_outage_and_resumes(
    books: Books, analytics_db: Engine, services: ServiceRunner
) -> None:
    """A consumer whose ledger is down keeps retrying with backoff, then resumes once it is back.

    It runs next to the server's own consumer under the same name, as a second replica
    would: the totals stay exact whichever of the two applies an entry.
    """
    port = free_port()
    token = ServiceTokenProvider.from_env("analytics").token
    address = f"127.0.0.1:{port}"
    ledger = LedgerClient.connecting(
        lambda: service_channel("ledger", grpc_service("ledger"), token, address=address)
    )
    consumer = FeedConsumer(analytics_db, ledger, min_backoff_seconds=0.05, max_backoff_seconds=0.2)
    consumer.start()
    replica = None
    try:
        wait_for(lambda: consumer.interruptions >= 3, "the consumer never tried to reach the ledger")
        assert consumer.running and consumer.delivered_total == 0
        settings = dataclasses.replace(
            service_settings("ledger", services.database_url("ledger"), services.auth), port=port
        )
        replica = start_server(LEDGER, settings)
        user, wallet = books.user()
        # Entries keep coming until one reaches the resumed stream (the server's own consumer may
        # apply each first: then this one is delivered it and skips it, which is the point).
        posted = []
        deadline = time.monotonic() + 20
        while consumer.delivered_total == 0:
            assert time.monotonic() < deadline, "the consumer never resumed"
            posted.append(books.deposit(wallet, 100))
            wait_for(lambda: consumer.delivered_total > 0, "", seconds=0.5, fail=False)
        books.wait_applied(*posted)
        assert totals(books, user) == (100 * len(posted), len(posted), 0, 0)
    finally:
        consumer.stop()
        ledger.close()
        if replica is not None:
            replica.stop(0)
    assert not consumer.running


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    condition: Callable[[], bool], message: str, seconds: float = 20.0, *, fail: bool = True
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            if fail:
                raise AssertionError(message)
            return
        time.sleep(0.02)
