"""Syntactic checks of the credit API's requests, with their limits."""

from __future__ import annotations

from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2

from services.credit.domain.model import (
    Employment,
    Financials,
)
from services.runtime.api import (
    FieldChecks,
    page_size,
)
from services.runtime.ids import is_valid_id
from services.runtime.money import MAX_AMOUNT_MINOR

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_DESCRIPTION = 500
MAX_MONTHS = 1_200
MAX_COUNT = 1_000
MAX_UTILIZATION_BPS = 100_000
# The AI service scores on annual income: twelve months of it must stay within the money bounds.
MAX_MONTHLY_INCOME = MAX_AMOUNT_MINOR // 12
MAX_REASONS = 20
MIN_NATIONAL_ID = 4
MAX_NATIONAL_ID = 32


# -- validation ---------------------------------------------------------------------------------


class CreditChecks(FieldChecks):
    def user_id(self, value: str, field: str = "user_id") -> str:
        self.identifier(value, field)
        return value

    def application_id(self, value: str) -> str:
        if not value:
            self.add("application_id", "is required")
        elif not is_valid_id(value, "app"):
            self.add("application_id", "must be an application id (app_…)")
        return value

    def count(self, value: int, field: str, maximum: int) -> int:
        if not 0 <= value <= maximum:
            self.add(field, f"must be between 0 and {maximum}")
        return value

    def non_negative(self, money: common_pb2.Money, field: str, currency: str, *, maximum: int) -> int:
        if money.currency != currency:
            self.add(
                f"{field}.currency",
                f"must be {currency or 'a supported ISO 4217 code'}, the currency of the amount",
            )
        if not 0 <= money.amount_minor <= maximum:
            self.add(f"{field}.amount_minor", f"must be from 0 to {maximum}")
        return money.amount_minor

    def financials(
        self,
        parent: credit_pb2.SubmitLoanApplicationRequest | credit_pb2.RefreshCreditScoreRequest,
        currency: str,
        field: str = "financials",
    ) -> Financials | None:
        if not parent.HasField("financials"):
            self.add(field, "is required")
            return None
        f: credit_pb2.ApplicantFinancials = parent.financials
        if not f.HasField("monthly_income"):
            self.add(f"{field}.monthly_income", "is required")
        if not f.HasField("monthly_debt"):
            self.add(f"{field}.monthly_debt", "is required")
        income = self.non_negative(
            f.monthly_income, f"{field}.monthly_income", currency, maximum=MAX_MONTHLY_INCOME
        )
        debt = self.non_negative(f.monthly_debt, f"{field}.monthly_debt", currency, maximum=MAX_AMOUNT_MINOR)
        total_debt = 0
        if f.HasField("total_debt"):
            total_debt = self.non_negative(
                f.total_debt, f"{field}.total_debt", currency, maximum=MAX_AMOUNT_MINOR
            )
        self.enum(f.employment_status, Employment, f"{field}.employment_status")
        self.count(f.employment_months, f"{field}.employment_months", MAX_MONTHS)
        self.count(f.credit_history_months, f"{field}.credit_history_months", MAX_MONTHS)
        self.count(f.utilization_bps, f"{field}.utilization_bps", MAX_UTILIZATION_BPS)
        self.count(f.delinquencies_24m, f"{field}.delinquencies_24m", MAX_COUNT)
        self.count(f.open_accounts, f"{field}.open_accounts", MAX_COUNT)
        self.count(f.inquiries_6m, f"{field}.inquiries_6m", MAX_COUNT)
        if self.violations:
            return None
        return Financials(
            currency=currency,
            monthly_income=income,
            monthly_debt=debt,
            employment=Employment(f.employment_status),
            employment_months=f.employment_months,
            total_debt=total_debt,
            credit_history_months=f.credit_history_months,
            utilization_bps=f.utilization_bps,
            delinquencies_24m=f.delinquencies_24m,
            open_accounts=f.open_accounts,
            inquiries_6m=f.inquiries_6m,
        )

    def page(self, value: int) -> int:
        if value < 0:
            self.add("page_size", f"must be between 1 and {MAX_PAGE_SIZE}, or 0 for the default")
            return DEFAULT_PAGE_SIZE
        return page_size(value, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
