"""Fixtures of the AI service's integration tests: one AI server per session on the session's PostgreSQL.

The server is the AI tests' own (not the session's shared "ai", which other suites may have
started with the environment's settings): its settings are built here, with an extra model
folder made at import time and a registry polled every second:

- ``fraud/1.0.1`` and ``credit/1.0.1``: byte-identical copies of 1.0.0, candidates to activate;
- ``fraud/9.9.9``: a model file that no longer matches its metadata's sha256, which must be refused.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from nexafi.ai.v1 import ai_pb2_grpc
from sqlalchemy.engine import Engine

from services.ai.model_files import BUILTIN_MODELS_DIR
from services.ai.spec import AiSettings, spec_with
from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime.server import RunningServer, start_server
from tests.integration.ai.ai_support import AiClient
from tests.support.harness import ServiceRunner, TokenFactory, service_settings

EXTRA_MODELS = Path(tempfile.mkdtemp(prefix="nexafi-ai-models-"))
atexit.register(shutil.rmtree, EXTRA_MODELS, ignore_errors=True)
for _name in ("fraud", "credit"):
    shutil.copytree(BUILTIN_MODELS_DIR / _name / "1.0.0", EXTRA_MODELS / _name / "1.0.1")
shutil.copytree(BUILTIN_MODELS_DIR / "fraud" / "1.0.0", EXTRA_MODELS / "fraud" / "9.9.9")
with (EXTRA_MODELS / "fraud" / "9.9.9" / "model.onnx").open("ab") as _tampered:
    _tampered.write(b"\x00tampered")


@pytest.fixture(scope="session")
def extra_models() -> Path:
    return EXTRA_MODELS


@pytest.fixture(scope="session")
def ai_settings() -> AiSettings:
    # Replicas pick up activations by polling; keep the period short for the replica test.
    return AiSettings(models_dir=EXTRA_MODELS, registry_poll_seconds=1)


@pytest.fixture(scope="session")
def ai_server(services: ServiceRunner, ai_settings: AiSettings) -> Iterator[RunningServer]:
    settings = service_settings("ai", services.database_url("ai"), services.auth)
    running = start_server(spec_with(ai_settings), settings, clock=services.clock("ai"))
    yield running
    running.stop(0)


@pytest.fixture(scope="session")
def ai_channel(ai_server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(ai_server.address) as channel:
        yield channel


@pytest.fixture(scope="session")
def ai(ai_channel: grpc.Channel, tokens: TokenFactory) -> AiClient:
    return AiClient(ai_pb2_grpc.AiServiceStub(ai_channel), tokens)


@pytest.fixture(scope="session")
def ai_db(pg: EmbeddedPostgres, ai_server: RunningServer) -> Iterator[Engine]:
    """A superuser connection to the AI service's database, for checks."""
    engine = sa.create_engine(pg.url("nexafi_ai"))
    yield engine
    engine.dispose()


@pytest.fixture
def replica(services: ServiceRunner, tokens: TokenFactory, ai_settings: AiSettings) -> Iterator[AiClient]:
    """A second AI server on the same database: another replica."""
    running = start_server(
        spec_with(ai_settings), service_settings("ai", services.database_url("ai"), services.auth)
    )
    channel = grpc.insecure_channel(running.address)
    try:
        yield AiClient(ai_pb2_grpc.AiServiceStub(channel), tokens)
    finally:
        channel.close()
        running.stop(0)
