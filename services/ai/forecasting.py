"""Forecasts of a user's daily series: the series from a supplied one or from the user's history
(checked transactions, analytics' dashboard series), and the trend model run recursively over it."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from services.ai import explain, features
from services.ai.domain import SeriesPoint
from services.ai.model_files import LoadedModel
from services.runtime.errors import FailedPrecondition

DEFAULT_HORIZON_DAYS = 30
DEFAULT_INTERVAL_BPS = 9_000
DEFAULT_LOOKBACK_DAYS = 180


@dataclass(frozen=True)
class TrendSource:
    """Either a supplied daily series or a user's metric (validated by the servicer)."""

    user_id: str = ""
    metric: str = ""  # SPENDING / BALANCE / INCOME for a user series
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    points: Sequence[SeriesPoint] = ()


class HistorySource(Protocol):
    """A user's daily figures per metric name over UTC days first_day to last_day, and spending per
    category (analytics)."""

    def daily(
        self, user_id: str, metrics: Sequence[str], currency: str, first_day: int, last_day: int
    ) -> Mapping[str, Mapping[int, int]]: ...

    def spending_by_category(
        self, user_id: str, currency: str, start_seconds: int, end_seconds: int
    ) -> Mapping[str, int]:
        """The user's spending per category in [start_seconds, end_seconds)."""
        ...


#: The metrics read from analytics, all in one call: the user's history starts with any of them.
ANALYTICS_METRICS = ("BALANCE", "SPENDING", "INCOME")
#: Balances are levels: a day without a figure keeps the previous one. Flows are sums: such a day is 0.
LEVEL_METRICS = frozenset({"BALANCE"})


def daily_values(points: Sequence[SeriesPoint]) -> tuple[list[int], int]:
    """(one value per UTC day from the first to the last point, the last day); gaps carry forward."""
    first, last = points[0].day, points[-1].day
    values: list[int] = []
    it = iter(points)
    current = next(it)
    upcoming = next(it, None)
    for day in range(first, last + 1):
        while upcoming is not None and upcoming.day <= day:
            current, upcoming = upcoming, next(it, None)
        values.append(current.value_minor)
    return values, last


def first_active_day(figures: Mapping[str, Mapping[int, int]]) -> int | None:
    """The first day on which any of the figures is non-zero, or None when all are zero."""
    active = [day for by_day in figures.values() for day, value in by_day.items() if value]
    return min(active) if active else None


def user_daily_series(
    metric: str,
    by_day: Mapping[int, int],
    first_day: int,
    last_day: int,
    first_active: int | None,
    minimum: int,
) -> list[int]:
    """One value per day of a user's ``metric`` from the start of their history to ``last_day``.

    The history starts at ``first_active`` (the user's first activity) or at
    ``first_day`` (the window's start), whichever is later; fewer than
    ``minimum`` days of it is FAILED_PRECONDITION ``INSUFFICIENT_HISTORY``.
    A day without a figure is 0 for a flow (spending, income); a level
    (balance) carries the previous figure forward, as a supplied series does.
    """
    if first_active is not None:
        first_day = max(first_day, first_active)
    days = last_day - first_day + 1 if first_active is not None else 0
    if days < minimum:
        raise FailedPrecondition(
            f"the user has {max(days, 0)} days of {metric.lower()} history; "
            f"a forecast needs at least {minimum}",
            "INSUFFICIENT_HISTORY",
            {"minimum_days": str(minimum), "history_days": str(max(days, 0))},
        )
    if metric not in LEVEL_METRICS:
        return [by_day.get(d, 0) for d in range(first_day, last_day + 1)]
    # The first day always gets a point (0 before any figure) so that the series starts there,
    # and the last figure carries on to last_day.
    points = [SeriesPoint(first_day, by_day.get(first_day, 0))]
    points += [SeriesPoint(d, v) for d, v in sorted(by_day.items()) if first_day < d <= last_day]
    values, last = daily_values(points)
    return values + values[-1:] * (last_day - last)


def _z(level: float) -> float:
    return statistics.NormalDist().inv_cdf(0.5 + level / 2.0)


def forecast_series(
    model: LoadedModel, series: Sequence[float], horizon: int, level: float
) -> list[tuple[float, float, float]]:
    """(point, lower, upper) per future day, through ``features.trend_input`` and ``explain.trend_forecast``.

    The model predicts ``TREND_HORIZON_DAYS`` (14) days from the last 56. Longer
    horizons are forecast recursively: each 14-day block is fed back as input for
    the next. The calibrated interval is the model card's (80 % of held-out
    errors); another level rescales both sides by the ratio of normal quantiles,
    and block ``b`` (0-based) widens by ``sqrt(b + 1)`` because errors compound
    when forecasts become inputs. Both adjustments are approximations beyond
    what the card measured; the card's MAPE is for days 1 to 14.
    """
    spec = model.metadata["forecast"]
    block = int(spec["horizon_days"])
    calibrated = float(spec["interval"]["level"])
    widen = _z(level) / _z(calibrated)
    history = [float(v) for v in series]
    out: list[tuple[float, float, float]] = []
    b = 0
    while len(out) < horizon:
        x, scale = features.trend_input(history)
        y = model.run(x)[str(spec.get("output", "variable"))][0]
        steps = min(block, horizon - len(out))
        fc = explain.trend_forecast(y, scale, spec, steps)
        grow = widen * math.sqrt(b + 1)
        for point, lower, upper in zip(fc.point, fc.lower, fc.upper, strict=True):
            out.append((point, point - (point - lower) * grow, point + (upper - point) * grow))
        history.extend(fc.point)
        b += 1
    return out
