"""Trend forecasts with intervals, and the evaluation metrics."""

from __future__ import annotations

import numpy as np
import pytest

from services.ai.explain import trend_forecast
from services.ai.features import trend_input
from services.ai.training.common import OnnxModel
from services.ai.training.metrics import (
    card_precision_top_k,
    ks_statistic,
    mape,
    operating_point,
    threshold_for_precision,
)
from services.ai.training.pipeline import PipelineResult


def test_forecast_of_a_supplied_series(small_run: PipelineResult) -> None:
    meta = small_run.metadata["trend"]
    session = OnnxModel((small_run.directories["trend"] / "model.onnx").read_bytes())
    days = np.arange(60)
    series = (100_000 + 500 * days + 3_000 * (days % 7 == 5)).tolist()  # rising, with a weekly bump
    x, scale = trend_input(series)
    fc = trend_forecast(session.run(x[None, :])["variable"][0], scale, meta["forecast"])
    assert len(fc.point) == len(fc.lower) == len(fc.upper) == 14
    assert all(lo <= p <= hi for lo, p, hi in zip(fc.lower, fc.point, fc.upper, strict=True))
    assert np.mean(fc.point) > np.mean(series[-28:])  # the rise continues (damped)
    assert all(abs(p - series[-1]) / series[-1] < 0.1 for p in fc.point)
    flat = [50_000] * 60
    x, scale = trend_input(flat)
    fc_flat = trend_forecast(session.run(x[None, :])["variable"][0], scale, meta["forecast"])
    assert all(abs(p - 50_000) / 50_000 < 0.05 for p in fc_flat.point)
    assert fc.level == pytest.approx(0.8)
    assert len(trend_forecast(session.run(x[None, :])["variable"][0], scale, meta["forecast"], 3).point) == 3
    with pytest.raises(ValueError, match="horizon"):
        trend_forecast(np.zeros(14), 1.0, meta["forecast"], 15)


def test_card_precision_top_k() -> None:
    # day 0: cards 1 (fraud, score .9), 2 (legit, .8), 3 (fraud, .1); day 1: card 1 legit .95, card 4 fraud .2
    day = [0, 0, 0, 0, 1, 1]
    card = [1, 1, 2, 3, 1, 4]
    y = [0, 1, 0, 1, 0, 1]
    score = [0.2, 0.9, 0.8, 0.1, 0.95, 0.2]
    cp = card_precision_top_k(day, card, y, score, k=2)
    assert cp.value == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert cp.oracle == pytest.approx((2 / 2 + 1 / 2) / 2)
    assert cp.days == 2


def test_ks_mape_and_thresholds() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert ks_statistic(y, [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]) == pytest.approx(1.0)
    assert mape([100, 200, 0], [110, 180, 5]) == pytest.approx(10.0)
    s = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.6, 0.7, 0.8])
    t = threshold_for_precision(y, s, 0.75, min_alerts=1)
    assert t is not None
    assert t == pytest.approx(0.35)
    point = operating_point(y, s, t)
    assert point.precision >= 0.75 and point.recall == 1.0
    assert threshold_for_precision(y, s, 0.75, min_alerts=100) is None
