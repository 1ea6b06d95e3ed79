"""The signing keyring: ES256 keys on disk, the current one signs, all live ones verify.

Layout of ``keys_dir``::

    signing/<kid>.pem   private keys (mode 0600), newest last by kid (kids are time-ordered ids)
    current             the kid that signs
    next                the kid that signs after the next rotation (already published)
    jwks.json           the public keys: the retired ones still kept, current and next

Verifiers cache the JWKS (Envoy for a fixed period), so a key must be published
before it signs: rotation promotes the already-published ``next`` key to current
and creates a new ``next``. The previous keys stay in the JWKS so tokens they
signed verify until they expire.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.runtime.ids import new_id

# Retired keys kept in the JWKS besides current and next: more than one access
# token lifetime's worth of rotations.
KEEP_RETIRED = 2
ALGORITHM = "ES256"


def _b64url_uint(value: int, length: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(length, "big")).rstrip(b"=").decode()


def public_jwk(kid: str, key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The JWK (RFC 7517) of a P-256 public key."""
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url_uint(numbers.x, 32),
        "y": _b64url_uint(numbers.y, 32),
        "kid": kid,
        "alg": ALGORITHM,
        "use": "sig",
    }


class Keyring:
    """Signing keys in a directory."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = Path(keys_dir)
        self.signing_dir = self.keys_dir / "signing"

    def exists(self) -> bool:
        return (self.keys_dir / "current").is_file()

    def ensure(self) -> str:
        """Create the first current and next keys if there are none; return the current kid."""
        if not self.exists():
            return self.rotate()
        return self.current_kid()

    def rotate(self) -> str:
        """Promote the published next key to current, publish a new next; return the current kid."""
        self.signing_dir.mkdir(parents=True, exist_ok=True)
        next_file = self.keys_dir / "next"
        current = next_file.read_text().strip() if next_file.is_file() else self._new_key()
        upcoming = self._new_key()
        self._write_atomic(self.keys_dir / "current", current.encode())
        self._write_atomic(next_file, upcoming.encode())
        self._prune()
        self._write_atomic(self.keys_dir / "jwks.json", json.dumps(self.jwks(), indent=2).encode())
        return current

    def _new_key(self) -> str:
        kid = new_id("key")
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(self.signing_dir / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return kid

    def current_kid(self) -> str:
        return (self.keys_dir / "current").read_text().strip()

    def next_kid(self) -> str:
        return (self.keys_dir / "next").read_text().strip()

    def kids(self) -> list[str]:
        return sorted(p.stem for p in self.signing_dir.glob("*.pem"))

    def private_key(self, kid: str) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key((self.signing_dir / f"{kid}.pem").read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [public_jwk(kid, self.private_key(kid).public_key()) for kid in self.kids()]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign ``claims`` with the current key; the kid goes in the header."""
        kid = self.current_kid()
        return jwt.encode(claims, self.private_key(kid), algorithm=ALGORITHM, headers={"kid": kid})

    def _prune(self) -> None:
        # Kids are time-ordered: everything older than current, beyond KEEP_RETIRED, goes.
        current = self.current_kid()
        retired = [kid for kid in self.kids() if kid < current]
        for kid in retired[:-KEEP_RETIRED] if KEEP_RETIRED else retired:
            (self.signing_dir / f"{kid}.pem").unlink()

    def _write_atomic(self, path: Path, data: bytes) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)


def access_token_claims(
    *,
    subject: str,
    roles: list[str],
    issuer: str,
    audience: str,
    ttl_seconds: int,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The standard claims of a NexaFi access token."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "roles": roles,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    claims.update(extra or {})
    return claims
