"""The dev stack's secrets: made at random once per data folder, kept, completed; none public."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from services.devtools.devstack import (
    CALLING_SERVICES,
    DEV_SECRETS,
    development_secrets,
    service_client_secrets,
)
from services.document.spec import load_master_keys
from services.payment.spec import load_config as load_payment_config
from services.runtime.config import ConfigError


def test_secrets_are_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "service-clients.json"
    first = service_client_secrets(path)
    assert set(first) == set(CALLING_SERVICES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert service_client_secrets(path) == first


def test_a_new_calling_service_gets_a_secret_and_the_others_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / "service-clients.json"
    path.write_text(json.dumps({"payment": "kept-secret-of-payment"}))
    secrets = service_client_secrets(path)
    assert secrets["payment"] == "kept-secret-of-payment"
    assert set(secrets) == set(CALLING_SERVICES)
    assert json.loads(path.read_text()) == secrets
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_development_secrets_are_random_per_data_folder_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in DEV_SECRETS:
        monkeypatch.delenv(name, raising=False)
    first = development_secrets(tmp_path / "a.json")
    other = development_secrets(tmp_path / "b.json")
    assert (
        set(first)
        == set(DEV_SECRETS)
        == {"PAYMENT_FINGERPRINT_KEY", "PAYMENT_SANDBOX_WEBHOOK_SECRET", "DOCUMENT_MASTER_KEYS"}
    )
    assert all(first[name] != other[name] for name in first), "no shared, public default"
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o600
    assert development_secrets(tmp_path / "a.json") == first
    # The services accept them as they are (lengths, formats).
    monkeypatch.setenv("NEXAFI_ENV", "production")
    monkeypatch.setenv("PAYMENT_FINGERPRINT_KEY", first["PAYMENT_FINGERPRINT_KEY"])
    monkeypatch.setenv("PAYMENT_SANDBOX_WEBHOOK_SECRET", first["PAYMENT_SANDBOX_WEBHOOK_SECRET"])
    monkeypatch.setenv("DOCUMENT_MASTER_KEYS", first["DOCUMENT_MASTER_KEYS"])
    load_payment_config()
    assert load_master_keys().current == "dev1"


def test_an_operators_own_secret_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_SANDBOX_WEBHOOK_SECRET", "whsec_the_operators_own_value")
    secrets = development_secrets(tmp_path / "dev-secrets.json")
    assert secrets["PAYMENT_SANDBOX_WEBHOOK_SECRET"] == "whsec_the_operators_own_value"


@pytest.mark.parametrize("name", ["PAYMENT_FINGERPRINT_KEY", "DOCUMENT_MASTER_KEYS"])
def test_production_refuses_to_start_without_them(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXAFI_ENV", "production")
    monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=f"{name} is not set"):
        load_payment_config() if name.startswith("PAYMENT") else load_master_keys()
