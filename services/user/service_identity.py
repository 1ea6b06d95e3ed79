"""Service identity: how a NexaFi service gets its own access token.

For the README:

    Every service that calls another one authenticates as itself with a token
    carrying the role ``service``, the subject ``svc_<client_id>``, the claim
    ``client_id`` and the internal audience (``JWT_INTERNAL_AUDIENCE``, which the
    gateway never accepts: a service token works only inside the mesh). It gets
    that token from ``UserService.IssueServiceToken`` (gRPC only, no REST route)
    in exchange for a client id and secret, and renews it before it expires
    (``expires_in``, by default 15 minutes, ``NEXAFI_SERVICE_TOKEN_TTL_SECONDS``).

    The user service knows the clients from either

    * ``NEXAFI_SERVICE_CLIENTS=payment:<secret>,credit:<secret>``, or
    * ``NEXAFI_SERVICE_CLIENTS_FILE=/run/secrets/service-clients.json`` holding
      ``{"payment": "<secret>", "credit": {"sha256": "<hex digest of the secret>"}}``
      — a digest entry lets the user service hold no clear secret at all.

    Each calling service gets its own secret (``NEXAFI_CLIENT_SECRET`` in its
    own environment, e.g. from a Kubernetes Secret); rotating a secret is a
    change of both sides' configuration. Secrets must be at least 16
    characters. The end user on whose behalf a service acts is passed
    explicitly in the request, never by forwarding the user's token.

Secrets are kept only as SHA-256 digests in memory and compared with
``hmac.compare_digest``; an unknown client id is compared against a dummy
digest so the answer takes the same time either way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from pathlib import Path

from services.runtime.config import ConfigError

CLIENT_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
MIN_SECRET_LENGTH = 16
_DUMMY_DIGEST = hashlib.sha256(b"no such client").digest()


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class ServiceClients:
    """The known service clients and their secret digests."""

    def __init__(self, digests: Mapping[str, bytes]) -> None:
        self._digests = dict(digests)

    @property
    def client_ids(self) -> frozenset[str]:
        return frozenset(self._digests)

    def verify(self, client_id: str, secret: str) -> bool:
        expected = self._digests.get(client_id, _DUMMY_DIGEST)
        matches = hmac.compare_digest(expected, _digest(secret))
        return matches and client_id in self._digests

    @classmethod
    def parse(cls, spec: str) -> ServiceClients:
        """``payment:<secret>,credit:<secret>``."""
        digests: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            client_id, sep, secret = item.partition(":")
            if not sep:
                raise ConfigError("NEXAFI_SERVICE_CLIENTS entries must be <client_id>:<secret>")
            digests[_checked_id(client_id.strip())] = _digest(_checked_secret(client_id, secret.strip()))
        return cls(digests)

    @classmethod
    def load_file(cls, path: Path) -> ServiceClients:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"NEXAFI_SERVICE_CLIENTS_FILE cannot be read as JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ConfigError("NEXAFI_SERVICE_CLIENTS_FILE must hold a JSON object")
        digests: dict[str, bytes] = {}
        for client_id, entry in document.items():
            if isinstance(entry, str):
                digests[_checked_id(client_id)] = _digest(_checked_secret(client_id, entry))
            elif isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
                try:
                    digest = bytes.fromhex(entry["sha256"])
                except ValueError:
                    digest = b""
                if len(digest) != hashlib.sha256().digest_size:
                    raise ConfigError(f"service client {client_id!r}: sha256 must be 64 hex digits")
                digests[_checked_id(client_id)] = digest
            else:
                raise ConfigError(f'service client {client_id!r}: expected a secret or {{"sha256": ...}}')
        return cls(digests)

    def merged(self, other: ServiceClients) -> ServiceClients:
        """These clients and ``other``'s; ``other`` wins for a client id in both."""
        return ServiceClients({**self._digests, **other._digests})


def _checked_id(client_id: str) -> str:
    if not CLIENT_ID_RE.match(client_id):
        raise ConfigError(f"service client id {client_id!r} must match {CLIENT_ID_RE.pattern}")
    return client_id


def _checked_secret(client_id: str, secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"service client {client_id!r}: the secret must be at least {MIN_SECRET_LENGTH} characters"
        )
    return secret
