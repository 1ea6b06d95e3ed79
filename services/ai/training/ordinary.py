"""Held-out evaluation of ordinary behaviour: how often a good customer is stopped.

Two sets, neither used for training or for choosing thresholds:

* **held-out customers**: legitimate customers only, drawn with their own random
  stream (card purchases and the platform's payments, half of them joining
  during the period), scored as serving scores them (label-free merchant counts,
  the category counts stored with the model). Reported by scenario, weekday or
  weekend, and local time of day.
* **the scenario grid**: what the issue tracker measured, built by hand through
  the serving feature function (``features.fraud_features``) on every day of
  the week, at every hour, in three time zones (UTC-5, UTC, UTC+1): a first
  4.50 euro transfer, a first 1 euro transfer, a first top-up then five friends
  paid in a row 0 seconds apart, three 10 to 50 euro top-ups in a row from one
  card, and a salary-day top-up of a customer with a month of history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from services.ai import explain
from services.ai.features import (
    CATEGORIES,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    FloatArray,
    RiskColumns,
    Txn,
    TxnColumns,
    fraud_feature_matrix,
)
from services.ai.training.common import rounded
from services.ai.training.data import START_TIMESTAMP, FraudDataConfig, generate_transactions
from services.ai.training.platform import SCENARIOS, PlatformConfig, add_platform_payments

Predict = Callable[[FloatArray], np.ndarray]

#: 2025-03-03T00:00:00Z, a Monday, after the held-out customers' history starts.
GRID_MONDAY = START_TIMESTAMP + 56 * SECONDS_PER_DAY
GRID_OFFSETS = (-5 * SECONDS_PER_HOUR, 0, SECONDS_PER_HOUR)
HOUR_BUCKETS = ((0, 6, "00-06"), (6, 12, "06-12"), (12, 18, "12-18"), (18, 24, "18-24"))


@dataclass(frozen=True)
class HoldoutSettings:
    data: FraudDataConfig
    platform: PlatformConfig
    #: local hours of the scenario grid (every hour for the card; fewer in the small profile)
    grid_hours: tuple[int, ...] = tuple(range(24))


def _decisions(p: np.ndarray, thresholds: Mapping[str, Any]) -> np.ndarray:
    return np.array([explain.fraud_decision(float(v), thresholds) for v in p])


def _shares(decisions: np.ndarray) -> dict[str, Any]:
    n = len(decisions)
    return {
        "transactions": int(n),
        **{d: (rounded(float(np.mean(decisions == d))) if n else None) for d in explain.DECISIONS},
    }


def _category_risk(snapshot: Mapping[str, Mapping[str, int]], category: str) -> tuple[int, int]:
    counts = snapshot.get(category, {})
    return int(counts.get("txns", 0)), int(counts.get("frauds", 0))


def held_out_customers(
    settings: HoldoutSettings,
    rng: np.random.Generator,
    predict: Predict,
    thresholds: Mapping[str, Any],
    snapshot: Mapping[str, Mapping[str, int]],
) -> dict[str, Any]:
    """Decisions on the held-out legitimate customers' transactions (see the module docstring)."""
    card = generate_transactions(settings.data, rng)
    platform = add_platform_payments(card, settings.platform, rng)
    data, scenario = platform.data, platform.scenario
    assert not data.is_fraud.any(), "the held-out customers are all legitimate"
    purchase = data.kind == 0
    c_txns = np.zeros(len(data), dtype=np.int64)
    c_frauds = np.zeros(len(data), dtype=np.int64)
    for code, name in enumerate(CATEGORIES):
        rows = purchase & (data.category == code)
        c_txns[rows], c_frauds[rows] = _category_risk(snapshot, name)
    zero = np.zeros(len(data), dtype=np.int64)
    x = np.empty((len(data), 0), dtype=np.float32)
    parts = []
    for c in range(len(data.monthly_income_minor)):
        rows = data.customer_rows(c)
        parts.append(
            fraud_feature_matrix(
                data.columns(rows), RiskColumns(zero[rows], zero[rows], c_txns[rows], c_frauds[rows])
            )
        )
    x = np.concatenate(parts) if parts else x
    decisions = _decisions(predict(x), thresholds)
    local = data.timestamp + data.utc_offset
    hour = (local // SECONDS_PER_HOUR) % 24
    weekend = ((local // SECONDS_PER_DAY + 3) % 7) >= 5
    on_platform = scenario > 0
    out: dict[str, Any] = {
        "customers": len(data.monthly_income_minor),
        "days": int(data.n_days),
        "all": _shares(decisions),
        "card_purchases": _shares(decisions[purchase]),
        "platform_payments": _shares(decisions[on_platform]),
        "by_scenario": {
            name: _shares(decisions[scenario == code]) for code, name in enumerate(SCENARIOS) if code > 0
        },
        "weekday": _shares(decisions[on_platform & ~weekend]),
        "weekend": _shares(decisions[on_platform & weekend]),
        "by_local_hour": {
            label: _shares(decisions[on_platform & (hour >= lo) & (hour < hi)])
            for lo, hi, label in HOUR_BUCKETS
        },
    }
    return out


def scenario_grid(
    predict: Predict,
    thresholds: Mapping[str, Any],
    snapshot: Mapping[str, Mapping[str, int]],
    hours: tuple[int, ...] = tuple(range(24)),
) -> dict[str, Any]:
    """Decisions on the hand-built scenarios at every hour of every weekday in three time zones.

    Each scenario is one customer's sequence; ``fraud_feature_matrix`` gives every row the features
    serving computes for it given the rows before it (``fraud_features`` is that function's last row),
    with the zero merchant and category counts serving uses for payments without a merchant.
    """
    rows: dict[str, list[FloatArray]] = {}

    def score(name: str, sequence: list[Txn], history: list[Txn] | None = None) -> None:
        every = [*(history or []), *sequence]
        zero = np.zeros(len(every), dtype=np.int64)
        x = fraud_feature_matrix(TxnColumns.from_txns(every), RiskColumns(zero, zero, zero, zero))
        rows.setdefault(name, []).extend(x[len(every) - len(sequence) :])

    for offset in GRID_OFFSETS:
        for weekday in range(7):
            for hour in hours:
                t = GRID_MONDAY + weekday * SECONDS_PER_DAY + hour * SECONDS_PER_HOUR - offset
                u = f"{offset}:{weekday}:{hour}"

                def txn(
                    ts: int,
                    amount: int,
                    counterparty: str,
                    kind: str,
                    *,
                    category: str = "transfer",
                    offset: int = offset,
                    u: str = u,
                ) -> Txn:
                    return Txn(ts, amount, f"{u}:{counterparty}", category, "DE", f"{u}:phone", offset, kind)

                score("first_transfer_4_50", [txn(t, 450, "friend0", "p2p")])
                score("first_transfer_1_00", [txn(t, 100, "friend0", "p2p")])
                score(
                    "first_top_up_then_five_friends_in_a_row",
                    [txn(t, 2_000, "card0", "top_up")]
                    + [txn(t + 60, 1_200, f"friend{k}", "p2p") for k in range(5)],
                )
                score(
                    "three_top_ups_in_a_row_10_to_50",
                    [txn(t + 5 * k, 1_000 + 1_333 * k, "card0", "top_up") for k in range(3)],
                )
                month = [
                    txn(
                        t - d * SECONDS_PER_DAY + 3_600 * (d % 5),
                        2_000 + 150 * (d % 7),
                        f"shop{d % 4}",
                        "purchase",
                        category="grocery",
                    )
                    for d in range(30, 0, -3)
                ]
                month += [txn(t - d * SECONDS_PER_DAY, 1_500, f"friend{d % 3}", "p2p") for d in (25, 12, 4)]
                month.sort(key=lambda h: h.timestamp)
                score("salary_day_top_up_1500", [txn(t, 150_000, "card0", "top_up")], history=month)
                score("pay_a_friend_after_a_month", [txn(t, 2_500, "friend9", "p2p")], history=month)
    out: dict[str, Any] = {"instances_per_scenario": len(GRID_OFFSETS) * 7 * len(hours), "by_scenario": {}}
    every: list[np.ndarray] = []
    for name, xs in rows.items():
        decisions = _decisions(predict(np.stack(xs)), thresholds)
        every.append(decisions)
        out["by_scenario"][name] = _shares(decisions)
    out["all"] = _shares(np.concatenate(every))
    return out
