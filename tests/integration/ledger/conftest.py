"""Fixtures of the ledger's integration tests: one ledger server per session on the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2_grpc
from sqlalchemy.engine import Engine

from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger.spec import SPEC
from services.runtime.server import RunningServer
from tests.integration.ledger.ledger_support import LedgerClient
from tests.support.harness import ServiceRunner, TokenFactory


@pytest.fixture(scope="session")
def ledger_server(services: ServiceRunner) -> RunningServer:
    return services.start(SPEC)


@pytest.fixture(scope="session")
def ledger_channel(ledger_server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(ledger_server.address) as channel:
        yield channel


@pytest.fixture(scope="session")
def ledger(ledger_channel: grpc.Channel, tokens: TokenFactory) -> LedgerClient:
    return LedgerClient(ledger_pb2_grpc.LedgerServiceStub(ledger_channel), tokens)


@pytest.fixture(scope="session")
def ledger_db(pg: EmbeddedPostgres, ledger_server: RunningServer) -> Iterator[Engine]:
    """A superuser connection to the ledger's database, for checks and tampering."""
    engine = sa.create_engine(pg.url("nexafi_ledger"))
    yield engine
    engine.dispose()
