"""504 as JSON when an upstream is slower than the route timeout: the gateway never hangs.

A backend that is alive (its health checks pass) but slow cannot be produced on demand
by the real ledger, so this module serves LedgerService.GetAccount from a stub servicer
that sleeps, on the shared runtime's real server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import grpc
import pytest
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.runtime.server import RunningServer, ServiceContext, ServiceSpec, start_server
from tests.e2e.gateway.conftest import Gateway, assert_error, start_gateway, stop, upstream
from tests.support.harness import TokenFactory, service_settings

RELEASE = threading.Event()


class SlowLedger(ledger_pb2_grpc.LedgerServiceServicer):
    def GetAccount(
        self, request: ledger_pb2.GetAccountRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.GetAccountResponse:
        RELEASE.wait(5)
        return ledger_pb2.GetAccountResponse()


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    ledger_pb2_grpc.add_LedgerServiceServicer_to_server(SlowLedger(), server)
    return [ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"].full_name]


@pytest.fixture(scope="module")
def slow(services) -> Iterator[RunningServer]:
    spec = ServiceSpec(name="ledger", register=register, needs_database=False, has_migrations=False)
    running = start_server(spec, service_settings("ledger", None, services.auth))
    yield running
    RELEASE.set()
    running.stop(0)


@pytest.fixture(scope="module")
def gateway(slow: RunningServer, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    yield from stop(
        start_gateway(module_tmp, {"ledger": upstream(slow)}, keys_dir, request_timeout_seconds=1.0)
    )


def test_504_json_after_the_route_timeout(gateway: Gateway, tokens: TokenFactory):
    started = time.monotonic()
    reply = gateway.get("/api/v1/ledger/accounts/acc_slow", token=tokens.make("usr_ops", ["admin"]))
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3, elapsed
    # Envoy's route timeout (code 504) or the service's own deadline from grpc-timeout
    # (DEADLINE_EXCEEDED, gRPC code 4), whichever fires first: both are 504 JSON.
    assert reply.status_code == 504, reply.text
    assert_error(reply, 504, grpc_code=reply.json()["code"])
    assert reply.json()["code"] in (504, 4)
