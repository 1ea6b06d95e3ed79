"""PredictTrend of a user's balance and income, read from the real analytics service over gRPC.

Real user, ledger, analytics and AI servers. The ledger stamps every entry with the time it is
posted and has no booking date, so a test cannot give a user the 56 complete days of history a
forecast needs: here a user's real ledger entries are read through the AI service's own analytics
client and identity, and a forecast request answers INSUFFICIENT_HISTORY. The forecast itself of a
long analytics-shaped series is covered in tests/unit/ai/test_ai_trend_history_series.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc
from nexafi.analytics.v1 import analytics_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2_grpc

from services.ai.clients import SECONDS_PER_DAY, AnalyticsHistory
from services.ai.forecasting import ANALYTICS_METRICS, first_active_day, user_daily_series
from services.ai.spec import SPEC as AI
from services.ai.spec import AiSettings
from services.analytics.spec import SPEC as ANALYTICS
from services.ledger.spec import SPEC as LEDGER
from services.runtime.errors import FailedPrecondition
from services.user.spec import SPEC as USER
from tests.integration.ai.ai_support import AiClient, failure, user
from tests.integration.analytics.analytics_support import Books
from tests.support.harness import ServiceRunner, TokenFactory, second_server_without

METRICS = {"BALANCE": ai_pb2.TREND_METRIC_BALANCE, "INCOME": ai_pb2.TREND_METRIC_INCOME}


@pytest.fixture(scope="module")
def books(ai: AiClient, services: ServiceRunner, tokens: TokenFactory) -> Iterator[Books]:
    """The ledger and analytics, started after the AI server (which must find analytics lazily)."""
    services.start(USER)
    services.start(LEDGER)
    services.start(ANALYTICS)
    ledger = grpc.insecure_channel(services.running["ledger"].address)
    analytics = grpc.insecure_channel(services.running["analytics"].address)
    try:
        yield Books(
            ledger_pb2_grpc.LedgerServiceStub(ledger),
            analytics_pb2_grpc.AnalyticsServiceStub(analytics),
            tokens,
        )
    finally:
        ledger.close()
        analytics.close()


def user_trend(user_id: str, metric: str) -> ai_pb2.PredictTrendRequest:
    return ai_pb2.PredictTrendRequest(
        user_series=ai_pb2.UserSeries(user_id=user_id, metric=METRICS[metric]), horizon_days=14
    )


def predict(
    stub: ai_pb2_grpc.AiServiceStub, request: ai_pb2.PredictTrendRequest, metadata: object
) -> ai_pb2.Forecast:
    return stub.PredictTrend(request, metadata=metadata, timeout=20).forecast


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_a_user_without_ledger_activity_has_no_history(ai: AiClient, books: Books, metric: str) -> None:
    user_id = user()
    result = failure(lambda: predict(ai.stub, user_trend(user_id, metric), ai.customer(user_id)))
    assert result.code == grpc.StatusCode.FAILED_PRECONDITION and result.reason == "INSUFFICIENT_HISTORY"
    assert "56" in result.message and result.metadata["history_days"] == "0"


def test_a_users_ledger_entries_reach_the_ai_service_through_analytics(ai: AiClient, books: Books) -> None:
    user_id, wallet = books.user()
    deposit = books.deposit(wallet, 250_000, metadata={"category": "salary"})
    spend = books.spend(wallet, 4_250, metadata={"mcc": "5411"})
    books.wait_applied(deposit, spend)
    today = deposit.timestamp.seconds // SECONDS_PER_DAY
    last = spend.timestamp.seconds // SECONDS_PER_DAY  # the next day if midnight passed in between

    # What the AI service reads, through its own client and service identity (AI_CLIENT_SECRET).
    settings = AiSettings()  # the spec's defaults: the addresses and the secret the session set
    reader = AnalyticsHistory(settings.history_addresses, settings.history_tokens)
    try:
        figures = reader.daily(user_id, ANALYTICS_METRICS, "EUR", today - 1, last)
    finally:
        reader.close()
    if last == today:
        assert figures == {
            "BALANCE": {today - 1: 0, today: 245_750},
            "SPENDING": {today - 1: 0, today: 4_250},
            "INCOME": {today - 1: 0, today: 250_000},
        }
    assert first_active_day(figures) == today
    with pytest.raises(FailedPrecondition) as caught:
        user_daily_series("BALANCE", figures["BALANCE"], today - 1, last, first_active_day(figures), 56)
    assert caught.value.metadata["history_days"] == str(last - today + 1)

    # A forecast reads complete days only: a user whose history began today has none of them yet.
    for metric in METRICS:
        result = failure(lambda m=metric: predict(ai.stub, user_trend(user_id, m), ai.customer(user_id)))
        assert result.code == grpc.StatusCode.FAILED_PRECONDITION
        assert result.reason == "INSUFFICIENT_HISTORY" and "56" in result.message


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_only_the_user_and_staff_read_their_balance_and_income(
    ai: AiClient, books: Books, metric: str
) -> None:
    user_id = user()
    request = user_trend(user_id, metric)
    denied = failure(lambda: predict(ai.stub, request, ai.customer(user())))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    for allowed in (ai.customer(user_id), ai.support, ai.admin):
        # Past authorization, analytics is asked: this user simply has no history.
        assert failure(lambda md=allowed: predict(ai.stub, request, md)).reason == "INSUFFICIENT_HISTORY"


@pytest.fixture
def ai_without_analytics(
    ai: AiClient, books: Books, services: ServiceRunner
) -> Iterator[ai_pb2_grpc.AiServiceStub]:
    """A second AI server whose analytics address is a closed port."""
    with second_server_without(services, AI, "analytics") as channel:
        yield ai_pb2_grpc.AiServiceStub(channel)


def test_without_analytics_balance_and_income_are_unavailable_and_the_rest_works(
    ai: AiClient, ai_without_analytics: ai_pb2_grpc.AiServiceStub
) -> None:
    user_id = user()
    for metric in METRICS:
        result = failure(lambda m=metric: predict(ai_without_analytics, user_trend(user_id, m), ai.support))
        assert result.code == grpc.StatusCode.UNAVAILABLE and result.reason == "HISTORY_UNAVAILABLE"
        assert "analytics" in result.message
    # Spending comes from the AI service's own checked transactions: no analytics needed.
    spender = user()
    ai.history(spender, days=60, per_day=1)
    spending = ai_pb2.PredictTrendRequest(
        user_series=ai_pb2.UserSeries(user_id=spender, metric=ai_pb2.TREND_METRIC_SPENDING), horizon_days=7
    )
    forecast = predict(ai_without_analytics, spending, ai.customer(spender))
    assert forecast.metric == ai_pb2.TREND_METRIC_SPENDING and len(forecast.points) == 7
    assert forecast.history_days == 56 and forecast.points[0].point.currency == "EUR"
    recommendations = ai_without_analytics.GetRecommendations(
        ai_pb2.GetRecommendationsRequest(user_id=spender), metadata=ai.customer(spender), timeout=10
    )
    assert recommendations.recommendation_set.user_id == spender
