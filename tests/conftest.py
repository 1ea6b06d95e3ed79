"""Session fixtures: one embedded PostgreSQL, one keyring, services started once."""

from __future__ import annotations

import os

# Before grpc is imported (services.runtime sets the same default): see services/runtime/__init__.py.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.embedded_s3 import EmbeddedS3
from services.ledger.settings import LedgerSettings
from services.ledger.spec import spec_with as ledger_spec_with
from services.runtime.config import AuthSettings
from services.runtime.keys import Keyring
from tests.integration.payment.payment_support import payment_config, payment_spec_with
from tests.support.harness import (
    ServiceRunner,
    TokenFactory,
    auth_settings_for,
    configure_test_environment,
    document_spec_for_tests,
    storage_settings_of,
    user_spec_for_tests,
)

# Tests need no durability; without fsync the suite is not bound by the shared disk.
os.environ.setdefault("NEXAFI_PG_FAST", "1")
configure_test_environment()


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys")
    Keyring(path).ensure()
    return path


@pytest.fixture(scope="session")
def keyring(keys_dir: Path) -> Keyring:
    return Keyring(keys_dir)


@pytest.fixture(scope="session")
def auth_settings(keys_dir: Path) -> AuthSettings:
    return auth_settings_for(keys_dir)


@pytest.fixture(scope="session")
def tokens(keyring: Keyring) -> TokenFactory:
    return TokenFactory(keyring)


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's user service writes its mail (one .eml file per message)."""
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="session")
def services(pg: EmbeddedPostgres, auth_settings: AuthSettings, mail_dir: Path) -> Iterator[ServiceRunner]:
    # Whichever test starts a service first, it runs with the suite's settings, made in code.
    runner = ServiceRunner(
        pg,
        auth_settings,
        specs={
            "user": lambda: user_spec_for_tests(mail_dir),
            "payment": lambda: payment_spec_with(payment_config()),
            # The expiry test waits for the background sweep: a short period.
            "ledger": lambda: ledger_spec_with(LedgerSettings(expiry_sweep_seconds=1)),
        },
    )
    yield runner
    runner.stop_all()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory, services: ServiceRunner) -> Iterator[EmbeddedS3]:
    """One S3-protocol server for the session; the document service, whoever starts it, stores
    there (its settings are built in code: tests/support/harness.py)."""
    server = EmbeddedS3(log_path=tmp_path_factory.mktemp("s3") / "s3.log").start()
    services.use("document", lambda: document_spec_for_tests(storage_settings_of(server)))
    yield server
    server.stop()
