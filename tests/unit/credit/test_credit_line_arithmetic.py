"""The arithmetic of credit lines in use: daily interest exact to the minor unit, minimum payments."""

from __future__ import annotations

from datetime import date

import pytest

from services.credit.lines.domain import (
    SCALE,
    Period,
    RepaymentExceedsOwed,
    accrue_day,
    accrue_days,
    exact_interest_scaled,
    minimum_payment,
    month_of,
    split_repayment,
    statement_figures,
)


def test_a_day_of_a_common_year_is_one_365th_of_the_apr() -> None:
    # 100,000.00 at 18.25 %: 18,250.00 a year, 50.00 a day, exactly.
    day = accrue_day(date(2027, 3, 1), 10_000_000, 1825, 0)
    assert (day.interest, day.carry) == (5_000, 0)


def test_a_day_of_a_leap_year_is_one_366th_and_the_fraction_is_carried() -> None:
    day = accrue_day(date(2028, 3, 1), 10_000_000, 1825, 0)
    # 18,250.00 / 366 = 49.8633... a day: 49.86 posted, 0.0033... carried (in 1/SCALE of a cent).
    assert day.interest == 4_986
    assert day.carry == 10_000_000 * 1825 * 365 - 4_986 * SCALE
    assert 0 < day.carry < SCALE


@pytest.mark.parametrize(("year", "days"), [(2027, 365), (2028, 366)])
def test_a_whole_year_charges_the_apr_rounded_down_to_the_minor_unit(year: int, days: int) -> None:
    principal, apr = 123_457, 1_999  # 1,234.57 at 19.99 %: 246.790543 a year
    accrued = accrue_days(date(year, 1, 1), date(year, 12, 31), principal, apr, 0)
    assert len(accrued) == days
    assert sum(d.interest for d in accrued) == 24_679  # 246.79: the exact 246.790543 rounded down
    # Nothing is lost: what is posted plus the carry is the exact interest.
    assert sum(d.interest for d in accrued) * SCALE + accrued[-1].carry == principal * apr * SCALE // 10_000


def test_across_new_year_each_day_uses_its_own_year_length() -> None:
    first, last = date(2027, 12, 30), date(2028, 1, 2)
    accrued = accrue_days(first, last, 777_777, 2_399, 0)
    exact = exact_interest_scaled(777_777, 2_399, first, last)
    assert sum(d.interest for d in accrued) == exact // SCALE
    assert accrued[-1].carry == exact % SCALE
    # Two common-year days and two leap-year days, each exact in 1/SCALE units.
    assert exact == 2 * 777_777 * 2_399 * 366 + 2 * 777_777 * 2_399 * 365


def test_small_balances_accrue_through_the_carry_instead_of_being_lost_or_rounded_up() -> None:
    # 1.00 at 10 %: 0.000274 a day; the first whole cent is charged on day 37, not before.
    accrued = accrue_days(date(2027, 1, 1), date(2027, 2, 28), 100, 1_000, 0)
    charged = [d.day for d in accrued if d.interest]
    assert charged == [date(2027, 2, 6)]
    assert all(0 <= d.carry < SCALE for d in accrued)


def test_zero_principal_or_rate_accrues_nothing_and_keeps_the_carry() -> None:
    assert accrue_day(date(2027, 5, 5), 0, 1_500, 123).interest == 0
    assert accrue_day(date(2027, 5, 5), 0, 1_500, 123).carry == 123
    assert accrue_day(date(2027, 5, 5), 50_000, 0, 0).interest == 0
    with pytest.raises(ValueError):
        accrue_day(date(2027, 5, 5), -1, 1_500, 0)
    with pytest.raises(ValueError):
        accrue_day(date(2027, 5, 5), 1, 1_500, SCALE)


@pytest.mark.parametrize(
    ("closing", "interest", "currency", "expected"),
    [
        (0, 0, "EUR", 0),
        (1_000, 10, "EUR", 1_000),  # below the 25.00 floor: the whole balance, never more
        (100_000, 100, "EUR", 2_500),  # 1 % + interest = 11.00: the floor of 25.00
        (500_000, 7_000, "EUR", 12_000),  # 5,000.00: 50.00 + 70.00 of interest
        (1_234_501, 0, "EUR", 12_346),  # 1 % = 123.4501, rounded up to 123.46
        (100_000, 0, "JPY", 1_000),  # 1 % of 100,000 yen, above the 25 yen floor
        (2_000, 0, "JPY", 25),  # the floor is 25 major units in any currency
    ],
)
def test_minimum_payment(closing: int, interest: int, currency: str, expected: int) -> None:
    assert minimum_payment(closing, interest, currency) == expected


def test_a_minimum_payment_always_covers_the_periods_interest() -> None:
    for closing in range(2_500, 2_000_000, 9_973):
        interest = closing // 50
        assert interest < minimum_payment(closing, interest, "EUR") <= closing


def test_repayments_pay_interest_first_then_principal_and_never_more_than_owed() -> None:
    assert (split_repayment(500, 1_234, 10_000).interest, split_repayment(500, 1_234, 10_000).principal) == (
        500,
        0,
    )
    split = split_repayment(5_000, 1_234, 10_000)
    assert (split.interest, split.principal) == (1_234, 3_766)
    whole = split_repayment(11_234, 1_234, 10_000)
    assert (whole.interest, whole.principal) == (1_234, 10_000)
    with pytest.raises(RepaymentExceedsOwed) as refused:
        split_repayment(11_235, 1_234, 10_000)
    assert refused.value.owed == 11_234
    with pytest.raises(ValueError):
        split_repayment(0, 0, 10)


def test_statement_periods_are_calendar_months_with_a_due_date_25_days_after() -> None:
    feb = month_of(date(2028, 2, 17))
    assert feb == Period(date(2028, 2, 1), date(2028, 2, 29))
    assert feb.due_date == date(2028, 3, 25)
    assert month_of(date(2027, 12, 31)).next() == Period(date(2028, 1, 1), date(2028, 1, 31))


def test_statement_figures_close_to_opening_plus_draws_plus_interest_minus_repayments() -> None:
    figures = statement_figures(
        opening_balance=10_000, draws=50_000, repayments=20_000, interest=321, currency="EUR"
    )
    assert figures.closing_balance == 40_321
    assert figures.minimum_payment == 2_500
    with pytest.raises(ValueError):
        statement_figures(opening_balance=0, draws=0, repayments=1, interest=0, currency="EUR")
