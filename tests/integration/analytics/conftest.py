"""Fixtures of the analytics tests: real user, ledger and analytics servers on the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from nexafi.analytics.v1 import analytics_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2_grpc
from sqlalchemy.engine import Engine

from services.analytics.spec import SPEC as ANALYTICS
from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger.spec import SPEC as LEDGER
from services.runtime.server import RunningServer
from services.user.spec import SPEC as USER
from tests.integration.analytics.analytics_support import Books
from tests.support.harness import ServiceRunner, TokenFactory


@pytest.fixture(scope="session")
def analytics_server(services: ServiceRunner) -> RunningServer:
    services.start(USER)  # issues the analytics service's own token
    services.start(LEDGER)
    return services.start(ANALYTICS)


@pytest.fixture(scope="session")
def analytics_channels(
    analytics_server: RunningServer, services: ServiceRunner
) -> Iterator[dict[str, grpc.Channel]]:
    opened = {name: grpc.insecure_channel(services.running[name].address) for name in ("analytics", "ledger")}
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture(scope="session")
def books(analytics_channels: dict[str, grpc.Channel], tokens: TokenFactory) -> Books:
    return Books(
        ledger_pb2_grpc.LedgerServiceStub(analytics_channels["ledger"]),
        analytics_pb2_grpc.AnalyticsServiceStub(analytics_channels["analytics"]),
        tokens,
    )


@pytest.fixture(scope="session")
def analytics_db(pg: EmbeddedPostgres, analytics_server: RunningServer) -> Iterator[Engine]:
    engine = sa.create_engine(pg.url("nexafi_analytics"))
    yield engine
    engine.dispose()
