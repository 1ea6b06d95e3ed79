"""Locking an account after repeated failed logins.

Failures are counted in a fixed window that starts at the first failure; the
``max_failures``-th failure inside it locks the account for ``duration``. A
successful login clears the count. When the lock ends the count starts again
from zero, so an attacker gets ``max_failures`` guesses per lock period at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class FailureState:
    """What is stored per account."""

    count: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def register_failure(policy: LockoutPolicy, state: FailureState, now: datetime) -> FailureState:
    """The state after one more failed login at ``now``."""
    if state.window_start is None or now - state.window_start >= policy.window:
        count, window_start = 1, now
    else:
        count, window_start = state.count + 1, state.window_start
    if count >= policy.max_failures:
        return FailureState(count=0, window_start=None, locked_until=now + policy.duration)
    return FailureState(count=count, window_start=window_start, locked_until=None)
