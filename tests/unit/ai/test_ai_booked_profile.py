"""The spending profile of recommendations with the booked spending per category from analytics:
amounts averaged per 30 days as features.spending_profile does, recurring charges kept from the
checked history."""

from __future__ import annotations

from services.ai import features
from services.ai.recommendations import booked_profile

DAY = features.SECONDS_PER_DAY


def test_booked_amounts_replace_the_checked_ones_and_recurring_charges_stay() -> None:
    as_of = 200 * DAY
    checked = features.spending_profile(
        [as_of - d * DAY for d in (75, 45, 15)],
        [999, 999, 999],
        ["subscriptions"] * 3,
        ["m_tv"] * 3,
        as_of=as_of,
    )
    profile = booked_profile(
        checked,
        {"entertainment": 71_200, "grocery": 9_000, "fees": 0},
        {"entertainment": 1_200, "grocery": 12_000},
    )
    assert profile.monthly_minor["entertainment"] == 71_200 * 30 // 90 == 23_733
    assert profile.recent_minor["entertainment"] == 1_200
    assert profile.earlier_monthly_minor["entertainment"] == (71_200 - 1_200) * 30 // 60
    # The recent part can never exceed the window it belongs to.
    assert profile.recent_minor["grocery"] == 9_000 and profile.earlier_monthly_minor["grocery"] == 0
    assert profile.monthly_minor["subscriptions"] == 0  # booked figures only
    assert profile.recurring == checked.recurring
    assert set(profile.monthly_minor) == set(features.CATEGORIES)
