"""Cold start: the onboarding cohort of the generator and the committed fraud model's decisions
for customers without history (in process: shared features + ONNX + thresholds)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from services.ai import explain
from services.ai.features import FRAUD_FEATURE_NAMES, RiskCounts, Txn, fraud_features
from services.ai.model_files import BUILTIN_MODELS_DIR
from services.ai.training.common import OnnxModel
from services.ai.training.data import COHORTS, FRAUD_PATTERNS, FraudDataConfig, generate_transactions
from services.ai.training.pipeline import MODEL_VERSIONS

CONFIG = FraudDataConfig(
    n_customers=200,
    n_days=40,
    n_merchants=200,
    episode_probability=0.3,
    new_customer_share=0.5,
    fraud_account_share=0.1,
)
NOON = 1_767_225_600 + 14 * 3_600  # Thursday 2026-01-01, 14:00 UTC


def test_onboarding_cohorts_leave_the_established_customers_unchanged() -> None:
    with_cohorts = generate_transactions(CONFIG, np.random.default_rng(3))
    without = generate_transactions(
        dataclasses.replace(CONFIG, new_customer_share=0.0, fraud_account_share=0.0), np.random.default_rng(3)
    )
    n = int(without.boundaries[-1])
    assert int(with_cohorts.boundaries[CONFIG.n_customers]) == n
    for name in ("customer", "timestamp", "amount_minor", "category", "merchant", "device", "is_fraud"):
        assert np.array_equal(getattr(with_cohorts, name)[:n], getattr(without, name)), name
    counts = np.bincount(with_cohorts.cohort, minlength=len(COHORTS))
    assert counts.tolist() == [200, 100, 20]


def test_new_customers_start_with_ordinary_payments_and_fraud_accounts_are_all_fraud() -> None:
    data = generate_transactions(CONFIG, np.random.default_rng(5))
    first_amounts, quick = [], 0
    for c in range(len(data.cohort)):
        rows = data.customer_rows(c)
        if rows.stop == rows.start:
            continue
        if data.cohort[c] == COHORTS.index("new_customer"):
            assert not data.is_fraud[rows].any()
            first_amounts.append(int(data.amount_minor[rows.start]))
            quick += int(
                rows.stop - rows.start > 1
                and data.timestamp[rows.start + 1] - data.timestamp[rows.start] < 3_600
            )
        elif data.cohort[c] == COHORTS.index("fraud_account"):
            assert data.is_fraud[rows].all()
            assert {FRAUD_PATTERNS[p] for p in data.pattern[rows]} <= {
                "new_account_card_testing",
                "new_account_cash_out",
            }
    assert all(500 <= a <= 30_000 for a in first_amounts)
    assert 1_000 <= float(np.median(first_amounts)) <= 10_000
    assert quick >= len(first_amounts) // 3  # onboarding often has a few payments in quick succession


class Served:
    """The committed fraud model as serving uses it (no database)."""

    def __init__(self) -> None:
        folder = BUILTIN_MODELS_DIR / "fraud" / MODEL_VERSIONS["fraud"]
        self.meta = json.loads((folder / "metadata.json").read_text())
        self.model = OnnxModel((folder / "model.onnx").read_bytes())

    def decide(self, txn: Txn, history: list[Txn]) -> tuple[str, float]:
        counts = self.meta["risk"]["category_counts_at_end_of_data"].get(txn.merchant_category, {})
        risk = RiskCounts(0, 0, int(counts.get("txns", 0)), int(counts.get("frauds", 0)))
        x = fraud_features(txn, history, risk, feature_set=self.meta["feature_set"])
        p = float(self.model.predict_proba(x[None, :])[0, 1])
        return explain.fraud_decision(p, self.meta["thresholds"]), p


@pytest.fixture(scope="module")
def served() -> Served:
    return Served()


def test_the_committed_model_uses_the_current_feature_set(served: Served) -> None:
    assert served.meta["features"] == list(FRAUD_FEATURE_NAMES)
    assert served.meta["feature_set"] == 3 and served.meta["version"] == MODEL_VERSIONS["fraud"]
    # A first payment has nothing to compare with: since 1.2.0 (whose data hold fraudulent accounts'
    # first top-ups of ordinary sizes) many are reviewed, but hardly any is declined.
    cold = served.meta["metrics"]["cold_start"]["first_legitimate"]
    assert cold["transactions"] > 100 and cold["decline"] <= 0.01
    ordinary = served.meta["metrics"]["ordinary"]
    assert ordinary["held_out_customers"]["all"]["decline"] <= 0.01
    assert ordinary["scenario_grid"]["all"]["decline"] <= 0.01


@pytest.mark.parametrize(
    ("category", "kind", "expected"),
    [
        ("grocery", "purchase", {"approve"}),
        ("restaurants", "purchase", {"approve"}),
        ("online_retail", "purchase", {"approve", "review"}),  # where card testing starts
        ("transfer", "p2p", {"approve", "review"}),  # a first transfer above 50 euros is reviewed
        ("transfer", "top_up", {"approve", "review"}),  # ambiguous: reviewed, never declined
    ],
)
@pytest.mark.parametrize("amount", [1_000, 2_500, 5_000, 10_000, 15_000, 20_000])
def test_ordinary_first_payments_are_not_declined(
    served: Served, category: str, kind: str, expected: set[str], amount: int
) -> None:
    decision, p = served.decide(Txn(NOON, amount, "m1", category, "DE", "dev_a", 0, kind), [])
    assert decision in expected, p


@pytest.mark.parametrize("amount", [100, 450, 1_000, 2_000])
def test_a_first_small_transfer_is_approved(served: Served, amount: int) -> None:
    """The issue's first 4.50 EUR transfer (declined under 1.1.0) and a first 1 EUR one, at any hour."""
    for hour in range(0, 24, 3):
        first = Txn(NOON + hour * 3_600, amount, "usr_f", "transfer", "DE", "d", 0, "p2p")
        decision, p = served.decide(first, [])
        assert decision == "approve", (hour, p)


def test_a_second_ordinary_payment_minutes_later_is_approved(served: Served) -> None:
    first = Txn(NOON, 5_000, "m1", "transfer", "DE", "dev_a")
    for gap in (60, 120, 600):
        decision, p = served.decide(Txn(NOON + gap, 4_200, "m2", "grocery", "DE", "dev_a"), [first])
        assert decision == "approve", (gap, p)


def test_a_card_testing_burst_on_a_new_account_is_stopped(served: Served) -> None:
    history: list[Txn] = []
    decisions = []
    for i in range(8):
        txn = Txn(NOON + 15 * i, 100 + 29 * i, f"m{i}", "online_retail", "DE", "dev_a")
        decisions.append(served.decide(txn, history)[0])
        history.append(txn)
    assert all(d != "approve" for d in decisions[3:]), decisions
