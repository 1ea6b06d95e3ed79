"""Fixtures of the payment tests: real user, ledger, AI and payment servers on the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2_grpc
from nexafi.payment.v1 import payment_pb2_grpc
from nexafi.user.v1 import user_pb2_grpc
from sqlalchemy.engine import Engine

from services.ai.spec import SPEC as AI
from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger.spec import SPEC as LEDGER
from services.runtime.server import RunningServer
from services.user.spec import SPEC as USER
from tests.integration.payment.payment_support import PaymentApi, payment_config, payment_spec_with
from tests.support.harness import ServiceRunner, TokenFactory


@pytest.fixture(scope="session")
def payment_server(services: ServiceRunner) -> RunningServer:
    services.start(USER)
    services.start(LEDGER)
    services.start(AI)
    return services.start(payment_spec_with(payment_config()))


@pytest.fixture(scope="session")
def channels(payment_server: RunningServer, services: ServiceRunner) -> Iterator[dict[str, grpc.Channel]]:
    opened = {
        name: grpc.insecure_channel(services.running[name].address) for name in ("payment", "ledger", "user")
    }
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture(scope="session")
def api(channels: dict[str, grpc.Channel], tokens: TokenFactory, services: ServiceRunner) -> PaymentApi:
    return PaymentApi(
        payment_pb2_grpc.PaymentServiceStub(channels["payment"]),
        ledger_pb2_grpc.LedgerServiceStub(channels["ledger"]),
        user_pb2_grpc.UserServiceStub(channels["user"]),
        tokens,
        services.clock("payment"),
    )


@pytest.fixture(scope="session")
def payment_db(pg: EmbeddedPostgres, payment_server: RunningServer) -> Iterator[Engine]:
    engine = sa.create_engine(pg.url("nexafi_payment"))
    yield engine
    engine.dispose()
