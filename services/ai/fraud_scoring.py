"""How a fraud check becomes the model's input and an assessment: the transaction as the features
see it (channel, counterparty, country, device, local time), the history converted into the model's
currency, the label-delayed category risk, the decision and its reasons."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from services.ai import explain, features, fx
from services.ai import repository as repo
from services.ai.domain import (
    MODEL_CURRENCY,
    Channel,
    FraudAssessment,
    FraudCheck,
    FraudReasonResult,
)
from services.ai.mcc import category_for
from services.ai.model_files import LoadedModel
from services.runtime.errors import FailedPrecondition

MAX_FRAUD_REASONS = 5
UNKNOWN = "unknown"
#: Features the service cannot observe yet (no merchant labels are fed back): every merchant is
#: "unknown", so naming these as reasons would state the same non-information on every check.
UNOBSERVED_FEATURES = frozenset({"merchant_risk", "merchant_volume_log"})
#: What the features call the kind of payment of each channel (anything else is a card purchase).
KIND_OF_CHANNEL: dict[int, str] = {
    Channel.WALLET_TOP_UP: "top_up",
    Channel.P2P_TRANSFER: "p2p",
    Channel.BANK_TRANSFER: "payout",
}


def log_odds(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


def scored_transaction(
    check: FraudCheck, ts: int, history: Sequence[repo.CheckedTxn], amount_minor: int, utc_offset_seconds: int
) -> features.Txn:
    """The transaction as the features see it.

    Country: where the card was used for card-present and ATM transactions
    (the merchant's country), else where the client is (the IP's). A missing
    country or device repeats the customer's last known one: an unknown
    signal is treated as neutral, not as "new" (which would raise the score
    of every caller that cannot fingerprint devices).
    """
    present = check.channel in (Channel.CARD_PRESENT, Channel.ATM_WITHDRAWAL)
    first, second = (
        (check.counterparty_country, check.ip_country)
        if present
        else (check.ip_country, check.counterparty_country)
    )
    last = history[-1] if history else None
    country = first or second or (last.country if last else UNKNOWN)
    device = check.device_id or (last.device_id if last else UNKNOWN)
    category = category_for(
        check.merchant_category_code,
        atm=check.channel == Channel.ATM_WITHDRAWAL,
        direct_debit=check.channel == Channel.DIRECT_DEBIT,
    )
    # The counterparty of a top-up is the funding card or account (the payment method).
    counterparty = check.counterparty_id or check.payment_method_id or UNKNOWN
    return features.Txn(
        timestamp=ts,
        amount_minor=amount_minor,
        merchant_id=counterparty,
        merchant_category=category,
        country=country,
        device_id=device,
        utc_offset_seconds=utc_offset_seconds,
        kind=KIND_OF_CHANNEL.get(check.channel, "purchase"),
    )


def category_risk(model: LoadedModel, category: str) -> features.RiskCounts:
    counts: Mapping[str, Any] = (
        (model.metadata.get("risk") or {}).get("category_counts_at_end_of_data", {}).get(category, {})
    )
    return features.RiskCounts(
        merchant_txns=0,
        merchant_frauds=0,
        category_txns=int(counts.get("txns", 0)),
        category_frauds=int(counts.get("frauds", 0)),
    )


def assess(
    model: LoadedModel,
    x: np.ndarray,
    check: FraudCheck,
    inference_id: str,
    now: datetime,
    conversion: fx.Conversion,
) -> FraudAssessment:
    meta = model.metadata

    def predict(batch: np.ndarray) -> np.ndarray:
        return model.run(batch)["probabilities"]

    probability = float(predict(x[None, :])[0, 1])
    decision = explain.fraud_decision(probability, meta["thresholds"])
    explanation = {**meta["explanation"], "features": list(meta["features"])}
    ranked = explain.fraud_reasons(x, predict, explanation, top_k=len(x))
    reasons = [r for r in ranked if r.feature not in UNOBSERVED_FEATURES][:MAX_FRAUD_REASONS]
    base_logit = log_odds(probability)
    return FraudAssessment(
        inference_id=inference_id,
        user_id=check.user_id,
        payment_id=check.payment_id,
        fraud_probability=probability,
        decision=decision,
        reasons=[
            FraudReasonResult(
                feature=r.feature,
                # p(x) - p(baseline) -> the same contribution in log-odds, as the contract states it.
                contribution=base_logit - log_odds(probability - r.contribution),
                description=describe_reason(r),
            )
            for r in reasons
        ],
        review_threshold=float(meta["thresholds"]["review"]),
        decline_threshold=float(meta["thresholds"]["decline"]),
        model_name=model.name,
        model_version=model.version,
        create_time=now,
        exchange_rate=str(conversion.rate),
        exchange_rate_date=conversion.rate_date.isoformat(),
    )


def fraud_feature_set(model: LoadedModel) -> int:
    """The fraud feature set a model was trained on (``metadata.json`` ``feature_set``; 1 before it existed).

    Serving builds exactly that vector, so an older version stays servable (and
    switchable back to) after the features move on.
    """
    feature_set = int(model.metadata.get("feature_set", 1))
    names = features.FRAUD_FEATURE_SETS.get(feature_set)
    if names is None or list(names) != list(model.metadata.get("features", names)):
        raise FailedPrecondition(
            f"fraud model {model.version} needs feature set {feature_set}, which this service does not build",
            "MODEL_FEATURES_UNSUPPORTED",
            {"name": model.name, "version": model.version},
        )
    return feature_set


def utc_offset(zone: ZoneInfo | None, when: datetime) -> int:
    """The zone's UTC offset in seconds at ``when`` (0 without a zone)."""
    if zone is None:
        return 0
    offset = when.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def scored_minor(row: repo.CheckedTxn) -> int:
    """A history row's amount in the model's currency, converted as it was when it was checked."""
    if row.currency == MODEL_CURRENCY:
        return row.amount_minor
    # Only currencies the table converts are ever stored, and tables are only ever added.
    return fx.to_model_currency(row.amount_minor, row.currency, row.txn_time).amount_minor


def describe_reason(reason: explain.FraudReason) -> str:
    """The reason's text, with the customer's own figure where the feature has one."""
    if reason.feature.startswith("amount_to_") and reason.value > 1.0:
        return f"{reason.text} ({reason.value:.1f} times)"
    if reason.feature.startswith("n_txn_"):
        return f"{reason.text} ({int(reason.value)} before this one)"
    return reason.text
