"""The revocation cache: version floors, sessions, forgetting expired entries, failing closed when stale."""

from __future__ import annotations

import pytest

from services.runtime.auth import Principal
from services.runtime.errors import Unauthenticated, Unavailable
from services.runtime.revocation import FeedPage, RevocationCache, RevocationEntry


class Feed:
    """A feed in memory with the user service's contract: entries after a sequence, live ones only."""

    def __init__(self) -> None:
        self.entries: list[RevocationEntry] = []
        self.down = False
        self.wall = 1000.0

    def add(self, user_id: str, *, version: int = 0, session: str = "", ttl: float = 100.0) -> None:
        self.entries.append(
            RevocationEntry(
                sequence=len(self.entries) + 1,
                user_id=user_id,
                min_token_version=version,
                session_id=session,
                expires_at=self.wall + ttl,
            )
        )

    def fetch(self, after_sequence: int, limit: int) -> FeedPage:
        if self.down:
            raise ConnectionError("feed down")
        live = [e for e in self.entries if e.sequence > after_sequence and e.expires_at > self.wall]
        return FeedPage(entries=live[:limit], last_sequence=len(self.entries))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def token(subject: str, *, ver: int | None = None, sid: str = "", roles: tuple[str, ...] = ("customer",)):
    claims: dict[str, object] = {"sub": subject}
    if ver is not None:
        claims["ver"] = ver
    if sid:
        claims["sid"] = sid
    return Principal(subject=subject, roles=frozenset(roles), claims=claims)


@pytest.fixture
def setup() -> tuple[RevocationCache, Feed, Clock]:
    feed, clock = Feed(), Clock()
    cache = RevocationCache(max_staleness_seconds=5, monotonic=clock, wall=lambda: feed.wall)
    cache.source = feed
    return cache, feed, clock


def test_a_version_floor_refuses_older_tokens_only(setup: tuple[RevocationCache, Feed, Clock]) -> None:
    cache, feed, _ = setup
    feed.add("usr_a", version=3)
    cache.sync()
    for old in (token("usr_a", ver=2), token("usr_a")):  # a token without ver is version 0
        with pytest.raises(Unauthenticated, match="revoked"):
            cache.check(old)
    cache.check(token("usr_a", ver=3))
    cache.check(token("usr_b", ver=0))


def test_a_revoked_session_refuses_its_tokens_only(setup: tuple[RevocationCache, Feed, Clock]) -> None:
    cache, feed, _ = setup
    feed.add("usr_a", session="rtf_1")
    cache.sync()
    with pytest.raises(Unauthenticated):
        cache.check(token("usr_a", ver=0, sid="rtf_1"))
    cache.check(token("usr_a", ver=0, sid="rtf_2"))


def test_entries_are_forgotten_once_their_tokens_expired(setup: tuple[RevocationCache, Feed, Clock]) -> None:
    cache, feed, _ = setup
    feed.add("usr_a", version=1, ttl=10)
    feed.add("usr_b", session="rtf_b", ttl=10)
    cache.sync()
    assert cache.size == 2
    feed.wall += 11
    feed.add("usr_c", version=1)
    cache.sync()
    assert cache.size == 1


def test_a_stale_feed_fails_closed_for_staff_and_open_for_customers(
    setup: tuple[RevocationCache, Feed, Clock],
) -> None:
    cache, feed, clock = setup
    staff = token("usr_s", ver=0, roles=("support",))
    with pytest.raises(Unavailable):  # never synced: nothing is known yet
        cache.check(staff)
    cache.sync()
    cache.check(staff)
    feed.down = True
    clock.now = 6
    with pytest.raises(ConnectionError):
        cache.sync()
    with pytest.raises(Unavailable, match="retry"):
        cache.check(staff)
    cache.check(token("usr_c", ver=0))
    cache.check(token("svc_payment", roles=("service",)))
    feed.down = False
    cache.sync()
    cache.check(staff)


def test_fail_closed_all_refuses_customers_too() -> None:
    cache = RevocationCache(fail_closed="all")
    with pytest.raises(Unavailable):
        cache.check(token("usr_c", ver=0))


def test_the_reader_resumes_after_the_last_sequence(setup: tuple[RevocationCache, Feed, Clock]) -> None:
    cache, feed, _ = setup
    for i in range(2500):  # more than two pages
        feed.add(f"usr_{i}", version=1)
    cache.sync()
    assert cache.size == 2500
    feed.add("usr_late", version=5)
    cache.sync()
    with pytest.raises(Unauthenticated):
        cache.check(token("usr_late", ver=4))
