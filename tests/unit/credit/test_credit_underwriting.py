"""Automatic underwriting: pricing by score, affordability, and when to approve, reject or refer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.credit.domain.amortization import level_installment
from services.credit.domain.model import (
    TRANSITIONS,
    Employment,
    Financials,
    Reason,
    Status,
    can_transition,
)
from services.credit.domain.underwriting import Outcome, debt_to_income_bps, price_apr, underwrite

SOLID = Financials(
    currency="EUR",
    monthly_income=500_000,
    monthly_debt=50_000,
    employment=Employment.EMPLOYED,
    employment_months=48,
)


def codes(decision: object) -> list[str]:
    return [r.code for r in decision.reasons]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("score", "apr"),
    [
        (850, 699),
        (800, 699),
        (799, 899),
        (740, 899),
        (700, 1299),
        (670, 1299),
        (669, 1799),
        (620, 1799),
        (600, 2499),
        (580, 2499),
        (579, None),
        (300, None),
    ],
)
def test_apr_is_priced_by_score_band(score: int, apr: int | None) -> None:
    assert price_apr(score) == apr


def test_a_good_score_and_affordable_loan_is_approved() -> None:
    decision = underwrite(600_000, 12, SOLID, 720)
    assert decision.outcome is Outcome.APPROVE and codes(decision) == ["AUTOMATIC_APPROVAL"]
    assert decision.apr_bps == 1299
    installment = level_installment(600_000, 1299, 12)
    assert decision.debt_to_income_bps == (50_000 + installment) * 10_000 // 500_000


def test_a_low_score_is_rejected_with_the_model_reasons() -> None:
    model = (Reason("DELINQUENCIES", "Late payments."),)
    decision = underwrite(600_000, 12, SOLID, 560, model)
    assert decision.outcome is Outcome.REJECT and codes(decision) == ["LOW_CREDIT_SCORE", "DELINQUENCIES"]


def test_debt_to_income_rejects_above_50_and_refers_above_43_percent() -> None:
    heavy = replace(SOLID, monthly_debt=200_000)
    assert underwrite(3_000_000, 12, heavy, 800).outcome is Outcome.REJECT
    # 2,000 of debt + about 170 of installment on 5,000: 43.x %.
    borderline = replace(SOLID, monthly_debt=200_000)
    decision = underwrite(200_000, 12, borderline, 800)
    assert decision.outcome is Outcome.REFER and codes(decision) == ["ELEVATED_DEBT_TO_INCOME"]


def test_no_income_is_rejected() -> None:
    decision = underwrite(100_000, 12, replace(SOLID, monthly_income=0), 800)
    assert decision.outcome is Outcome.REJECT and "NO_INCOME" in codes(decision)
    assert debt_to_income_bps(1, 1, 0) == 1_000_000


@pytest.mark.parametrize(
    ("change", "score", "code"),
    [
        ({}, None, "SCORING_UNAVAILABLE"),
        ({}, 600, "BORDERLINE_CREDIT_SCORE"),
        ({"employment": Employment.UNEMPLOYED}, 800, "NO_EMPLOYMENT_INCOME"),
        ({"employment": Employment.STUDENT}, 800, "NO_EMPLOYMENT_INCOME"),
        ({"employment_months": 5}, 800, "SHORT_EMPLOYMENT_HISTORY"),
    ],
)
def test_referrals(change: dict[str, object], score: int | None, code: str) -> None:
    decision = underwrite(600_000, 12, replace(SOLID, **change), score)  # type: ignore[arg-type]
    assert decision.outcome is Outcome.REFER and code in codes(decision)


def test_large_amounts_for_the_income_are_referred() -> None:
    decision = underwrite(6_000_001, 60, SOLID, 820)
    assert decision.outcome is Outcome.REFER and "LARGE_AMOUNT_FOR_INCOME" in codes(decision)


def test_a_retiree_with_no_employment_months_is_not_referred_for_it() -> None:
    retired = replace(SOLID, employment=Employment.RETIRED, employment_months=0)
    assert underwrite(600_000, 12, retired, 760).outcome is Outcome.APPROVE


def test_only_the_documented_transitions_are_legal() -> None:
    legal = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert legal == {
        (Status.SUBMITTED, Status.UNDER_REVIEW),
        (Status.SUBMITTED, Status.APPROVED),
        (Status.SUBMITTED, Status.REJECTED),
        (Status.SUBMITTED, Status.CANCELLED),
        (Status.UNDER_REVIEW, Status.APPROVED),
        (Status.UNDER_REVIEW, Status.REJECTED),
        (Status.UNDER_REVIEW, Status.CANCELLED),
        (Status.APPROVED, Status.DISBURSED),
        (Status.APPROVED, Status.CANCELLED),
        (Status.DISBURSED, Status.REPAID),
    }
    assert not can_transition(Status.REPAID, Status.DISBURSED)
