"""Time ranges and periods: defaults, limits, UTC-aligned buckets, ratios in basis points.

Periods are aligned in UTC (days at midnight, ISO weeks on Monday, months on the
1st) and clipped to the requested range, so the first and last period may be
shorter than the granularity. Ratios are integers (basis points) rounded half to
even, computed with exact fractions: no float ever touches an amount.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

from services.runtime.errors import FieldViolation

INT32_MAX = 2**31 - 1
MAX_DAILY_SPAN = timedelta(days=366)
# Five years including up to two leap days.
MAX_LONG_SPAN = timedelta(days=5 * 365 + 2)
DEFAULT_LOOKBACK = timedelta(days=30)


class Granularity(enum.IntEnum):
    """The analytics contract's Granularity numbers."""

    DAY = 1
    WEEK = 2
    MONTH = 3


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def floor_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def ceil_day(moment: datetime) -> datetime:
    floor = floor_day(moment)
    return floor if floor == moment else floor + timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def align(moment: datetime, granularity: Granularity) -> datetime:
    """The start of the period of ``granularity`` that contains ``moment``."""
    day = floor_day(moment)
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    if granularity is Granularity.MONTH:
        return day.replace(day=1)
    return day


def next_start(start: datetime, granularity: Granularity) -> datetime:
    """The start of the period after the aligned period starting at ``start``."""
    if granularity is Granularity.DAY:
        return start + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return start + timedelta(days=7)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def periods(start: datetime, end: datetime, granularity: Granularity) -> list[Period]:
    """The periods of ``granularity`` covering [start, end), clipped to it, in time order."""
    out = []
    cursor = start
    while cursor < end:
        boundary = next_start(align(cursor, granularity), granularity)
        out.append(Period(cursor, min(boundary, end)))
        cursor = boundary
    return out


def resolve_range(
    start: datetime | None, end: datetime | None, now: datetime, lookback: timedelta = DEFAULT_LOOKBACK
) -> tuple[datetime, datetime]:
    """The range with its defaults: an unset end is now, an unset start ``lookback`` before the end."""
    resolved_end = end or now
    return (start or resolved_end - lookback), resolved_end


def last_complete_month(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month before the one ``now`` is in (the monthly statement's default)."""
    this_month = align(now, Granularity.MONTH)
    previous = (this_month - timedelta(days=1)).replace(day=1)
    return previous, this_month


# Ranges outside these bounds would overflow datetime when periods or the previous range of
# the same length are computed; no ledger entry can be dated there anyway.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def range_violations(
    start: datetime, end: datetime, max_span: timedelta, field: str = "time_range"
) -> list[FieldViolation]:
    """Why [start, end) is not acceptable, if it is not: outside the years the ledger can hold
    (periods and the previous range are computed around it), empty, reversed or too long."""
    for name, value in (("start_time", start), ("end_time", end)):
        if not EARLIEST <= value <= LATEST:
            return [FieldViolation(f"{field}.{name}", f"must be between {EARLIEST.year} and {LATEST.year}")]
    if end <= start:
        return [FieldViolation(f"{field}.end_time", "must be after start_time")]
    if end - start > max_span:
        return [FieldViolation(f"{field}.start_time", f"the range must span at most {max_span.days} days")]
    return []


def max_span(granularity: Granularity) -> timedelta:
    return MAX_DAILY_SPAN if granularity is Granularity.DAY else MAX_LONG_SPAN


def _clamp(value: int) -> int:
    return max(-INT32_MAX, min(INT32_MAX, value))


def change_bps(current: int, previous: int) -> int | None:
    """The change from ``previous`` to ``current`` in basis points; None when previous is zero."""
    if previous == 0:
        return None
    return _clamp(round(Fraction((current - previous) * 10_000, previous)))


def share_bps(part: int, total: int) -> int:
    """``part`` as a share of ``total`` in basis points (0 to 10000); 0 when total is zero."""
    if total == 0:
        return 0
    return round(Fraction(part * 10_000, total))


def average(total: int, count: int) -> int:
    """``total / count`` rounded half to even to the minor unit; 0 for no periods."""
    if count == 0:
        return 0
    return round(Fraction(total, count))
