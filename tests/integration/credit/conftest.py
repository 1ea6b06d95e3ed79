"""Fixtures of the credit tests: real user, ledger, AI and credit servers on the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from nexafi.credit.v1 import credit_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2_grpc
from nexafi.user.v1 import user_pb2_grpc

from services.ai.spec import SPEC as AI
from services.credit.service import CreditService
from services.credit.settings import CreditSettings
from services.credit.spec import SPEC as CREDIT
from services.credit.spec import build_service
from services.ledger.spec import SPEC as LEDGER
from services.runtime.request_keys import RequestKeys
from services.runtime.server import RunningServer
from services.user.spec import SPEC as USER
from tests.integration.credit.credit_support import CreditApi, server_keys
from tests.support.harness import ServiceRunner, TokenFactory


@pytest.fixture(scope="session")
def credit_server(services: ServiceRunner) -> RunningServer:
    # In dependency order: each finds the ones started before it (<NAME>_ADDR).
    services.start(USER)
    services.start(LEDGER)
    services.start(AI)
    return services.start(CREDIT)


@pytest.fixture(scope="session")
def credit_channels(
    credit_server: RunningServer, services: ServiceRunner
) -> Iterator[dict[str, grpc.Channel]]:
    opened = {
        name: grpc.insecure_channel(services.running[name].address) for name in ("credit", "ledger", "user")
    }
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture(scope="session")
def credit(credit_channels: dict[str, grpc.Channel], tokens: TokenFactory) -> CreditApi:
    return CreditApi(
        credit_pb2_grpc.CreditServiceStub(credit_channels["credit"]),
        ledger_pb2_grpc.LedgerServiceStub(credit_channels["ledger"]),
        user_pb2_grpc.UserServiceStub(credit_channels["user"]),
        tokens,
    )


@pytest.fixture(scope="session")
def credit_service(credit_server: RunningServer) -> Iterator[CreditService]:
    """The credit service's use cases on the running server's database and real clients.

    For tests that must stop a request between the ledger's commit and ours (a crash or a lost
    reply): they call its steps directly and make the local transaction fail after the ledger."""
    assert credit_server.context.engine is not None
    service = build_service(credit_server.context.engine, CreditSettings(), clock=credit_server.context.clock)
    yield service
    service.clients.close()


@pytest.fixture(scope="session")
def credit_keys(credit_service: CreditService, credit_server: RunningServer) -> RequestKeys:
    """The credit service's keys as the running server's servicer takes them (same fingerprints)."""
    return server_keys(credit_server, credit_service.idempotency)
