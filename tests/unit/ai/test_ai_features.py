"""Features: the serving functions reproduce the training features exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from services.ai.features import (
    CATEGORIES,
    FRAUD_FEATURE_NAMES,
    FRAUD_FEATURE_SET,
    FRAUD_FEATURE_SETS,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    TREND_INPUT_DAYS,
    Applicant,
    ApplicantColumns,
    DelayedLabelIndex,
    RiskCounts,
    Txn,
    TxnColumns,
    credit_feature_matrix,
    credit_features,
    fraud_features,
    segment_feature_matrix,
    segment_features,
    spending_profile,
    trend_input,
    trend_input_matrix,
)
from services.ai.training.pipeline import PipelineResult
from services.ai.training.recommendations import monthly_matrix

F = {name: i for i, name in enumerate(FRAUD_FEATURE_NAMES)}
MONDAY = 1_736_121_600  # 2025-01-06T00:00:00Z


def test_fraud_serving_path_equals_training_path(small_run: PipelineResult) -> None:
    trained = small_run.models["fraud"]
    data = trained.extras["data"]
    feats = trained.extras["features"]
    rng = np.random.default_rng(0)
    rows = np.concatenate(
        [
            rng.choice(len(data), size=300, replace=False),  # anywhere
            data.boundaries[:20],  # first transaction of a customer: no history
        ]
    )
    for i in rows.tolist():
        c = int(data.customer[i])
        start = int(data.boundaries[c])
        history = [data.txn(j) for j in range(start, i)]
        rng.shuffle(history)  # order does not matter to serving
        risk = RiskCounts(
            merchant_txns=int(feats.risk.merchant_txns[i]),
            merchant_frauds=int(feats.risk.merchant_frauds[i]),
            category_txns=int(feats.risk.category_txns[i]),
            category_frauds=int(feats.risk.category_frauds[i]),
        )
        served = fraud_features(data.txn(i), history, risk)
        assert served.dtype == np.float32
        assert np.array_equal(served, feats.x[i]), (i, served - feats.x[i])


def test_fraud_features_by_hand() -> None:
    def txn(ts: int, amount: int, device: str = "d1", country: str = "DE", category: str = "grocery") -> Txn:
        return Txn(
            timestamp=ts,
            amount_minor=amount,
            merchant_id="m1",
            merchant_category=category,
            country=country,
            device_id=device,
            utc_offset_seconds=3_600,
        )

    saturday_2330_local = MONDAY + 5 * SECONDS_PER_DAY + 22 * SECONDS_PER_HOUR + 30 * 60  # 23:30 at UTC+1
    history = [
        txn(saturday_2330_local - 120 * SECONDS_PER_DAY, 1_000_000),  # older than 90 days: ignored
        txn(saturday_2330_local - 20 * SECONDS_PER_DAY, 2_000),
        txn(saturday_2330_local - 3 * SECONDS_PER_DAY, 4_000),
        txn(saturday_2330_local - 600, 6_000),
    ]
    current = txn(saturday_2330_local + 3_600, 60_000, device="d2", country="NG", category="crypto")
    x = fraud_features(current, history, RiskCounts())
    assert x[F["n_txn_1h"]] == 0 and x[F["n_txn_1d"]] == 1
    assert x[F["n_txn_7d"]] == 2 and x[F["n_txn_30d"]] == 3
    assert x[F["amount_to_avg_30d"]] == pytest.approx(60_000 / 4_000)
    assert x[F["amount_to_max_90d"]] == pytest.approx(10.0)
    assert x[F["is_night"]] == 1.0  # 00:30 local, Sunday
    assert "is_weekend" not in F  # feature set 3: the day of the week is no signal
    v2 = fraud_features(current, history, RiskCounts(), feature_set=2)
    assert v2[FRAUD_FEATURE_SETS[2].index("is_weekend")] == 1.0
    assert x[F["new_device"]] == 1.0 and x[F["new_country"]] == 1.0
    assert x[F["device_age_log"]] == 0.0
    assert x[F["category_share_90d"]] == 0.0
    assert x[F["secs_since_prev_log"]] == pytest.approx(np.log1p(4_200), rel=1e-6)
    assert x[F["history_len_log"]] == pytest.approx(np.log1p(3), rel=1e-6)
    # no delayed labels: the merchant risk falls back to the global prior
    assert x[F["merchant_risk"]] == pytest.approx(0.01)
    # a transaction in the future of the current one is not history
    later = txn(saturday_2330_local + 7_200, 5)
    assert np.array_equal(fraud_features(current, [*history, later], RiskCounts()), x)


def test_fraud_features_first_transaction_and_validation() -> None:
    x = fraud_features(Txn(MONDAY, 100, "m", "grocery", "FR", "d"), [], RiskCounts())
    assert x.shape == (len(FRAUD_FEATURE_NAMES),)
    assert np.all(np.isfinite(x))
    # no history: nothing to compare with, so neither the device nor the country is "new"
    assert x[F["new_device"]] == 0.0 and x[F["new_country"]] == 0.0
    assert x[F["has_history"]] == 0.0 and x[F["history_len_log"]] == 0.0
    assert x[F["history_span_log"]] == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        fraud_features(Txn(MONDAY, -1, "m", "grocery", "FR", "d"), [], RiskCounts())
    with pytest.raises(ValueError, match="sorted"):
        TxnColumns(
            timestamps=np.array([2, 1]),
            amounts_minor=np.array([1, 1]),
            utc_offsets=np.array([0, 0]),
            categories=np.array(["a", "a"]),
            countries=np.array(["x", "x"]),
            devices=np.array(["d", "d"]),
        )


def test_delayed_label_index_respects_the_label_delay() -> None:
    day = SECONDS_PER_DAY
    t = 100 * day
    # merchant "a": frauds 3 days ago (label unknown yet), 10 days ago (known) and 40 days ago (out of window)
    idx = DelayedLabelIndex(
        ["a", "a", "a", "a", "b"],
        [t - 3 * day, t - 10 * day, t - 40 * day, t - 20 * day, t - 9 * day],
        [1, 1, 1, 0, 1],
    )
    assert idx.count("a", t) == (2, 1)
    assert idx.count("b", t) == (1, 1)
    assert idx.count("zzz", t) == (0, 0)
    assert idx.count("a", t - 60 * day) == (0, 0)


def test_credit_serving_path_equals_training_path(small_run: PipelineResult) -> None:
    trained = small_run.models["credit"]
    cols: ApplicantColumns = trained.extras["applicants"]
    rows = trained.extras["sample_rows"][:300]
    for k, i in enumerate(rows.tolist()):
        assert np.array_equal(credit_features(cols.row(i)), trained.holdout_x[k])
    assert np.array_equal(credit_feature_matrix(cols)[rows], trained.holdout_x[: len(rows)])


def test_credit_features_edge_cases() -> None:
    no_income = Applicant(0, 10_000, 0, 5_000, 0, 0, 0)
    x = credit_features(no_income)
    assert x[1] == 2.0 and x[2] == 1.5  # capped debt-to-income and utilization
    with pytest.raises(ValueError):
        Applicant(-1, 0, 0, 0, 0, 0, 0)
    with pytest.raises(TypeError):
        Applicant(1.5, 0, 0, 0, 0, 0, 0)  # type: ignore[arg-type]


def test_trend_serving_path_equals_training_path(small_run: PipelineResult) -> None:
    trained = small_run.models["trend"]
    series = trained.extras["series"][trained.extras["test_ids"]]
    for k in range(20):
        x, scale = trend_input(
            series[k][:-14].tolist()
        )  # the test window's input: the days before the last 14
        assert np.array_equal(x, trained.holdout_x[k])
        assert scale > 0
    x_batch, _ = trend_input_matrix(series[:5, -14 - TREND_INPUT_DAYS : -14])
    assert np.array_equal(x_batch, trained.holdout_x[:5])
    with pytest.raises(ValueError, match="at least"):
        trend_input([1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        trend_input([float("nan")] * TREND_INPUT_DAYS)


def test_spending_profile_serving_path_equals_training_path(small_run: PipelineResult) -> None:
    trained = small_run.models["recommendations"]
    profiles = trained.extras["profiles"]
    x_train = segment_feature_matrix(monthly_matrix(profiles))
    for k in range(0, len(profiles), max(1, len(profiles) // 50)):
        assert np.array_equal(segment_features(profiles[k]), x_train[k])


def test_spending_profile_is_order_independent_and_finds_subscriptions() -> None:
    as_of = MONDAY + 100 * SECONDS_PER_DAY
    ts, amounts, cats, merchants = [], [], [], []
    for month in range(3):
        for m, amt in (("netflix", 1_299), ("spotify", 999), ("gym", 2_999)):
            ts.append(as_of - (10 + 30 * month) * SECONDS_PER_DAY)
            amounts.append(amt)
            cats.append("subscriptions")
            merchants.append(m)
    ts.append(as_of - 5 * SECONDS_PER_DAY)
    amounts.append(10_000)
    cats.append("restaurants")
    merchants.append("bistro")
    ts.append(as_of + 5)  # after as_of: ignored
    amounts.append(99_999)
    cats.append("restaurants")
    merchants.append("bistro")
    p = spending_profile(ts, amounts, cats, merchants, as_of=as_of)
    order = np.random.default_rng(1).permutation(len(ts))
    q = spending_profile(
        [ts[i] for i in order],
        [amounts[i] for i in order],
        [cats[i] for i in order],
        [merchants[i] for i in order],
        as_of=as_of,
    )
    assert dataclasses.asdict(p) == dataclasses.asdict(q)
    assert sorted(r.merchant_id for r in p.recurring) == ["gym", "netflix", "spotify"]
    assert p.monthly_minor["restaurants"] == 10_000 * 30 // 90
    assert p.recent_minor["restaurants"] == 10_000
    assert set(p.monthly_minor) == set(CATEGORIES)


def test_empty_history_is_explicit_not_new_device_new_country_or_a_huge_ratio() -> None:
    """A first transaction: no velocity, neutral ratios, novelty 0, has_history 0."""
    first = Txn(MONDAY + 12 * 3_600, 15_000, "m1", "grocery", "DE", "dev_a")
    x = fraud_features(first, [], RiskCounts())
    for name in ("n_txn_1h", "n_txn_1d", "n_txn_7d", "n_txn_30d", "new_device", "new_country", "has_history"):
        assert x[F[name]] == 0.0, name
    for name in ("amount_to_avg_7d", "amount_to_avg_30d", "amount_to_max_90d"):
        assert x[F[name]] == 1.0, name
    # a second payment two minutes later on the same device and country: history, nothing new
    second = Txn(first.timestamp + 120, 4_200, "m2", "restaurants", "DE", "dev_a")
    y = fraud_features(second, [first], RiskCounts())
    assert y[F["has_history"]] == 1.0 and y[F["n_txn_1h"]] == 1.0
    assert y[F["new_device"]] == 0.0 and y[F["new_country"]] == 0.0
    assert y[F["history_span_log"]] == pytest.approx(np.log1p(120), rel=1e-6)
    assert y[F["secs_since_prev_log"]] == pytest.approx(np.log1p(120), rel=1e-6)
    # history that disagrees: another device and country after that history
    third = Txn(first.timestamp + 3_600, 90_000, "m3", "jewelry", "RU", "dev_b")
    z = fraud_features(third, [first, second], RiskCounts())
    assert z[F["new_device"]] == 1.0 and z[F["new_country"]] == 1.0 and z[F["has_history"]] == 1.0
    assert z[F["history_span_log"]] == pytest.approx(np.log1p(3_600), rel=1e-6)
    # history older than 90 days is no history
    old = Txn(first.timestamp - 91 * SECONDS_PER_DAY, 4_200, "m0", "grocery", "FR", "dev_z")
    assert np.array_equal(fraud_features(first, [old], RiskCounts()), x)


def test_feature_set_1_keeps_the_encoding_older_models_were_trained_on() -> None:
    first = Txn(MONDAY, 2_500, "m1", "grocery", "DE", "dev_a")
    v1 = fraud_features(first, [], RiskCounts(), feature_set=1)
    v2 = fraud_features(first, [], RiskCounts(), feature_set=2)
    assert v1.shape == (len(FRAUD_FEATURE_SETS[1]),) and v2.shape == (len(FRAUD_FEATURE_SETS[2]),)
    assert FRAUD_FEATURE_SETS[FRAUD_FEATURE_SET] == FRAUD_FEATURE_NAMES
    assert FRAUD_FEATURE_SETS[2][: len(FRAUD_FEATURE_SETS[1])] == FRAUD_FEATURE_SETS[1]
    v1_names = {name: i for i, name in enumerate(FRAUD_FEATURE_SETS[1])}
    assert v1[v1_names["new_device"]] == 1.0 and v1[v1_names["new_country"]] == 1.0  # version 1: "new"
    # everything else is the same value in both sets
    same = [i for name, i in v1_names.items() if name not in ("new_device", "new_country")]
    assert np.array_equal(v1[same], v2[same])
    with pytest.raises(ValueError, match="feature set"):
        fraud_features(first, [], RiskCounts(), feature_set=99)
