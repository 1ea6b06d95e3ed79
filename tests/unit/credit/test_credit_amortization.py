"""Amortization schedules exact to the minor unit, and repayments applied to them."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from services.credit.domain.amortization import (
    RepaymentExceedsBalance,
    add_months,
    apply_repayment,
    build_schedule,
    installment_state,
    level_installment,
    outstanding,
    redate,
    round_half_even,
)

START = date(2026, 1, 31)


def test_the_textbook_annuity() -> None:
    # 10,000.00 at 12% APR over 12 months: 888.49 a month (standard annuity tables).
    assert level_installment(1_000_000, 1200, 12) == 88_849
    schedule = build_schedule(1_000_000, 1200, 12, START)
    assert schedule.installments[0].interest == 10_000  # 1% of the principal in month one
    assert schedule.installments[0].principal == 78_849


@pytest.mark.parametrize(
    ("principal", "apr", "term"),
    [
        (1_000_000, 1200, 12),
        (600_000, 1299, 12),
        (100, 2499, 60),
        (1, 699, 3),
        (123_457, 0, 7),
        (999_999_999, 3600, 60),
        (300_000, 1799, 3),
        (10_000, 1, 60),
    ],
)
def test_principals_sum_to_the_loan_and_the_last_installment_absorbs_rounding(
    principal: int, apr: int, term: int
) -> None:
    schedule = build_schedule(principal, apr, term, START)
    rows = schedule.installments
    assert len(rows) == term and [r.number for r in rows] == list(range(1, term + 1))
    assert sum(r.principal for r in rows) == principal
    assert rows[-1].remaining == 0
    assert all(r.principal >= 0 and r.interest >= 0 for r in rows)
    # Every installment but the last is the level payment (while principal remains).
    assert all(r.total == schedule.installment_amount for r in rows[:-1] if r.principal)
    remaining = principal
    for row in rows:
        # Interest is the month's rate on what was owed, rounded half to even, exactly.
        assert row.interest == round_half_even(Fraction(remaining * apr, 120_000))
        remaining -= row.principal
        assert row.remaining == remaining


def test_zero_rate_splits_evenly_with_the_remainder_last() -> None:
    rows = build_schedule(1_000, 0, 3, START).installments
    assert [r.principal for r in rows] == [333, 333, 334] and all(r.interest == 0 for r in rows)


def test_half_to_even_rounding() -> None:
    assert [round_half_even(Fraction(n, 2)) for n in (1, 3, 5, -1)] == [0, 2, 2, 0]


def test_due_dates_are_monthly_and_clipped_to_the_month_end() -> None:
    rows = build_schedule(100_000, 1000, 4, START).installments
    assert [r.due_date for r in rows] == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]
    assert add_months(date(2027, 12, 15), 2) == date(2028, 2, 15)
    moved = redate(build_schedule(100_000, 1000, 4, START), date(2026, 3, 10))
    assert [r.due_date for r in moved.installments][:2] == [date(2026, 4, 10), date(2026, 5, 10)]


def test_a_repayment_pays_interest_before_principal_in_due_order_and_prepays_the_rest() -> None:
    rows = build_schedule(300_000, 1200, 3, START).installments
    first, second = rows[0], rows[1]
    part = apply_repayment(rows, first.interest + 10)
    assert (part.interest, part.principal) == (first.interest, 10)
    assert part.installments[0].paid == first.interest + 10 and part.installments[1].paid == 0

    beyond = apply_repayment(part.installments, first.total - part.installments[0].paid + second.interest + 5)
    assert beyond.installments[0].unpaid == 0
    assert beyond.installments[1].paid == second.interest + 5
    assert beyond.interest == second.interest and beyond.principal == first.total - first.interest - 10 + 5

    rest = outstanding(beyond.installments)
    final = apply_repayment(beyond.installments, rest)
    assert outstanding(final.installments) == 0
    total_principal = part.principal + beyond.principal + final.principal
    total_interest = part.interest + beyond.interest + final.interest
    assert total_principal == 300_000 and total_interest == sum(r.interest for r in rows)


def test_a_repayment_above_the_balance_or_not_positive_is_refused() -> None:
    rows = build_schedule(1_000, 1000, 3, START).installments
    with pytest.raises(RepaymentExceedsBalance):
        apply_repayment(rows, outstanding(rows) + 1)
    with pytest.raises(ValueError, match="positive"):
        apply_repayment(rows, 0)


def test_installment_states() -> None:
    row = build_schedule(1_000, 1000, 3, START).installments[0]
    before, after = date(2026, 2, 1), date(2026, 3, 1)
    assert installment_state(row, before) == "SCHEDULED"
    assert installment_state(row, after) == "OVERDUE"
    partial = apply_repayment((row,), 1).installments[0]
    assert installment_state(partial, before) == "PARTIALLY_PAID"
    assert installment_state(partial, after) == "OVERDUE"
    paid = apply_repayment((row,), row.total).installments[0]
    assert installment_state(paid, after) == "PAID"
