"""Throttling failed logins with growing delays, instead of a lock any stranger can set.

A hard lock after N failures lets anyone lock anyone out (five wrong passwords from
anywhere), and answering "locked" only for accounts that exist tells which exist. So:

- Failures are counted per login (the normalized username or email, whether or not an
  account has it) in two buckets: the login from one client address, and the login
  from every address.
- A bucket allows ``free_failures`` failures, then each further failure blocks the
  bucket for a delay that doubles (``base_delay`` * 2^k, at most ``max_delay``). While
  blocked, attempts are answered ``RESOURCE_EXHAUSTED`` / ``LOGIN_THROTTLED`` with the
  delay, without checking the password (so no guess is tested).
- The per-address bucket throttles one guesser. The per-login bucket (a larger
  allowance) throttles a distributed guesser, but not addresses the account has logged
  in from before: an attacker spraying from many addresses cannot keep the owner out
  of a correct login from their own address (a brand-new address does wait, with the delay).
- A bucket is forgotten ``window`` after its last failure or block ends; a success clears both.

Unknown logins go through exactly the same counting, so the answer (and its cost:
no password check while blocked, one Argon2 verification otherwise) says nothing
about whether an account exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int = 5
    account_free_failures: int = 20
    base_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class FailureState:
    """One bucket, as stored."""

    failures: int = 0
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None

    def current(self, policy: LockoutPolicy, now: datetime) -> FailureState:
        """The state with its failures forgotten once quiet for a window after the last block."""
        if self.last_failure_at is None:
            return self
        quiet_since = max(self.last_failure_at, self.blocked_until or self.last_failure_at)
        return FailureState() if now - quiet_since >= policy.window else self

    def is_blocked(self, now: datetime) -> bool:
        return self.blocked_until is not None and now < self.blocked_until


def delay_after(policy: LockoutPolicy, failures: int, free: int) -> timedelta:
    """How long a bucket is blocked after its ``failures``-th failure."""
    if failures < free:
        return timedelta(0)
    exponent = min(failures - free, 30)
    return min(policy.base_delay * (2**exponent), policy.max_delay)


def register_failure(policy: LockoutPolicy, state: FailureState, now: datetime, *, free: int) -> FailureState:
    """The bucket after one more failure at ``now``."""
    failures = state.current(policy, now).failures + 1
    delay = delay_after(policy, failures, free)
    return FailureState(
        failures=failures, last_failure_at=now, blocked_until=now + delay if delay > timedelta(0) else None
    )
