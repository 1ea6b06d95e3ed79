"""Ledger value types. Enum values equal the proto's, so the adapter converts by number."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

SYSTEM_OWNER = "system"


class AccountType(IntEnum):
    ASSET = 1
    LIABILITY = 2
    EQUITY = 3
    INCOME = 4
    EXPENSE = 5


class BalanceRule(IntEnum):
    NON_NEGATIVE = 1
    CREDIT_LIMIT = 2
    UNBOUNDED = 3


class Direction(IntEnum):
    DEBIT = 1
    CREDIT = 2

    @property
    def opposite(self) -> Direction:
        return Direction.CREDIT if self is Direction.DEBIT else Direction.DEBIT


class TransactionType(IntEnum):
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


class PendingStatus(IntEnum):
    PENDING = 1
    POSTED = 2
    VOIDED = 3
    EXPIRED = 4


@dataclass(frozen=True)
class PostingLine:
    """One leg of an entry: a positive amount on one side of one account."""

    account_id: str
    direction: Direction
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Balances:
    """An account's balances on its normal side, in minor units."""

    currency: str
    posted: int
    pending_debits: int
    pending_credits: int
    available: int
    as_of_time: datetime


@dataclass(frozen=True)
class Account:
    id: str
    owner_id: str
    name: str
    type: AccountType
    currency: str
    balance_rule: BalanceRule
    credit_limit_minor: int
    metadata: dict[str, str]
    create_time: datetime
    balances: Balances | None = None


@dataclass(frozen=True)
class Entry:
    """A recorded journal entry (immutable)."""

    id: str
    sequence: int
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    amount_minor: int
    currency: str
    metadata: dict[str, str]
    request_id: str
    reverses_id: str | None
    pending_transfer_id: str | None
    create_time: datetime
    previous_hash: str
    hash: str
    postings: tuple[PostingLine, ...]
    reversed_by_id: str | None = None
    # The order of insertion (history pages by it); ``sequence`` is the order of the
    # hash chain and the change feed, assigned when the entry is sealed after commit
    # (0, with empty hashes, until then).
    insert_id: int = 0


@dataclass(frozen=True)
class NewEntry:
    """What a caller asks to record; sequence, time and hashes are assigned at commit."""

    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    postings: tuple[PostingLine, ...]
    metadata: dict[str, str] = field(default_factory=dict)
    request_id: str = ""
    reverses_id: str | None = None
    pending_transfer_id: str | None = None


@dataclass(frozen=True)
class PendingTransfer:
    id: str
    debit_account_id: str
    credit_account_id: str
    amount_minor: int
    currency: str
    posted_minor: int
    status: PendingStatus
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    expire_time: datetime
    transaction_id: str | None
    request_id: str
    create_time: datetime
    update_time: datetime
