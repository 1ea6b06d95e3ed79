"""Recommendations: k-means segments of spending profiles (the ONNX model) and
per-segment peer benchmarks that the explained rules in
``services.ai.explain.recommend`` compare a user against."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from services.ai.explain import recommend
from services.ai.features import (
    CATEGORIES,
    PROFILE_WINDOW_DAYS,
    SECONDS_PER_DAY,
    SEGMENT_FEATURE_NAMES,
    SpendingProfile,
    segment_feature_matrix,
    spending_profile,
)
from services.ai.training import cards, plots
from services.ai.training.common import OnnxModel, Progress, export_onnx, rounded
from services.ai.training.data import CURRENCY, TransactionData, merchant_id
from services.ai.training.model import TrainedModel

RULES: dict[str, Any] = {
    "discretionary": [
        "restaurants",
        "entertainment",
        "clothing",
        "online_retail",
        "electronics",
        "travel",
        "jewelry",
        "gambling",
        "crypto",
    ],
    "overspend_percent": 150,
    "min_excess_minor": 2_000,
    "rising_percent": 175,
    "min_rise_minor": 7_500,
    "min_earlier_minor": 5_000,
    "min_subscriptions": 3,
    "min_fees_minor": 100,
    "savings_target_percent": 10,
    "cash_share_percent": 30,
}


@dataclass(frozen=True)
class RecommendationSettings:
    n_segments: int = 6
    n_init: int = 4
    silhouette_sample: int = 3_000


FULL = RecommendationSettings()
SMALL = RecommendationSettings(n_segments=5, n_init=2, silhouette_sample=1_000)


def build_profiles(data: TransactionData, progress: Progress) -> list[SpendingProfile]:
    """Spending profile of every established customer at the end of the data (legitimate spending only).

    Customers who joined during the period (``data.cohort`` > 0) have partial
    windows and are left out; the established ones come first.
    """
    as_of = data.start_timestamp + data.n_days * SECONDS_PER_DAY
    start = as_of - PROFILE_WINDOW_DAYS * SECONDS_PER_DAY
    profiles = []
    n_customers = int(np.sum(data.cohort == 0))
    for c in progress.loop(range(n_customers), n_customers, "spending profiles (customers)"):
        rows = data.customer_rows(c)
        keep = np.flatnonzero((data.timestamp[rows] >= start) & (data.is_fraud[rows] == 0)) + rows.start
        profiles.append(
            spending_profile(
                data.timestamp[keep],
                data.amount_minor[keep],
                [CATEGORIES[int(k)] for k in data.category[keep]],
                [merchant_id(int(m)) for m in data.merchant[keep]],
                as_of=as_of,
                monthly_income_minor=int(data.monthly_income_minor[c]),
            )
        )
    return profiles


def monthly_matrix(profiles: list[SpendingProfile]) -> np.ndarray:
    return np.array([[p.monthly_minor[c] for c in CATEGORIES] for p in profiles], dtype=np.int64)


def _segment_label(shares: np.ndarray, level: int) -> str:
    top = np.argsort(-shares, kind="stable")[:2]
    return f"{CATEGORIES[top[0]]} + {CATEGORIES[top[1]]}, ~{level // 100} EUR/month"


def train_recommendations(
    settings: RecommendationSettings,
    data: TransactionData,
    rng: np.random.Generator,
    seed: int,
    progress: Progress,
) -> TrainedModel:
    profiles = build_profiles(data, progress)
    monthly = monthly_matrix(profiles)
    x = segment_feature_matrix(monthly)
    progress.step(f"recommendations: k-means with {settings.n_segments} segments on {len(x)} profiles")
    model = KMeans(n_clusters=settings.n_segments, n_init=settings.n_init, random_state=seed)
    model.fit(x.astype(np.float64))
    onnx_bytes = export_onnx(model, x.shape[1], "nexafi_recommendations")
    session = OnnxModel(onnx_bytes)
    labels = session.run(x)["label"].astype(np.int64).reshape(-1)
    parity_labels = float(np.mean(labels == model.predict(x.astype(np.float64))))

    segments: list[dict[str, Any]] = []
    for k in range(settings.n_segments):
        rows = labels == k
        m = monthly[rows] if rows.any() else np.zeros((1, len(CATEGORIES)), dtype=np.int64)
        totals = m.sum(axis=1)
        segments.append(
            {
                "id": k,
                "size": int(rows.sum()),
                "label": _segment_label(model.cluster_centers_[k][: len(CATEGORIES)], int(np.median(totals))),
                "monthly_total_median_minor": int(np.median(totals)),
                "monthly_median_minor": {c: int(np.median(m[:, j])) for j, c in enumerate(CATEGORIES)},
                "monthly_p90_minor": {c: int(np.percentile(m[:, j], 90)) for j, c in enumerate(CATEGORIES)},
            }
        )
    params = {"currency": CURRENCY, "rules": RULES, "segments": segments}

    progress.step("recommendations: evaluating the rules on every profile")
    counts: dict[str, int] = {}
    n_with = 0
    n_recs = 0
    value = 0
    for profile, label in zip(profiles, labels, strict=True):
        recs = recommend(profile, int(label), params)
        n_with += bool(recs)
        n_recs += len(recs)
        for r in recs:
            counts[r.code] = counts.get(r.code, 0) + 1
            value += r.value_minor
    sample_n = min(settings.silhouette_sample, len(x))
    sample = rng.choice(len(x), size=sample_n, replace=False) if sample_n < len(x) else np.arange(len(x))
    metrics: dict[str, Any] = {
        "silhouette": rounded(float(silhouette_score(x[sample], labels[sample]))),
        "inertia": rounded(float(model.inertia_), 4),
        "profiles": len(profiles),
        "segment_sizes": [int((labels == k).sum()) for k in range(settings.n_segments)],
        "coverage": rounded(n_with / len(profiles)),
        "mean_recommendations_per_user": rounded(n_recs / len(profiles), 3),
        "recommendations_by_code": dict(sorted(counts.items())),
        "mean_value_per_user_minor": int(value // max(len(profiles), 1)),
        "onnx_label_agreement": rounded(parity_labels),
    }
    metadata: dict[str, Any] = {
        "task": "segment a user's spending profile; explained, rule-based recommendations against segment "
        "peers",
        "algorithm": f"scikit-learn KMeans(n_clusters={settings.n_segments}, n_init={settings.n_init}) + "
        f"rules",
        "features": list(SEGMENT_FEATURE_NAMES),
        "feature_descriptions": {
            "share_<category>": "share of the category in the user's spending over the last 90 days",
            "spend_level": "log(1 + monthly spending in euros) / 10",
        },
        "metrics": metrics,
        "thresholds": None,
        "scorecard": None,
        "recommendations": params,
        "data": {
            "source": "legitimate transactions of the fraud data set's customers, last 90 days",
            "currency": CURRENCY,
            "profiles": len(profiles),
        },
        "onnx_parity": {"rows": len(x), "label_agreement": parity_labels},
    }
    centers = model.cluster_centers_.copy()

    def plot(path: Any) -> None:
        plots.segment_heatmap(path, centers, [s["label"] for s in segments], metrics["segment_sizes"])

    return TrainedModel(
        name="recommendations",
        estimator=model,
        onnx_bytes=onnx_bytes,
        metadata=metadata,
        plot_file="segments.png",
        plot=plot,
        render_card=cards.recommendations_card,
        holdout_x=x[: min(2_000, len(x))],
        extras={"profiles": profiles, "labels": labels},
    )
