"""PredictTrend and GetRecommendations over real gRPC: forecasts of supplied and user series,
recommendations from the checked-transaction history, validation and authorization."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import onnxruntime as ort
import pytest
from nexafi.ai.v1 import ai_pb2

from services.ai import explain, features
from services.ai.model_files import BUILTIN_MODELS_DIR
from tests.integration.ai.ai_support import AiClient, days_ago, failure, fraud_request, money, ts, user

INVALID = grpc.StatusCode.INVALID_ARGUMENT
DAY0 = datetime(2026, 1, 1, 8, tzinfo=UTC)


def series(n: int, *, start: datetime = DAY0, step_days: int = 1) -> ai_pb2.SuppliedSeries:
    values = [100_000 + 2_000 * math.sin(i / 3.0) + 150 * i for i in range(n)]
    return ai_pb2.SuppliedSeries(
        points=[
            ai_pb2.SeriesPoint(time=ts(start + timedelta(days=i * step_days)), value_minor=round(v))
            for i, v in enumerate(values)
        ]
    )


def trend(ai: AiClient, request: ai_pb2.PredictTrendRequest, metadata: object = None) -> ai_pb2.Forecast:
    return ai.stub.PredictTrend(request, metadata=metadata or ai.admin, timeout=10).forecast


def test_supplied_series_forecast_matches_the_model_and_has_ordered_intervals(ai: AiClient) -> None:
    supplied = series(90)
    forecast = trend(
        ai,
        ai_pb2.PredictTrendRequest(
            supplied_series=supplied, currency="EUR", horizon_days=14, interval_level_bps=8_000
        ),
        ai.customer(user()),
    )  # any authenticated caller may forecast a supplied series
    assert len(forecast.points) == 14 and forecast.currency == "EUR" and forecast.user_id == ""
    assert forecast.metric == ai_pb2.TREND_METRIC_UNSPECIFIED and forecast.interval_level_bps == 8_000
    assert forecast.history_days == 56 and 0.0 < forecast.model_mape < 1.0
    last_day = supplied.points[-1].time.seconds // 86_400
    assert [p.time.seconds for p in forecast.points] == [(last_day + 1 + i) * 86_400 for i in range(14)]
    for p in forecast.points:
        assert p.lower.amount_minor <= p.point.amount_minor <= p.upper.amount_minor
    # parity: the calibrated 80 % level needs no rescaling, so this is exactly the shared code path
    meta_path = BUILTIN_MODELS_DIR / "trend" / "1.0.0"
    import json

    meta = json.loads((meta_path / "metadata.json").read_text())
    x, scale = features.trend_input([p.value_minor for p in supplied.points])
    y = ort.InferenceSession(str(meta_path / "model.onnx")).run(
        None, {"input": x[None, :].astype(np.float32)}
    )[0]
    expected = explain.trend_forecast(y[0], scale, meta["forecast"], 14)
    assert [p.point.amount_minor for p in forecast.points] == [round(v) for v in expected.point]
    assert [p.lower.amount_minor for p in forecast.points] == [round(v) for v in expected.lower]


def test_default_horizon_is_30_days_and_wider_levels_give_wider_intervals(ai: AiClient) -> None:
    supplied = series(70, step_days=1)
    narrow = trend(
        ai, ai_pb2.PredictTrendRequest(supplied_series=supplied, currency="EUR", interval_level_bps=6_000)
    )
    wide = trend(ai, ai_pb2.PredictTrendRequest(supplied_series=supplied, currency="EUR"))
    assert len(wide.points) == 30 and wide.interval_level_bps == 9_000
    for a, b in zip(narrow.points, wide.points, strict=True):
        assert b.upper.amount_minor - b.lower.amount_minor >= a.upper.amount_minor - a.lower.amount_minor


def test_sparse_series_is_carried_forward(ai: AiClient) -> None:
    # 20 points a week apart span 134 days: enough once missing days are carried forward.
    forecast = trend(
        ai,
        ai_pb2.PredictTrendRequest(supplied_series=series(20, step_days=7), currency="EUR", horizon_days=7),
    )
    assert len(forecast.points) == 7


@pytest.mark.parametrize(
    ("request_fields", "field", "text"),
    [
        ({"supplied_series": series(13), "currency": "EUR"}, "supplied_series.points", "14"),
        ({"supplied_series": series(30), "currency": "EUR"}, "supplied_series.points", "56"),
        ({"supplied_series": series(60)}, "currency", "required"),
        ({"supplied_series": series(60), "currency": "XYZ"}, "currency", "ISO 4217"),
        ({"supplied_series": series(60), "currency": "EUR", "horizon_days": 366}, "horizon_days", "365"),
        ({"supplied_series": series(60), "currency": "EUR", "horizon_days": -1}, "horizon_days", "365"),
        (
            {"supplied_series": series(60), "currency": "EUR", "interval_level_bps": 9_950},
            "interval_level_bps",
            "9900",
        ),
        (
            {"supplied_series": series(60), "currency": "EUR", "interval_level_bps": 4_000},
            "interval_level_bps",
            "5000",
        ),
        ({}, "source", "user_series"),
        ({"user_series": ai_pb2.UserSeries(metric=ai_pb2.TREND_METRIC_SPENDING)}, "user_series.user_id", ""),
        ({"user_series": ai_pb2.UserSeries(user_id="usr_x")}, "user_series.metric", ""),
        (
            {"user_series": ai_pb2.UserSeries(user_id="usr_x", metric=2, lookback_days=30)},
            "user_series.lookback_days",
            "56",
        ),
        (
            {"user_series": ai_pb2.UserSeries(user_id="usr_x", metric=2, lookback_days=2_000)},
            "user_series.lookback_days",
            "1825",
        ),
    ],
)
def test_invalid_trend_requests(
    ai: AiClient, request_fields: dict[str, object], field: str, text: str
) -> None:
    result = failure(lambda: trend(ai, ai_pb2.PredictTrendRequest(**request_fields), ai.admin))
    assert result.code == INVALID and field in result.fields, result.violations
    assert text in dict(result.violations)[field]


def test_points_out_of_order_or_on_one_day_are_refused(ai: AiClient) -> None:
    supplied = series(60)
    supplied.points[10].time.seconds = supplied.points[9].time.seconds - 1
    result = failure(lambda: trend(ai, ai_pb2.PredictTrendRequest(supplied_series=supplied, currency="EUR")))
    assert result.code == INVALID and "supplied_series.points[10].time" in result.fields
    same_day = series(60)
    same_day.points[5].time.seconds = same_day.points[4].time.seconds + 60
    result = failure(lambda: trend(ai, ai_pb2.PredictTrendRequest(supplied_series=same_day, currency="EUR")))
    assert "UTC day" in dict(result.violations)["supplied_series.points[5].time"]


def test_user_spending_forecast_from_the_checked_history(ai: AiClient) -> None:
    user_id = user()
    ai.history(user_id, days=70, per_day=1)
    request = ai_pb2.PredictTrendRequest(
        user_series=ai_pb2.UserSeries(user_id=user_id, metric=ai_pb2.TREND_METRIC_SPENDING), horizon_days=10
    )
    forecast = trend(ai, request, ai.customer(user_id))
    assert forecast.user_id == user_id and forecast.metric == ai_pb2.TREND_METRIC_SPENDING
    assert len(forecast.points) == 10 and forecast.currency == "EUR"
    assert 0 < forecast.points[0].point.amount_minor < 20_000  # about one purchase of ~40 EUR a day
    other = failure(lambda: trend(ai, request, ai.customer(user())))
    assert other.code == grpc.StatusCode.PERMISSION_DENIED
    assert trend(ai, request, ai.support).user_id == user_id


def test_user_with_short_history_gets_insufficient_history(ai: AiClient) -> None:
    user_id = user()
    ai.history(user_id, days=10, per_day=1)
    request = ai_pb2.PredictTrendRequest(
        user_series=ai_pb2.UserSeries(user_id=user_id, metric=ai_pb2.TREND_METRIC_SPENDING)
    )
    result = failure(lambda: trend(ai, request))
    assert result.code == grpc.StatusCode.FAILED_PRECONDITION and result.reason == "INSUFFICIENT_HISTORY"
    assert "56" in result.message


def recommendations(
    ai: AiClient, user_id: str, metadata: object = None, **fields: object
) -> ai_pb2.RecommendationSet:
    return ai.stub.GetRecommendations(
        ai_pb2.GetRecommendationsRequest(user_id=user_id, **fields),
        metadata=metadata or ai.customer(user_id),
        timeout=10,
    ).recommendation_set


def test_user_without_activity_gets_an_empty_list(ai: AiClient) -> None:
    user_id = user()
    result = recommendations(ai, user_id)
    assert list(result.recommendations) == [] and result.inference_id.startswith("inf_")
    assert result.model_name == "recommendation"


def test_recommendations_cite_the_users_own_spending(ai: AiClient) -> None:
    user_id = user()
    ai.history(user_id, days=30, per_day=1)
    # heavy restaurant spending, three monthly subscriptions and fees in the last 90 days
    for d in range(85, 0, -2):
        ai.check(
            fraud_request(
                user_id,
                when=days_ago(d, hour=20),
                merchant_category_code="5812",
                counterparty_id="mer_bistro",
                amount=money(9_500),
            )
        )
    for name, amount in (("mer_stream_a", 1_299), ("mer_stream_b", 999), ("mer_music_c", 1_099)):
        for d in (80, 50, 20):
            ai.check(
                fraud_request(
                    user_id,
                    when=days_ago(d, hour=7),
                    merchant_category_code="4899",
                    counterparty_id=name,
                    amount=money(amount),
                    channel=ai_pb2.TRANSACTION_CHANNEL_CARD_NOT_PRESENT,
                )
            )
    result = recommendations(ai, user_id, limit=20)
    assert result.recommendations, "expected recommendations"
    kinds = {r.kind for r in result.recommendations}
    assert ai_pb2.RECOMMENDATION_KIND_CANCEL_SUBSCRIPTION in kinds
    savings = [r.estimated_monthly_saving.amount_minor for r in result.recommendations]
    assert savings == sorted(savings, reverse=True)
    for r in result.recommendations:
        assert r.id.startswith("rec_") and r.title and "EUR" in r.explanation
        assert 0 <= r.confidence_bps <= 10_000 and r.estimated_monthly_saving.currency == "EUR"
    assert len(recommendations(ai, user_id, ai.support, limit=1).recommendations) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"limit": -1}, "limit"), ({"limit": 21}, "limit"), ({"currency": "euro"}, "currency")],
)
def test_invalid_recommendation_requests(ai: AiClient, fields: dict[str, object], field: str) -> None:
    result = failure(lambda: recommendations(ai, user(), ai.admin, **fields))
    assert result.code == INVALID and field in result.fields


def test_recommendations_are_for_the_user_and_staff(ai: AiClient) -> None:
    user_id = user()
    assert (
        failure(lambda: recommendations(ai, user_id, ai.customer(user()))).code
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert failure(lambda: recommendations(ai, "", ai.admin)).fields == {"user_id"}
    unsupported = failure(lambda: recommendations(ai, user_id, currency="USD"))
    assert unsupported.reason == "UNSUPPORTED_CURRENCY"
    for metadata in (ai.admin, ai.support):
        assert recommendations(ai, user_id, metadata).user_id == user_id
