"""Feature set 3 (fraud 1.2.0): the kind of payment, new counterparties, no day of the week; and the
generator of the platform's payments it is trained on."""

from __future__ import annotations

import numpy as np
import pytest

from services.ai.features import (
    FRAUD_FEATURE_SETS,
    KIND_CODE,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    RiskCounts,
    Txn,
    fraud_features,
)
from services.ai.training.data import FraudDataConfig, generate_transactions
from services.ai.training.platform import (
    ALL_FRAUD_PATTERNS,
    PLATFORM_FRAUD_PATTERNS,
    SCENARIO,
    PlatformConfig,
    add_platform_payments,
)

V3 = {name: i for i, name in enumerate(FRAUD_FEATURE_SETS[3])}
MONDAY = 1_736_121_600  # 2025-01-06T00:00:00Z


def test_the_kind_of_payment_is_one_hot() -> None:
    for kind, flag in (
        ("purchase", None),
        ("top_up", "kind_top_up"),
        ("p2p", "kind_p2p"),
        ("payout", "kind_payout"),
    ):
        x = fraud_features(Txn(MONDAY, 1_000, "c", "transfer", "DE", "d", 0, kind), [], RiskCounts())
        flags = {name: x[V3[name]] for name in ("kind_top_up", "kind_p2p", "kind_payout")}
        assert flags == {name: float(name == flag) for name in flags}, kind


def test_a_new_counterparty_is_new_only_against_history() -> None:
    first = Txn(MONDAY, 2_000, "card_1", "transfer", "DE", "d", 0, "top_up")
    assert fraud_features(first, [], RiskCounts())[V3["new_counterparty"]] == 0.0  # nothing to compare
    friend = Txn(MONDAY + 60, 1_200, "usr_friend", "transfer", "DE", "d", 0, "p2p")
    assert fraud_features(friend, [first], RiskCounts())[V3["new_counterparty"]] == 1.0
    again = Txn(MONDAY + 120, 1_200, "usr_friend", "transfer", "DE", "d", 0, "p2p")
    assert fraud_features(again, [first, friend], RiskCounts())[V3["new_counterparty"]] == 0.0


def test_the_same_payment_scores_the_same_on_any_day_of_the_week() -> None:
    history = [
        Txn(MONDAY - d * SECONDS_PER_DAY, 2_500, "shop", "grocery", "DE", "d", 3_600) for d in (9, 5, 2)
    ]
    rows = []
    for day in range(7):
        t = MONDAY + day * SECONDS_PER_DAY + 14 * SECONDS_PER_HOUR
        past = [
            Txn(
                h.timestamp + day * SECONDS_PER_DAY,
                h.amount_minor,
                h.merchant_id,
                h.merchant_category,
                h.country,
                h.device_id,
                h.utc_offset_seconds,
            )
            for h in history
        ]
        rows.append(
            fraud_features(Txn(t, 1_500, "usr_f", "transfer", "DE", "d", 3_600, "p2p"), past, RiskCounts())
        )
    assert all(np.array_equal(rows[0], r) for r in rows[1:])


def test_the_local_hour_comes_from_the_offset() -> None:
    utc_0100 = MONDAY + SECONDS_PER_HOUR  # 01:00 UTC is 20:00 the day before in New York
    night = fraud_features(Txn(utc_0100, 1_000, "c", "transfer", "US", "d", 0, "p2p"), [], RiskCounts())
    evening = fraud_features(
        Txn(utc_0100, 1_000, "c", "transfer", "US", "d", -5 * 3_600, "p2p"), [], RiskCounts()
    )
    assert night[V3["is_night"]] == 1.0 and evening[V3["is_night"]] == 0.0


@pytest.fixture(scope="module")
def platform() -> tuple[object, object]:
    config = FraudDataConfig(
        n_customers=150,
        n_days=40,
        n_merchants=150,
        episode_probability=0.2,
        new_customer_share=0.5,
        fraud_account_share=0.05,
    )
    card = generate_transactions(config, np.random.default_rng(1))
    return card, add_platform_payments(
        card, PlatformConfig(fraud_account_share=0.1, takeover_probability=0.2), np.random.default_rng(2)
    )


def test_platform_payments_keep_the_card_data_and_add_every_kind(platform: tuple) -> None:
    card, merged = platform
    data = merged.data
    purchases = data.kind == KIND_CODE["purchase"]
    assert int(purchases.sum()) == len(card)
    for kind in ("top_up", "p2p", "payout"):
        assert (data.kind == KIND_CODE[kind]).sum() > 0, kind
    assert np.all(np.diff(data.customer) >= 0)
    for c in range(len(data.monthly_income_minor)):
        rows = data.customer_rows(c)
        assert np.all(np.diff(data.timestamp[rows]) >= 0)
    # ordinary behaviour is tagged and never fraud; platform fraud has its own pattern codes
    tagged = merged.scenario > 0
    assert tagged.sum() > 0 and not data.is_fraud[tagged].any()
    for name in ("first_payment", "friends_in_a_row", "salary_top_up", "repeat_top_up"):
        assert (merged.scenario == SCENARIO[name]).sum() > 0, name
    codes = {ALL_FRAUD_PATTERNS[p] for p in np.unique(data.pattern[~purchases & (data.is_fraud == 1)])}
    assert codes and codes <= set(PLATFORM_FRAUD_PATTERNS)


def test_friends_in_a_row_are_seconds_apart_at_every_hour(platform: tuple) -> None:
    _, merged = platform
    data = merged.data
    rows = np.flatnonzero(merged.scenario == SCENARIO["friends_in_a_row"])
    gaps = np.diff(data.timestamp[rows])
    assert (gaps == 0).any() and (gaps[(gaps >= 0)] <= 40).mean() > 0.5
    local_hours = ((data.timestamp + data.utc_offset) // SECONDS_PER_HOUR) % 24
    tagged = merged.scenario > 0
    assert len(np.unique(local_hours[tagged])) == 24


def test_the_generator_is_reproducible(platform: tuple) -> None:
    card, merged = platform
    again = add_platform_payments(
        card, PlatformConfig(fraud_account_share=0.1, takeover_probability=0.2), np.random.default_rng(2)
    )
    for name in ("customer", "timestamp", "amount_minor", "kind", "counterparty", "is_fraud", "device"):
        assert np.array_equal(getattr(merged.data, name), getattr(again.data, name)), name
