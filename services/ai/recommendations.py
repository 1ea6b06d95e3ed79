"""What the recommendations are made of besides the model: the contract's kind and confidence of
each rule, and the spending profile with booked amounts from analytics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from services.ai import features

# explain.recommend's rule codes -> the contract's RecommendationKind, and a fixed prior
# confidence per rule: the rules are deterministic, so "confidence" is how often such a
# rule is actionable, a documented constant rather than a learned probability.
RECOMMENDATION_KINDS: dict[str, tuple[str, int]] = {
    "CATEGORY_BUDGET": ("SET_BUDGET", 8_000),
    "RISING_SPEND": ("REDUCE_CATEGORY_SPENDING", 6_500),
    "REVIEW_SUBSCRIPTIONS": ("CANCEL_SUBSCRIPTION", 7_000),
    "AVOID_FEES": ("AVOID_FEES", 8_500),
    "SPENDING_ABOVE_INCOME": ("REDUCE_CATEGORY_SPENDING", 9_000),
    "AUTOMATE_SAVINGS": ("AUTOMATE_SAVINGS", 7_500),
    "USE_CARD_OVER_CASH": ("SET_BUDGET", 5_000),
}


def booked_profile(
    checked: features.SpendingProfile, window_minor: Mapping[str, int], recent_minor: Mapping[str, int]
) -> features.SpendingProfile:
    """``checked`` (the profile of the checked-transaction history) with its amounts per category
    replaced by the booked ones (``window_minor`` over the profile window, ``recent_minor`` over its
    last RECENT_DAYS days), averaged per 30 days as ``features.spending_profile`` does. Booked
    entries are what really moved (a checked attempt may have failed); recurring charges need the
    merchant of each transaction, which only the checked history has, so they are kept from it."""
    window_days = features.PROFILE_WINDOW_DAYS
    earlier_days = window_days - features.RECENT_DAYS
    total = {c: int(window_minor.get(c, 0)) for c in features.CATEGORIES}
    recent = {c: min(int(recent_minor.get(c, 0)), total[c]) for c in features.CATEGORIES}
    return replace(
        checked,
        monthly_minor={c: total[c] * 30 // window_days for c in features.CATEGORIES},
        recent_minor=recent,
        earlier_monthly_minor={c: (total[c] - recent[c]) * 30 // earlier_days for c in features.CATEGORIES},
    )
