"""Access tokens (ES256 JWTs from the shared keyring) and opaque secrets.

Refresh tokens and password-reset tokens are 32 random bytes, base64url
encoded. Only their SHA-256 digest is stored: a database leak then yields
nothing usable, and since the tokens are uniformly random a plain (unsalted)
hash is enough — there is nothing to brute-force.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from services.runtime.config import AuthSettings
from services.runtime.keys import Keyring, access_token_claims

OPAQUE_TOKEN_BYTES = 32
# A base64url token of 32 bytes is 43 characters; longer input is never ours and
# is refused before hashing.
MAX_OPAQUE_TOKEN_LENGTH = 128


def new_opaque_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(OPAQUE_TOKEN_BYTES)).rstrip(b"=").decode()


def token_digest(token: str) -> str:
    """The stored form of an opaque token: hex SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccessTokenIssuer:
    """Signs access tokens with the keyring's current key (the kid goes in the header)."""

    def __init__(self, keyring: Keyring, auth: AuthSettings, ttl_seconds: int) -> None:
        self.keyring = keyring
        self.auth = auth
        self.ttl_seconds = ttl_seconds

    def issue(
        self,
        subject: str,
        roles: list[str],
        *,
        ttl_seconds: int | None = None,
        extra: dict[str, Any] | None = None,
        audience: str | None = None,
    ) -> tuple[str, int]:
        """The signed token and its lifetime in seconds (for the public audience unless told)."""
        ttl = ttl_seconds or self.ttl_seconds
        claims = access_token_claims(
            subject=subject,
            roles=sorted(roles),
            issuer=self.auth.issuer,
            audience=audience or self.auth.audience,
            ttl_seconds=ttl,
            extra=extra,
        )
        return self.keyring.sign(claims), ttl
