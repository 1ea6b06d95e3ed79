"""Refusing revoked access tokens within seconds, with no network round trip per request.

Access tokens are verified statelessly (signature, expiry), which alone would leave a
deactivated user or a demoted admin their power until the token expires. So user tokens
carry ``sid`` (the session: the refresh-token family) and ``ver`` (the user's token
version, bumped by the user service on deactivation, erasure, any role change, password
reset and "log out everywhere"). The user service publishes every revocation on a feed
(``ListRevocations``): "tokens of user U with ``ver`` below V" or "tokens of session S".
Every service's verifier keeps a :class:`RevocationCache` of that feed, polled every
``poll_seconds`` (default 1 s), and checks each request against it: two dictionary
look-ups, microseconds (``make bench``).

Why polling is safe: the user service writes feed entries under one lock held until
commit, so sequences appear in commit order and a reader that resumes after the last
sequence it saw can never miss one. Memory is bounded by time: an entry is needed only
until every token it refuses has expired (its ``expire_time``: issue time plus the access
token lifetime and a margin), then it is dropped, so the cache holds at most one access
token lifetime of revocations.

When the feed cannot be read for longer than ``max_staleness_seconds`` (default 5 s,
the revocation window), the cache fails closed for staff roles (admin, support,
compliance, underwriter: ``UNAVAILABLE`` / ``REVOCATION_STATE_STALE``, retryable), or
for every user token with ``fail_closed="all"``. Customers keep being served by default:
their revocations are still applied as far as the last successful poll, and the user
service being briefly down must not take payments down with it. Service tokens are not
user sessions and are not checked (their revocation is the rotation of the client secret).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from services.runtime.auth import (
    ROLE_ADMIN,
    ROLE_COMPLIANCE,
    ROLE_SERVICE,
    ROLE_SUPPORT,
    ROLE_UNDERWRITER,
    Principal,
)
from services.runtime.errors import Unauthenticated, Unavailable

log = logging.getLogger("nexafi.revocation")

STAFF_ROLES = frozenset({ROLE_ADMIN, ROLE_SUPPORT, ROLE_COMPLIANCE, ROLE_UNDERWRITER})
PAGE_SIZE = 1000


@dataclass(frozen=True)
class RevocationEntry:
    """One feed entry: tokens of ``user_id`` below ``min_token_version``, or of ``session_id``."""

    sequence: int
    user_id: str
    min_token_version: int
    session_id: str
    # Wall-clock epoch seconds after which every token it refuses has expired.
    expires_at: float


@dataclass(frozen=True)
class FeedPage:
    entries: list[RevocationEntry]
    # The greatest sequence the feed holds; beyond the last entry, more pages follow.
    last_sequence: int


class RevocationSource(Protocol):
    """Where a cache reads the feed: the user service over gRPC, or its own database."""

    def fetch(self, after_sequence: int, limit: int) -> FeedPage: ...


def _claim_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class RevocationCache:
    """The revocations still in effect, kept current from a :class:`RevocationSource`."""

    def __init__(
        self,
        *,
        poll_seconds: float = 1.0,
        max_staleness_seconds: float = 5.0,
        fail_closed: str = "staff",
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.poll_seconds = poll_seconds
        self.max_staleness_seconds = max_staleness_seconds
        self.fail_closed_all = fail_closed == "all"
        self.source: RevocationSource | None = None
        self._monotonic = monotonic
        self._wall = wall
        # user -> (minimum live version, forget after); session -> forget after. Only the
        # poller writes; readers see either the old or the new value (GIL-atomic dict ops).
        self._min_version: dict[str, tuple[int, float]] = {}
        self._sessions: dict[str, float] = {}
        self._cursor = 0
        self._fresh_at: float | None = None
        self._sync_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing_since: float | None = None

    # -- the per-request check ---------------------------------------------------------

    def check(self, principal: Principal) -> None:
        """Raise when ``principal``'s token is revoked, or when staleness makes it unknowable."""
        roles = principal.roles
        if ROLE_SERVICE in roles:
            return
        fresh_at = self._fresh_at
        stale = fresh_at is None or self._monotonic() - fresh_at > self.max_staleness_seconds
        if stale and (self.fail_closed_all or not roles.isdisjoint(STAFF_ROLES)):
            raise Unavailable(
                "cannot confirm that the access token is still valid; retry shortly", "REVOCATION_STATE_STALE"
            )
        claims = principal.claims
        floor = self._min_version.get(principal.subject)
        if floor is not None and _claim_int(claims.get("ver")) < floor[0]:
            raise Unauthenticated("the access token was revoked; log in again", "TOKEN_REVOKED")
        sid = claims.get("sid")
        if sid and sid in self._sessions:
            raise Unauthenticated("the access token was revoked; log in again", "TOKEN_REVOKED")

    # -- keeping current ---------------------------------------------------------------

    @property
    def size(self) -> int:
        return len(self._min_version) + len(self._sessions)

    def apply(self, entries: list[RevocationEntry]) -> None:
        """Add feed entries (in sequence order)."""
        for entry in entries:
            if entry.session_id:
                self._sessions[entry.session_id] = max(
                    entry.expires_at, self._sessions.get(entry.session_id, 0.0)
                )
            if entry.min_token_version > 0:
                version, until = self._min_version.get(entry.user_id, (0, 0.0))
                self._min_version[entry.user_id] = (
                    max(version, entry.min_token_version),
                    max(until, entry.expires_at),
                )
            self._cursor = max(self._cursor, entry.sequence)

    def prune(self) -> None:
        """Forget entries whose tokens have all expired: what bounds the memory."""
        now = self._wall()
        for user_id in [u for u, (_, until) in self._min_version.items() if until < now]:
            self._min_version.pop(user_id, None)
        for sid in [s for s, until in self._sessions.items() if until < now]:
            self._sessions.pop(sid, None)

    def sync(self) -> None:
        """Read the feed up to its end; raises what the source raises."""
        if self.source is None:
            raise RuntimeError("the revocation cache has no source")
        with self._sync_lock:
            # Fresh as of the start of the read: anything committed before it is in it.
            started = self._monotonic()
            while True:
                page = self.source.fetch(self._cursor, PAGE_SIZE)
                self.apply(page.entries)
                if not page.entries or self._cursor >= page.last_sequence:
                    # Entries past the cursor may have expired and been left out.
                    self._cursor = max(self._cursor, page.last_sequence)
                    break
            self.prune()
            self._fresh_at = started

    def start(self, initial_timeout: float = 3.0) -> None:
        """Sync once (so a starting service does not refuse staff), then poll in the background."""
        deadline = time.monotonic() + initial_timeout
        while True:
            try:
                self.sync()
                break
            except Exception as exc:  # noqa: BLE001 - the poller keeps trying
                if time.monotonic() >= deadline:
                    log.warning("revocation feed not readable at start (%s); retrying in the background", exc)
                    break
                time.sleep(0.2)
        self._thread = threading.Thread(target=self._run, name="revocation-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.sync()
                if self._failing_since is not None:
                    log.info("revocation feed readable again")
                    self._failing_since = None
            except Exception as exc:  # noqa: BLE001 - logged once per outage, never fatal
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
                    log.warning("revocation feed unreadable: %s", exc)


class GrpcRevocationFeed:
    """The user service's ``ListRevocations``, called with this service's own identity."""

    TIMEOUT_SECONDS = 2.0

    def __init__(self, channel: Any) -> None:
        from nexafi.user.v1 import user_pb2_grpc

        self._stub = user_pb2_grpc.UserServiceStub(channel)

    @classmethod
    def for_service(cls, service: str) -> GrpcRevocationFeed:
        """Authenticates as ``service`` (``<SERVICE>_CLIENT_SECRET``); ConfigError when it has none."""
        from services.runtime.clients import ServiceTokenProvider, grpc_service, service_channel

        tokens = ServiceTokenProvider.from_env(service)
        return cls(service_channel("user", grpc_service("user"), tokens.token))

    def fetch(self, after_sequence: int, limit: int) -> FeedPage:
        from nexafi.user.v1 import user_pb2

        reply = self._stub.ListRevocations(
            user_pb2.ListRevocationsRequest(after_sequence=after_sequence, page_size=limit),
            timeout=self.TIMEOUT_SECONDS,
        )
        entries = [
            RevocationEntry(
                sequence=r.sequence,
                user_id=r.user_id,
                min_token_version=r.min_token_version,
                session_id=r.session_id,
                expires_at=r.expire_time.seconds + r.expire_time.nanos / 1e9,
            )
            for r in reply.revocations
        ]
        return FeedPage(entries=entries, last_sequence=reply.last_sequence)
