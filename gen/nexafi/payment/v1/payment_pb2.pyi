import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nexafi.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_STATUS_UNSPECIFIED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_PENDING: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_REQUIRES_REVIEW: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_PROCESSING: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_SUCCEEDED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_FAILED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_CANCELLED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_REFUNDED: _ClassVar[PaymentStatus]
    PAYMENT_STATUS_PARTIALLY_REFUNDED: _ClassVar[PaymentStatus]

class PaymentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_KIND_UNSPECIFIED: _ClassVar[PaymentKind]
    PAYMENT_KIND_TOP_UP: _ClassVar[PaymentKind]
    PAYMENT_KIND_TRANSFER: _ClassVar[PaymentKind]
    PAYMENT_KIND_PAYOUT: _ClassVar[PaymentKind]

class PaymentMethodType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_METHOD_TYPE_UNSPECIFIED: _ClassVar[PaymentMethodType]
    PAYMENT_METHOD_TYPE_CARD: _ClassVar[PaymentMethodType]
    PAYMENT_METHOD_TYPE_BANK_ACCOUNT: _ClassVar[PaymentMethodType]
    PAYMENT_METHOD_TYPE_WALLET: _ClassVar[PaymentMethodType]

class PaymentMethodState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYMENT_METHOD_STATE_UNSPECIFIED: _ClassVar[PaymentMethodState]
    PAYMENT_METHOD_STATE_ACTIVE: _ClassVar[PaymentMethodState]
    PAYMENT_METHOD_STATE_REMOVED: _ClassVar[PaymentMethodState]

class CardBrand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARD_BRAND_UNSPECIFIED: _ClassVar[CardBrand]
    CARD_BRAND_VISA: _ClassVar[CardBrand]
    CARD_BRAND_MASTERCARD: _ClassVar[CardBrand]
    CARD_BRAND_AMERICAN_EXPRESS: _ClassVar[CardBrand]
    CARD_BRAND_DISCOVER: _ClassVar[CardBrand]
    CARD_BRAND_DINERS_CLUB: _ClassVar[CardBrand]
    CARD_BRAND_JCB: _ClassVar[CardBrand]
    CARD_BRAND_UNIONPAY: _ClassVar[CardBrand]
    CARD_BRAND_OTHER: _ClassVar[CardBrand]

class BankAccountFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BANK_ACCOUNT_FORMAT_UNSPECIFIED: _ClassVar[BankAccountFormat]
    BANK_ACCOUNT_FORMAT_IBAN: _ClassVar[BankAccountFormat]
    BANK_ACCOUNT_FORMAT_DOMESTIC: _ClassVar[BankAccountFormat]

class FraudDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAUD_DECISION_UNSPECIFIED: _ClassVar[FraudDecision]
    FRAUD_DECISION_APPROVE: _ClassVar[FraudDecision]
    FRAUD_DECISION_REVIEW: _ClassVar[FraudDecision]
    FRAUD_DECISION_DECLINE: _ClassVar[FraudDecision]

class CallbackDisposition(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALLBACK_DISPOSITION_UNSPECIFIED: _ClassVar[CallbackDisposition]
    CALLBACK_DISPOSITION_APPLIED: _ClassVar[CallbackDisposition]
    CALLBACK_DISPOSITION_DUPLICATE: _ClassVar[CallbackDisposition]
    CALLBACK_DISPOSITION_STALE: _ClassVar[CallbackDisposition]

class ReconciliationMismatchKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECONCILIATION_MISMATCH_KIND_UNSPECIFIED: _ClassVar[ReconciliationMismatchKind]
    RECONCILIATION_MISMATCH_KIND_MISSING_LEDGER_ENTRY: _ClassVar[ReconciliationMismatchKind]
    RECONCILIATION_MISMATCH_KIND_ORPHAN_LEDGER_ENTRY: _ClassVar[ReconciliationMismatchKind]
    RECONCILIATION_MISMATCH_KIND_AMOUNT_MISMATCH: _ClassVar[ReconciliationMismatchKind]
    RECONCILIATION_MISMATCH_KIND_STATUS_MISMATCH: _ClassVar[ReconciliationMismatchKind]
    RECONCILIATION_MISMATCH_KIND_STALE_HOLD: _ClassVar[ReconciliationMismatchKind]
    RECONCILIATION_MISMATCH_KIND_REFUND_MISMATCH: _ClassVar[ReconciliationMismatchKind]
    RECONCILIATION_MISMATCH_KIND_DUPLICATE_LEDGER_ENTRY: _ClassVar[ReconciliationMismatchKind]

class RecoveryAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOVERY_ACTION_UNSPECIFIED: _ClassVar[RecoveryAction]
    RECOVERY_ACTION_COMPLETED: _ClassVar[RecoveryAction]
    RECOVERY_ACTION_VOIDED: _ClassVar[RecoveryAction]
    RECOVERY_ACTION_RESUMED: _ClassVar[RecoveryAction]
    RECOVERY_ACTION_UNCHANGED: _ClassVar[RecoveryAction]
PAYMENT_STATUS_UNSPECIFIED: PaymentStatus
PAYMENT_STATUS_PENDING: PaymentStatus
PAYMENT_STATUS_REQUIRES_REVIEW: PaymentStatus
PAYMENT_STATUS_PROCESSING: PaymentStatus
PAYMENT_STATUS_SUCCEEDED: PaymentStatus
PAYMENT_STATUS_FAILED: PaymentStatus
PAYMENT_STATUS_CANCELLED: PaymentStatus
PAYMENT_STATUS_REFUNDED: PaymentStatus
PAYMENT_STATUS_PARTIALLY_REFUNDED: PaymentStatus
PAYMENT_KIND_UNSPECIFIED: PaymentKind
PAYMENT_KIND_TOP_UP: PaymentKind
PAYMENT_KIND_TRANSFER: PaymentKind
PAYMENT_KIND_PAYOUT: PaymentKind
PAYMENT_METHOD_TYPE_UNSPECIFIED: PaymentMethodType
PAYMENT_METHOD_TYPE_CARD: PaymentMethodType
PAYMENT_METHOD_TYPE_BANK_ACCOUNT: PaymentMethodType
PAYMENT_METHOD_TYPE_WALLET: PaymentMethodType
PAYMENT_METHOD_STATE_UNSPECIFIED: PaymentMethodState
PAYMENT_METHOD_STATE_ACTIVE: PaymentMethodState
PAYMENT_METHOD_STATE_REMOVED: PaymentMethodState
CARD_BRAND_UNSPECIFIED: CardBrand
CARD_BRAND_VISA: CardBrand
CARD_BRAND_MASTERCARD: CardBrand
CARD_BRAND_AMERICAN_EXPRESS: CardBrand
CARD_BRAND_DISCOVER: CardBrand
CARD_BRAND_DINERS_CLUB: CardBrand
CARD_BRAND_JCB: CardBrand
CARD_BRAND_UNIONPAY: CardBrand
CARD_BRAND_OTHER: CardBrand
BANK_ACCOUNT_FORMAT_UNSPECIFIED: BankAccountFormat
BANK_ACCOUNT_FORMAT_IBAN: BankAccountFormat
BANK_ACCOUNT_FORMAT_DOMESTIC: BankAccountFormat
FRAUD_DECISION_UNSPECIFIED: FraudDecision
FRAUD_DECISION_APPROVE: FraudDecision
FRAUD_DECISION_REVIEW: FraudDecision
FRAUD_DECISION_DECLINE: FraudDecision
CALLBACK_DISPOSITION_UNSPECIFIED: CallbackDisposition
CALLBACK_DISPOSITION_APPLIED: CallbackDisposition
CALLBACK_DISPOSITION_DUPLICATE: CallbackDisposition
CALLBACK_DISPOSITION_STALE: CallbackDisposition
RECONCILIATION_MISMATCH_KIND_UNSPECIFIED: ReconciliationMismatchKind
RECONCILIATION_MISMATCH_KIND_MISSING_LEDGER_ENTRY: ReconciliationMismatchKind
RECONCILIATION_MISMATCH_KIND_ORPHAN_LEDGER_ENTRY: ReconciliationMismatchKind
RECONCILIATION_MISMATCH_KIND_AMOUNT_MISMATCH: ReconciliationMismatchKind
RECONCILIATION_MISMATCH_KIND_STATUS_MISMATCH: ReconciliationMismatchKind
RECONCILIATION_MISMATCH_KIND_STALE_HOLD: ReconciliationMismatchKind
RECONCILIATION_MISMATCH_KIND_REFUND_MISMATCH: ReconciliationMismatchKind
RECONCILIATION_MISMATCH_KIND_DUPLICATE_LEDGER_ENTRY: ReconciliationMismatchKind
RECOVERY_ACTION_UNSPECIFIED: RecoveryAction
RECOVERY_ACTION_COMPLETED: RecoveryAction
RECOVERY_ACTION_VOIDED: RecoveryAction
RECOVERY_ACTION_RESUMED: RecoveryAction
RECOVERY_ACTION_UNCHANGED: RecoveryAction

class Payment(_message.Message):
    __slots__ = ("id", "user_id", "kind", "amount", "status", "payment_method_id", "method_type", "transaction_id", "payee_user_id", "description", "failure", "fraud_score_bps", "fraud_decision", "connector", "external_reference", "refunded_amount", "refunds", "status_history", "request_id", "metadata", "create_time", "update_time")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    METHOD_TYPE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_USER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    FRAUD_SCORE_BPS_FIELD_NUMBER: _ClassVar[int]
    FRAUD_DECISION_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REFUNDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_HISTORY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    kind: PaymentKind
    amount: _common_pb2.Money
    status: PaymentStatus
    payment_method_id: str
    method_type: PaymentMethodType
    transaction_id: str
    payee_user_id: str
    description: str
    failure: PaymentFailure
    fraud_score_bps: int
    fraud_decision: FraudDecision
    connector: str
    external_reference: str
    refunded_amount: _common_pb2.Money
    refunds: _containers.RepeatedCompositeFieldContainer[Refund]
    status_history: _containers.RepeatedCompositeFieldContainer[PaymentStatusChange]
    request_id: str
    metadata: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., kind: _Optional[_Union[PaymentKind, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[PaymentStatus, str]] = ..., payment_method_id: _Optional[str] = ..., method_type: _Optional[_Union[PaymentMethodType, str]] = ..., transaction_id: _Optional[str] = ..., payee_user_id: _Optional[str] = ..., description: _Optional[str] = ..., failure: _Optional[_Union[PaymentFailure, _Mapping]] = ..., fraud_score_bps: _Optional[int] = ..., fraud_decision: _Optional[_Union[FraudDecision, str]] = ..., connector: _Optional[str] = ..., external_reference: _Optional[str] = ..., refunded_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., refunds: _Optional[_Iterable[_Union[Refund, _Mapping]]] = ..., status_history: _Optional[_Iterable[_Union[PaymentStatusChange, _Mapping]]] = ..., request_id: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PaymentFailure(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class PaymentStatusChange(_message.Message):
    __slots__ = ("from_status", "to_status", "reason", "actor", "change_time")
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    from_status: PaymentStatus
    to_status: PaymentStatus
    reason: str
    actor: str
    change_time: _timestamp_pb2.Timestamp
    def __init__(self, from_status: _Optional[_Union[PaymentStatus, str]] = ..., to_status: _Optional[_Union[PaymentStatus, str]] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Refund(_message.Message):
    __slots__ = ("id", "amount", "reason", "transaction_id", "external_reference", "request_id", "actor", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    amount: _common_pb2.Money
    reason: str
    transaction_id: str
    external_reference: str
    request_id: str
    actor: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ..., transaction_id: _Optional[str] = ..., external_reference: _Optional[str] = ..., request_id: _Optional[str] = ..., actor: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PaymentMethod(_message.Message):
    __slots__ = ("id", "user_id", "type", "state", "card", "bank_account", "wallet", "fingerprint", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    BANK_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    type: PaymentMethodType
    state: PaymentMethodState
    card: CardDetails
    bank_account: BankAccountDetails
    wallet: WalletDetails
    fingerprint: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[PaymentMethodType, str]] = ..., state: _Optional[_Union[PaymentMethodState, str]] = ..., card: _Optional[_Union[CardDetails, _Mapping]] = ..., bank_account: _Optional[_Union[BankAccountDetails, _Mapping]] = ..., wallet: _Optional[_Union[WalletDetails, _Mapping]] = ..., fingerprint: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CardDetails(_message.Message):
    __slots__ = ("brand", "last4", "exp_month", "exp_year", "holder_name")
    BRAND_FIELD_NUMBER: _ClassVar[int]
    LAST4_FIELD_NUMBER: _ClassVar[int]
    EXP_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXP_YEAR_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    brand: CardBrand
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str
    def __init__(self, brand: _Optional[_Union[CardBrand, str]] = ..., last4: _Optional[str] = ..., exp_month: _Optional[int] = ..., exp_year: _Optional[int] = ..., holder_name: _Optional[str] = ...) -> None: ...

class BankAccountDetails(_message.Message):
    __slots__ = ("format", "masked_account_number", "last4", "country_code", "holder_name")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    MASKED_ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    LAST4_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    format: BankAccountFormat
    masked_account_number: str
    last4: str
    country_code: str
    holder_name: str
    def __init__(self, format: _Optional[_Union[BankAccountFormat, str]] = ..., masked_account_number: _Optional[str] = ..., last4: _Optional[str] = ..., country_code: _Optional[str] = ..., holder_name: _Optional[str] = ...) -> None: ...

class WalletDetails(_message.Message):
    __slots__ = ("ledger_account_id", "currency")
    LEDGER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ledger_account_id: str
    currency: str
    def __init__(self, ledger_account_id: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class CardInput(_message.Message):
    __slots__ = ("number", "exp_month", "exp_year", "cvc", "holder_name")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    EXP_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXP_YEAR_FIELD_NUMBER: _ClassVar[int]
    CVC_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    number: str
    exp_month: int
    exp_year: int
    cvc: str
    holder_name: str
    def __init__(self, number: _Optional[str] = ..., exp_month: _Optional[int] = ..., exp_year: _Optional[int] = ..., cvc: _Optional[str] = ..., holder_name: _Optional[str] = ...) -> None: ...

class BankAccountInput(_message.Message):
    __slots__ = ("iban", "domestic", "holder_name", "country_code")
    IBAN_FIELD_NUMBER: _ClassVar[int]
    DOMESTIC_FIELD_NUMBER: _ClassVar[int]
    HOLDER_NAME_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    iban: str
    domestic: DomesticBankAccount
    holder_name: str
    country_code: str
    def __init__(self, iban: _Optional[str] = ..., domestic: _Optional[_Union[DomesticBankAccount, _Mapping]] = ..., holder_name: _Optional[str] = ..., country_code: _Optional[str] = ...) -> None: ...

class DomesticBankAccount(_message.Message):
    __slots__ = ("account_number", "routing_number")
    ACCOUNT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ROUTING_NUMBER_FIELD_NUMBER: _ClassVar[int]
    account_number: str
    routing_number: str
    def __init__(self, account_number: _Optional[str] = ..., routing_number: _Optional[str] = ...) -> None: ...

class WalletInput(_message.Message):
    __slots__ = ("currency",)
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    currency: str
    def __init__(self, currency: _Optional[str] = ...) -> None: ...

class InitiatePaymentRequest(_message.Message):
    __slots__ = ("user_id", "kind", "amount", "payment_method_id", "payee_user_id", "description", "metadata", "request_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    PAYEE_USER_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    kind: PaymentKind
    amount: _common_pb2.Money
    payment_method_id: str
    payee_user_id: str
    description: str
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., kind: _Optional[_Union[PaymentKind, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., payment_method_id: _Optional[str] = ..., payee_user_id: _Optional[str] = ..., description: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class InitiatePaymentResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class GetPaymentRequest(_message.Message):
    __slots__ = ("payment_id",)
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    def __init__(self, payment_id: _Optional[str] = ...) -> None: ...

class GetPaymentResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class ListPaymentsRequest(_message.Message):
    __slots__ = ("user_id", "statuses", "kind", "create_time_range", "include_incoming", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INCOMING_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    statuses: _containers.RepeatedScalarFieldContainer[PaymentStatus]
    kind: PaymentKind
    create_time_range: _common_pb2.TimeRange
    include_incoming: bool
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[PaymentStatus, str]]] = ..., kind: _Optional[_Union[PaymentKind, str]] = ..., create_time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., include_incoming: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentsResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePaymentStatusRequest(_message.Message):
    __slots__ = ("payment_id", "status", "reason", "request_id")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    status: PaymentStatus
    reason: str
    request_id: str
    def __init__(self, payment_id: _Optional[str] = ..., status: _Optional[_Union[PaymentStatus, str]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdatePaymentStatusResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class CancelPaymentRequest(_message.Message):
    __slots__ = ("payment_id", "reason", "request_id")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    reason: str
    request_id: str
    def __init__(self, payment_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelPaymentResponse(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ...) -> None: ...

class RefundPaymentRequest(_message.Message):
    __slots__ = ("payment_id", "amount", "reason", "request_id")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    amount: _common_pb2.Money
    reason: str
    request_id: str
    def __init__(self, payment_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RefundPaymentResponse(_message.Message):
    __slots__ = ("payment", "refund")
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    REFUND_FIELD_NUMBER: _ClassVar[int]
    payment: Payment
    refund: Refund
    def __init__(self, payment: _Optional[_Union[Payment, _Mapping]] = ..., refund: _Optional[_Union[Refund, _Mapping]] = ...) -> None: ...

class AddPaymentMethodRequest(_message.Message):
    __slots__ = ("user_id", "card", "bank_account", "wallet", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    BANK_ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    card: CardInput
    bank_account: BankAccountInput
    wallet: WalletInput
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., card: _Optional[_Union[CardInput, _Mapping]] = ..., bank_account: _Optional[_Union[BankAccountInput, _Mapping]] = ..., wallet: _Optional[_Union[WalletInput, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class AddPaymentMethodResponse(_message.Message):
    __slots__ = ("payment_method",)
    PAYMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    payment_method: PaymentMethod
    def __init__(self, payment_method: _Optional[_Union[PaymentMethod, _Mapping]] = ...) -> None: ...

class ListPaymentMethodsRequest(_message.Message):
    __slots__ = ("user_id", "type", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    type: PaymentMethodType
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., type: _Optional[_Union[PaymentMethodType, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentMethodsResponse(_message.Message):
    __slots__ = ("payment_methods", "next_page_token")
    PAYMENT_METHODS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payment_methods: _containers.RepeatedCompositeFieldContainer[PaymentMethod]
    next_page_token: str
    def __init__(self, payment_methods: _Optional[_Iterable[_Union[PaymentMethod, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RemovePaymentMethodRequest(_message.Message):
    __slots__ = ("payment_method_id",)
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    payment_method_id: str
    def __init__(self, payment_method_id: _Optional[str] = ...) -> None: ...

class RemovePaymentMethodResponse(_message.Message):
    __slots__ = ("payment_method",)
    PAYMENT_METHOD_FIELD_NUMBER: _ClassVar[int]
    payment_method: PaymentMethod
    def __init__(self, payment_method: _Optional[_Union[PaymentMethod, _Mapping]] = ...) -> None: ...

class HandleConnectorCallbackRequest(_message.Message):
    __slots__ = ("connector", "payload", "signature")
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    connector: str
    payload: _httpbody_pb2.HttpBody
    signature: str
    def __init__(self, connector: _Optional[str] = ..., payload: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ..., signature: _Optional[str] = ...) -> None: ...

class HandleConnectorCallbackResponse(_message.Message):
    __slots__ = ("event_id", "payment_id", "disposition", "payment_status")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPOSITION_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    payment_id: str
    disposition: CallbackDisposition
    payment_status: PaymentStatus
    def __init__(self, event_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., disposition: _Optional[_Union[CallbackDisposition, str]] = ..., payment_status: _Optional[_Union[PaymentStatus, str]] = ...) -> None: ...

class GetReconciliationReportRequest(_message.Message):
    __slots__ = ("time_range", "page_size", "page_token")
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    time_range: _common_pb2.TimeRange
    page_size: int
    page_token: str
    def __init__(self, time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetReconciliationReportResponse(_message.Message):
    __slots__ = ("report", "next_page_token")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    report: ReconciliationReport
    next_page_token: str
    def __init__(self, report: _Optional[_Union[ReconciliationReport, _Mapping]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReconciliationReport(_message.Message):
    __slots__ = ("time_range", "payments_checked", "ledger_transactions_checked", "mismatch_count", "mismatches", "generate_time")
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    LEDGER_TRANSACTIONS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    MISMATCH_COUNT_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    GENERATE_TIME_FIELD_NUMBER: _ClassVar[int]
    time_range: _common_pb2.TimeRange
    payments_checked: int
    ledger_transactions_checked: int
    mismatch_count: int
    mismatches: _containers.RepeatedCompositeFieldContainer[ReconciliationMismatch]
    generate_time: _timestamp_pb2.Timestamp
    def __init__(self, time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., payments_checked: _Optional[int] = ..., ledger_transactions_checked: _Optional[int] = ..., mismatch_count: _Optional[int] = ..., mismatches: _Optional[_Iterable[_Union[ReconciliationMismatch, _Mapping]]] = ..., generate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReconciliationMismatch(_message.Message):
    __slots__ = ("kind", "payment_id", "transaction_id", "payment_status", "expected_amount", "actual_amount", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: ReconciliationMismatchKind
    payment_id: str
    transaction_id: str
    payment_status: PaymentStatus
    expected_amount: _common_pb2.Money
    actual_amount: _common_pb2.Money
    detail: str
    def __init__(self, kind: _Optional[_Union[ReconciliationMismatchKind, str]] = ..., payment_id: _Optional[str] = ..., transaction_id: _Optional[str] = ..., payment_status: _Optional[_Union[PaymentStatus, str]] = ..., expected_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., actual_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class RecoverStalePaymentsRequest(_message.Message):
    __slots__ = ("stale_after_seconds", "max_payments", "dry_run", "request_id")
    STALE_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    stale_after_seconds: int
    max_payments: int
    dry_run: bool
    request_id: str
    def __init__(self, stale_after_seconds: _Optional[int] = ..., max_payments: _Optional[int] = ..., dry_run: bool = ..., request_id: _Optional[str] = ...) -> None: ...

class RecoverStalePaymentsResponse(_message.Message):
    __slots__ = ("recovered_payments",)
    RECOVERED_PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    recovered_payments: _containers.RepeatedCompositeFieldContainer[RecoveredPayment]
    def __init__(self, recovered_payments: _Optional[_Iterable[_Union[RecoveredPayment, _Mapping]]] = ...) -> None: ...

class RecoveredPayment(_message.Message):
    __slots__ = ("payment_id", "previous_status", "status", "action")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    previous_status: PaymentStatus
    status: PaymentStatus
    action: RecoveryAction
    def __init__(self, payment_id: _Optional[str] = ..., previous_status: _Optional[_Union[PaymentStatus, str]] = ..., status: _Optional[_Union[PaymentStatus, str]] = ..., action: _Optional[_Union[RecoveryAction, str]] = ...) -> None: ...

class ListStaffActionsRequest(_message.Message):
    __slots__ = ("actor_id", "page_size", "page_token")
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    actor_id: str
    page_size: int
    page_token: str
    def __init__(self, actor_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStaffActionsResponse(_message.Message):
    __slots__ = ("staff_actions", "next_page_token")
    STAFF_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    staff_actions: _containers.RepeatedCompositeFieldContainer[_common_pb2.StaffAction]
    next_page_token: str
    def __init__(self, staff_actions: _Optional[_Iterable[_Union[_common_pb2.StaffAction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPaymentsInReviewRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPaymentsInReviewResponse(_message.Message):
    __slots__ = ("payments", "next_page_token")
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    payments: _containers.RepeatedCompositeFieldContainer[Payment]
    next_page_token: str
    def __init__(self, payments: _Optional[_Iterable[_Union[Payment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
