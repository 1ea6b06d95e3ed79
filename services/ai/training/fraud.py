"""Fraud model: features over synthetic card transactions, a gradient-boosted
classifier, time-based evaluation and decision thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from services.ai.features import (
    CATEGORIES,
    CATEGORY_PRIOR_STRENGTH,
    FRAUD_FEATURE_NAMES,
    FRAUD_FEATURE_SET,
    FRAUD_REASON_TEXT,
    GLOBAL_FRAUD_PRIOR,
    HISTORY_DAYS,
    LABEL_DELAY_DAYS,
    MERCHANT_PRIOR_STRENGTH,
    PAYMENT_KINDS,
    RISK_WINDOW_DAYS,
    SECONDS_PER_DAY,
    DelayedLabelIndex,
    FloatArray,
    IntArray,
    RiskColumns,
    fraud_feature_matrix,
)
from services.ai.training import cards, plots
from services.ai.training.common import OnnxModel, Progress, export_onnx, rounded
from services.ai.training.data import (
    COHORTS,
    CURRENCY,
    FRAUD_PATTERNS,
    NEW_ACCOUNT_PATTERN_PROBABILITIES,
    PATTERN_PROBABILITIES,
    FraudDataConfig,
    TransactionData,
    generate_transactions,
)
from services.ai.training.metrics import (
    average_precision,
    card_precision_top_k,
    operating_point,
    roc_auc,
    threshold_for_precision,
)
from services.ai.training.model import TrainedModel
from services.ai.training.ordinary import HoldoutSettings, held_out_customers, scenario_grid
from services.ai.training.platform import (
    ALL_FRAUD_PATTERNS,
    PLATFORM_FRAUD_PATTERNS,
    SCENARIOS,
    PlatformConfig,
    PlatformData,
    add_platform_payments,
)

FRAUD_FEATURE_DESCRIPTIONS: dict[str, str] = {
    "amount_log": "log(1 + amount in euros)",
    "n_txn_1h": "customer's transactions in the previous hour",
    "n_txn_1d": "customer's transactions in the previous 24 hours",
    "n_txn_7d": "customer's transactions in the previous 7 days",
    "n_txn_30d": "customer's transactions in the previous 30 days",
    "avg_amount_1d_log": "log(1 + average amount in euros), previous 24 hours (0 if none)",
    "avg_amount_7d_log": "log(1 + average amount in euros), previous 7 days (0 if none)",
    "avg_amount_30d_log": "log(1 + average amount in euros), previous 30 days (0 if none)",
    "amount_to_avg_7d": "amount / 7-day average amount (1 if no history), clipped to 1000",
    "amount_to_avg_30d": "amount / 30-day average amount (1 if no history), clipped to 1000",
    "amount_to_max_90d": "amount / largest amount of the previous 90 days (1 if none)",
    "secs_since_prev_log": "log(1 + seconds since the previous transaction; 90 days if none)",
    "is_night": "local hour (customer's home time zone) before 06:00",
    "is_weekend": "local Saturday or Sunday",
    "hour_share_90d": "share of the previous 90 days' transactions within one hour of this local hour",
    "category_share_90d": "share of the previous 90 days' transactions in this merchant category",
    "new_device": "device not used in the previous 90 days, which hold transactions (0 without history)",
    "device_age_log": "log(1 + seconds since the device's first use in the previous 90 days; 0 if none)",
    "new_country": "country not seen in the previous 90 days, which hold transactions (0 without history)",
    "country_age_log": "log(1 + seconds since the country was first seen in the previous 90 days; 0 if none)",
    "merchant_risk": (
        f"merchant fraud rate over [t-{LABEL_DELAY_DAYS + RISK_WINDOW_DAYS}d, t-{LABEL_DELAY_DAYS}d) "
        f"(labels known after {LABEL_DELAY_DAYS} days), smoothed towards the category rate"
    ),
    "merchant_volume_log": "log(1 + merchant's transactions in that delayed window)",
    "category_risk": "merchant category fraud rate over the same delayed window, smoothed towards 1 %",
    "history_len_log": "log(1 + customer's transactions in the previous 90 days)",
    "has_history": "1 if the customer has a transaction in the previous 90 days, else 0 (first transaction)",
    "history_span_log": (
        "log(1 + seconds since the customer's first transaction within the previous 90 days; 0 if none)"
    ),
    "kind_top_up": "1 for a wallet top-up from the customer's card or bank account",
    "kind_p2p": "1 for a transfer to another customer",
    "kind_payout": "1 for a payout to a bank account",
    "new_counterparty": (
        "merchant, payee or funding instrument not seen in the previous 90 days, which hold "
        "transactions (0 without history)"
    ),
}


@dataclass(frozen=True)
class FraudSettings:
    """Data size, time split (in days) and model size of one fraud training run."""

    data: FraudDataConfig
    burn_in_days: int  # history warm-up, not used for training
    train_end_day: int  # train on [burn_in_days, train_end_day)
    valid_start_day: int  # gap of LABEL_DELAY_DAYS before validation
    valid_end_day: int  # validate on [valid_start_day, valid_end_day), test on the rest
    max_iter: int
    holdout: HoldoutSettings
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    review_precision: float = 0.5
    #: decline only when confident: 19 of 20 declines on validation are fraud
    decline_precision: float = 0.95
    alerts_per_day: int = 100


FULL = FraudSettings(
    data=FraudDataConfig(
        n_customers=10_000,
        n_days=150,
        n_merchants=3_000,
        episode_probability=0.2,
        new_customer_share=0.3,
        fraud_account_share=0.015,
    ),
    burn_in_days=30,
    train_end_day=100,
    valid_start_day=107,
    valid_end_day=122,
    max_iter=200,
    holdout=HoldoutSettings(
        data=FraudDataConfig(
            n_customers=1_500,
            n_days=70,
            n_merchants=1_000,
            episode_probability=0.0,
            new_customer_share=1.0,
            fraud_account_share=0.0,
        ),
        platform=PlatformConfig(wallet_share=1.0, takeover_probability=0.0, fraud_account_share=0.0),
    ),
)
SMALL = FraudSettings(
    data=FraudDataConfig(
        n_customers=1_000,
        n_days=63,
        n_merchants=300,
        episode_probability=0.35,
        new_customer_share=0.3,
        fraud_account_share=0.03,
    ),
    burn_in_days=14,
    train_end_day=35,
    valid_start_day=42,
    valid_end_day=49,
    max_iter=40,
    holdout=HoldoutSettings(
        data=FraudDataConfig(
            n_customers=200,
            n_days=63,
            n_merchants=300,
            episode_probability=0.0,
            new_customer_share=1.0,
            fraud_account_share=0.0,
        ),
        platform=PlatformConfig(wallet_share=1.0, takeover_probability=0.0, fraud_account_share=0.0),
        grid_hours=(2, 8, 14, 20),
    ),
)


@dataclass
class FraudFeatures:
    """Features of every transaction, and the label-delayed risk counts used."""

    x: FloatArray
    risk: RiskColumns
    merchant_index: DelayedLabelIndex
    category_index: DelayedLabelIndex


def build_features(data: TransactionData, progress: Progress) -> FraudFeatures:
    """Training path: the serving feature function over each customer's sequence."""
    merchant_index = DelayedLabelIndex(data.merchant, data.timestamp, data.is_fraud)
    category_index = DelayedLabelIndex(data.category, data.timestamp, data.is_fraud)
    m_txns, m_frauds = merchant_index.counts(data.merchant, data.timestamp)
    c_txns, c_frauds = category_index.counts(data.category, data.timestamp)
    # Serving has no labelled counts for payments without a merchant (category "transfer"):
    # they get the priors, so they get them here too.
    no_merchant = data.kind != 0
    for counts in (m_txns, m_frauds, c_txns, c_frauds):
        counts[no_merchant] = 0
    risk = RiskColumns(m_txns, m_frauds, c_txns, c_frauds)
    x = np.empty((len(data), len(FRAUD_FEATURE_NAMES)), dtype=np.float32)
    n_customers = len(data.monthly_income_minor)
    for c in progress.loop(range(n_customers), n_customers, "fraud features (customers)"):
        rows = data.customer_rows(c)
        x[rows] = fraud_feature_matrix(
            data.columns(rows),
            RiskColumns(m_txns[rows], m_frauds[rows], c_txns[rows], c_frauds[rows]),
        )
    return FraudFeatures(x=x, risk=risk, merchant_index=merchant_index, category_index=category_index)


def _op(y: IntArray, p: np.ndarray, threshold: float) -> dict[str, float]:
    point = operating_point(y, p, threshold)
    return {
        "threshold": rounded(point.threshold),
        "precision": rounded(point.precision),
        "recall": rounded(point.recall),
        "alert_rate": rounded(point.alert_rate),
    }


def _shares(p: np.ndarray, review_t: float, decline_t: float) -> dict[str, Any]:
    n = len(p)
    declined = p >= decline_t
    reviewed = (p >= review_t) & ~declined
    return {
        "transactions": int(n),
        "approve": rounded(float(np.mean(~(declined | reviewed)))) if n else None,
        "review": rounded(float(np.mean(reviewed))) if n else None,
        "decline": rounded(float(np.mean(declined))) if n else None,
    }


def cold_start_metrics(
    data: TransactionData,
    x: FloatArray,
    test: np.ndarray,
    p_test: np.ndarray,
    review_t: float,
    decline_t: float,
) -> dict[str, Any]:
    """Decisions on the test days for customers with little or no history.

    ``first_legitimate``: a new customer's first transaction (no history);
    ``early_legitimate``: their 2nd to 5th transactions; ``first_fraud`` /
    ``early_fraud``: the same rows of fraudulent new accounts (decline or review
    is what we want there).
    """
    n_hist = np.expm1(x[test, FRAUD_FEATURE_NAMES.index("history_len_log")]).round()
    new_cohort = data.cohort[data.customer[test]] > 0
    fraud = data.is_fraud[test] == 1
    first = new_cohort & (n_hist == 0)
    early = new_cohort & (n_hist >= 1) & (n_hist <= 4)
    return {
        "first_legitimate": _shares(p_test[first & ~fraud], review_t, decline_t),
        "early_legitimate": _shares(p_test[early & ~fraud], review_t, decline_t),
        "first_fraud": _shares(p_test[first & fraud], review_t, decline_t),
        "early_fraud": _shares(p_test[early & fraud], review_t, decline_t),
    }


def train_fraud(
    settings: FraudSettings,
    rng: np.random.Generator,
    seed: int,
    progress: Progress,
    platform_rng: np.random.Generator,
    holdout_rng: np.random.Generator,
) -> TrainedModel:
    """Train on card purchases (``rng``) plus the platform's payments (``platform_rng``); evaluate the
    ordinary-behaviour hold-out (``holdout_rng``). The card data alone go to the recommendations."""
    progress.step(f"fraud: generating {settings.data.n_customers} customers x {settings.data.n_days} days")
    card = generate_transactions(settings.data, rng)
    platform: PlatformData = add_platform_payments(card, settings.platform, platform_rng)
    data = platform.data
    progress.step(
        f"fraud: {len(data)} transactions, fraud rate {data.is_fraud.mean():.4f}; computing features"
    )
    feats = build_features(data, progress)
    x, y, day = feats.x, data.is_fraud, data.day

    train = (day >= settings.burn_in_days) & (day < settings.train_end_day)
    valid = (day >= settings.valid_start_day) & (day < settings.valid_end_day)
    test = day >= settings.valid_end_day
    progress.step(
        f"fraud: training gradient boosting on {int(train.sum())} rows ({int(y[train].sum())} fraud)"
    )
    model = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=50,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    model.fit(x[train], y[train])

    progress.step("fraud: exporting to ONNX and evaluating the exported model")
    onnx_bytes = export_onnx(
        model, x.shape[1], "nexafi_fraud", {HistGradientBoostingClassifier: {"zipmap": False}}
    )
    session = OnnxModel(onnx_bytes)
    p_valid = session.predict_proba(x[valid])[:, 1].astype(np.float64)
    p_test = session.predict_proba(x[test])[:, 1].astype(np.float64)
    y_valid, y_test = y[valid], y[test]

    review = threshold_for_precision(y_valid, p_valid, settings.review_precision)
    decline = threshold_for_precision(y_valid, p_valid, settings.decline_precision)
    review_t = review if review is not None else 0.5
    decline_t = max(decline if decline is not None else 1.0, review_t)

    cp = card_precision_top_k(day[test], data.customer[test], y_test, p_test, k=settings.alerts_per_day)
    flagged = p_test >= review_t
    declined = p_test >= decline_t
    pattern_recall: dict[str, Any] = {}
    for code, name in enumerate(ALL_FRAUD_PATTERNS):
        if code == 0:
            continue
        rows = data.pattern[test] == code
        pattern_recall[name] = {
            "transactions": int(rows.sum()),
            "recall_at_review": rounded(float(flagged[rows].mean())) if rows.any() else None,
            "recall_at_decline": rounded(float(declined[rows].mean())) if rows.any() else None,
        }

    end_ts = data.start_timestamp + data.n_days * SECONDS_PER_DAY
    cat_codes = np.arange(len(CATEGORIES))
    snap_txns, snap_frauds = feats.category_index.counts(cat_codes, np.full(len(cat_codes), end_ts))
    snapshot = {CATEGORIES[i]: {"txns": int(snap_txns[i]), "frauds": int(snap_frauds[i])} for i in cat_codes}
    thresholds = {"review": review_t, "decline": decline_t}

    def predict(batch: np.ndarray) -> np.ndarray:
        return np.asarray(session.predict_proba(batch)[:, 1], dtype=np.float64)

    progress.step("fraud: scoring the ordinary-behaviour hold-out")
    ordinary = {
        "held_out_customers": held_out_customers(
            settings.holdout, holdout_rng, predict, thresholds, snapshot
        ),
        "scenario_grid": scenario_grid(predict, thresholds, snapshot, settings.holdout.grid_hours),
    }
    legit_platform = (platform.scenario > 0)[test] & (y_test == 0)
    test_scenarios = {
        name: _shares(p_test[legit_platform & (platform.scenario[test] == code)], review_t, decline_t)
        for code, name in enumerate(SCENARIOS)
        if code > 0
    }
    metrics: dict[str, Any] = {
        "ordinary": ordinary,
        "test_platform_scenarios": test_scenarios,
        "cold_start": cold_start_metrics(data, x, test, p_test, review_t, decline_t),
        "roc_auc": rounded(roc_auc(y_test, p_test)),
        "average_precision": rounded(average_precision(y_test, p_test)),
        "card_precision_at_100": rounded(cp.value),
        "card_precision_at_100_oracle": rounded(cp.oracle),
        "fraud_cards_per_day": rounded(cp.mean_fraud_cards_per_day, 2),
        "test_days": cp.days,
        "test_transactions": int(test.sum()),
        "test_frauds": int(y_test.sum()),
        "review": {"validation": _op(y_valid, p_valid, review_t), "test": _op(y_test, p_test, review_t)},
        "decline": {"validation": _op(y_valid, p_valid, decline_t), "test": _op(y_test, p_test, decline_t)},
        "recall_by_pattern": pattern_recall,
        "validation_roc_auc": rounded(roc_auc(y_valid, p_valid)),
        "validation_average_precision": rounded(average_precision(y_valid, p_valid)),
    }

    legit_train = x[train & (y == 0)]
    baseline = np.median(legit_train, axis=0).astype(np.float32)
    sklearn_p = model.predict_proba(x[test])[:, 1]
    parity = float(np.max(np.abs(sklearn_p - p_test))) if len(p_test) else 0.0

    cfg = settings.data
    metadata: dict[str, Any] = {
        "task": (
            "binary classification: probability that a payment (card purchase, wallet top-up, transfer "
            "to another customer, payout) is fraudulent"
        ),
        "algorithm": (
            f"scikit-learn HistGradientBoostingClassifier(max_iter={settings.max_iter}, learning_rate=0.1, "
            "max_leaf_nodes=31, min_samples_leaf=50, l2_regularization=1.0)"
        ),
        "features": list(FRAUD_FEATURE_NAMES),
        "feature_set": FRAUD_FEATURE_SET,
        "feature_descriptions": FRAUD_FEATURE_DESCRIPTIONS,
        "metrics": metrics,
        "thresholds": {
            "review": rounded(review_t, 9),
            "decline": rounded(decline_t, 9),
            "rule": "decline if p >= decline; review if p >= review; else approve",
            "chosen_on": "validation split, lowest threshold reaching the target precision (>= 20 alerts)",
            "review_target_precision": settings.review_precision,
            "decline_target_precision": settings.decline_precision,
            "review_target_reached": review is not None,
            "decline_target_reached": decline is not None,
        },
        "scorecard": None,
        "explanation": {
            "method": "occlusion",
            "description": (
                "contribution of a feature = p(x) - p(x with that feature set to its baseline); "
                "reasons are the features with the largest positive contributions"
            ),
            "baseline": [float(v) for v in baseline],
            "features": list(FRAUD_FEATURE_NAMES),
            "baseline_source": "per-feature median of legitimate training transactions",
            "reason_text": dict(FRAUD_REASON_TEXT),
        },
        "risk": {
            "label_delay_days": LABEL_DELAY_DAYS,
            "window_days": RISK_WINDOW_DAYS,
            "history_days": HISTORY_DAYS,
            "merchant_prior_strength": MERCHANT_PRIOR_STRENGTH,
            "category_prior_strength": CATEGORY_PRIOR_STRENGTH,
            "global_fraud_prior": GLOBAL_FRAUD_PRIOR,
            "category_counts_at_end_of_data": snapshot,
        },
        "data": {
            "generator": "services.ai.training.data.generate_transactions",
            "currency": CURRENCY,
            "customers": cfg.n_customers,
            "days": cfg.n_days,
            "merchants": cfg.n_merchants,
            "transactions": len(data),
            "frauds": int(y.sum()),
            "fraud_rate": rounded(float(y.mean())),
            "fraud_patterns": dict(
                zip(FRAUD_PATTERNS[1 : 1 + len(PATTERN_PROBABILITIES)], PATTERN_PROBABILITIES, strict=True)
            ),
            "new_account_fraud_patterns": dict(
                zip(
                    FRAUD_PATTERNS[1 + len(PATTERN_PROBABILITIES) :],
                    NEW_ACCOUNT_PATTERN_PROBABILITIES,
                    strict=True,
                )
            ),
            "cohorts": {name: int((data.cohort == k).sum()) for k, name in enumerate(COHORTS)},
            "split_days": {
                "burn_in": [0, settings.burn_in_days],
                "train": [settings.burn_in_days, settings.train_end_day],
                "gap": [settings.train_end_day, settings.valid_start_day],
                "validation": [settings.valid_start_day, settings.valid_end_day],
                "test": [settings.valid_end_day, cfg.n_days],
            },
            "rows": {"train": int(train.sum()), "validation": int(valid.sum()), "test": int(test.sum())},
            "train_frauds": int(y[train].sum()),
            "platform": {
                "generator": "services.ai.training.platform.add_platform_payments",
                "config": {k: v for k, v in vars(settings.platform).items()},
                "transactions_by_kind": {
                    name: int((data.kind == code).sum()) for code, name in enumerate(PAYMENT_KINDS)
                },
                "legitimate_by_scenario": {
                    name: int((platform.scenario == code).sum())
                    for code, name in enumerate(SCENARIOS)
                    if code
                },
                "fraud_patterns": {
                    name: int(np.isin(data.pattern, [ALL_FRAUD_PATTERNS.index(name)]).sum())
                    for name in PLATFORM_FRAUD_PATTERNS
                },
            },
        },
        "onnx_parity": {"rows": int(test.sum()), "max_abs_probability_diff": float(parity)},
    }

    test_rows = np.flatnonzero(test)
    sample = test_rows[np.linspace(0, len(test_rows) - 1, num=min(2_000, len(test_rows))).astype(np.int64)]

    def plot(path: Any) -> None:
        plots.fraud_curves(path, y_test, p_test, review_t, decline_t)

    return TrainedModel(
        name="fraud",
        estimator=model,
        onnx_bytes=onnx_bytes,
        metadata=metadata,
        plot_file="pr_roc.png",
        plot=plot,
        render_card=cards.fraud_card,
        holdout_x=x[sample],
        extras={
            "data": data,
            "card_data": card,
            "scenario": platform.scenario,
            "features": feats,
            "sample_rows": sample,
            "y_holdout": y[sample],
        },
    )
