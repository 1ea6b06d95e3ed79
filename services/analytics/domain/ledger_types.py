"""The ledger's enumerations as analytics reads them (the numbers of nexafi.ledger.v1), as enums of
the domain, so the domain compares against names rather than numbers and imports no generated code.

Entries and accounts keep the plain number they arrived with (a ledger newer than this
service may send a value not listed here); ``label`` names any of them.
"""

from __future__ import annotations

import enum


class TransactionType(enum.IntEnum):
    """nexafi.ledger.v1.TransactionType."""

    UNSPECIFIED = 0
    DEPOSIT = 1
    WITHDRAWAL = 2
    TRANSFER = 3
    PAYMENT = 4
    REFUND = 5
    FEE = 6
    LOAN_DISBURSEMENT = 7
    LOAN_REPAYMENT = 8
    REVERSAL = 9
    ADJUSTMENT = 10


class AccountType(enum.IntEnum):
    """nexafi.ledger.v1.AccountType: the account's accounting class."""

    UNSPECIFIED = 0
    ASSET = 1
    LIABILITY = 2
    EQUITY = 3
    INCOME = 4
    EXPENSE = 5


class PostingDirection(enum.IntEnum):
    """nexafi.ledger.v1.PostingDirection."""

    UNSPECIFIED = 0
    DEBIT = 1
    CREDIT = 2


def label(kind: type[enum.IntEnum], value: int) -> str:
    """The lower-case name of ``value`` in ``kind``; "unspecified" for a number it does not list."""
    try:
        return kind(value).name.lower()
    except ValueError:
        return "unspecified"
