"""Turn raw model outputs into decisions, scores, reasons, forecasts and
recommendations, from a model's metadata.json alone (numpy only; no
scikit-learn at serving time).

Serving flow per model (``meta`` is the parsed metadata.json):

* fraud: ``x = features.fraud_features(...)``; ``p = onnx(x)["probabilities"][0, 1]``;
  ``fraud_decision(p, meta["thresholds"])``;
  ``fraud_reasons(x, predict, meta["explanation"])`` where ``predict`` runs the
  ONNX session on a batch and returns its probabilities.
* credit: ``x = features.credit_features(applicant)``; ``pd = onnx(x)["probabilities"][0, 1]``;
  ``credit_score_from_pd(pd, meta["scorecard"])``;
  ``credit_reason_codes(x, meta["explanation"])``.
* trend: ``x, scale = features.trend_input(series)``; ``y = onnx(x)["variable"][0]``;
  ``trend_forecast(y, scale, meta["forecast"], horizon)``.
* recommendations: ``profile = features.spending_profile(...)``;
  ``segment = onnx(features.segment_features(profile))["label"][0]``;
  ``recommend(profile, segment, meta["recommendations"])``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from services.ai.features import (
    CATEGORIES,
    CREDIT_FEATURE_NAMES,
    FRAUD_FEATURE_NAMES,
    FRAUD_REASON_TEXT,
    SpendingProfile,
)

# ---------------------------------------------------------------------------
# Fraud
# ---------------------------------------------------------------------------

Decision = Literal["approve", "review", "decline"]
DECISIONS: tuple[Decision, ...] = ("approve", "review", "decline")


def fraud_decision(probability: float, thresholds: Mapping[str, Any]) -> Decision:
    """approve / review / decline from the thresholds in metadata.json.

    A higher probability never yields a milder decision: decline when
    ``p >= thresholds["decline"]``, review when ``p >= thresholds["review"]``.
    """
    p = float(probability)
    if not math.isfinite(p) or p < 0.0 or p > 1.0:
        raise ValueError(f"probability must be in [0, 1], got {probability!r}")
    review, decline = float(thresholds["review"]), float(thresholds["decline"])
    if p >= max(decline, review):
        return "decline"
    if p >= review:
        return "review"
    return "approve"


@dataclass(frozen=True)
class FraudReason:
    """A feature that raises this transaction's fraud probability."""

    feature: str
    text: str
    value: float
    baseline: float
    contribution: float  # p(x) - p(x with this feature at its baseline)


def fraud_reasons(
    x: npt.ArrayLike,
    predict_proba: Callable[[npt.NDArray[np.float32]], npt.ArrayLike],
    explanation: Mapping[str, Any],
    *,
    top_k: int = 3,
    min_contribution: float = 1e-3,
) -> list[FraudReason]:
    """The top reasons of a fraud score by occlusion.

    Each feature in turn is replaced by its baseline (the median legitimate
    value stored in ``explanation["baseline"]``); its contribution is how much
    the fraud probability drops. One batch of ``1 + n_features`` rows goes
    through ``predict_proba`` (the ONNX session), which may return [N, 2]
    class probabilities or [N] fraud probabilities.
    """
    row = np.asarray(x, dtype=np.float32).reshape(-1)
    baseline = np.asarray(explanation["baseline"], dtype=np.float32)
    names: Sequence[str] = explanation.get("features", FRAUD_FEATURE_NAMES)
    texts: Mapping[str, str] = explanation.get("reason_text", FRAUD_REASON_TEXT)
    if row.shape != baseline.shape:
        raise ValueError(f"expected {baseline.shape[0]} features, got {row.shape[0]}")
    batch = np.repeat(row[None, :], len(row) + 1, axis=0)
    batch[np.arange(1, len(row) + 1), np.arange(len(row))] = baseline
    proba = np.asarray(predict_proba(batch), dtype=np.float64)
    p = proba[:, 1] if proba.ndim == 2 else proba
    contributions = p[0] - p[1:]
    order = sorted(range(len(row)), key=lambda j: (-contributions[j], j))
    reasons = []
    for j in order[:top_k]:
        if contributions[j] < min_contribution:
            break
        reasons.append(
            FraudReason(
                feature=names[j],
                text=texts.get(names[j], names[j]),
                value=float(row[j]),
                baseline=float(baseline[j]),
                contribution=float(contributions[j]),
            )
        )
    return reasons


# ---------------------------------------------------------------------------
# Credit
# ---------------------------------------------------------------------------

PD_EPSILON = 1e-9


def credit_score_from_pd(probability_of_default: float, scorecard: Mapping[str, Any]) -> int:
    """Scorecard score: ``offset + factor * ln((1 - pd) / pd)``, rounded and clipped.

    The trained scorecard (metadata.json ``scorecard``) puts 600 points at
    odds 50:1 and adds 40 points each time the odds double. Monotone: a lower
    PD never gives a lower score.
    """
    pd = float(probability_of_default)
    if not math.isfinite(pd) or pd < 0.0 or pd > 1.0:
        raise ValueError(f"probability of default must be in [0, 1], got {probability_of_default!r}")
    pd = min(max(pd, PD_EPSILON), 1.0 - PD_EPSILON)
    raw = float(scorecard["offset"]) + float(scorecard["factor"]) * math.log((1.0 - pd) / pd)
    score = math.floor(raw + 0.5)
    return int(min(max(score, int(scorecard["min_score"])), int(scorecard["max_score"])))


def credit_points(
    x: npt.ArrayLike, explanation: Mapping[str, Any], scorecard: Mapping[str, Any]
) -> npt.NDArray[np.float64]:
    """Per-feature scorecard points (0 at the training mean; negative lowers the score)."""
    row = np.asarray(x, dtype=np.float64).reshape(-1)
    z = (row - np.asarray(explanation["scaler_mean"])) / np.asarray(explanation["scaler_scale"])
    return np.asarray(-float(scorecard["factor"]) * np.asarray(explanation["coefficients"]) * z)


def credit_pd(x: npt.ArrayLike, explanation: Mapping[str, Any]) -> float:
    """The logistic model's PD recomputed in numpy (equals the ONNX output to ~1e-7)."""
    row = np.asarray(x, dtype=np.float64).reshape(-1)
    z = (row - np.asarray(explanation["scaler_mean"])) / np.asarray(explanation["scaler_scale"])
    logit = float(explanation["intercept"]) + float(np.dot(np.asarray(explanation["coefficients"]), z))
    return 1.0 / (1.0 + math.exp(-logit)) if logit >= 0 else math.exp(logit) / (1.0 + math.exp(logit))


@dataclass(frozen=True)
class CreditReason:
    """An adverse-action reason: a feature that lowers the score."""

    code: str
    feature: str
    text: str
    points: float  # negative: points lost relative to an average applicant


def credit_reason_codes(
    x: npt.ArrayLike, explanation: Mapping[str, Any], scorecard: Mapping[str, Any], *, top_k: int = 4
) -> list[CreditReason]:
    """The features pushing the score down most, worst first (at most ``top_k``)."""
    points = credit_points(x, explanation, scorecard)
    codes: Mapping[str, Mapping[str, str]] = explanation["reason_codes"]
    order = sorted(range(len(points)), key=lambda j: (points[j], j))
    reasons = []
    for j in order[:top_k]:
        if points[j] >= 0:
            break
        name = CREDIT_FEATURE_NAMES[j]
        reasons.append(
            CreditReason(
                code=codes[name]["code"], feature=name, text=codes[name]["text"], points=float(points[j])
            )
        )
    return reasons


# ---------------------------------------------------------------------------
# Trend
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendForecast:
    """Point forecast and a prediction interval per future day (series units)."""

    point: list[float]
    lower: list[float]
    upper: list[float]
    level: float


def trend_forecast(
    model_output: npt.ArrayLike, scale: float, forecast: Mapping[str, Any], horizon: int | None = None
) -> TrendForecast:
    """Unscale the ONNX output and add the calibrated interval from metadata.

    ``forecast["interval"]`` holds, per horizon day, the quantiles of the
    scaled held-out errors (``lower``, ``upper``) for coverage ``level``.
    """
    y = np.asarray(model_output, dtype=np.float64).reshape(-1)
    max_h = int(forecast["horizon_days"])
    h = max_h if horizon is None else int(horizon)
    if not 1 <= h <= max_h:
        raise ValueError(f"horizon must be between 1 and {max_h} days, got {horizon}")
    interval = forecast["interval"]
    lo = np.asarray(interval["lower"], dtype=np.float64)
    hi = np.asarray(interval["upper"], dtype=np.float64)
    point = y[:h] * scale
    lower = np.minimum(point + lo[:h] * scale, point)
    upper = np.maximum(point + hi[:h] * scale, point)
    return TrendForecast(
        point=point.tolist(), lower=lower.tolist(), upper=upper.tolist(), level=float(interval["level"])
    )


# ---------------------------------------------------------------------------
# Recommendations
# ---------------------------------------------------------------------------

CATEGORY_LABELS: dict[str, str] = {c: c.replace("_", " ") for c in CATEGORIES}


@dataclass(frozen=True)
class Recommendation:
    """One explained recommendation. ``value_minor`` ranks them: the estimated
    monthly saving, or the monthly amount the action concerns."""

    code: str
    title: str
    message: str
    category: str | None
    value_minor: int
    evidence: dict[str, int | str | float] = field(default_factory=dict)


def format_minor(amount_minor: int, currency: str = "EUR") -> str:
    """``12345`` -> ``"123.45 EUR"`` (exact integer arithmetic)."""
    sign = "-" if amount_minor < 0 else ""
    whole, cents = divmod(abs(int(amount_minor)), 100)
    return f"{sign}{whole:,}.{cents:02d} {currency}"


def recommend(
    profile: SpendingProfile, segment: int, params: Mapping[str, Any], *, limit: int = 5
) -> list[Recommendation]:
    """Explained, deterministic recommendations for one spending profile.

    ``segment`` is the ONNX clustering model's label for the profile;
    ``params`` is metadata.json's ``recommendations`` section (peer benchmarks
    per segment and the rule parameters). Ranked by value, then code and
    category, so the same input always gives the same list.
    """
    rules = params["rules"]
    segments = params["segments"]
    if not 0 <= int(segment) < len(segments):
        raise ValueError(f"unknown segment {segment}")
    peer = segments[int(segment)]
    currency = str(params.get("currency", "EUR"))

    def fmt(amount_minor: int) -> str:
        return format_minor(amount_minor, currency)

    out: dict[tuple[str, str | None], Recommendation] = {}

    def add(rec: Recommendation) -> None:
        key = (rec.code, rec.category)
        if key not in out or out[key].value_minor < rec.value_minor:
            out[key] = rec

    for cat in rules["discretionary"]:
        user = int(profile.monthly_minor.get(cat, 0))
        median = int(peer["monthly_median_minor"][cat])
        p90 = int(peer["monthly_p90_minor"][cat])
        excess = user - median
        if (
            user > p90
            and user * 100 > median * int(rules["overspend_percent"])
            and excess >= int(rules["min_excess_minor"])
        ):
            label = CATEGORY_LABELS[cat]
            more = (
                f"{(user - median) * 100 // median}% above the typical"
                if median > 0
                else "while the typical is"
            )
            out_msg = (
                f"You spend {fmt(user)} a month on {label}, more than 9 in 10 people with a similar spending "
                f"profile and {more} {fmt(median)}. A monthly budget of {fmt(median)} would save about "
                f"{fmt(excess)}."
            )
            add(
                Recommendation(
                    "CATEGORY_BUDGET",
                    f"Set a budget for {label}",
                    out_msg,
                    cat,
                    excess,
                    {
                        "monthly_spend_minor": user,
                        "peer_median_minor": median,
                        "peer_p90_minor": p90,
                        "segment": int(segment),
                    },
                )
            )

    # the one category whose spending rose most (if any rose enough)
    rising: list[tuple[int, int, str, int, int]] = []
    for order, cat in enumerate(CATEGORIES):
        recent = int(profile.recent_minor.get(cat, 0))
        earlier = int(profile.earlier_monthly_minor.get(cat, 0))
        rise = recent - earlier
        if (
            earlier >= int(rules["min_earlier_minor"])
            and recent * 100 >= earlier * int(rules["rising_percent"])
            and rise >= int(rules["min_rise_minor"])
        ):
            rising.append((-rise, order, cat, recent, earlier))
    if rising:
        neg_rise, _, cat, recent, earlier = min(rising)
        label = CATEGORY_LABELS[cat]
        msg = (
            f"Your {label} spending rose to {fmt(recent)} in the last 30 days, {-neg_rise * 100 // earlier}% "
            f"above your average of {fmt(earlier)} a month over the two months before. Check whether "
            "this is a one-off."
        )
        add(
            Recommendation(
                "RISING_SPEND",
                f"{label.capitalize()} spending is rising",
                msg,
                cat,
                -neg_rise,
                {"last_30_days_minor": recent, "earlier_monthly_minor": earlier},
            )
        )

    subs = [r for r in profile.recurring if r.category == "subscriptions"]
    if len(subs) >= int(rules["min_subscriptions"]):
        total = sum(r.amount_minor for r in subs)
        smallest = min(r.amount_minor for r in subs)
        names = ", ".join(
            f"{r.merchant_id} ({fmt(r.amount_minor)})" for r in sorted(subs, key=lambda r: r.merchant_id)
        )
        msg = (
            f"You pay {len(subs)} subscriptions totalling {fmt(total)} a month: {names}. "
            f"Cancelling the least used one would save at least {fmt(smallest)} a month."
        )
        add(
            Recommendation(
                "REVIEW_SUBSCRIPTIONS",
                "Review your subscriptions",
                msg,
                "subscriptions",
                smallest,
                {"subscriptions": len(subs), "monthly_total_minor": total},
            )
        )

    fees = int(profile.monthly_minor.get("fees", 0))
    if fees >= int(rules["min_fees_minor"]):
        msg = (
            f"You paid about {fmt(fees)} a month in fees. Low-balance alerts and fee-free cash "
            f"withdrawals would avoid most of them."
        )
        add(
            Recommendation(
                "AVOID_FEES", "Avoid account fees", msg, "fees", fees, {"monthly_fees_minor": fees}
            )
        )

    income = profile.monthly_income_minor
    spend = profile.monthly_total_minor
    if income is not None and income > 0:
        target = income * int(rules["savings_target_percent"]) // 100
        saved = income - spend
        if saved < 0:
            msg = (
                f"Your spending ({fmt(spend)} a month) is above your income ({fmt(income)}) by "
                f"{fmt(-saved)}. "
                "The budgets above show where to start."
            )
            add(
                Recommendation(
                    "SPENDING_ABOVE_INCOME",
                    "Spending is above income",
                    msg,
                    None,
                    -saved,
                    {"monthly_income_minor": income, "monthly_spend_minor": spend},
                )
            )
        elif saved < target:
            msg = (
                f"You save about {fmt(saved)} of your {fmt(income)} monthly income "
                f"({saved * 100 // income}%). "
                f"An automatic transfer of {fmt(target - saved)} on payday would reach "
                f"{rules['savings_target_percent']}%."
            )
            add(
                Recommendation(
                    "AUTOMATE_SAVINGS",
                    "Automate your savings",
                    msg,
                    None,
                    target - saved,
                    {
                        "monthly_income_minor": income,
                        "monthly_spend_minor": spend,
                        "target_percent": int(rules["savings_target_percent"]),
                    },
                )
            )

    cash = int(profile.monthly_minor.get("cash_withdrawal", 0))
    if spend > 0 and cash * 100 >= spend * int(rules["cash_share_percent"]):
        msg = (
            f"{cash * 100 // spend}% of your spending ({fmt(cash)} a month) is cash, which this app cannot "
            "categorise; paying by card makes your budgets more accurate."
        )
        add(
            Recommendation(
                "USE_CARD_OVER_CASH",
                "Track cash spending",
                msg,
                "cash_withdrawal",
                0,
                {"monthly_cash_minor": cash, "monthly_spend_minor": spend},
            )
        )

    ranked = sorted(out.values(), key=lambda r: (-r.value_minor, r.code, r.category or ""))
    return ranked[:limit]
