"""Fixtures of the user service's integration tests: one server per session, an admin made by the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from nexafi.user.v1 import user_pb2_grpc
from sqlalchemy.engine import Engine

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime.server import RunningServer
from services.user.spec import SPEC
from tests.integration.user.user_support import ADMIN_PASSWORD, Actor, UserApi, cli_env, run_cli
from tests.support.harness import ServiceRunner, TokenFactory


@pytest.fixture(scope="session")
def user_server(services: ServiceRunner) -> RunningServer:
    return services.start(SPEC)


@pytest.fixture(scope="session")
def user_channel(user_server: RunningServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(user_server.address) as channel:
        yield channel


@pytest.fixture(scope="session")
def api(user_channel: grpc.Channel, tokens: TokenFactory, mail_dir: Path) -> UserApi:
    return UserApi(user_pb2_grpc.UserServiceStub(user_channel), tokens, mail_dir)


@pytest.fixture(scope="session")
def user_db(user_server: RunningServer, pg: EmbeddedPostgres) -> Iterator[Engine]:
    engine = sa.create_engine(pg.url("nexafi_user"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def admin(api: UserApi, pg: EmbeddedPostgres, keys_dir: Path, user_server: RunningServer) -> Actor:
    """The first admin, made the only supported way: the CLI."""
    result = run_cli(
        cli_env(pg, keys_dir),
        "create-admin",
        "--username",
        "root-admin",
        "--email",
        "root-admin@nexafi.example",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "created admin usr_" in result.stdout
    return api.login_as("root-admin", ADMIN_PASSWORD)
