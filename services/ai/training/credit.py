"""Credit model: a logistic-regression probability of default on monotone
engineered features, scaled into a 300-850 scorecard with reason codes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from services.ai.explain import credit_score_from_pd
from services.ai.features import (
    CREDIT_FEATURE_NAMES,
    CREDIT_REASON_CODES,
    CREDIT_SCORE_DIRECTION,
    credit_feature_matrix,
)
from services.ai.training import cards, plots
from services.ai.training.common import OnnxModel, Progress, export_onnx, rounded
from services.ai.training.data import CURRENCY, generate_applicants
from services.ai.training.metrics import ks_statistic, roc_auc
from services.ai.training.model import TrainedModel

CREDIT_FEATURE_DESCRIPTIONS: dict[str, str] = {
    "log_annual_income": "log(1 + annual income in euros)",
    "debt_to_income": "12 x monthly debt payments / annual income, clipped to [0, 2]",
    "utilization": "revolving balance / revolving limit, clipped to [0, 1.5] (0 without revolving credit)",
    "log_history_months": "log(1 + months since the first credit account)",
    "delinquencies_2y": "payments 30+ days late in the last two years, capped at 10",
    "inquiries_6m": "hard credit inquiries in the last six months, capped at 20",
}

#: Score bands reported in the model card (inclusive lower bounds).
SCORE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("poor", 300, 579),
    ("fair", 580, 669),
    ("good", 670, 739),
    ("very good", 740, 799),
    ("exceptional", 800, 850),
)


@dataclass(frozen=True)
class CreditSettings:
    n_applicants: int
    test_share: float = 0.3
    base_score: int = 600
    base_odds: float = 50.0
    pdo: float = 40.0
    min_score: int = 300
    max_score: int = 850


FULL = CreditSettings(n_applicants=60_000)
SMALL = CreditSettings(n_applicants=6_000)


def scorecard_parameters(settings: CreditSettings) -> dict[str, Any]:
    """score = offset + factor * ln(odds of good), odds = (1 - PD) / PD, clipped."""
    factor = settings.pdo / math.log(2.0)
    offset = settings.base_score - factor * math.log(settings.base_odds)
    return {
        "base_score": settings.base_score,
        "base_odds": settings.base_odds,
        "pdo": settings.pdo,
        "factor": factor,
        "offset": offset,
        "min_score": settings.min_score,
        "max_score": settings.max_score,
        "formula": "score = round(offset + factor * ln((1 - pd) / pd)), clipped to [min_score, max_score]",
    }


def train_credit(
    settings: CreditSettings, rng: np.random.Generator, seed: int, progress: Progress
) -> TrainedModel:
    progress.step(f"credit: generating {settings.n_applicants} applicants")
    applicants, default = generate_applicants(settings.n_applicants, rng)
    x = credit_feature_matrix(applicants)
    order = rng.permutation(len(default))
    n_test = int(len(default) * settings.test_share)
    test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])

    progress.step(f"credit: fitting logistic regression on {len(train_idx)} applicants")
    model = Pipeline(
        [
            ("scale", StandardScaler()),
            ("logit", LogisticRegression(C=1.0, max_iter=1_000, random_state=seed)),
        ]
    )
    model.fit(x[train_idx], default[train_idx])
    scaler: StandardScaler = model.named_steps["scale"]
    logit: LogisticRegression = model.named_steps["logit"]
    coef = logit.coef_[0].astype(np.float64)
    for name, w in zip(CREDIT_FEATURE_NAMES, coef, strict=True):
        # a feature raising the score must lower the default log-odds
        if CREDIT_SCORE_DIRECTION[name] * w > 0:
            raise RuntimeError(f"credit model is not monotonic in {name}: coefficient {w:+.4f}")

    progress.step("credit: exporting to ONNX and evaluating")
    onnx_bytes = export_onnx(model, x.shape[1], "nexafi_credit", {LogisticRegression: {"zipmap": False}})
    session = OnnxModel(onnx_bytes)
    pd_test = session.predict_proba(x[test_idx])[:, 1].astype(np.float64)
    y_test = default[test_idx]
    card = scorecard_parameters(settings)
    scores = np.array([credit_score_from_pd(p, card) for p in pd_test], dtype=np.int64)
    bands = []
    for band, lo, hi in SCORE_BANDS:
        rows = (scores >= lo) & (scores <= hi)
        bands.append(
            {
                "band": band,
                "range": [lo, hi],
                "share": rounded(float(rows.mean())),
                "default_rate": rounded(float(y_test[rows].mean())) if rows.any() else None,
            }
        )
    auc = roc_auc(y_test, pd_test)
    metrics: dict[str, Any] = {
        "roc_auc": rounded(auc),
        "gini": rounded(2 * auc - 1),
        "ks": rounded(ks_statistic(y_test, pd_test)),
        "test_applicants": len(test_idx),
        "test_default_rate": rounded(float(y_test.mean())),
        "score_percentiles": {str(q): int(np.percentile(scores, q)) for q in (1, 10, 25, 50, 75, 90, 99)},
        "score_bands": bands,
        "train_roc_auc": rounded(roc_auc(default[train_idx], model.predict_proba(x[train_idx])[:, 1])),
    }
    parity = float(np.max(np.abs(model.predict_proba(x[test_idx])[:, 1] - pd_test)))
    mean = scaler.mean_.astype(np.float64)
    scale = scaler.scale_.astype(np.float64)
    metadata: dict[str, Any] = {
        "task": "probability of default within 12 months, scaled to a 300-850 credit score",
        "algorithm": "scikit-learn Pipeline(StandardScaler, LogisticRegression(C=1.0, lbfgs))",
        "features": list(CREDIT_FEATURE_NAMES),
        "feature_descriptions": CREDIT_FEATURE_DESCRIPTIONS,
        "metrics": metrics,
        "thresholds": None,
        "scorecard": card,
        "explanation": {
            "method": "scorecard points",
            "description": (
                "score (before clipping) = base_points + sum of per-feature points, with points_i = "
                "-factor * coefficient_i * (x_i - mean_i) / scale_i, so a feature at the training mean "
                "scores 0; reason codes are the features with the most negative points"
            ),
            "scaler_mean": [float(v) for v in mean],
            "scaler_scale": [float(v) for v in scale],
            "coefficients": [float(v) for v in coef],
            "intercept": float(logit.intercept_[0]),
            "base_points": float(card["offset"] - card["factor"] * float(logit.intercept_[0])),
            "reason_codes": {name: {"code": c, "text": t} for name, (c, t) in CREDIT_REASON_CODES.items()},
        },
        "monotonic": {
            "score_direction": dict(CREDIT_SCORE_DIRECTION),
            "method": "logistic regression on monotone transforms of single inputs; coefficient signs "
            "checked",
            "points_per_unit": {
                name: float(-card["factor"] * w / s)
                for name, w, s in zip(CREDIT_FEATURE_NAMES, coef, scale, strict=True)
            },
        },
        "data": {
            "generator": "services.ai.training.data.generate_applicants",
            "currency": CURRENCY,
            "applicants": settings.n_applicants,
            "default_rate": rounded(float(default.mean())),
            "split": f"random {int(100 * (1 - settings.test_share))} / {int(100 * settings.test_share)} "
            f"train / test",
            "rows": {"train": len(train_idx), "test": len(test_idx)},
        },
        "onnx_parity": {"rows": len(test_idx), "max_abs_probability_diff": parity},
    }
    sample = test_idx[: min(2_000, len(test_idx))]

    def plot(path: Any) -> None:
        plots.credit_curves(path, y_test, pd_test, scores)

    return TrainedModel(
        name="credit",
        estimator=model,
        onnx_bytes=onnx_bytes,
        metadata=metadata,
        plot_file="roc_scores.png",
        plot=plot,
        render_card=cards.credit_card,
        holdout_x=x[sample],
        extras={"applicants": applicants, "default": default, "sample_rows": sample},
    )
