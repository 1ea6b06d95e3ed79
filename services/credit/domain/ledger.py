"""What the credit service asks of the ledger, in its own words; its ledger client translates them
to the ledger's protobuf enums, so no use case compares against generated constants."""

from __future__ import annotations

from enum import Enum


class AccountType(Enum):
    ASSET = "asset"  # a loan's receivable
    LIABILITY = "liability"  # a credit line: drawing makes its balance negative
    INCOME = "income"  # the interest income of the book


class BalanceRule(Enum):
    NON_NEGATIVE = "non_negative"
    UNBOUNDED = "unbounded"
    CREDIT_LIMIT = "credit_limit"  # may go negative down to the account's credit limit


class EntryType(Enum):
    LOAN_DISBURSEMENT = "loan_disbursement"
    LOAN_REPAYMENT = "loan_repayment"
    FEE = "fee"  # a credit line's daily interest
    OTHER = "other"  # any entry the credit service does not post itself
