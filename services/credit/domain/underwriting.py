"""Automatic underwriting: price the APR from the score, check affordability, decide.

The outcome is APPROVE, REJECT or REFER (to an underwriter). Thresholds are
module constants so a credit-policy change is one reviewed diff here.

The bureau check sits beside the AI score: a default on file rejects; a thin file, a bureau
that reports more late payments than the applicant declared, a bureau that could not be
reached and a missing consent refer to an underwriter. Our outage or a missing consent never
rejects and never lets an application be approved without a report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from services.credit.domain.amortization import BPS, level_installment
from services.credit.domain.model import BureauCheck, BureauStatus, Employment, Financials, Reason

MIN_TERM_MONTHS = 3
MAX_TERM_MONTHS = 60
MAX_APR_BPS = 3600

# (lowest score, APR in bps): the first row whose score the applicant reaches prices the loan.
PRICING: tuple[tuple[int, int], ...] = ((800, 699), (740, 899), (670, 1299), (620, 1799), (580, 2499))
REJECT_BELOW_SCORE = 580
REFER_BELOW_SCORE = 620
# Debt-to-income after the new installment.
REFER_ABOVE_DTI_BPS = 4300
REJECT_ABOVE_DTI_BPS = 5000
MIN_EMPLOYMENT_MONTHS = 6
# Requests above this many months of gross income go to an underwriter.
MAX_AUTO_AMOUNT_INCOME_MONTHS = 12
# A DTI with no income is infinite; this caps what is stored and returned (int32).
DTI_CAP_BPS = 1_000_000


class Outcome(Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    REFER = "REFER"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    apr_bps: int  # priced APR; 0 when the score could not price one
    debt_to_income_bps: int


def price_apr(score: int) -> int | None:
    """The APR for ``score``, or None when the score is below the lowest priced band."""
    for floor, apr in PRICING:
        if score >= floor:
            return apr
    return None


def debt_to_income_bps(monthly_debt: int, installment: int, monthly_income: int) -> int:
    if monthly_income <= 0:
        return DTI_CAP_BPS
    return min(DTI_CAP_BPS, (monthly_debt + installment) * BPS // monthly_income)


def underwrite(
    amount: int,
    term_months: int,
    financials: Financials,
    score: int | None,
    model_reasons: tuple[Reason, ...] = (),
    *,
    bureau: BureauCheck,
) -> Decision:
    """Decide an application from its score (None when the model could not be reached), its bureau
    check and affordability."""
    apr = price_apr(score) if score is not None else None
    # Affordability is judged at the priced APR, or at the highest priced APR when there is none.
    installment = level_installment(amount, apr if apr is not None else PRICING[-1][1], term_months)
    dti = debt_to_income_bps(financials.monthly_debt, installment, financials.monthly_income)

    rejections: list[Reason] = []
    if score is not None and score < REJECT_BELOW_SCORE:
        rejections.append(
            Reason(
                "LOW_CREDIT_SCORE", f"The credit score {score} is below the minimum of {REJECT_BELOW_SCORE}."
            )
        )
        rejections.extend(model_reasons)
    if financials.monthly_income <= 0:
        rejections.append(Reason("NO_INCOME", "No monthly income was declared to repay the loan from."))
    bureau_rejections, bureau_referrals = bureau_findings(bureau, financials)
    rejections.extend(bureau_rejections)
    if financials.monthly_income > 0 and dti > REJECT_ABOVE_DTI_BPS:
        rejections.append(
            Reason(
                "HIGH_DEBT_TO_INCOME",
                f"Monthly debt payments including this loan would be {dti / 100:.2f}% of income, "
                f"above the maximum of {REJECT_ABOVE_DTI_BPS // 100}%.",
            )
        )
    if rejections:
        return Decision(Outcome.REJECT, tuple(rejections), apr or 0, dti)

    referrals: list[Reason] = list(bureau_referrals)
    if score is None:
        referrals.append(
            Reason(
                "SCORING_UNAVAILABLE", "The credit score could not be computed; an underwriter will review."
            )
        )
    elif score < REFER_BELOW_SCORE:
        referrals.append(
            Reason(
                "BORDERLINE_CREDIT_SCORE",
                f"The credit score {score} is in the range reviewed by an underwriter.",
            )
        )
    if dti > REFER_ABOVE_DTI_BPS:
        referrals.append(
            Reason(
                "ELEVATED_DEBT_TO_INCOME",
                f"Monthly debt payments including this loan would be {dti / 100:.2f}% of income.",
            )
        )
    if financials.employment in (Employment.UNEMPLOYED, Employment.STUDENT):
        referrals.append(Reason("NO_EMPLOYMENT_INCOME", "The applicant declares no employment income."))
    elif (
        financials.employment in (Employment.EMPLOYED, Employment.SELF_EMPLOYED)
        and financials.employment_months < MIN_EMPLOYMENT_MONTHS
    ):
        referrals.append(
            Reason(
                "SHORT_EMPLOYMENT_HISTORY",
                f"The current employment is shorter than {MIN_EMPLOYMENT_MONTHS} months.",
            )
        )
    if amount > MAX_AUTO_AMOUNT_INCOME_MONTHS * financials.monthly_income:
        referrals.append(
            Reason(
                "LARGE_AMOUNT_FOR_INCOME",
                f"The amount exceeds {MAX_AUTO_AMOUNT_INCOME_MONTHS} months of income.",
            )
        )
    if referrals:
        return Decision(Outcome.REFER, tuple(referrals), apr or 0, dti)

    assert apr is not None and score is not None
    return Decision(
        Outcome.APPROVE,
        (
            Reason(
                "AUTOMATIC_APPROVAL",
                f"Credit score {score} and a debt-to-income ratio of {dti / 100:.2f}% "
                "meet the approval criteria.",
            ),
        ),
        apr,
        dti,
    )


def bureau_findings(check: BureauCheck, financials: Financials) -> tuple[list[Reason], list[Reason]]:
    """The rejections and referrals the bureau check calls for."""
    if check.status is BureauStatus.NO_CONSENT:
        return [], [
            Reason(
                "BUREAU_CONSENT_MISSING",
                "The applicant did not consent to a credit-bureau check; an underwriter will review.",
            )
        ]
    if check.status is BureauStatus.UNAVAILABLE or check.report is None:
        return [], [
            Reason(
                "BUREAU_UNAVAILABLE",
                "The credit bureau could not be reached; an underwriter will review.",
            )
        ]
    report = check.report
    if report.defaults > 0:
        return [
            Reason(
                "BUREAU_DEFAULT",
                f"The credit bureau reports {report.defaults} account(s) in default.",
            )
        ], []
    referrals: list[Reason] = []
    if report.thin_file:
        referrals.append(
            Reason(
                "BUREAU_THIN_FILE",
                f"The credit bureau holds too little history ({report.history_months} months, "
                f"{report.open_accounts} open account(s)) to decide automatically.",
            )
        )
    if report.delinquencies_24m > financials.delinquencies_24m:
        referrals.append(
            Reason(
                "BUREAU_DELINQUENCY_MISMATCH",
                f"The credit bureau reports {report.delinquencies_24m} late payment(s) in 24 months; "
                f"{financials.delinquencies_24m} were declared.",
            )
        )
    return [], referrals
