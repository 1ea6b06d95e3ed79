"""What the revocation check costs per request: it reads a cache, never the network.

Run with ``python -m tests.benchmarks.revocation_bench`` (or ``make bench``). It fills a
:class:`RevocationCache` with 100,000 revoked users and 100,000 revoked sessions (far more
than one access-token lifetime of revocations) and times, in one thread:

- ``check``: the check alone for a token that is not revoked (the common case: both look-ups miss)
  and for a revoked one (raises);
- ``verify``: a whole ``JwtVerifier.verify`` of an already verified (cached) token, with the
  check and without it: what a request pays in total.

It prints microseconds per call (mean of batches, and the slowest batch's mean).
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from services.runtime.auth import JwtVerifier, Principal
from services.runtime.errors import Unauthenticated
from services.runtime.keys import Keyring
from services.runtime.revocation import FeedPage, RevocationCache, RevocationEntry
from tests.support.harness import TokenFactory, auth_settings_for

ENTRIES = 100_000
BATCHES = 20
PER_BATCH = 20_000


class _FilledFeed:
    def __init__(self, entries: list[RevocationEntry]) -> None:
        self.entries = entries

    def fetch(self, after_sequence: int, limit: int) -> FeedPage:
        # Sequences are 1..n: entry i has sequence i + 1.
        page = self.entries[after_sequence : after_sequence + limit]
        return FeedPage(entries=page, last_sequence=len(self.entries))


def micros_per_call(call: Callable[[], object]) -> tuple[float, float]:
    means = []
    for _ in range(BATCHES):
        started = time.perf_counter()
        for _ in range(PER_BATCH):
            call()
        means.append((time.perf_counter() - started) / PER_BATCH * 1e6)
    return statistics.fmean(means), max(means)


def main() -> int:
    expires = time.time() + 3600
    entries = [
        RevocationEntry(
            sequence=i + 1, user_id=f"usr_{i}", min_token_version=2, session_id="", expires_at=expires
        )
        for i in range(ENTRIES)
    ]
    entries += [
        RevocationEntry(
            sequence=ENTRIES + i + 1,
            user_id=f"usr_s{i}",
            min_token_version=0,
            session_id=f"rtf_{i}",
            expires_at=expires,
        )
        for i in range(ENTRIES)
    ]
    # No poller runs here: a window of an hour keeps the cache fresh for the whole run.
    cache = RevocationCache(max_staleness_seconds=3600)
    cache.source = _FilledFeed(entries)
    started = time.perf_counter()
    cache.sync()
    sync_ms = (time.perf_counter() - started) * 1000
    print(f"cache: {cache.size} revocations loaded from the feed in {sync_ms:.0f} ms")

    live = Principal(
        subject="usr_live",
        roles=frozenset({"customer"}),
        claims={"sub": "usr_live", "sid": "rtf_live", "ver": 3},
    )
    revoked = Principal(
        subject="usr_7", roles=frozenset({"admin"}), claims={"sub": "usr_7", "sid": "rtf_x", "ver": 1}
    )

    def check_revoked() -> None:
        with contextlib.suppress(Unauthenticated):
            cache.check(revoked)

    for label, call in [
        ("check, token live (both look-ups miss)", lambda: cache.check(live)),
        ("check, token revoked (raises)", check_revoked),
    ]:
        mean, worst = micros_per_call(call)
        print(f"{label:<44} {mean:6.2f} µs/call (slowest batch {worst:.2f})")

    with tempfile.TemporaryDirectory(prefix="revocation-bench-") as tmp:
        keys = Path(tmp)
        keyring = Keyring(keys)
        keyring.ensure()
        token = TokenFactory(keyring).make("usr_live", ["customer"])
        settings = auth_settings_for(keys)
        plain, checked = JwtVerifier(settings), JwtVerifier(settings, revocations=cache)
        plain.verify(token)
        checked.verify(token)
        without, _ = micros_per_call(lambda: plain.verify(token))
        with_check, _ = micros_per_call(lambda: checked.verify(token))
    print(f"{'verify (cached token), without the check':<44} {without:6.2f} µs/call")
    print(
        f"{'verify (cached token), with the check':<44} {with_check:6.2f} µs/call "
        f"(+{with_check - without:.2f} µs per request)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
