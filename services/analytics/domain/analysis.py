"""From daily summary rows to an analysis: totals, categories, periods, averages and trends.

The repository hands over rows of (day, direction, category, total, count) that
already respect the range's exact bounds (partial first and last days come from
the per-entry flows); this module only buckets and compares them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.analytics.domain.model import Direction
from services.analytics.domain.periods import Period, average, change_bps, day_start, share_bps


@dataclass(frozen=True)
class DayRow:
    """The sum of one user's flows of one direction and category on one UTC day, in one currency."""

    day: date
    direction: Direction
    category: str
    total_minor: int
    entry_count: int


@dataclass(frozen=True)
class CategoryFigure:
    category: str
    total_minor: int
    entry_count: int
    share_bps: int
    change_bps: int | None


@dataclass(frozen=True)
class PeriodFigure:
    period: Period
    total_minor: int
    entry_count: int


@dataclass(frozen=True)
class Figures:
    """One direction's analysis over a range, against the previous range of the same length."""

    total_minor: int
    entry_count: int
    categories: list[CategoryFigure]
    periods: list[PeriodFigure]
    average_minor: int
    previous_total_minor: int
    change_bps: int | None


def bucket_index(periods: Sequence[Period], day: date) -> int:
    """The index of the period a day's row belongs to (rows of a clipped first day go to period 0)."""
    starts = [p.start for p in periods]
    moment = max(day_start(day), starts[0])
    return bisect.bisect_right(starts, moment) - 1


def figures(
    direction: Direction, current: Iterable[DayRow], previous: Iterable[DayRow], periods: Sequence[Period]
) -> Figures:
    """The analysis of ``direction`` from the rows of the range and of the previous range."""
    by_category: dict[str, list[int]] = {}
    per_period = [[0, 0] for _ in periods]
    for row in current:
        if row.direction is not direction:
            continue
        sums = by_category.setdefault(row.category, [0, 0])
        sums[0] += row.total_minor
        sums[1] += row.entry_count
        if periods:
            bucket = per_period[bucket_index(periods, row.day)]
            bucket[0] += row.total_minor
            bucket[1] += row.entry_count
    previous_by_category: dict[str, int] = {}
    for row in previous:
        if row.direction is direction:
            previous_by_category[row.category] = previous_by_category.get(row.category, 0) + row.total_minor
    total = sum(s[0] for s in by_category.values())
    count = sum(s[1] for s in by_category.values())
    previous_total = sum(previous_by_category.values())
    categories = [
        CategoryFigure(
            name,
            sums[0],
            sums[1],
            share_bps(sums[0], total),
            change_bps(sums[0], previous_by_category.get(name, 0)),
        )
        for name, sums in sorted(by_category.items(), key=lambda item: (-item[1][0], item[0]))
    ]
    return Figures(
        total_minor=total,
        entry_count=count,
        categories=categories,
        periods=[PeriodFigure(p, s[0], s[1]) for p, s in zip(periods, per_period, strict=True)],
        average_minor=average(total, len(periods)),
        previous_total_minor=previous_total,
        change_bps=change_bps(total, previous_total),
    )


@dataclass(frozen=True)
class CashFlowPoint:
    period: Period
    income_minor: int
    income_count: int
    spending_minor: int
    spending_count: int
    closing_balance_minor: int

    @property
    def net_minor(self) -> int:
        return self.income_minor - self.spending_minor


def cash_flow(
    rows: Iterable[DayRow], periods: Sequence[Period], opening_balance_minor: int
) -> list[CashFlowPoint]:
    """Income, spending and the balance at the end of each period, from the balance at the range's start."""
    sums = [[0, 0, 0, 0] for _ in periods]
    for row in rows:
        if not periods:
            break
        bucket = sums[bucket_index(periods, row.day)]
        offset = 0 if row.direction is Direction.INCOME else 2
        bucket[offset] += row.total_minor
        bucket[offset + 1] += row.entry_count
    balance = opening_balance_minor
    points = []
    for period, (income, income_count, spending, spending_count) in zip(periods, sums, strict=True):
        balance += income - spending
        points.append(CashFlowPoint(period, income, income_count, spending, spending_count, balance))
    return points


def pick_currency(counts: dict[str, int], default: str) -> str:
    """The currency with the most entries, ties broken alphabetically; ``default`` when there are none."""
    if not counts:
        return default
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]


def previous_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The range of the same length that ends where [start, end) starts."""
    return start - (end - start), start
