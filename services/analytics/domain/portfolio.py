"""The credit_portfolio report's figures: the credit service's loan applications summed per status.

Plain integers in minor units of the report's one currency. Loans arrive a page at
a time and are folded into running sums, so a report never holds the whole book.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date


class LoanStatus(enum.IntEnum):
    """The credit contract's LoanApplicationStatus numbers, in the report's row order."""

    SUBMITTED = 1
    UNDER_REVIEW = 2
    APPROVED = 3
    REJECTED = 4
    DISBURSED = 5
    REPAID = 6
    CANCELLED = 7


@dataclass(frozen=True)
class InstallmentFacts:
    due_date: date
    unpaid_minor: int


@dataclass(frozen=True)
class LoanFacts:
    """What the report needs of one application, as the credit service returns it."""

    status: LoanStatus
    approved_minor: int
    disbursed: bool
    outstanding_minor: int
    interest_repaid_minor: int
    installments: tuple[InstallmentFacts, ...] = ()


@dataclass
class StatusFigures:
    # None in the totals row.
    status: LoanStatus | None
    application_count: int = 0
    approved_minor: int = 0
    disbursed_minor: int = 0
    outstanding_minor: int = 0
    interest_repaid_minor: int = 0
    overdue_installments: int = 0
    overdue_minor: int = 0


@dataclass
class Portfolio:
    """Running sums per status; ``as_of`` is the day overdue is measured against."""

    as_of: date
    by_status: dict[LoanStatus, StatusFigures] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for status in LoanStatus:
            self.by_status.setdefault(status, StatusFigures(status))

    def add(self, loan: LoanFacts) -> None:
        figures = self.by_status[loan.status]
        figures.application_count += 1
        figures.approved_minor += loan.approved_minor
        figures.interest_repaid_minor += loan.interest_repaid_minor
        if not loan.disbursed:
            # An offer (approved, or cancelled before pay-out) owes nothing: no money left the platform.
            return
        figures.disbursed_minor += loan.approved_minor
        figures.outstanding_minor += loan.outstanding_minor
        for item in loan.installments:
            # The credit service's rule: unpaid after its due day (same as InstallmentStatus OVERDUE).
            if item.unpaid_minor > 0 and item.due_date < self.as_of:
                figures.overdue_installments += 1
                figures.overdue_minor += item.unpaid_minor

    def extend(self, loans: Iterable[LoanFacts]) -> None:
        for loan in loans:
            self.add(loan)

    def rows(self) -> list[StatusFigures]:
        return [self.by_status[status] for status in LoanStatus]

    def total(self) -> StatusFigures:
        rows = self.rows()
        return StatusFigures(
            None,
            sum(r.application_count for r in rows),
            sum(r.approved_minor for r in rows),
            sum(r.disbursed_minor for r in rows),
            sum(r.outstanding_minor for r in rows),
            sum(r.interest_repaid_minor for r in rows),
            sum(r.overdue_installments for r in rows),
            sum(r.overdue_minor for r in rows),
        )
