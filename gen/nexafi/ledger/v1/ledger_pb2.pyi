import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nexafi.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AccountType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCOUNT_TYPE_UNSPECIFIED: _ClassVar[AccountType]
    ACCOUNT_TYPE_ASSET: _ClassVar[AccountType]
    ACCOUNT_TYPE_LIABILITY: _ClassVar[AccountType]
    ACCOUNT_TYPE_EQUITY: _ClassVar[AccountType]
    ACCOUNT_TYPE_INCOME: _ClassVar[AccountType]
    ACCOUNT_TYPE_EXPENSE: _ClassVar[AccountType]

class BalanceRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BALANCE_RULE_UNSPECIFIED: _ClassVar[BalanceRule]
    BALANCE_RULE_NON_NEGATIVE: _ClassVar[BalanceRule]
    BALANCE_RULE_CREDIT_LIMIT: _ClassVar[BalanceRule]
    BALANCE_RULE_UNBOUNDED: _ClassVar[BalanceRule]

class PostingDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POSTING_DIRECTION_UNSPECIFIED: _ClassVar[PostingDirection]
    POSTING_DIRECTION_DEBIT: _ClassVar[PostingDirection]
    POSTING_DIRECTION_CREDIT: _ClassVar[PostingDirection]

class TransactionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_TYPE_UNSPECIFIED: _ClassVar[TransactionType]
    TRANSACTION_TYPE_DEPOSIT: _ClassVar[TransactionType]
    TRANSACTION_TYPE_WITHDRAWAL: _ClassVar[TransactionType]
    TRANSACTION_TYPE_TRANSFER: _ClassVar[TransactionType]
    TRANSACTION_TYPE_PAYMENT: _ClassVar[TransactionType]
    TRANSACTION_TYPE_REFUND: _ClassVar[TransactionType]
    TRANSACTION_TYPE_FEE: _ClassVar[TransactionType]
    TRANSACTION_TYPE_LOAN_DISBURSEMENT: _ClassVar[TransactionType]
    TRANSACTION_TYPE_LOAN_REPAYMENT: _ClassVar[TransactionType]
    TRANSACTION_TYPE_REVERSAL: _ClassVar[TransactionType]
    TRANSACTION_TYPE_ADJUSTMENT: _ClassVar[TransactionType]

class PendingTransferStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PENDING_TRANSFER_STATUS_UNSPECIFIED: _ClassVar[PendingTransferStatus]
    PENDING_TRANSFER_STATUS_PENDING: _ClassVar[PendingTransferStatus]
    PENDING_TRANSFER_STATUS_POSTED: _ClassVar[PendingTransferStatus]
    PENDING_TRANSFER_STATUS_VOIDED: _ClassVar[PendingTransferStatus]
    PENDING_TRANSFER_STATUS_EXPIRED: _ClassVar[PendingTransferStatus]

class TransactionView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_VIEW_UNSPECIFIED: _ClassVar[TransactionView]
    TRANSACTION_VIEW_BASIC: _ClassVar[TransactionView]
    TRANSACTION_VIEW_FULL: _ClassVar[TransactionView]

class BooksFindingKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BOOKS_FINDING_KIND_UNSPECIFIED: _ClassVar[BooksFindingKind]
    BOOKS_FINDING_KIND_TRIAL_BALANCE_UNBALANCED: _ClassVar[BooksFindingKind]
    BOOKS_FINDING_KIND_CHAIN_BROKEN: _ClassVar[BooksFindingKind]
    BOOKS_FINDING_KIND_BALANCE_MISMATCH: _ClassVar[BooksFindingKind]
    BOOKS_FINDING_KIND_PENDING_MISMATCH: _ClassVar[BooksFindingKind]
    BOOKS_FINDING_KIND_HOLD_PAST_EXPIRY: _ClassVar[BooksFindingKind]
ACCOUNT_TYPE_UNSPECIFIED: AccountType
ACCOUNT_TYPE_ASSET: AccountType
ACCOUNT_TYPE_LIABILITY: AccountType
ACCOUNT_TYPE_EQUITY: AccountType
ACCOUNT_TYPE_INCOME: AccountType
ACCOUNT_TYPE_EXPENSE: AccountType
BALANCE_RULE_UNSPECIFIED: BalanceRule
BALANCE_RULE_NON_NEGATIVE: BalanceRule
BALANCE_RULE_CREDIT_LIMIT: BalanceRule
BALANCE_RULE_UNBOUNDED: BalanceRule
POSTING_DIRECTION_UNSPECIFIED: PostingDirection
POSTING_DIRECTION_DEBIT: PostingDirection
POSTING_DIRECTION_CREDIT: PostingDirection
TRANSACTION_TYPE_UNSPECIFIED: TransactionType
TRANSACTION_TYPE_DEPOSIT: TransactionType
TRANSACTION_TYPE_WITHDRAWAL: TransactionType
TRANSACTION_TYPE_TRANSFER: TransactionType
TRANSACTION_TYPE_PAYMENT: TransactionType
TRANSACTION_TYPE_REFUND: TransactionType
TRANSACTION_TYPE_FEE: TransactionType
TRANSACTION_TYPE_LOAN_DISBURSEMENT: TransactionType
TRANSACTION_TYPE_LOAN_REPAYMENT: TransactionType
TRANSACTION_TYPE_REVERSAL: TransactionType
TRANSACTION_TYPE_ADJUSTMENT: TransactionType
PENDING_TRANSFER_STATUS_UNSPECIFIED: PendingTransferStatus
PENDING_TRANSFER_STATUS_PENDING: PendingTransferStatus
PENDING_TRANSFER_STATUS_POSTED: PendingTransferStatus
PENDING_TRANSFER_STATUS_VOIDED: PendingTransferStatus
PENDING_TRANSFER_STATUS_EXPIRED: PendingTransferStatus
TRANSACTION_VIEW_UNSPECIFIED: TransactionView
TRANSACTION_VIEW_BASIC: TransactionView
TRANSACTION_VIEW_FULL: TransactionView
BOOKS_FINDING_KIND_UNSPECIFIED: BooksFindingKind
BOOKS_FINDING_KIND_TRIAL_BALANCE_UNBALANCED: BooksFindingKind
BOOKS_FINDING_KIND_CHAIN_BROKEN: BooksFindingKind
BOOKS_FINDING_KIND_BALANCE_MISMATCH: BooksFindingKind
BOOKS_FINDING_KIND_PENDING_MISMATCH: BooksFindingKind
BOOKS_FINDING_KIND_HOLD_PAST_EXPIRY: BooksFindingKind

class Account(_message.Message):
    __slots__ = ("id", "owner_id", "name", "type", "currency", "balance_rule", "credit_limit_minor", "balance", "metadata", "create_time")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_RULE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_MINOR_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    owner_id: str
    name: str
    type: AccountType
    currency: str
    balance_rule: BalanceRule
    credit_limit_minor: int
    balance: Balance
    metadata: _containers.ScalarMap[str, str]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., owner_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[AccountType, str]] = ..., currency: _Optional[str] = ..., balance_rule: _Optional[_Union[BalanceRule, str]] = ..., credit_limit_minor: _Optional[int] = ..., balance: _Optional[_Union[Balance, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Balance(_message.Message):
    __slots__ = ("posted", "pending_debits", "pending_credits", "available", "as_of_time")
    POSTED_FIELD_NUMBER: _ClassVar[int]
    PENDING_DEBITS_FIELD_NUMBER: _ClassVar[int]
    PENDING_CREDITS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    posted: _common_pb2.Money
    pending_debits: _common_pb2.Money
    pending_credits: _common_pb2.Money
    available: _common_pb2.Money
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, posted: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., pending_debits: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., pending_credits: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., available: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Posting(_message.Message):
    __slots__ = ("account_id", "direction", "amount")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    direction: PostingDirection
    amount: _common_pb2.Money
    def __init__(self, account_id: _Optional[str] = ..., direction: _Optional[_Union[PostingDirection, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("id", "user_id", "type", "amount", "description", "timestamp", "related_entity_id", "postings", "metadata", "request_id", "sequence", "hash", "previous_hash", "reverses_transaction_id", "reversed_by_transaction_id", "pending_transfer_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    RELATED_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    POSTINGS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_HASH_FIELD_NUMBER: _ClassVar[int]
    REVERSES_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REVERSED_BY_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    PENDING_TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    type: TransactionType
    amount: _common_pb2.Money
    description: str
    timestamp: _timestamp_pb2.Timestamp
    related_entity_id: str
    postings: _containers.RepeatedCompositeFieldContainer[Posting]
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    sequence: int
    hash: str
    previous_hash: str
    reverses_transaction_id: str
    reversed_by_transaction_id: str
    pending_transfer_id: str
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[TransactionType, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., description: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., related_entity_id: _Optional[str] = ..., postings: _Optional[_Iterable[_Union[Posting, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ..., sequence: _Optional[int] = ..., hash: _Optional[str] = ..., previous_hash: _Optional[str] = ..., reverses_transaction_id: _Optional[str] = ..., reversed_by_transaction_id: _Optional[str] = ..., pending_transfer_id: _Optional[str] = ...) -> None: ...

class PendingTransfer(_message.Message):
    __slots__ = ("id", "debit_account_id", "credit_account_id", "amount", "posted_amount", "status", "user_id", "type", "description", "related_entity_id", "expire_time", "transaction_id", "request_id", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    DEBIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    POSTED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RELATED_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    debit_account_id: str
    credit_account_id: str
    amount: _common_pb2.Money
    posted_amount: _common_pb2.Money
    status: PendingTransferStatus
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    expire_time: _timestamp_pb2.Timestamp
    transaction_id: str
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., debit_account_id: _Optional[str] = ..., credit_account_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., posted_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[PendingTransferStatus, str]] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[TransactionType, str]] = ..., description: _Optional[str] = ..., related_entity_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., transaction_id: _Optional[str] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAccountRequest(_message.Message):
    __slots__ = ("owner_id", "name", "type", "currency", "balance_rule", "credit_limit_minor", "metadata", "request_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_RULE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_MINOR_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    owner_id: str
    name: str
    type: AccountType
    currency: str
    balance_rule: BalanceRule
    credit_limit_minor: int
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, owner_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[AccountType, str]] = ..., currency: _Optional[str] = ..., balance_rule: _Optional[_Union[BalanceRule, str]] = ..., credit_limit_minor: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class UpdateAccountLimitRequest(_message.Message):
    __slots__ = ("account_id", "credit_limit_minor", "request_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_MINOR_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    credit_limit_minor: int
    request_id: str
    def __init__(self, account_id: _Optional[str] = ..., credit_limit_minor: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateAccountLimitResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("account_id",)
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    def __init__(self, account_id: _Optional[str] = ...) -> None: ...

class GetAccountResponse(_message.Message):
    __slots__ = ("account",)
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: Account
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ...) -> None: ...

class ListAccountsRequest(_message.Message):
    __slots__ = ("owner_id", "page_size", "page_token")
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    owner_id: str
    page_size: int
    page_token: str
    def __init__(self, owner_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAccountsResponse(_message.Message):
    __slots__ = ("accounts", "next_page_token")
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[Account]
    next_page_token: str
    def __init__(self, accounts: _Optional[_Iterable[_Union[Account, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("account_id", "as_of_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance",)
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    balance: Balance
    def __init__(self, balance: _Optional[_Union[Balance, _Mapping]] = ...) -> None: ...

class CreateTransactionRequest(_message.Message):
    __slots__ = ("user_id", "type", "description", "related_entity_id", "postings", "metadata", "request_id")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RELATED_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    POSTINGS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    postings: _containers.RepeatedCompositeFieldContainer[Posting]
    metadata: _containers.ScalarMap[str, str]
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., type: _Optional[_Union[TransactionType, str]] = ..., description: _Optional[str] = ..., related_entity_id: _Optional[str] = ..., postings: _Optional[_Iterable[_Union[Posting, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateTransactionResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("debit_account_id", "credit_account_id", "amount", "user_id", "type", "description", "related_entity_id", "request_id")
    DEBIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RELATED_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    debit_account_id: str
    credit_account_id: str
    amount: _common_pb2.Money
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    request_id: str
    def __init__(self, debit_account_id: _Optional[str] = ..., credit_account_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[TransactionType, str]] = ..., description: _Optional[str] = ..., related_entity_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateTransactionsRequest(_message.Message):
    __slots__ = ("transfers",)
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[Transfer]
    def __init__(self, transfers: _Optional[_Iterable[_Union[Transfer, _Mapping]]] = ...) -> None: ...

class TransferResult(_message.Message):
    __slots__ = ("transaction", "code", "reason", "message")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    code: int
    reason: str
    message: str
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ..., code: _Optional[int] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CreateTransactionsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[TransferResult]
    def __init__(self, results: _Optional[_Iterable[_Union[TransferResult, _Mapping]]] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("transaction_id",)
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    def __init__(self, transaction_id: _Optional[str] = ...) -> None: ...

class GetTransactionResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class ListUserTransactionsRequest(_message.Message):
    __slots__ = ("user_id", "time_range", "types", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    time_range: _common_pb2.TimeRange
    types: _containers.RepeatedScalarFieldContainer[TransactionType]
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., types: _Optional[_Iterable[_Union[TransactionType, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUserTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAccountTransactionsRequest(_message.Message):
    __slots__ = ("account_id", "time_range", "types", "page_size", "page_token")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    time_range: _common_pb2.TimeRange
    types: _containers.RepeatedScalarFieldContainer[TransactionType]
    page_size: int
    page_token: str
    def __init__(self, account_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., types: _Optional[_Iterable[_Union[TransactionType, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAccountTransactionsResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReverseTransactionRequest(_message.Message):
    __slots__ = ("transaction_id", "reason", "request_id")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    reason: str
    request_id: str
    def __init__(self, transaction_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ReverseTransactionResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class CreatePendingTransferRequest(_message.Message):
    __slots__ = ("debit_account_id", "credit_account_id", "amount", "user_id", "type", "description", "related_entity_id", "expire_time", "request_id")
    DEBIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RELATED_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    debit_account_id: str
    credit_account_id: str
    amount: _common_pb2.Money
    user_id: str
    type: TransactionType
    description: str
    related_entity_id: str
    expire_time: _timestamp_pb2.Timestamp
    request_id: str
    def __init__(self, debit_account_id: _Optional[str] = ..., credit_account_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., user_id: _Optional[str] = ..., type: _Optional[_Union[TransactionType, str]] = ..., description: _Optional[str] = ..., related_entity_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreatePendingTransferResponse(_message.Message):
    __slots__ = ("pending_transfer",)
    PENDING_TRANSFER_FIELD_NUMBER: _ClassVar[int]
    pending_transfer: PendingTransfer
    def __init__(self, pending_transfer: _Optional[_Union[PendingTransfer, _Mapping]] = ...) -> None: ...

class GetPendingTransferRequest(_message.Message):
    __slots__ = ("pending_transfer_id",)
    PENDING_TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    pending_transfer_id: str
    def __init__(self, pending_transfer_id: _Optional[str] = ...) -> None: ...

class GetPendingTransferResponse(_message.Message):
    __slots__ = ("pending_transfer",)
    PENDING_TRANSFER_FIELD_NUMBER: _ClassVar[int]
    pending_transfer: PendingTransfer
    def __init__(self, pending_transfer: _Optional[_Union[PendingTransfer, _Mapping]] = ...) -> None: ...

class PostPendingTransferRequest(_message.Message):
    __slots__ = ("pending_transfer_id", "amount", "request_id", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PENDING_TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    pending_transfer_id: str
    amount: _common_pb2.Money
    request_id: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, pending_transfer_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., request_id: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PostPendingTransferResponse(_message.Message):
    __slots__ = ("pending_transfer", "transaction")
    PENDING_TRANSFER_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    pending_transfer: PendingTransfer
    transaction: Transaction
    def __init__(self, pending_transfer: _Optional[_Union[PendingTransfer, _Mapping]] = ..., transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class VoidPendingTransferRequest(_message.Message):
    __slots__ = ("pending_transfer_id", "reason")
    PENDING_TRANSFER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    pending_transfer_id: str
    reason: str
    def __init__(self, pending_transfer_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VoidPendingTransferResponse(_message.Message):
    __slots__ = ("pending_transfer",)
    PENDING_TRANSFER_FIELD_NUMBER: _ClassVar[int]
    pending_transfer: PendingTransfer
    def __init__(self, pending_transfer: _Optional[_Union[PendingTransfer, _Mapping]] = ...) -> None: ...

class StreamTransactionsRequest(_message.Message):
    __slots__ = ("after_sequence", "follow")
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    follow: bool
    def __init__(self, after_sequence: _Optional[int] = ..., follow: bool = ...) -> None: ...

class StreamTransactionsResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class VerifyChainRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyChainResponse(_message.Message):
    __slots__ = ("valid", "entries_checked", "first_broken_transaction_id", "first_broken_sequence", "detail")
    VALID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_BROKEN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    entries_checked: int
    first_broken_transaction_id: str
    first_broken_sequence: int
    detail: str
    def __init__(self, valid: bool = ..., entries_checked: _Optional[int] = ..., first_broken_transaction_id: _Optional[str] = ..., first_broken_sequence: _Optional[int] = ..., detail: _Optional[str] = ...) -> None: ...

class GetTrialBalanceRequest(_message.Message):
    __slots__ = ("as_of_time",)
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CurrencyTotals(_message.Message):
    __slots__ = ("currency", "total_debits_minor", "total_credits_minor", "balanced")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DEBITS_MINOR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CREDITS_MINOR_FIELD_NUMBER: _ClassVar[int]
    BALANCED_FIELD_NUMBER: _ClassVar[int]
    currency: str
    total_debits_minor: int
    total_credits_minor: int
    balanced: bool
    def __init__(self, currency: _Optional[str] = ..., total_debits_minor: _Optional[int] = ..., total_credits_minor: _Optional[int] = ..., balanced: bool = ...) -> None: ...

class AccountBalanceLine(_message.Message):
    __slots__ = ("account_id", "name", "type", "currency", "debit_minor", "credit_minor")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DEBIT_MINOR_FIELD_NUMBER: _ClassVar[int]
    CREDIT_MINOR_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    name: str
    type: AccountType
    currency: str
    debit_minor: int
    credit_minor: int
    def __init__(self, account_id: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[AccountType, str]] = ..., currency: _Optional[str] = ..., debit_minor: _Optional[int] = ..., credit_minor: _Optional[int] = ...) -> None: ...

class GetTrialBalanceResponse(_message.Message):
    __slots__ = ("lines", "totals", "as_of_time")
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[AccountBalanceLine]
    totals: _containers.RepeatedCompositeFieldContainer[CurrencyTotals]
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, lines: _Optional[_Iterable[_Union[AccountBalanceLine, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[CurrencyTotals, _Mapping]]] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetAccountStatementRequest(_message.Message):
    __slots__ = ("account_id", "time_range")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    time_range: _common_pb2.TimeRange
    def __init__(self, account_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class StatementLine(_message.Message):
    __slots__ = ("transaction_id", "timestamp", "type", "description", "change_minor", "balance_after_minor")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHANGE_MINOR_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_MINOR_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    timestamp: _timestamp_pb2.Timestamp
    type: TransactionType
    description: str
    change_minor: int
    balance_after_minor: int
    def __init__(self, transaction_id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[TransactionType, str]] = ..., description: _Optional[str] = ..., change_minor: _Optional[int] = ..., balance_after_minor: _Optional[int] = ...) -> None: ...

class GetAccountStatementResponse(_message.Message):
    __slots__ = ("account", "opening_balance", "closing_balance", "lines")
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    OPENING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    CLOSING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    account: Account
    opening_balance: _common_pb2.Money
    closing_balance: _common_pb2.Money
    lines: _containers.RepeatedCompositeFieldContainer[StatementLine]
    def __init__(self, account: _Optional[_Union[Account, _Mapping]] = ..., opening_balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., closing_balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[StatementLine, _Mapping]]] = ...) -> None: ...

class BatchGetRelatedEntriesRequest(_message.Message):
    __slots__ = ("related_entity_ids", "view")
    RELATED_ENTITY_IDS_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    related_entity_ids: _containers.RepeatedScalarFieldContainer[str]
    view: TransactionView
    def __init__(self, related_entity_ids: _Optional[_Iterable[str]] = ..., view: _Optional[_Union[TransactionView, str]] = ...) -> None: ...

class BatchGetRelatedEntriesResponse(_message.Message):
    __slots__ = ("transactions", "pending_transfers")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    PENDING_TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    pending_transfers: _containers.RepeatedCompositeFieldContainer[PendingTransfer]
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., pending_transfers: _Optional[_Iterable[_Union[PendingTransfer, _Mapping]]] = ...) -> None: ...

class ListRelatedEntriesRequest(_message.Message):
    __slots__ = ("related_entity_type", "time_range", "page_size", "page_token", "view")
    RELATED_ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    related_entity_type: str
    time_range: _common_pb2.TimeRange
    page_size: int
    page_token: str
    view: TransactionView
    def __init__(self, related_entity_type: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[TransactionView, str]] = ...) -> None: ...

class ListRelatedEntriesResponse(_message.Message):
    __slots__ = ("transactions", "next_page_token")
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    next_page_token: str
    def __init__(self, transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportRelatedEntriesRequest(_message.Message):
    __slots__ = ("related_entity_type", "time_range", "chunk_size")
    RELATED_ENTITY_TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    related_entity_type: str
    time_range: _common_pb2.TimeRange
    chunk_size: int
    def __init__(self, related_entity_type: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class RelatedEntryRecord(_message.Message):
    __slots__ = ("transaction_id", "related_entity_id", "type", "amount")
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    RELATED_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    transaction_id: str
    related_entity_id: str
    type: TransactionType
    amount: _common_pb2.Money
    def __init__(self, transaction_id: _Optional[str] = ..., related_entity_id: _Optional[str] = ..., type: _Optional[_Union[TransactionType, str]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ExportRelatedEntriesResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[RelatedEntryRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[RelatedEntryRecord, _Mapping]]] = ...) -> None: ...

class BooksFinding(_message.Message):
    __slots__ = ("kind", "subject_id", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: BooksFindingKind
    subject_id: str
    detail: str
    def __init__(self, kind: _Optional[_Union[BooksFindingKind, str]] = ..., subject_id: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class VerifyBooksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyBooksResponse(_message.Message):
    __slots__ = ("clean", "findings", "entries_checked", "accounts_checked", "open_pending_transfers", "totals")
    CLEAN_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    ACCOUNTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    OPEN_PENDING_TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    clean: bool
    findings: _containers.RepeatedCompositeFieldContainer[BooksFinding]
    entries_checked: int
    accounts_checked: int
    open_pending_transfers: int
    totals: _containers.RepeatedCompositeFieldContainer[CurrencyTotals]
    def __init__(self, clean: bool = ..., findings: _Optional[_Iterable[_Union[BooksFinding, _Mapping]]] = ..., entries_checked: _Optional[int] = ..., accounts_checked: _Optional[int] = ..., open_pending_transfers: _Optional[int] = ..., totals: _Optional[_Iterable[_Union[CurrencyTotals, _Mapping]]] = ...) -> None: ...
