"""What callers ask the ledger to do, beyond a journal entry (``domain.model.NewEntry``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.ledger.domain.model import AccountType, BalanceRule, TransactionType


@dataclass(frozen=True)
class NewAccount:
    owner_id: str
    name: str
    type: AccountType
    currency: str
    balance_rule: BalanceRule
    credit_limit_minor: int
    metadata: dict[str, str]
    request_id: str


@dataclass(frozen=True)
class NewPendingTransfer:
    debit_account_id: str
    credit_account_id: str
    amount_minor: int
    currency: str
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    expire_time: datetime | None
    request_id: str
