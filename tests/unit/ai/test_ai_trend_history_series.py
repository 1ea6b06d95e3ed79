"""Balance and income series from analytics' daily dashboard series: reading the reply, building the
daily series the trend model reads, the history threshold, and a forecast of such a series with the
committed trend model.

The analytics replies are built as analytics' contract shapes them (GetDashboardSeriesResponse, one
point per UTC day including empty days): a real ledger history of 56 days or more cannot be made in a
test, because the ledger stamps entries with the time they are posted."""

from __future__ import annotations

import json

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.analytics.v1 import analytics_pb2
from nexafi.common.v1 import common_pb2

from services.ai.clients import (
    DASHBOARD_METRICS,
    SECONDS_PER_DAY,
    UnexpectedSeries,
    daily_figures,
    dashboard_request,
)
from services.ai.forecasting import (
    ANALYTICS_METRICS,
    first_active_day,
    forecast_series,
    user_daily_series,
)
from services.ai.model_files import BUILTIN_MODELS_DIR, load_verified
from services.runtime.errors import FailedPrecondition

DAY0 = 20_400  # 2025-11-08, a UTC day number
MINIMUM = 56


def reply(
    values: dict[str, list[int]],
    first_day: int = DAY0,
    currency: str = "EUR",
    granularity: int = analytics_pb2.GRANULARITY_DAY,
) -> analytics_pb2.GetDashboardSeriesResponse:
    """What GetDashboardSeries answers for daily series starting on ``first_day``."""
    n = len(next(iter(values.values())))
    return analytics_pb2.GetDashboardSeriesResponse(
        user_id="usr_1",
        currency=currency,
        granularity=analytics_pb2.Granularity.ValueType(granularity),
        time_range=common_pb2.TimeRange(
            start_time=Timestamp(seconds=first_day * SECONDS_PER_DAY),
            end_time=Timestamp(seconds=(first_day + n) * SECONDS_PER_DAY),
        ),
        series=[
            analytics_pb2.DashboardSeries(
                metric=analytics_pb2.DashboardMetric.ValueType(DASHBOARD_METRICS[name]),
                points=[
                    analytics_pb2.SeriesPoint(
                        start_time=Timestamp(seconds=(first_day + i) * SECONDS_PER_DAY),
                        end_time=Timestamp(seconds=(first_day + i + 1) * SECONDS_PER_DAY),
                        value=common_pb2.Money(amount_minor=v, currency=currency),
                    )
                    for i, v in enumerate(series)
                ],
            )
            for name, series in values.items()
        ],
        as_of_sequence=42,
    )


def test_the_request_asks_for_whole_utc_days_in_the_currency() -> None:
    request = dashboard_request("usr_1", ANALYTICS_METRICS, "EUR", DAY0, DAY0 + 69)
    assert request.granularity == analytics_pb2.GRANULARITY_DAY and request.currency == "EUR"
    assert list(request.metrics) == [
        analytics_pb2.DASHBOARD_METRIC_BALANCE,
        analytics_pb2.DASHBOARD_METRIC_SPENDING,
        analytics_pb2.DASHBOARD_METRIC_INCOME,
    ]
    assert request.time_range.start_time.seconds == DAY0 * SECONDS_PER_DAY
    assert request.time_range.end_time.seconds == (DAY0 + 70) * SECONDS_PER_DAY


def test_a_daily_reply_becomes_integer_values_by_day() -> None:
    figures = daily_figures(
        reply({"BALANCE": [0, 10_000, 9_250], "INCOME": [0, 10_000, 0], "SPENDING": [0, 0, 750]}), "EUR"
    )
    assert figures == {
        "BALANCE": {DAY0: 0, DAY0 + 1: 10_000, DAY0 + 2: 9_250},
        "INCOME": {DAY0: 0, DAY0 + 1: 10_000, DAY0 + 2: 0},
        "SPENDING": {DAY0: 0, DAY0 + 1: 0, DAY0 + 2: 750},
    }
    assert all(isinstance(v, int) for by_day in figures.values() for v in by_day.values())


def test_a_reply_that_is_not_daily_in_the_currency_is_refused() -> None:
    with pytest.raises(UnexpectedSeries, match="granularity"):
        daily_figures(reply({"BALANCE": [1]}, granularity=analytics_pb2.GRANULARITY_WEEK), "EUR")
    with pytest.raises(UnexpectedSeries, match="USD"):
        daily_figures(reply({"BALANCE": [1]}, currency="USD"), "EUR")
    cut = reply({"BALANCE": [1, 2]})
    cut.series[0].points[1].end_time.seconds -= 3_600  # a period cut short is not a whole day
    with pytest.raises(UnexpectedSeries, match="not one UTC day"):
        daily_figures(cut, "EUR")


def test_history_starts_with_the_first_non_zero_figure_of_any_metric() -> None:
    figures = daily_figures(
        reply({"BALANCE": [0, 0, 0, 5], "SPENDING": [0, 0, 0, 0], "INCOME": [0, 0, 3, 0]}), "EUR"
    )
    assert first_active_day(figures) == DAY0 + 2
    assert first_active_day(daily_figures(reply({"BALANCE": [0] * 5, "INCOME": [0] * 5}), "EUR")) is None


def test_a_user_without_ledger_activity_has_no_history() -> None:
    # Analytics answers zeros for an unknown or inactive user.
    figures = daily_figures(reply({name: [0] * 70 for name in ANALYTICS_METRICS}), "EUR")
    with pytest.raises(FailedPrecondition) as caught:
        user_daily_series("BALANCE", figures["BALANCE"], DAY0, DAY0 + 69, first_active_day(figures), MINIMUM)
    assert caught.value.reason == "INSUFFICIENT_HISTORY" and "56" in str(caught.value)
    assert caught.value.metadata["history_days"] == "0"


def test_fewer_than_56_days_since_the_first_activity_is_insufficient_history() -> None:
    income = [0] * 20 + [1_000] * 55  # active on the last 55 days of a 75-day window
    figures = daily_figures(reply({"BALANCE": [0] * 20 + list(range(1, 56)), "INCOME": income}), "EUR")
    with pytest.raises(FailedPrecondition) as caught:
        user_daily_series("INCOME", figures["INCOME"], DAY0, DAY0 + 74, first_active_day(figures), MINIMUM)
    assert caught.value.metadata["history_days"] == "55"
    # One more day of history is enough, and the series starts at the first activity.
    figures["INCOME"][DAY0 + 19] = 400
    series = user_daily_series(
        "INCOME", figures["INCOME"], DAY0, DAY0 + 74, first_active_day(figures), MINIMUM
    )
    assert series == [400] + [1_000] * 55


def test_flows_are_zero_and_balances_carry_forward_on_days_without_a_figure() -> None:
    # Analytics returns every day; should one be missing, a flow had nothing and a balance kept its level.
    by_day = {DAY0 + i: 100 + i for i in range(60) if i not in (10, 11, 59)}
    income = user_daily_series("INCOME", by_day, DAY0, DAY0 + 59, DAY0, MINIMUM)
    balance = user_daily_series("BALANCE", by_day, DAY0, DAY0 + 59, DAY0, MINIMUM)
    assert len(income) == len(balance) == 60
    assert income[10:12] == [0, 0] and income[59] == 0
    assert balance[10:12] == [109, 109] and balance[59] == 158
    assert balance[:10] == income[:10] == [100 + i for i in range(10)]


def test_a_window_starting_after_the_first_activity_is_all_history() -> None:
    # A balance carried in from before the window: the whole window is history.
    figures = daily_figures(
        reply({"BALANCE": [50_000] * 60, "SPENDING": [0] * 60, "INCOME": [0] * 60}), "EUR"
    )
    series = user_daily_series(
        "BALANCE", figures["BALANCE"], DAY0, DAY0 + 59, first_active_day(figures), MINIMUM
    )
    assert series == [50_000] * 60


def test_a_balance_series_from_analytics_is_forecast_by_the_committed_model() -> None:
    folder = BUILTIN_MODELS_DIR / "trend" / "1.0.0"
    meta = json.loads((folder / "metadata.json").read_text())
    model = load_verified("trend", "1.0.0", str(folder / "model.onnx"), meta["sha256"], meta)
    # Salary of 2500 EUR on every 28th day, about 80 EUR spent a day: a saw-tooth balance.
    days = 84
    income = [250_000 if i % 28 == 0 else 0 for i in range(days)]
    spending = [8_000 + 37 * (i % 5) for i in range(days)]
    balance, level = [], 100_000
    for i in range(days):
        level += income[i] - spending[i]
        balance.append(level)
    figures = daily_figures(reply({"BALANCE": balance, "SPENDING": spending, "INCOME": income}), "EUR")
    series = user_daily_series(
        "BALANCE", figures["BALANCE"], DAY0, DAY0 + days - 1, first_active_day(figures), MINIMUM
    )
    assert series == balance
    out = forecast_series(model, series, 14, 0.9)
    assert len(out) == 14
    assert all(lo <= p <= hi for p, lo, hi in out)
    # The forecast stays within the range the balance has moved in.
    assert all(min(balance) - 100_000 < p < max(balance) + 100_000 for p, _, _ in out)
