"""A real service (the ledger) whose PostgreSQL stops and comes back: UNAVAILABLE, never INTERNAL.

The database is this module's own embedded server (not the session's), stopped and started
again on the same data directory, as an operator's restart or a failover would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger.spec import SPEC
from services.runtime import migrations
from services.runtime.config import AuthSettings
from services.runtime.server import RunningServer, start_server
from tests.integration.ledger.ledger_support import LedgerClient, rid
from tests.support.harness import TokenFactory, service_settings


@dataclass
class Outage:
    pg: EmbeddedPostgres
    server: RunningServer
    ledger: LedgerClient


@pytest.fixture(scope="module")
def outage(
    tmp_path_factory: pytest.TempPathFactory, auth_settings: AuthSettings, tokens: TokenFactory
) -> Iterator[Outage]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("outage-pg") / "data").start()
    server = None
    try:
        url = pg.url("nexafi_ledger")
        migrations.upgrade("ledger", url)
        server = start_server(SPEC, service_settings("ledger", url, auth_settings))
        with grpc.insecure_channel(server.address) as channel:
            yield Outage(pg, server, LedgerClient(ledger_pb2_grpc.LedgerServiceStub(channel), tokens))
    finally:
        if server is not None:
            server.stop(0)
        pg.stop()


def unavailable(call: Callable[[], Any]) -> tuple[str, float]:
    """Run ``call``, which must fail UNAVAILABLE: its ErrorInfo reason and RetryInfo delay."""
    try:
        call()
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAVAILABLE, (error.code(), error.details())  # type: ignore[attr-defined]
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        assert status is not None, "the error carries google.rpc details"
        reason, delay = "", -1.0
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
            elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                retry = error_details_pb2.RetryInfo()
                detail.Unpack(retry)
                delay = retry.retry_delay.ToNanoseconds() / 1e9
        return reason, delay
    raise AssertionError("the call succeeded while the database was down")


def eventually(call: Callable[[], Any], attempts: int = 50) -> Any:
    """Retry ``call`` on UNAVAILABLE, as a client told to retry would."""
    for _ in range(attempts - 1):
        try:
            return call()
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error  # type: ignore[attr-defined]
            time.sleep(0.2)
    return call()


def test_a_database_outage_answers_unavailable_and_heals(outage: Outage):
    ledger = outage.ledger
    wallet = ledger.wallet()
    ledger.fund(wallet.id, 1_000)
    payee = ledger.wallet()
    transfer = ledger.transfer_request(wallet.id, payee.id, 300, request_id=rid())
    get_balance = ledger_pb2.GetBalanceRequest(account_id=wallet.id)

    outage.pg.stop()
    try:
        calls: list[Callable[[], Any]] = [
            lambda: ledger.stub.GetBalance(get_balance, metadata=ledger.ops, timeout=10),
            lambda: ledger.stub.GetAccount(
                ledger_pb2.GetAccountRequest(account_id=wallet.id), metadata=ledger.ops, timeout=10
            ),
            lambda: ledger.stub.CreateTransaction(transfer, metadata=ledger.ops, timeout=10),
            lambda: ledger.wallet(),
        ]
        # Every kind of call, twice: the first finds dead pooled connections, the next none at all.
        for call in calls * 2:
            reason, delay = unavailable(call)
            assert reason == "DATABASE_UNAVAILABLE"
            assert delay > 0
    finally:
        outage.pg.start()

    # Back: the same transfer, retried with its key, is recorded once.
    recorded = eventually(lambda: ledger.stub.CreateTransaction(transfer, metadata=ledger.ops, timeout=10))
    again = ledger.stub.CreateTransaction(transfer, metadata=ledger.ops, timeout=10)
    assert again.transaction.id == recorded.transaction.id
    assert ledger.balance(wallet.id).available.amount_minor == 700
    assert ledger.balance(payee.id).available.amount_minor == 300


def test_health_stays_serving_through_the_outage(outage: Outage):
    # The process is alive and answers; Envoy must keep routing to it so that callers get the
    # service's own UNAVAILABLE with its retry advice, not a connection refused.
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    outage.pg.stop()
    try:
        with grpc.insecure_channel(outage.server.address) as channel:
            status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert status.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        outage.pg.start()
