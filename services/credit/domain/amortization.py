"""Amortization schedules exact to the minor unit, and applying repayments to them.

Rates are integer basis points and all arithmetic is on integers and exact
fractions: the level installment and each month's interest are rounded half to
even once, and the last installment takes whatever principal remains, so the
principals always sum to the loan amount.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

BPS = 10_000
MONTHS_PER_YEAR = 12


def round_half_even(value: Fraction) -> int:
    # Python's round() on a Fraction rounds half to even, exactly.
    return round(value)


def monthly_rate(apr_bps: int) -> Fraction:
    return Fraction(apr_bps, BPS * MONTHS_PER_YEAR)


def level_installment(principal_minor: int, apr_bps: int, term_months: int) -> int:
    """The annuity payment P*r / (1 - (1 + r)**-n), rounded half to even to the minor unit."""
    if term_months <= 0:
        raise ValueError("term_months must be positive")
    rate = monthly_rate(apr_bps)
    if rate == 0:
        return round_half_even(Fraction(principal_minor, term_months))
    growth = (1 + rate) ** term_months
    return round_half_even(principal_minor * rate * growth / (growth - 1))


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clipped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    principal: int
    interest: int
    remaining: int
    paid: int = 0

    @property
    def total(self) -> int:
        return self.principal + self.interest

    @property
    def unpaid(self) -> int:
        return self.total - self.paid

    @property
    def interest_paid(self) -> int:
        # Each installment's payments go to its interest first.
        return min(self.paid, self.interest)

    @property
    def principal_paid(self) -> int:
        return self.paid - self.interest_paid


@dataclass(frozen=True)
class Schedule:
    installment_amount: int
    installments: tuple[Installment, ...]

    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.installments)

    @property
    def total_principal(self) -> int:
        return sum(i.principal for i in self.installments)


def build_schedule(principal_minor: int, apr_bps: int, term_months: int, start: date) -> Schedule:
    """The monthly schedule of a loan of ``principal_minor`` paid out on ``start``."""
    if principal_minor <= 0:
        raise ValueError("principal must be positive")
    payment = level_installment(principal_minor, apr_bps, term_months)
    rate = monthly_rate(apr_bps)
    remaining = principal_minor
    rows: list[Installment] = []
    for number in range(1, term_months + 1):
        interest = round_half_even(remaining * rate)
        # The last takes what remains; before it, never more than is owed and never negative.
        principal = remaining if number == term_months else max(0, min(payment - interest, remaining))
        remaining -= principal
        rows.append(Installment(number, add_months(start, number), principal, interest, remaining))
    return Schedule(payment, tuple(rows))


def redate(schedule: Schedule, start: date) -> Schedule:
    """The same schedule with due dates counted from ``start`` (the disbursement date)."""
    return replace(
        schedule,
        installments=tuple(replace(i, due_date=add_months(start, i.number)) for i in schedule.installments),
    )


@dataclass(frozen=True)
class Allocation:
    """How a repayment was applied: the schedule after it and the split of the amount."""

    installments: tuple[Installment, ...]
    principal: int
    interest: int


class RepaymentExceedsBalance(ValueError):
    """The amount is more than everything still owed."""


def outstanding(installments: tuple[Installment, ...]) -> int:
    return sum(i.unpaid for i in installments)


def apply_repayment(installments: tuple[Installment, ...], amount_minor: int) -> Allocation:
    """Apply ``amount_minor`` to the installments in due order, each one's interest before its principal.

    What is left after the installments due prepays the following ones in the same order.
    """
    if amount_minor <= 0:
        raise ValueError("amount must be positive")
    if amount_minor > outstanding(installments):
        raise RepaymentExceedsBalance(f"{amount_minor} exceeds the outstanding {outstanding(installments)}")
    left = amount_minor
    principal = interest = 0
    result: list[Installment] = []
    for item in sorted(installments, key=lambda i: (i.due_date, i.number)):
        take = min(left, item.unpaid)
        if take:
            after = replace(item, paid=item.paid + take)
            interest += after.interest_paid - item.interest_paid
            principal += after.principal_paid - item.principal_paid
            item, left = after, left - take
        result.append(item)
    result.sort(key=lambda i: i.number)
    return Allocation(tuple(result), principal, interest)


def installment_state(item: Installment, today: date) -> str:
    """PAID, OVERDUE, PARTIALLY_PAID or SCHEDULED, as of ``today``."""
    if item.unpaid == 0:
        return "PAID"
    if item.due_date < today:
        return "OVERDUE"
    return "PARTIALLY_PAID" if item.paid else "SCHEDULED"
