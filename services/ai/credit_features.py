"""The credit model's applicant features, for training (columns) and serving (one applicant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.ai.feature_vocabulary import FloatArray, IntArray

CREDIT_FEATURE_NAMES: tuple[str, ...] = (
    "log_annual_income",
    "debt_to_income",
    "utilization",
    "log_history_months",
    "delinquencies_2y",
    "inquiries_6m",
)

#: Direction in which each credit feature must move the score (+1: a higher
#: value never lowers the score). Checked on the fitted coefficients.
CREDIT_SCORE_DIRECTION: dict[str, int] = {
    "log_annual_income": 1,
    "debt_to_income": -1,
    "utilization": -1,
    "log_history_months": 1,
    "delinquencies_2y": -1,
    "inquiries_6m": -1,
}

#: Adverse-action reason codes, one per feature, used when it lowers the score.
CREDIT_REASON_CODES: dict[str, tuple[str, str]] = {
    "log_annual_income": ("INCOME_LOW", "Income is low"),
    "debt_to_income": ("DEBT_TO_INCOME_HIGH", "Debt payments are high relative to income"),
    "utilization": ("UTILIZATION_HIGH", "Revolving credit utilization is high"),
    "log_history_months": ("HISTORY_SHORT", "Credit history is short"),
    "delinquencies_2y": ("DELINQUENCIES", "Delinquencies in the last two years"),
    "inquiries_6m": ("INQUIRIES_MANY", "Many credit inquiries in the last six months"),
}

MAX_DEBT_TO_INCOME = 2.0
MAX_UTILIZATION = 1.5
MAX_DELINQUENCIES = 10
MAX_INQUIRIES = 20


@dataclass(frozen=True, slots=True)
class Applicant:
    """A credit applicant. Money in integer minor units (reference currency)."""

    annual_income_minor: int
    monthly_debt_payments_minor: int
    credit_history_months: int
    revolving_balance_minor: int
    revolving_limit_minor: int
    delinquencies_2y: int
    inquiries_6m: int

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Applicant.{name} must be an int")
            if value < 0:
                raise ValueError(f"Applicant.{name} must be non-negative")


@dataclass(frozen=True)
class ApplicantColumns:
    """Applicants as integer columns (training and batch scoring)."""

    annual_income_minor: IntArray
    monthly_debt_payments_minor: IntArray
    credit_history_months: IntArray
    revolving_balance_minor: IntArray
    revolving_limit_minor: IntArray
    delinquencies_2y: IntArray
    inquiries_6m: IntArray

    def __len__(self) -> int:
        return len(self.annual_income_minor)

    @classmethod
    def from_applicants(cls, applicants: Sequence[Applicant]) -> ApplicantColumns:
        def col(name: str) -> IntArray:
            return np.array([getattr(a, name) for a in applicants], dtype=np.int64)

        return cls(
            annual_income_minor=col("annual_income_minor"),
            monthly_debt_payments_minor=col("monthly_debt_payments_minor"),
            credit_history_months=col("credit_history_months"),
            revolving_balance_minor=col("revolving_balance_minor"),
            revolving_limit_minor=col("revolving_limit_minor"),
            delinquencies_2y=col("delinquencies_2y"),
            inquiries_6m=col("inquiries_6m"),
        )

    def row(self, i: int) -> Applicant:
        return Applicant(
            annual_income_minor=int(self.annual_income_minor[i]),
            monthly_debt_payments_minor=int(self.monthly_debt_payments_minor[i]),
            credit_history_months=int(self.credit_history_months[i]),
            revolving_balance_minor=int(self.revolving_balance_minor[i]),
            revolving_limit_minor=int(self.revolving_limit_minor[i]),
            delinquencies_2y=int(self.delinquencies_2y[i]),
            inquiries_6m=int(self.inquiries_6m[i]),
        )


def credit_feature_matrix(cols: ApplicantColumns) -> FloatArray:
    """Credit features of many applicants; each is a monotone transform of one input."""
    income = np.asarray(cols.annual_income_minor, dtype=np.float64)
    debt = np.asarray(cols.monthly_debt_payments_minor, dtype=np.float64)
    balance = np.asarray(cols.revolving_balance_minor, dtype=np.float64)
    limit = np.asarray(cols.revolving_limit_minor, dtype=np.float64)
    dti = np.where(
        income > 0, 12.0 * debt / np.maximum(income, 1.0), np.where(debt > 0, MAX_DEBT_TO_INCOME, 0.0)
    )
    utilization = np.where(
        limit > 0, balance / np.maximum(limit, 1.0), np.where(balance > 0, MAX_UTILIZATION, 0.0)
    )
    columns = (
        np.log1p(income / 100.0),
        np.clip(dti, 0.0, MAX_DEBT_TO_INCOME),
        np.clip(utilization, 0.0, MAX_UTILIZATION),
        np.log1p(np.asarray(cols.credit_history_months, dtype=np.float64)),
        np.minimum(np.asarray(cols.delinquencies_2y, dtype=np.float64), MAX_DELINQUENCIES),
        np.minimum(np.asarray(cols.inquiries_6m, dtype=np.float64), MAX_INQUIRIES),
    )
    out = np.empty((len(cols), len(CREDIT_FEATURE_NAMES)), dtype=np.float32)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def credit_features(applicant: Applicant) -> FloatArray:
    """The credit feature vector of one applicant (serving)."""
    return np.array(credit_feature_matrix(ApplicantColumns.from_applicants([applicant]))[0], dtype=np.float32)
