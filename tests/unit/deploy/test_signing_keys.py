"""The user service's keyring through a Kubernetes Secret and back: a flat Secret (what
``kubectl create secret generic --from-file=KEYS --from-file=KEYS/signing`` makes) becomes the
layout services/runtime/keys.py reads, for the init container and for rotation."""

from __future__ import annotations

import base64
import io
import json
import shutil
import stat
from pathlib import Path

import pytest

from services.deploy import signing_keys
from services.runtime.keys import Keyring


def flatten(keys_dir: Path, secret_dir: Path) -> None:
    """What the kubelet mounts for the Secret: every entry a file at the top level (plus ..data)."""
    secret_dir.mkdir()
    for path in [*keys_dir.iterdir(), *(keys_dir / "signing").iterdir()]:
        if path.is_file():
            shutil.copy(path, secret_dir / path.name)
    (secret_dir / "..data").mkdir()


def test_unpack_restores_a_working_keyring(tmp_path):
    original = Keyring(tmp_path / "keys")
    original.ensure()
    original.rotate()
    flatten(tmp_path / "keys", tmp_path / "secret")

    kid = signing_keys.unpack(tmp_path / "secret", tmp_path / "restored")

    restored = Keyring(tmp_path / "restored")
    assert kid == original.current_kid() == restored.current_kid()
    assert restored.next_kid() == original.next_kid()
    assert restored.jwks() == original.jwks()
    assert json.loads((tmp_path / "restored" / "jwks.json").read_text()) == original.jwks()
    for pem in (tmp_path / "restored" / "signing").iterdir():
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    token = restored.sign({"sub": "usr_1"})
    assert token.count(".") == 2


def test_from_secret_then_rotate(tmp_path, monkeypatch):
    Keyring(tmp_path / "keys").ensure()
    flatten(tmp_path / "keys", tmp_path / "secret")
    document = {
        "kind": "Secret",
        "data": {
            p.name: base64.b64encode(p.read_bytes()).decode()
            for p in (tmp_path / "secret").iterdir()
            if p.is_file()
        },
    }

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(document)))
    assert signing_keys.main(["from-secret", str(tmp_path / "local")]) == 0

    local = Keyring(tmp_path / "local")
    published_next = local.next_kid()
    assert local.rotate() == published_next  # the pre-published key becomes current


def test_refuses_a_secret_that_is_not_a_keyring(tmp_path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "current").write_text("key_missing\n")
    (tmp_path / "secret" / "next").write_text("key_missing\n")
    with pytest.raises(signing_keys.KeyringError, match=r"no key_missing\.pem"):
        signing_keys.unpack(tmp_path / "secret", tmp_path / "out")
    assert signing_keys.main(["unpack", str(tmp_path / "empty"), str(tmp_path / "out")]) == 2
