"""The credit_portfolio figures: sums per status, what counts as disbursed, outstanding and overdue."""

from __future__ import annotations

from datetime import date

from services.analytics.domain.portfolio import InstallmentFacts, LoanFacts, LoanStatus, Portfolio

AS_OF = date(2026, 6, 1)


def loan(
    status: LoanStatus,
    approved: int = 0,
    *,
    disbursed: bool = False,
    outstanding: int = 0,
    interest: int = 0,
    installments: tuple[tuple[date, int], ...] = (),
) -> LoanFacts:
    return LoanFacts(
        status,
        approved,
        disbursed,
        outstanding,
        interest,
        tuple(InstallmentFacts(due, unpaid) for due, unpaid in installments),
    )


def test_every_status_has_a_row_in_contract_order_even_without_loans() -> None:
    rows = Portfolio(AS_OF).rows()
    assert [r.status for r in rows] == list(LoanStatus)
    assert all(r.application_count == 0 and r.overdue_minor == 0 for r in rows)
    total = Portfolio(AS_OF).total()
    assert total.status is None and total.application_count == 0


def test_only_disbursed_loans_count_as_paid_out_outstanding_and_overdue() -> None:
    book = Portfolio(AS_OF)
    # An approved offer has a schedule with past "due" dates only in theory: it owes nothing.
    book.add(
        loan(LoanStatus.APPROVED, 300_000, outstanding=300_000, installments=((date(2026, 5, 1), 26_000),))
    )
    book.add(loan(LoanStatus.CANCELLED, 100_000, outstanding=100_000))
    book.add(
        loan(
            LoanStatus.DISBURSED,
            600_000,
            disbursed=True,
            outstanding=550_000,
            interest=6_000,
            installments=(
                (date(2026, 4, 30), 0),  # paid
                (date(2026, 5, 31), 53_000),  # due the day before: overdue
                (date(2026, 6, 1), 53_000),  # due on the as-of day: not yet
                (date(2026, 7, 1), 53_000),
            ),
        )
    )
    book.add(
        loan(
            LoanStatus.DISBURSED,
            200_000,
            disbursed=True,
            outstanding=200_000,
            installments=((date(2026, 5, 15), 10_000),),
        )
    )  # partly paid, overdue for the rest
    book.add(
        loan(LoanStatus.REPAID, 100_000, disbursed=True, interest=900, installments=((date(2026, 5, 1), 0),))
    )
    book.add(loan(LoanStatus.REJECTED))
    by = {r.status: r for r in book.rows()}
    approved, disbursed, repaid = by[LoanStatus.APPROVED], by[LoanStatus.DISBURSED], by[LoanStatus.REPAID]
    assert (
        approved.application_count,
        approved.approved_minor,
        approved.disbursed_minor,
        approved.outstanding_minor,
        approved.overdue_installments,
    ) == (1, 300_000, 0, 0, 0)
    assert (
        disbursed.application_count,
        disbursed.approved_minor,
        disbursed.disbursed_minor,
        disbursed.outstanding_minor,
        disbursed.interest_repaid_minor,
        disbursed.overdue_installments,
        disbursed.overdue_minor,
    ) == (2, 800_000, 800_000, 750_000, 6_000, 2, 63_000)
    assert (
        repaid.disbursed_minor,
        repaid.outstanding_minor,
        repaid.interest_repaid_minor,
        repaid.overdue_installments,
    ) == (100_000, 0, 900, 0)
    assert by[LoanStatus.REJECTED].application_count == 1
    total = book.total()
    assert (
        total.application_count,
        total.approved_minor,
        total.disbursed_minor,
        total.outstanding_minor,
        total.interest_repaid_minor,
        total.overdue_installments,
        total.overdue_minor,
    ) == (6, 1_300_000, 900_000, 750_000, 6_900, 2, 63_000)
