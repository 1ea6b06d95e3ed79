"""The dev stack's service-client secrets: made once, kept, completed when a service starts calling."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from services.runtime.devstack import CALLING_SERVICES, service_client_secrets


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
