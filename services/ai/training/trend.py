"""Trend model: a global ridge regression from the last 56 scaled daily values
to the next 14, with prediction intervals calibrated on held-out series."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import Ridge

from services.ai.features import TREND_FEATURE_NAMES, TREND_HORIZON_DAYS, TREND_INPUT_DAYS, trend_input_matrix
from services.ai.training import cards, plots
from services.ai.training.common import OnnxModel, Progress, export_onnx, rounded
from services.ai.training.data import CURRENCY, SERIES_KINDS, generate_series
from services.ai.training.metrics import mape
from services.ai.training.model import TrainedModel

WINDOW = TREND_INPUT_DAYS + TREND_HORIZON_DAYS


@dataclass(frozen=True)
class TrendSettings:
    n_series: int
    n_days: int
    stride_days: int = 7
    alpha: float = 1.0
    interval_level: float = 0.8
    calibration_share: float = 0.15
    test_share: float = 0.15


FULL = TrendSettings(n_series=3_000, n_days=210)
SMALL = TrendSettings(n_series=400, n_days=120)


def _windows(series: np.ndarray, last_end: int, stride: int) -> np.ndarray:
    """All (input + horizon) windows of each series ending at or before ``last_end``."""
    ends = np.arange(last_end, WINDOW - 1, -stride)[::-1]
    return np.concatenate([series[:, e - WINDOW : e] for e in ends], axis=0)


def train_trend(
    settings: TrendSettings, rng: np.random.Generator, seed: int, progress: Progress
) -> TrainedModel:
    progress.step(f"trend: generating {settings.n_series} daily series of {settings.n_days} days")
    series, kinds = generate_series(settings.n_series, settings.n_days, rng)
    order = rng.permutation(settings.n_series)
    n_test = int(settings.n_series * settings.test_share)
    n_cal = int(settings.n_series * settings.calibration_share)
    test_ids = np.sort(order[:n_test])
    cal_ids = np.sort(order[n_test : n_test + n_cal])
    train_ids = np.sort(order[n_test + n_cal :])
    cutoff = settings.n_days - TREND_HORIZON_DAYS  # the last 14 days are held out in time too

    train_w = _windows(series[train_ids], cutoff, settings.stride_days)
    x_train, s_train = trend_input_matrix(train_w[:, :TREND_INPUT_DAYS])
    y_train = train_w[:, TREND_INPUT_DAYS:] / s_train[:, None]
    progress.step(f"trend: fitting ridge regression on {len(x_train)} windows")
    model = Ridge(alpha=settings.alpha)
    model.fit(x_train.astype(np.float64), y_train)

    progress.step("trend: exporting to ONNX, calibrating intervals, evaluating")
    onnx_bytes = export_onnx(model, TREND_INPUT_DAYS, "nexafi_trend")
    session = OnnxModel(onnx_bytes)

    def predict(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, scale = trend_input_matrix(windows[:, :TREND_INPUT_DAYS])
        out = session.run(x)["variable"].astype(np.float64)
        return out, scale

    cal_w = _windows(series[cal_ids], cutoff, settings.stride_days)
    cal_pred, cal_scale = predict(cal_w)
    cal_err = cal_w[:, TREND_INPUT_DAYS:] / cal_scale[:, None] - cal_pred
    tail = (1.0 - settings.interval_level) / 2.0
    lower = np.quantile(cal_err, tail, axis=0)
    upper = np.quantile(cal_err, 1.0 - tail, axis=0)

    test_w = series[test_ids][:, -WINDOW:]
    test_pred, test_scale = predict(test_w)
    actual = test_w[:, TREND_INPUT_DAYS:].astype(np.float64)
    forecast = test_pred * test_scale[:, None]
    lo_band = forecast + lower[None, :] * test_scale[:, None]
    hi_band = forecast + upper[None, :] * test_scale[:, None]
    coverage = float(np.mean((actual >= lo_band) & (actual <= hi_band)))
    inputs = test_w[:, :TREND_INPUT_DAYS].astype(np.float64)
    seasonal_naive = np.tile(inputs[:, -7:], (1, TREND_HORIZON_DAYS // 7 + 1))[:, :TREND_HORIZON_DAYS]
    mean_naive = np.repeat(inputs.mean(axis=1, keepdims=True), TREND_HORIZON_DAYS, axis=1)
    test_kinds = kinds[test_ids]
    by_kind = {
        name: {
            "series": int((test_kinds == k).sum()),
            "mape": rounded(mape(actual[test_kinds == k], forecast[test_kinds == k]), 3),
            "seasonal_naive_mape": rounded(mape(actual[test_kinds == k], seasonal_naive[test_kinds == k]), 3),
        }
        for k, name in enumerate(SERIES_KINDS)
        if bool((test_kinds == k).any())
    }
    metrics: dict[str, Any] = {
        "mape": rounded(mape(actual, forecast), 3),
        "mape_by_horizon_day": [
            rounded(mape(actual[:, h], forecast[:, h]), 3) for h in range(TREND_HORIZON_DAYS)
        ],
        "mape_by_kind": by_kind,
        "baseline_seasonal_naive_mape": rounded(mape(actual, seasonal_naive), 3),
        "baseline_mean_mape": rounded(mape(actual, mean_naive), 3),
        "interval_level": settings.interval_level,
        "interval_coverage": rounded(coverage, 4),
        "test_series": len(test_ids),
        "unit": "percent",
    }
    sk_pred = model.predict(trend_input_matrix(test_w[:, :TREND_INPUT_DAYS])[0].astype(np.float64))
    parity = float(np.max(np.abs(sk_pred - test_pred)))
    metadata: dict[str, Any] = {
        "task": f"forecast the next {TREND_HORIZON_DAYS} daily values of a series from its last "
        f"{TREND_INPUT_DAYS}",
        "algorithm": (
            f"scikit-learn Ridge(alpha={settings.alpha}), one global multi-output linear model on windows "
            f"scaled by "
            "their mean absolute value + 1"
        ),
        "features": list(TREND_FEATURE_NAMES),
        "feature_descriptions": {
            "lag_k": f"the value k days before the forecast origin (k = 1..{TREND_INPUT_DAYS}) / scale, "
            f"scale = mean(|last {TREND_INPUT_DAYS} values|) + 1",
        },
        "metrics": metrics,
        "thresholds": None,
        "scorecard": None,
        "forecast": {
            "input_days": TREND_INPUT_DAYS,
            "horizon_days": TREND_HORIZON_DAYS,
            "output": "variable",
            "output_description": "forecast / scale for days 1..horizon",
            "interval": {
                "level": settings.interval_level,
                "lower": [float(v) for v in lower],
                "upper": [float(v) for v in upper],
                "description": "quantiles of scaled errors (actual/scale - output) on calibration series",
            },
        },
        "data": {
            "generator": "services.ai.training.data.generate_series",
            "currency": CURRENCY,
            "series": settings.n_series,
            "days": settings.n_days,
            "kinds": list(SERIES_KINDS),
            "split": {
                "train_series": len(train_ids),
                "calibration_series": len(cal_ids),
                "test_series": len(test_ids),
                "train_windows": len(x_train),
                "time": f"train / calibration windows end by day {cutoff}; test = last "
                f"{TREND_HORIZON_DAYS} days",
            },
        },
        "onnx_parity": {"rows": len(test_ids), "max_abs_output_diff": parity},
    }
    example = int(
        np.argsort(np.abs(actual - forecast).mean(axis=1) / np.abs(actual).mean(axis=1))[len(test_ids) // 2]
    )
    example_series = series[test_ids[example]]

    def plot(path: Any) -> None:
        plots.trend_example(
            path,
            example_series,
            forecast[example],
            lo_band[example],
            hi_band[example],
            metrics["mape_by_horizon_day"],
        )

    x_test, _ = trend_input_matrix(test_w[:, :TREND_INPUT_DAYS])
    return TrainedModel(
        name="trend",
        estimator=model,
        onnx_bytes=onnx_bytes,
        metadata=metadata,
        plot_file="forecast.png",
        plot=plot,
        render_card=cards.trend_card,
        holdout_x=x_test,
        extras={"series": series, "test_ids": test_ids, "kinds": kinds},
    )
