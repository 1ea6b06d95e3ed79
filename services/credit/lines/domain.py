"""The arithmetic of a credit line in use, exact to the minor unit (plain integers, no I/O).

Interest: simple daily interest on the principal drawn (interest is never charged on interest),
at the line's APR, actual/actual: a day of a 366-day year costs ``apr / 366``, a day of a
365-day year ``apr / 365``. Each day's interest is computed exactly in units of
``1 / SCALE`` of a minor unit, where ``SCALE = 10_000 x 365 x 366`` is a common multiple of
every day's denominator, so no division ever rounds. Only whole minor units are posted; the
fraction left (the *carry*, always below one minor unit) is added to the next day's. So the
interest posted over any run of days is the exact interest of those days rounded down, never
more: the customer is never charged a fraction they do not owe, and nothing is lost either,
since the carry is kept until it adds up to a unit.

Minimum payment of a statement: the greater of a floor (25 major units of the currency) and 1 %
of the closing balance (rounded up) plus the period's interest, capped at the closing balance.
A payment of the minimum thus always covers the interest and reduces the principal.

Repayment order: interest first, then principal. A repayment above what is owed (interest
plus principal) is refused, never kept as a credit balance.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from services.runtime.money import CURRENCY_EXPONENTS

BPS = 10_000
# A common multiple of the daily denominators of both year lengths (10,000 bps x 365 x 366).
SCALE = BPS * 365 * 366
MINIMUM_PAYMENT_FLOOR_MAJOR = 25
MINIMUM_PAYMENT_BPS = 100  # 1 % of the closing balance
DUE_AFTER_DAYS = 25  # after the statement's closing day


def days_in_year(day: date) -> int:
    return 366 if calendar.isleap(day.year) else 365


@dataclass(frozen=True)
class DayInterest:
    """One day's accrual: the whole minor units to post and the fraction carried to the next day."""

    day: date
    principal: int
    interest: int
    carry: int  # in 1/SCALE of a minor unit, 0 <= carry < SCALE


def accrue_day(day: date, principal: int, apr_bps: int, carry: int) -> DayInterest:
    """The interest of ``day`` on ``principal`` at ``apr_bps``, with ``carry`` from the days before."""
    if principal < 0 or apr_bps < 0 or not 0 <= carry < SCALE:
        raise ValueError("principal, rate and carry must be non-negative (carry below one unit)")
    # principal x apr/BPS / days_in_year minor units, in 1/SCALE units: x SCALE exactly.
    exact = principal * apr_bps * (SCALE // (BPS * days_in_year(day)))
    whole, carry = divmod(carry + exact, SCALE)
    return DayInterest(day, principal, whole, carry)


def accrue_days(first: date, last: date, principal: int, apr_bps: int, carry: int) -> list[DayInterest]:
    """Each day from ``first`` to ``last`` (inclusive) on a constant principal."""
    out: list[DayInterest] = []
    day = first
    while day <= last:
        accrued = accrue_day(day, principal, apr_bps, carry)
        carry = accrued.carry
        out.append(accrued)
        day += timedelta(days=1)
    return out


def exact_interest_scaled(principal: int, apr_bps: int, first: date, last: date) -> int:
    """The exact interest of the days ``first``..``last`` in 1/SCALE units (for checks and tests)."""
    total = 0
    day = first
    while day <= last:
        total += principal * apr_bps * (SCALE // (BPS * days_in_year(day)))
        day += timedelta(days=1)
    return total


def minimum_payment(closing_balance: int, period_interest: int, currency: str) -> int:
    """max(floor, ceil(1 % of the closing balance) + the period's interest), capped at the balance."""
    if closing_balance <= 0:
        return 0
    floor = MINIMUM_PAYMENT_FLOOR_MAJOR * 10 ** CURRENCY_EXPONENTS.get(currency, 2)
    share = -(-closing_balance * MINIMUM_PAYMENT_BPS // BPS)  # rounded up
    return min(closing_balance, max(floor, share + period_interest))


@dataclass(frozen=True)
class Split:
    interest: int
    principal: int


class RepaymentExceedsOwed(ValueError):
    def __init__(self, owed: int) -> None:
        super().__init__(f"the repayment exceeds the {owed} owed")
        self.owed = owed


def split_repayment(amount: int, interest_due: int, principal: int) -> Split:
    """Interest first, then principal; more than both together is refused."""
    if amount <= 0:
        raise ValueError("a repayment is above zero")
    owed = interest_due + principal
    if amount > owed:
        raise RepaymentExceedsOwed(owed)
    interest = min(amount, interest_due)
    return Split(interest, amount - interest)


@dataclass(frozen=True)
class Period:
    """A statement period: a calendar month (UTC), ``first`` to ``last`` inclusive."""

    first: date
    last: date

    @property
    def due_date(self) -> date:
        return self.last + timedelta(days=DUE_AFTER_DAYS)

    def next(self) -> Period:
        return month_of(self.last + timedelta(days=1))


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    return Period(first, first.replace(day=calendar.monthrange(day.year, day.month)[1]))


@dataclass(frozen=True)
class StatementFigures:
    opening_balance: int
    draws: int
    repayments: int
    interest: int
    closing_balance: int
    minimum_payment: int


def statement_figures(
    *, opening_balance: int, draws: int, repayments: int, interest: int, currency: str
) -> StatementFigures:
    """A period's figures; the closing balance (principal and unpaid interest) follows from them."""
    closing = opening_balance + draws + interest - repayments
    if closing < 0:
        raise ValueError("a statement never closes below zero: repayments are capped at what is owed")
    return StatementFigures(
        opening_balance, draws, repayments, interest, closing, minimum_payment(closing, interest, currency)
    )
