"""Payment records as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from services.payment.domain.states import Kind, Status


class MethodType(IntEnum):
    """Mirrors ``nexafi.payment.v1.PaymentMethodType``."""

    UNSPECIFIED = 0
    CARD = 1
    BANK_ACCOUNT = 2
    WALLET = 3


class MethodState(IntEnum):
    UNSPECIFIED = 0
    ACTIVE = 1
    REMOVED = 2


class FraudDecision(IntEnum):
    UNSPECIFIED = 0
    APPROVE = 1
    REVIEW = 2
    DECLINE = 3


class Disposition(IntEnum):
    """What a connector callback did; mirrors ``nexafi.payment.v1.CallbackDisposition``."""

    UNSPECIFIED = 0
    APPLIED = 1
    DUPLICATE = 2
    STALE = 3  # the payment was already further along (or never reached the gateway)


class BankFormat(IntEnum):
    UNSPECIFIED = 0
    IBAN = 1
    DOMESTIC = 2


class RefundState(StrEnum):
    PENDING = "pending"  # opened; its ledger step or the gateway's answer may still be missing
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusChange:
    from_status: Status
    to_status: Status
    reason: str
    actor: str
    change_time: datetime


@dataclass(frozen=True)
class Refund:
    id: str
    payment_id: str
    amount_minor: int
    currency: str
    reason: str
    state: RefundState
    transaction_id: str
    external_reference: str
    request_id: str
    actor: str
    create_time: datetime


@dataclass(frozen=True)
class Payment:
    id: str
    user_id: str
    kind: Kind
    amount_minor: int
    currency: str
    status: Status
    payment_method_id: str
    method_type: MethodType
    payee_user_id: str
    description: str
    metadata: dict[str, str]
    request_id: str
    failure_code: str
    failure_message: str
    fraud_checked: bool
    fraud_score_bps: int
    fraud_decision: FraudDecision
    connector: str
    external_reference: str
    debit_account_id: str
    credit_account_id: str
    pending_transfer_id: str
    transaction_id: str
    refunded_minor: int
    create_time: datetime
    update_time: datetime
    history: list[StatusChange] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)

    @property
    def reserved(self) -> bool:
        return bool(self.pending_transfer_id)


@dataclass(frozen=True)
class PaymentMethod:
    id: str
    user_id: str
    type: MethodType
    state: MethodState
    fingerprint: str
    connector_token: str
    # card
    brand: int = 0
    last4: str = ""
    exp_month: int = 0
    exp_year: int = 0
    holder_name: str = ""
    # bank account
    bank_format: BankFormat = BankFormat.UNSPECIFIED
    masked_number: str = ""
    country_code: str = ""
    # wallet
    currency: str = ""
    ledger_account_id: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
