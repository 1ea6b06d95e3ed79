"""The runtime's clocks: aware UTC, a shifted clock that runs on and jumps forward on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.runtime.clock import ShiftedClock, previous_weekday_at, system_clock


def test_the_system_clock_is_aware_utc():
    assert system_clock().tzinfo is UTC


def test_a_shifted_clock_starts_where_asked_runs_on_and_advances():
    start = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
    clock = ShiftedClock(start)
    first = clock()
    assert start <= first < start + timedelta(seconds=5) and first.tzinfo == UTC
    assert clock() >= first  # it runs on, never back
    clock.advance(timedelta(hours=25))
    assert clock() >= first + timedelta(hours=25)
    clock.advance(60)
    assert clock() >= first + timedelta(hours=25, seconds=60)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_a_shifted_clock_needs_an_aware_start_and_answers_in_utc():
    with pytest.raises(ValueError):
        ShiftedClock(datetime(2026, 12, 8, 12, 0))
    paris = timezone(timedelta(hours=1))
    assert ShiftedClock(datetime(2026, 12, 8, 13, 0, tzinfo=paris))().hour == 12


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 12, 6, 21, 34, tzinfo=UTC),  # a Sunday evening
        datetime(2026, 12, 8, 2, 0, tzinfo=UTC),  # a Tuesday before noon
        datetime(2026, 12, 9, 12, 0, tzinfo=UTC),  # a Wednesday at noon sharp
        datetime(2027, 1, 1, 0, 0, tzinfo=UTC),  # across a year
    ],
)
def test_previous_weekday_at_is_that_day_and_hour_at_least_a_day_back(now: datetime):
    pinned = previous_weekday_at(now, weekday=1, hour=12)
    assert pinned.weekday() == 1 and (pinned.hour, pinned.minute, pinned.second) == (12, 0, 0)
    assert timedelta(days=1) <= now - pinned < timedelta(days=8)
