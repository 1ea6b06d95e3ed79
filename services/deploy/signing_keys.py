"""The user service's signing keys in a Kubernetes Secret, and back.

A Secret's keys cannot contain '/', so Secret ``nexafi-signing-keys`` is the keyring
flattened: ``current``, ``next``, ``jwks.json`` and one ``<kid>.pem`` per key (what
``kubectl create secret generic --from-file=KEYS --from-file=KEYS/signing`` makes).

    python -m services.deploy.signing_keys unpack SECRET_DIR KEYS_DIR
        the user pod's init container: the mounted Secret -> the keyring layout of
        services/runtime/keys.py (signing/<kid>.pem mode 0600, current, next, jwks.json)
    kubectl get secret nexafi-signing-keys -o json \
        | python -m services.deploy.signing_keys from-secret KEYS_DIR
        a local copy of the keyring, to rotate with ``python -m services.user.cli rotate-keys``
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

TOP_LEVEL = ("current", "next", "jwks.json")
_KEY_FILE = re.compile(r"[A-Za-z0-9_-]+\.pem")


class KeyringError(Exception):
    """The Secret does not hold a usable keyring."""


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def lay_out(entries: Mapping[str, bytes], keys_dir: Path) -> str:
    """Write the flat ``entries`` as a keyring under ``keys_dir``; return the current kid."""
    for name in ("current", "next"):
        if name not in entries:
            raise KeyringError(f"the Secret has no {name!r} entry: not a NexaFi keyring")
    keys = {name: data for name, data in entries.items() if _KEY_FILE.fullmatch(name)}
    for name in ("current", "next"):
        kid = entries[name].decode().strip()
        if f"{kid}.pem" not in keys:
            raise KeyringError(f"{name} is {kid!r}, but the Secret has no {kid}.pem")
    signing = keys_dir / "signing"
    signing.mkdir(parents=True, exist_ok=True)
    for name, data in keys.items():
        _write(signing / name, data, 0o600)
    for name in TOP_LEVEL:
        if name in entries:
            _write(keys_dir / name, entries[name], 0o644)
    return entries["current"].decode().strip()


def unpack(secret_dir: Path, keys_dir: Path) -> str:
    """A mounted Secret volume (files, plus the kubelet's ``..data`` links) -> a keyring."""
    entries = {
        path.name: path.read_bytes()
        for path in sorted(secret_dir.iterdir())
        if not path.name.startswith(".") and path.is_file()
    }
    return lay_out(entries, keys_dir)


def from_secret(document: Mapping[str, object], keys_dir: Path) -> str:
    """``kubectl get secret -o json`` output -> a keyring."""
    data = document.get("data")
    if not isinstance(data, dict):
        raise KeyringError("no data in the Secret document")
    return lay_out({str(k): base64.b64decode(str(v)) for k, v in data.items()}, keys_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.deploy.signing_keys",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    unpack_cmd = commands.add_parser("unpack", help="a mounted Secret -> a keyring directory")
    unpack_cmd.add_argument("secret_dir", type=Path)
    unpack_cmd.add_argument("keys_dir", type=Path)
    from_cmd = commands.add_parser("from-secret", help="`kubectl get secret -o json` on stdin -> a keyring")
    from_cmd.add_argument("keys_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "unpack":
            kid = unpack(args.secret_dir, args.keys_dir)
        else:
            kid = from_secret(json.load(sys.stdin), args.keys_dir)
    except (KeyringError, OSError, ValueError) as exc:
        print(f"signing-keys: {exc}", file=sys.stderr)
        return 2
    print(f"signing-keys: keyring in {args.keys_dir} (current {kid})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
