"""The analytics service as the AI service reads it: a user's daily balance, spending and income.

Calls carry the AI service's own service token (``ServiceTokenProvider``, secret
``AI_CLIENT_SECRET``) and the runtime's default deadline; GetDashboardSeries is a
read, so gRPC retries it on UNAVAILABLE. Failures become :class:`RemoteError`.

The channel is made on first use, never at server start: the AI service may
start before analytics (and before the user service that issues its token),
and every other AI RPC works without either. The addresses are read again on
every call (from the settings the spec passes in: ``ANALYTICS_ADDR``, ``USER_ADDR``)
and the channel rebuilt when they change, so a process that learns them late still
finds analytics.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from nexafi.common.v1 import common_pb2

from services.runtime.api import to_enum
from services.runtime.clients import ServiceTokenProvider, call, grpc_service, service_channel

SECONDS_PER_DAY = 86_400
#: The longest daily range GetDashboardSeries accepts (its contract: 366 days for daily granularity).
MAX_DAYS_PER_CALL = 366
#: The AI service's metric names -> the analytics contract's dashboard metrics.
DASHBOARD_METRICS: Mapping[str, int] = {
    "BALANCE": analytics_pb2.DASHBOARD_METRIC_BALANCE,
    "SPENDING": analytics_pb2.DASHBOARD_METRIC_SPENDING,
    "INCOME": analytics_pb2.DASHBOARD_METRIC_INCOME,
}
_METRIC_NAMES = {number: name for name, number in DASHBOARD_METRICS.items()}

#: Per metric name, the value of each UTC day (days since the Unix epoch), in minor units.
DailyFigures = dict[str, dict[int, int]]


class UnexpectedSeries(ValueError):
    """Analytics answered with series the AI service cannot read as daily values in the currency."""


def daily_figures(reply: analytics_pb2.GetDashboardSeriesResponse, currency: str) -> DailyFigures:
    """The daily values of a GetDashboardSeries reply asked with daily granularity in ``currency``.

    Each point's period must be one whole UTC day; its value is kept in integer
    minor units, unchanged.
    """
    if reply.granularity != analytics_pb2.GRANULARITY_DAY:
        raise UnexpectedSeries(f"series of granularity {reply.granularity}, asked for days")
    if reply.currency != currency:
        raise UnexpectedSeries(f"series in {reply.currency}, asked for {currency}")
    out: DailyFigures = {}
    for series in reply.series:
        name = _METRIC_NAMES.get(series.metric)
        if name is None:
            raise UnexpectedSeries(f"unknown dashboard metric {series.metric}")
        days = out.setdefault(name, {})
        for point in series.points:
            start, end = point.start_time.seconds, point.end_time.seconds
            if start % SECONDS_PER_DAY or end - start != SECONDS_PER_DAY:
                raise UnexpectedSeries(f"a period from {start} to {end} is not one UTC day")
            if point.value.currency != currency:
                raise UnexpectedSeries(f"a value in {point.value.currency}, asked for {currency}")
            days[start // SECONDS_PER_DAY] = point.value.amount_minor
    return out


def dashboard_request(
    user_id: str, metrics: Sequence[str], currency: str, first_day: int, last_day: int
) -> analytics_pb2.GetDashboardSeriesRequest:
    """Daily series of ``metrics`` over the UTC days ``first_day`` to ``last_day`` (both included)."""
    return analytics_pb2.GetDashboardSeriesRequest(
        user_id=user_id,
        metrics=[to_enum(analytics_pb2.DashboardMetric, DASHBOARD_METRICS[m]) for m in metrics],
        time_range=common_pb2.TimeRange(
            start_time=Timestamp(seconds=first_day * SECONDS_PER_DAY),
            end_time=Timestamp(seconds=(last_day + 1) * SECONDS_PER_DAY),
        ),
        granularity=analytics_pb2.GRANULARITY_DAY,
        currency=currency,
    )


class AnalyticsHistory:
    """Reads users' daily series from analytics with the AI service's identity; thread-safe."""

    def __init__(
        self, addresses: Callable[[], tuple[str, str]], provider: Callable[[], ServiceTokenProvider]
    ) -> None:
        """``addresses`` gives (analytics, user service) as configured now; ``provider`` makes the
        token provider of the AI service's identity (raising ConfigError without a secret). Both are
        the spec's settings, asked on every call, so an address learnt late is still found."""
        self._addresses_now = addresses
        self._new_provider = provider
        self._lock = threading.Lock()
        self._addresses: tuple[str, str] | None = None
        self._provider: ServiceTokenProvider | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analytics_pb2_grpc.AnalyticsServiceStub | None = None

    def _current_stub(self) -> analytics_pb2_grpc.AnalyticsServiceStub:
        """The stub for the addresses configured now (raises ConfigError when no secret is set)."""
        addresses = self._addresses_now()
        with self._lock:
            if self._stub is None or addresses != self._addresses:
                provider = self._new_provider()
                channel = service_channel(
                    "analytics", grpc_service("analytics"), provider.token, address=addresses[0]
                )
                if self._channel is not None:
                    self._channel.close()
                self._addresses, self._provider, self._channel = addresses, provider, channel
                self._stub = analytics_pb2_grpc.AnalyticsServiceStub(channel)
            return self._stub

    def daily(
        self, user_id: str, metrics: Sequence[str], currency: str, first_day: int, last_day: int
    ) -> DailyFigures:
        """The user's daily ``metrics`` in ``currency`` over ``first_day`` to ``last_day`` (at most 366 days).

        Raises :class:`RemoteError` when analytics fails, :class:`UnexpectedSeries`
        when its answer is not daily values in the currency.
        """
        if not 0 < last_day - first_day + 1 <= MAX_DAYS_PER_CALL:
            raise ValueError(f"a range of 1 to {MAX_DAYS_PER_CALL} days is needed")
        stub = self._current_stub()
        reply = call(
            "analytics",
            stub.GetDashboardSeries,
            dashboard_request(user_id, metrics, currency, first_day, last_day),
        )
        return daily_figures(reply, currency)

    def spending_by_category(
        self, user_id: str, currency: str, start_seconds: int, end_seconds: int
    ) -> dict[str, int]:
        """The user's spending per analytics category (minor units of ``currency``) in
        [start_seconds, end_seconds). Raises :class:`RemoteError` when analytics fails."""
        stub = self._current_stub()
        request = analytics_pb2.GetSpendingAnalysisRequest(
            user_id=user_id,
            currency=currency,
            time_range=common_pb2.TimeRange(
                start_time=Timestamp(seconds=start_seconds), end_time=Timestamp(seconds=end_seconds)
            ),
        )
        reply = call("analytics", stub.GetSpendingAnalysis, request)
        return {
            c.category: c.total.amount_minor
            for c in reply.spending_analysis.categories
            if c.total.currency == currency
        }

    def close(self) -> None:
        with self._lock:
            if self._channel is not None:
                self._channel.close()
            self._channel = self._stub = self._provider = None
            self._addresses = None
