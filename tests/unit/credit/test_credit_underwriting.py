"""Automatic underwriting: pricing by score, affordability, and when to approve, reject or refer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.credit.bureau.base import BureauReport, ScoreBand
from services.credit.domain.amortization import level_installment
from services.credit.domain.model import (
    TRANSITIONS,
    BureauCheck,
    BureauStatus,
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


GOOD_REPORT = BureauReport(
    bureau="sandbox",
    reference="sbxr_test",
    score_band=ScoreBand.VERY_GOOD,
    open_accounts=4,
    delinquencies_24m=0,
    defaults=0,
    inquiries_6m=1,
    history_months=120,
    thin_file=False,
    pull_time=datetime(2026, 1, 5, tzinfo=UTC),
)
CONSENT = datetime(2026, 1, 5, tzinfo=UTC)
GOOD = BureauCheck(BureauStatus.REPORTED, CONSENT, "****1234", GOOD_REPORT)


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
    decision = underwrite(600_000, 12, SOLID, 720, bureau=GOOD)
    assert decision.outcome is Outcome.APPROVE and codes(decision) == ["AUTOMATIC_APPROVAL"]
    assert decision.apr_bps == 1299
    installment = level_installment(600_000, 1299, 12)
    assert decision.debt_to_income_bps == (50_000 + installment) * 10_000 // 500_000


def test_a_low_score_is_rejected_with_the_model_reasons() -> None:
    model = (Reason("DELINQUENCIES", "Late payments."),)
    decision = underwrite(600_000, 12, SOLID, 560, model, bureau=GOOD)
    assert decision.outcome is Outcome.REJECT and codes(decision) == ["LOW_CREDIT_SCORE", "DELINQUENCIES"]


def test_debt_to_income_rejects_above_50_and_refers_above_43_percent() -> None:
    heavy = replace(SOLID, monthly_debt=200_000)
    assert underwrite(3_000_000, 12, heavy, 800, bureau=GOOD).outcome is Outcome.REJECT
    # 2,000 of debt + about 170 of installment on 5,000: 43.x %.
    borderline = replace(SOLID, monthly_debt=200_000)
    decision = underwrite(200_000, 12, borderline, 800, bureau=GOOD)
    assert decision.outcome is Outcome.REFER and codes(decision) == ["ELEVATED_DEBT_TO_INCOME"]


def test_no_income_is_rejected() -> None:
    decision = underwrite(100_000, 12, replace(SOLID, monthly_income=0), 800, bureau=GOOD)
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
    decision = underwrite(600_000, 12, replace(SOLID, **change), score, bureau=GOOD)  # type: ignore[arg-type]
    assert decision.outcome is Outcome.REFER and code in codes(decision)


def test_large_amounts_for_the_income_are_referred() -> None:
    decision = underwrite(6_000_001, 60, SOLID, 820, bureau=GOOD)
    assert decision.outcome is Outcome.REFER and "LARGE_AMOUNT_FOR_INCOME" in codes(decision)


def test_a_retiree_with_no_employment_months_is_not_referred_for_it() -> None:
    retired = replace(SOLID, employment=Employment.RETIRED, employment_months=0)
    assert underwrite(600_000, 12, retired, 760, bureau=GOOD).outcome is Outcome.APPROVE


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


# -- the bureau beside the score ---------------------------------------------------------------------


def test_a_default_on_file_rejects_with_the_bureau_reason_even_with_a_high_score() -> None:
    defaulted = BureauCheck(BureauStatus.REPORTED, CONSENT, "****0002", replace(GOOD_REPORT, defaults=2))
    decision = underwrite(600_000, 12, SOLID, 820, bureau=defaulted)
    assert decision.outcome is Outcome.REJECT and codes(decision) == ["BUREAU_DEFAULT"]
    assert "2 account(s) in default" in decision.reasons[0].description


@pytest.mark.parametrize(
    ("check", "code"),
    [
        (BureauCheck(BureauStatus.UNAVAILABLE, CONSENT, "****0003"), "BUREAU_UNAVAILABLE"),
        (BureauCheck(BureauStatus.NO_CONSENT, None), "BUREAU_CONSENT_MISSING"),
        (
            BureauCheck(
                BureauStatus.REPORTED,
                CONSENT,
                "****0001",
                replace(GOOD_REPORT, history_months=4, open_accounts=1, thin_file=True),
            ),
            "BUREAU_THIN_FILE",
        ),
        (
            BureauCheck(
                BureauStatus.REPORTED, CONSENT, "****9999", replace(GOOD_REPORT, delinquencies_24m=3)
            ),
            "BUREAU_DELINQUENCY_MISMATCH",
        ),
    ],
)
def test_no_report_a_thin_file_or_undeclared_late_payments_refer_never_approve(
    check: BureauCheck, code: str
) -> None:
    decision = underwrite(600_000, 12, SOLID, 820, bureau=check)
    assert decision.outcome is Outcome.REFER and codes(decision) == [code]
    # The APR is still priced from the score, for the underwriter's approval.
    assert decision.apr_bps == 699


def test_our_outage_never_rejects_but_the_declared_facts_still_can() -> None:
    down = BureauCheck(BureauStatus.UNAVAILABLE, CONSENT, "****0003")
    assert underwrite(600_000, 12, SOLID, 820, bureau=down).outcome is Outcome.REFER
    low = underwrite(600_000, 12, SOLID, 560, bureau=down)
    assert low.outcome is Outcome.REJECT and "BUREAU_UNAVAILABLE" not in codes(low)
