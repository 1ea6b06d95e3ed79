"""Verifying access tokens against a JWKS, the caller's principal, and role checks.

Every service verifies the caller's JWT itself, behind Envoy (defence in depth).
The server's interceptor verifies the token and makes the principal current for
the RPC; servicers then authorize it against their service's table of rules
(``services/<service>/access.py``, built on ``services.runtime.access_rules``).
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jwt

from services.runtime.clock import Clock, system_clock
from services.runtime.config import AuthSettings
from services.runtime.errors import Unauthenticated

ROLE_CUSTOMER = "customer"
ROLE_ADMIN = "admin"
ROLE_SUPPORT = "support"
ROLE_COMPLIANCE = "compliance"
ROLE_SERVICE = "service"
ROLE_UNDERWRITER = "underwriter"
ALL_ROLES = frozenset(
    {ROLE_CUSTOMER, ROLE_ADMIN, ROLE_SUPPORT, ROLE_COMPLIANCE, ROLE_SERVICE, ROLE_UNDERWRITER}
)
# Staff roles that may read any customer's data.
STAFF_READ_ROLES = (ROLE_ADMIN, ROLE_SUPPORT, ROLE_COMPLIANCE, ROLE_SERVICE)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and roles."""

    subject: str
    roles: frozenset[str]
    token_id: str = ""
    claims: dict[str, Any] = field(default_factory=dict, compare=False)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def current_principal() -> Principal:
    """The principal of the RPC being served; UNAUTHENTICATED when there is none."""
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("authentication required", "TOKEN_MISSING")
    return principal


def optional_principal() -> Principal | None:
    """The principal, or None on a public RPC called without a token."""
    return _current.get()


def set_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    return _current.set(principal)


def reset_principal(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)


class RevocationCheck(Protocol):
    """Refuses principals whose token was revoked (``services.runtime.revocation.RevocationCache``)."""

    def check(self, principal: Principal) -> None: ...


class JwksCache:
    """Public keys by kid, from a JWKS file or URL, refreshed on an unknown kid.

    Refreshing on an unknown kid is what makes key rotation need no restart; the
    minimum interval keeps a flood of forged kids from hammering the source.
    """

    def __init__(self, source: str, *, ttl_seconds: float = 300.0, min_refresh_seconds: float = 1.0) -> None:
        self.source = source
        self.ttl_seconds = ttl_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._keys: dict[str, Any] = {}
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self, kid: str) -> Any | None:
        now = time.monotonic()
        with self._lock:
            stale = now - self._loaded_at > self.ttl_seconds
            unknown = kid not in self._keys and now - self._loaded_at > self.min_refresh_seconds
            if stale or unknown:
                self._load()
            return self._keys.get(kid)

    def _load(self) -> None:
        try:
            document = json.loads(self._fetch())
            keys = {}
            for jwk in document.get("keys", []):
                keys[jwk["kid"]] = jwt.PyJWK.from_dict(jwk).key
        except (OSError, ValueError, KeyError, jwt.PyJWKError):
            # Keep the keys we have: a source briefly down must not log everyone out.
            self._loaded_at = time.monotonic()
            return
        self._keys = keys
        self._loaded_at = time.monotonic()

    def _fetch(self) -> bytes:
        if self.source.startswith(("http://", "https://")):
            with urllib.request.urlopen(self.source, timeout=3) as response:  # noqa: S310
                body: bytes = response.read()
                return body
        return Path(self.source.removeprefix("file://")).read_bytes()


class JwtVerifier:
    """Verifies NexaFi access tokens: signature by kid, issuer, audience, expiry.

    A signature check costs about a third of a millisecond, and callers (services
    above all) send the same token many times: verified tokens are remembered
    until they expire, but never longer than ``CACHE_SECONDS``, so a key dropped
    from the JWKS stops being trusted within that time. The revocation check, when
    there is one, runs on every request, cached token or not.

    Expiry (``exp``, ``iat``, ``nbf``) and the cache's periods are read on ``clock``, not
    inside PyJWT, so a test advances the clock instead of sleeping.
    """

    CACHE_SECONDS = 60.0
    CACHE_ENTRIES = 10_000

    def __init__(
        self,
        settings: AuthSettings,
        jwks: JwksCache | None = None,
        revocations: RevocationCheck | None = None,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.jwks = jwks or JwksCache(settings.jwks_source)
        self.revocations = revocations
        self.clock = clock
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        principal = self._verify_signed(token)
        if self.revocations is not None:
            self.revocations.check(principal)
        return principal

    def _verify_signed(self, token: str) -> Principal:
        now = self.clock().timestamp()
        with self._cache_lock:
            hit = self._verified.get(token)
            if hit is not None and hit[0] > now:
                self._verified.move_to_end(token)
                return hit[1]
        principal = self._verify_uncached(token, now)
        # Leeway applies to a token's expiry, never to how long it is cached.
        expires = float(principal.claims.get("exp", now))
        with self._cache_lock:
            self._verified[token] = (min(expires, now + self.CACHE_SECONDS), principal)
            while len(self._verified) > self.CACHE_ENTRIES:
                self._verified.popitem(last=False)
        return principal

    def _verify_uncached(self, token: str, now: float) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("malformed access token", "TOKEN_INVALID") from None
        kid = header.get("kid")
        if not kid or header.get("alg") != "ES256":
            raise Unauthenticated("access token has no usable key id", "TOKEN_INVALID")
        key = self.jwks.get(kid)
        if key is None:
            raise Unauthenticated("access token signed with an unknown key", "TOKEN_INVALID")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["ES256"],
                audience=[self.settings.audience, self.settings.internal_audience],
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={
                    "require": ["exp", "iat", "sub", "iss", "aud"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid access token: {exc}", "TOKEN_INVALID") from None
        self._check_times(claims, now)
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            raise Unauthenticated("invalid access token: roles is not a list", "TOKEN_INVALID")
        # The service role and the internal audience go together: a service token is never a
        # public one (the gateway refuses it), and no user token is an internal one.
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if (audiences == [self.settings.internal_audience]) != (ROLE_SERVICE in roles):
            raise Unauthenticated(
                "invalid access token: the service role requires the internal audience", "TOKEN_INVALID"
            )
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(str(r) for r in roles),
            token_id=str(claims.get("jti", "")),
            claims=claims,
        )

    def _check_times(self, claims: dict[str, Any], now: float) -> None:
        """PyJWT's checks of exp, iat and nbf, against ``now`` of this verifier's clock."""
        leeway = self.settings.leeway_seconds
        times = {}
        for name in ("exp", "iat", "nbf"):
            if name not in claims:
                continue
            value = claims[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Unauthenticated(f"invalid access token: {name} must be a number", "TOKEN_INVALID")
            times[name] = float(value)
        if times["exp"] <= now - leeway:
            raise Unauthenticated("access token expired", "TOKEN_EXPIRED")
        if times["iat"] > now + leeway or times.get("nbf", now) > now + leeway:
            raise Unauthenticated("invalid access token: not yet valid", "TOKEN_INVALID")

    def verify_authorization(self, header: str | None) -> Principal:
        """Verify an ``authorization: Bearer <token>`` metadata value."""
        if not header:
            raise Unauthenticated("authentication required", "TOKEN_MISSING")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("authorization must be 'Bearer <token>'", "TOKEN_INVALID")
        return self.verify(token.strip())
