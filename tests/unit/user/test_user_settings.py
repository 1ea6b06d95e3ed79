"""The user service's settings: read once from the environment by spec.py, or built in code."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.runtime.config import ConfigError
from services.user.settings import UserSettings
from services.user.spec import settings_from_env

VARIABLES = (
    "NEXAFI_ACCESS_TOKEN_TTL_SECONDS",
    "NEXAFI_LOGIN_FREE_FAILURES",
    "NEXAFI_ARGON2_TIME_COST",
    "NEXAFI_ARGON2_MEMORY_KIB",
    "NEXAFI_ARGON2_PARALLELISM",
    "NEXAFI_MAIL_DIR",
    "NEXAFI_RESET_URL",
    "NEXAFI_SERVICE_CLIENTS",
    "NEXAFI_SERVICE_CLIENTS_FILE",
    "SMTP_HOST",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_are_the_production_values(clean_env: pytest.MonkeyPatch) -> None:
    settings = settings_from_env()
    assert settings.access_ttl_seconds == UserSettings().access_ttl_seconds == 900
    assert (settings.argon2.time_cost, settings.argon2.memory_kib) == (3, 64 * 1024)
    assert settings.mail.smtp is None and settings.mail.directory == Path(".data/mail")
    assert settings.service_clients.client_ids == frozenset()


def test_every_group_is_read(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("NEXAFI_ACCESS_TOKEN_TTL_SECONDS", "300")
    clean_env.setenv("NEXAFI_LOGIN_FREE_FAILURES", "3")
    clean_env.setenv("NEXAFI_ARGON2_TIME_COST", "1")
    clean_env.setenv("NEXAFI_ARGON2_MEMORY_KIB", "1024")
    clean_env.setenv("NEXAFI_ARGON2_PARALLELISM", "1")
    clean_env.setenv("NEXAFI_MAIL_DIR", str(tmp_path))
    clean_env.setenv("NEXAFI_SERVICE_CLIENTS", "payment:payment-secret-0123456789")
    settings = settings_from_env()
    assert settings.access_ttl_seconds == 300 and settings.lockout.free_failures == 3
    assert settings.lockout.window == timedelta(seconds=900)
    argon2 = settings.argon2
    assert (argon2.time_cost, argon2.memory_kib, argon2.parallelism) == (1, 1024, 1)
    assert settings.mail.directory == tmp_path
    assert settings.service_clients.verify("payment", "payment-secret-0123456789")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NEXAFI_RESET_URL", "https://app.example/reset", "must contain {token}"),
        ("NEXAFI_ACCESS_TOKEN_TTL_SECONDS", "ten", "must be an integer"),
        ("NEXAFI_SERVICE_CLIENTS", "payment", "<client_id>:<secret>"),
    ],
)
def test_a_bad_value_is_one_config_error(
    clean_env: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        settings_from_env()
