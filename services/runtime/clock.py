"""The one notion of "now" that services decide with.

A service never reads the wall clock inside a decision (a fraud check's time, a daily
limit's window, a token's expiry, a recovery age): it is given a ``Clock`` at start and
asks it. Production passes ``system_clock``; tests pass a ``ShiftedClock`` that starts at
a chosen instant and then runs at the speed of real time, so decisions that depend on the
day or the hour are the same on any day, while timeouts, leases and deadlines keep
working (a frozen clock would never let a lease expire). ``advance`` jumps it forward, so a
test of an expiry waits for nothing.

Every clock answers an aware datetime in UTC.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class ShiftedClock:
    """A clock that reads ``start`` when created, then advances with real elapsed time.

    Elapsed time is measured on the monotonic clock, so a step of the wall clock
    (NTP, a faked system time) does not move it; ``advance`` moves it forward on purpose.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock starts at an aware datetime")
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            offset = self._offset
        return self._start + offset + timedelta(seconds=time.monotonic() - self._origin)

    def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward by ``delta`` (a timedelta or seconds); never backward."""
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        if step < timedelta(0):
            raise ValueError("a clock does not go backward")
        with self._lock:
            self._offset += step


def previous_weekday_at(now: datetime, weekday: int, hour: int) -> datetime:
    """The latest ``weekday`` (Monday = 0) at ``hour``:00 UTC at least one day before ``now``.

    Tests pin a service's clock there: the day of the week and the hour are fixed, while
    the date stays within eight days of the real one, so the service's times stay
    comparable with those of the services around it (tokens, the ledger's entries).
    """
    latest = (now.astimezone(UTC) - timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)
    if latest > now - timedelta(days=1):
        latest -= timedelta(days=1)
    return latest - timedelta(days=(latest.weekday() - weekday) % 7)
