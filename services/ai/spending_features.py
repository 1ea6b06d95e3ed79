"""A customer's spending profile (the recommendations' input) and its segment feature vector."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.ai.feature_vocabulary import CATEGORIES, SECONDS_PER_DAY, FloatArray, IntArray

PROFILE_WINDOW_DAYS = 90
RECENT_DAYS = 30
SEGMENT_FEATURE_NAMES: tuple[str, ...] = (*(f"share_{c}" for c in CATEGORIES), "spend_level")


@dataclass(frozen=True)
class RecurringCharge:
    """A merchant charging about the same amount about every month."""

    merchant_id: str
    category: str
    amount_minor: int
    occurrences: int


@dataclass(frozen=True)
class SpendingProfile:
    """A user's spending by category over the last PROFILE_WINDOW_DAYS days.

    ``monthly_minor`` is the average per 30 days over the window;
    ``recent_minor`` the last RECENT_DAYS days; ``earlier_monthly_minor`` the
    average per 30 days over the rest of the window. Integer minor units.
    """

    monthly_minor: dict[str, int]
    recent_minor: dict[str, int]
    earlier_monthly_minor: dict[str, int]
    recurring: tuple[RecurringCharge, ...] = ()
    monthly_income_minor: int | None = None
    n_transactions: int = 0
    window_days: int = PROFILE_WINDOW_DAYS

    @property
    def monthly_total_minor(self) -> int:
        return sum(self.monthly_minor.values())


def _find_recurring(
    timestamps: IntArray, amounts: IntArray, categories: Sequence[str], merchants: Sequence[str]
) -> tuple[RecurringCharge, ...]:
    by_merchant: dict[str, list[int]] = {}
    for i, merchant in enumerate(merchants):
        by_merchant.setdefault(merchant, []).append(i)
    found: list[RecurringCharge] = []
    for merchant in sorted(by_merchant):
        rows = sorted(by_merchant[merchant], key=lambda i: (int(timestamps[i]), i))
        if len(rows) < 2:
            continue
        amts = [int(amounts[i]) for i in rows]
        gaps = [
            (int(timestamps[b]) - int(timestamps[a])) / SECONDS_PER_DAY for a, b in itertools.pairwise(rows)
        ]
        similar = max(amts) - min(amts) <= max(amts) // 20  # within 5 %
        monthly = all(25.0 <= g <= 35.0 for g in gaps)
        if similar and monthly:
            found.append(RecurringCharge(merchant, categories[rows[-1]], amts[-1], len(rows)))
    return tuple(found)


def spending_profile(
    timestamps: Sequence[int] | IntArray,
    amounts_minor: Sequence[int] | IntArray,
    categories: Sequence[str],
    merchant_ids: Sequence[str],
    *,
    as_of: int,
    monthly_income_minor: int | None = None,
) -> SpendingProfile:
    """A user's spending profile from their (debit) transactions before ``as_of``."""
    ts = np.asarray(timestamps, dtype=np.int64)
    amt = np.asarray(amounts_minor, dtype=np.int64)
    if not len(ts) == len(amt) == len(categories) == len(merchant_ids):
        raise ValueError("timestamps, amounts_minor, categories and merchant_ids must have the same length")
    if bool(np.any(amt < 0)):
        raise ValueError("amounts_minor must be non-negative")
    start = as_of - PROFILE_WINDOW_DAYS * SECONDS_PER_DAY
    recent_start = as_of - RECENT_DAYS * SECONDS_PER_DAY
    keep = (ts >= start) & (ts < as_of)
    rows: list[int] = np.flatnonzero(keep).tolist()
    total: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    recent: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    for i in rows:
        cat = categories[i]
        if cat not in total:
            continue
        total[cat] += int(amt[i])
        if ts[i] >= recent_start:
            recent[cat] += int(amt[i])
    earlier_days = PROFILE_WINDOW_DAYS - RECENT_DAYS
    monthly = {c: total[c] * 30 // PROFILE_WINDOW_DAYS for c in CATEGORIES}
    earlier = {c: (total[c] - recent[c]) * 30 // earlier_days for c in CATEGORIES}
    recurring = _find_recurring(
        ts[rows], amt[rows], [categories[i] for i in rows], [merchant_ids[i] for i in rows]
    )
    return SpendingProfile(
        monthly_minor=monthly,
        recent_minor=recent,
        earlier_monthly_minor=earlier,
        recurring=recurring,
        monthly_income_minor=monthly_income_minor,
        n_transactions=len(rows),
    )


def segment_feature_matrix(monthly: npt.ArrayLike) -> FloatArray:
    """Segment features from monthly spend per category (columns in CATEGORIES order)."""
    m = np.asarray(monthly, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != len(CATEGORIES):
        raise ValueError(f"monthly spend must have shape (n, {len(CATEGORIES)})")
    total = m.sum(axis=1)
    shares = np.where(total[:, None] > 0, m / np.maximum(total, 1.0)[:, None], 0.0)
    level = np.log1p(total / 100.0) / 10.0
    return np.column_stack((shares, level)).astype(np.float32)


def segment_features(profile: SpendingProfile) -> FloatArray:
    """The segment (clustering) input of one spending profile (serving)."""
    row = [[profile.monthly_minor.get(c, 0) for c in CATEGORIES]]
    return np.array(segment_feature_matrix(np.array(row, dtype=np.int64))[0], dtype=np.float32)
