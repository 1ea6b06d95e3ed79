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

class LoanApplicationStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOAN_APPLICATION_STATUS_UNSPECIFIED: _ClassVar[LoanApplicationStatus]
    LOAN_APPLICATION_STATUS_SUBMITTED: _ClassVar[LoanApplicationStatus]
    LOAN_APPLICATION_STATUS_UNDER_REVIEW: _ClassVar[LoanApplicationStatus]
    LOAN_APPLICATION_STATUS_APPROVED: _ClassVar[LoanApplicationStatus]
    LOAN_APPLICATION_STATUS_REJECTED: _ClassVar[LoanApplicationStatus]
    LOAN_APPLICATION_STATUS_DISBURSED: _ClassVar[LoanApplicationStatus]
    LOAN_APPLICATION_STATUS_REPAID: _ClassVar[LoanApplicationStatus]
    LOAN_APPLICATION_STATUS_CANCELLED: _ClassVar[LoanApplicationStatus]

class LoanPurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOAN_PURPOSE_UNSPECIFIED: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_PERSONAL: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_DEBT_CONSOLIDATION: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_HOME_IMPROVEMENT: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_EDUCATION: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_AUTO: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_MEDICAL: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_BUSINESS: _ClassVar[LoanPurpose]
    LOAN_PURPOSE_OTHER: _ClassVar[LoanPurpose]

class EmploymentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EMPLOYMENT_STATUS_UNSPECIFIED: _ClassVar[EmploymentStatus]
    EMPLOYMENT_STATUS_EMPLOYED: _ClassVar[EmploymentStatus]
    EMPLOYMENT_STATUS_SELF_EMPLOYED: _ClassVar[EmploymentStatus]
    EMPLOYMENT_STATUS_UNEMPLOYED: _ClassVar[EmploymentStatus]
    EMPLOYMENT_STATUS_RETIRED: _ClassVar[EmploymentStatus]
    EMPLOYMENT_STATUS_STUDENT: _ClassVar[EmploymentStatus]

class LoanDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOAN_DECISION_UNSPECIFIED: _ClassVar[LoanDecision]
    LOAN_DECISION_APPROVE: _ClassVar[LoanDecision]
    LOAN_DECISION_REJECT: _ClassVar[LoanDecision]

class InstallmentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTALLMENT_STATUS_UNSPECIFIED: _ClassVar[InstallmentStatus]
    INSTALLMENT_STATUS_SCHEDULED: _ClassVar[InstallmentStatus]
    INSTALLMENT_STATUS_PARTIALLY_PAID: _ClassVar[InstallmentStatus]
    INSTALLMENT_STATUS_PAID: _ClassVar[InstallmentStatus]
    INSTALLMENT_STATUS_OVERDUE: _ClassVar[InstallmentStatus]

class CreditScoreBand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_SCORE_BAND_UNSPECIFIED: _ClassVar[CreditScoreBand]
    CREDIT_SCORE_BAND_POOR: _ClassVar[CreditScoreBand]
    CREDIT_SCORE_BAND_FAIR: _ClassVar[CreditScoreBand]
    CREDIT_SCORE_BAND_GOOD: _ClassVar[CreditScoreBand]
    CREDIT_SCORE_BAND_VERY_GOOD: _ClassVar[CreditScoreBand]
    CREDIT_SCORE_BAND_EXCEPTIONAL: _ClassVar[CreditScoreBand]

class CreditLineStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_LINE_STATUS_UNSPECIFIED: _ClassVar[CreditLineStatus]
    CREDIT_LINE_STATUS_ACTIVE: _ClassVar[CreditLineStatus]
    CREDIT_LINE_STATUS_FROZEN: _ClassVar[CreditLineStatus]
    CREDIT_LINE_STATUS_CLOSED: _ClassVar[CreditLineStatus]

class BureauCheckStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUREAU_CHECK_STATUS_UNSPECIFIED: _ClassVar[BureauCheckStatus]
    BUREAU_CHECK_STATUS_REPORTED: _ClassVar[BureauCheckStatus]
    BUREAU_CHECK_STATUS_UNAVAILABLE: _ClassVar[BureauCheckStatus]
    BUREAU_CHECK_STATUS_NO_CONSENT: _ClassVar[BureauCheckStatus]

class LoanMismatchKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LOAN_MISMATCH_KIND_UNSPECIFIED: _ClassVar[LoanMismatchKind]
    LOAN_MISMATCH_KIND_MISSING_LEDGER_ENTRY: _ClassVar[LoanMismatchKind]
    LOAN_MISMATCH_KIND_DUPLICATE_LEDGER_ENTRY: _ClassVar[LoanMismatchKind]
    LOAN_MISMATCH_KIND_AMOUNT_MISMATCH: _ClassVar[LoanMismatchKind]
    LOAN_MISMATCH_KIND_UNRECORDED_DISBURSEMENT: _ClassVar[LoanMismatchKind]
    LOAN_MISMATCH_KIND_UNRECORDED_REPAYMENT: _ClassVar[LoanMismatchKind]
LOAN_APPLICATION_STATUS_UNSPECIFIED: LoanApplicationStatus
LOAN_APPLICATION_STATUS_SUBMITTED: LoanApplicationStatus
LOAN_APPLICATION_STATUS_UNDER_REVIEW: LoanApplicationStatus
LOAN_APPLICATION_STATUS_APPROVED: LoanApplicationStatus
LOAN_APPLICATION_STATUS_REJECTED: LoanApplicationStatus
LOAN_APPLICATION_STATUS_DISBURSED: LoanApplicationStatus
LOAN_APPLICATION_STATUS_REPAID: LoanApplicationStatus
LOAN_APPLICATION_STATUS_CANCELLED: LoanApplicationStatus
LOAN_PURPOSE_UNSPECIFIED: LoanPurpose
LOAN_PURPOSE_PERSONAL: LoanPurpose
LOAN_PURPOSE_DEBT_CONSOLIDATION: LoanPurpose
LOAN_PURPOSE_HOME_IMPROVEMENT: LoanPurpose
LOAN_PURPOSE_EDUCATION: LoanPurpose
LOAN_PURPOSE_AUTO: LoanPurpose
LOAN_PURPOSE_MEDICAL: LoanPurpose
LOAN_PURPOSE_BUSINESS: LoanPurpose
LOAN_PURPOSE_OTHER: LoanPurpose
EMPLOYMENT_STATUS_UNSPECIFIED: EmploymentStatus
EMPLOYMENT_STATUS_EMPLOYED: EmploymentStatus
EMPLOYMENT_STATUS_SELF_EMPLOYED: EmploymentStatus
EMPLOYMENT_STATUS_UNEMPLOYED: EmploymentStatus
EMPLOYMENT_STATUS_RETIRED: EmploymentStatus
EMPLOYMENT_STATUS_STUDENT: EmploymentStatus
LOAN_DECISION_UNSPECIFIED: LoanDecision
LOAN_DECISION_APPROVE: LoanDecision
LOAN_DECISION_REJECT: LoanDecision
INSTALLMENT_STATUS_UNSPECIFIED: InstallmentStatus
INSTALLMENT_STATUS_SCHEDULED: InstallmentStatus
INSTALLMENT_STATUS_PARTIALLY_PAID: InstallmentStatus
INSTALLMENT_STATUS_PAID: InstallmentStatus
INSTALLMENT_STATUS_OVERDUE: InstallmentStatus
CREDIT_SCORE_BAND_UNSPECIFIED: CreditScoreBand
CREDIT_SCORE_BAND_POOR: CreditScoreBand
CREDIT_SCORE_BAND_FAIR: CreditScoreBand
CREDIT_SCORE_BAND_GOOD: CreditScoreBand
CREDIT_SCORE_BAND_VERY_GOOD: CreditScoreBand
CREDIT_SCORE_BAND_EXCEPTIONAL: CreditScoreBand
CREDIT_LINE_STATUS_UNSPECIFIED: CreditLineStatus
CREDIT_LINE_STATUS_ACTIVE: CreditLineStatus
CREDIT_LINE_STATUS_FROZEN: CreditLineStatus
CREDIT_LINE_STATUS_CLOSED: CreditLineStatus
BUREAU_CHECK_STATUS_UNSPECIFIED: BureauCheckStatus
BUREAU_CHECK_STATUS_REPORTED: BureauCheckStatus
BUREAU_CHECK_STATUS_UNAVAILABLE: BureauCheckStatus
BUREAU_CHECK_STATUS_NO_CONSENT: BureauCheckStatus
LOAN_MISMATCH_KIND_UNSPECIFIED: LoanMismatchKind
LOAN_MISMATCH_KIND_MISSING_LEDGER_ENTRY: LoanMismatchKind
LOAN_MISMATCH_KIND_DUPLICATE_LEDGER_ENTRY: LoanMismatchKind
LOAN_MISMATCH_KIND_AMOUNT_MISMATCH: LoanMismatchKind
LOAN_MISMATCH_KIND_UNRECORDED_DISBURSEMENT: LoanMismatchKind
LOAN_MISMATCH_KIND_UNRECORDED_REPAYMENT: LoanMismatchKind

class CreditBureauReport(_message.Message):
    __slots__ = ("bureau", "reference", "score_band", "open_accounts", "delinquencies_24m", "defaults", "inquiries_6m", "history_months", "thin_file", "pull_time")
    BUREAU_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    SCORE_BAND_FIELD_NUMBER: _ClassVar[int]
    OPEN_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    DELINQUENCIES_24M_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    INQUIRIES_6M_FIELD_NUMBER: _ClassVar[int]
    HISTORY_MONTHS_FIELD_NUMBER: _ClassVar[int]
    THIN_FILE_FIELD_NUMBER: _ClassVar[int]
    PULL_TIME_FIELD_NUMBER: _ClassVar[int]
    bureau: str
    reference: str
    score_band: CreditScoreBand
    open_accounts: int
    delinquencies_24m: int
    defaults: int
    inquiries_6m: int
    history_months: int
    thin_file: bool
    pull_time: _timestamp_pb2.Timestamp
    def __init__(self, bureau: _Optional[str] = ..., reference: _Optional[str] = ..., score_band: _Optional[_Union[CreditScoreBand, str]] = ..., open_accounts: _Optional[int] = ..., delinquencies_24m: _Optional[int] = ..., defaults: _Optional[int] = ..., inquiries_6m: _Optional[int] = ..., history_months: _Optional[int] = ..., thin_file: bool = ..., pull_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BureauCheck(_message.Message):
    __slots__ = ("status", "consent_time", "national_id_masked", "report")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONSENT_TIME_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_ID_MASKED_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    status: BureauCheckStatus
    consent_time: _timestamp_pb2.Timestamp
    national_id_masked: str
    report: CreditBureauReport
    def __init__(self, status: _Optional[_Union[BureauCheckStatus, str]] = ..., consent_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., national_id_masked: _Optional[str] = ..., report: _Optional[_Union[CreditBureauReport, _Mapping]] = ...) -> None: ...

class ReasonCode(_message.Message):
    __slots__ = ("code", "description")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    code: str
    description: str
    def __init__(self, code: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ApplicantFinancials(_message.Message):
    __slots__ = ("monthly_income", "monthly_debt", "employment_status", "employment_months", "total_debt", "credit_history_months", "utilization_bps", "delinquencies_24m", "open_accounts", "inquiries_6m")
    MONTHLY_INCOME_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_DEBT_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_STATUS_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_MONTHS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DEBT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_HISTORY_MONTHS_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_BPS_FIELD_NUMBER: _ClassVar[int]
    DELINQUENCIES_24M_FIELD_NUMBER: _ClassVar[int]
    OPEN_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    INQUIRIES_6M_FIELD_NUMBER: _ClassVar[int]
    monthly_income: _common_pb2.Money
    monthly_debt: _common_pb2.Money
    employment_status: EmploymentStatus
    employment_months: int
    total_debt: _common_pb2.Money
    credit_history_months: int
    utilization_bps: int
    delinquencies_24m: int
    open_accounts: int
    inquiries_6m: int
    def __init__(self, monthly_income: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., monthly_debt: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., employment_status: _Optional[_Union[EmploymentStatus, str]] = ..., employment_months: _Optional[int] = ..., total_debt: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., credit_history_months: _Optional[int] = ..., utilization_bps: _Optional[int] = ..., delinquencies_24m: _Optional[int] = ..., open_accounts: _Optional[int] = ..., inquiries_6m: _Optional[int] = ...) -> None: ...

class LoanApplication(_message.Message):
    __slots__ = ("id", "user_id", "amount", "term_months", "purpose", "purpose_description", "financials", "status", "credit_score", "credit_score_id", "debt_to_income_bps", "decision_reasons", "decided_by", "decision_time", "approved_amount", "apr_bps", "installment_amount", "total_interest", "schedule", "outstanding_principal", "repaid_amount", "repayments", "loan_account_id", "disbursement_transaction_id", "disburse_time", "status_history", "request_id", "create_time", "update_time", "bureau_check")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TERM_MONTHS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FINANCIALS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREDIT_SCORE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_SCORE_ID_FIELD_NUMBER: _ClassVar[int]
    DEBT_TO_INCOME_BPS_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASONS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECISION_TIME_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    APR_BPS_FIELD_NUMBER: _ClassVar[int]
    INSTALLMENT_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INTEREST_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    REPAID_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REPAYMENTS_FIELD_NUMBER: _ClassVar[int]
    LOAN_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISBURSEMENT_TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    DISBURSE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_HISTORY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    BUREAU_CHECK_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    amount: _common_pb2.Money
    term_months: int
    purpose: LoanPurpose
    purpose_description: str
    financials: ApplicantFinancials
    status: LoanApplicationStatus
    credit_score: int
    credit_score_id: str
    debt_to_income_bps: int
    decision_reasons: _containers.RepeatedCompositeFieldContainer[ReasonCode]
    decided_by: str
    decision_time: _timestamp_pb2.Timestamp
    approved_amount: _common_pb2.Money
    apr_bps: int
    installment_amount: _common_pb2.Money
    total_interest: _common_pb2.Money
    schedule: _containers.RepeatedCompositeFieldContainer[Installment]
    outstanding_principal: _common_pb2.Money
    repaid_amount: _common_pb2.Money
    repayments: _containers.RepeatedCompositeFieldContainer[Repayment]
    loan_account_id: str
    disbursement_transaction_id: str
    disburse_time: _timestamp_pb2.Timestamp
    status_history: _containers.RepeatedCompositeFieldContainer[LoanStatusChange]
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    bureau_check: BureauCheck
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., term_months: _Optional[int] = ..., purpose: _Optional[_Union[LoanPurpose, str]] = ..., purpose_description: _Optional[str] = ..., financials: _Optional[_Union[ApplicantFinancials, _Mapping]] = ..., status: _Optional[_Union[LoanApplicationStatus, str]] = ..., credit_score: _Optional[int] = ..., credit_score_id: _Optional[str] = ..., debt_to_income_bps: _Optional[int] = ..., decision_reasons: _Optional[_Iterable[_Union[ReasonCode, _Mapping]]] = ..., decided_by: _Optional[str] = ..., decision_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approved_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., apr_bps: _Optional[int] = ..., installment_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., total_interest: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., schedule: _Optional[_Iterable[_Union[Installment, _Mapping]]] = ..., outstanding_principal: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., repaid_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., repayments: _Optional[_Iterable[_Union[Repayment, _Mapping]]] = ..., loan_account_id: _Optional[str] = ..., disbursement_transaction_id: _Optional[str] = ..., disburse_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status_history: _Optional[_Iterable[_Union[LoanStatusChange, _Mapping]]] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bureau_check: _Optional[_Union[BureauCheck, _Mapping]] = ...) -> None: ...

class Installment(_message.Message):
    __slots__ = ("number", "due_date", "principal", "interest", "total", "remaining", "paid", "status")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    number: int
    due_date: str
    principal: _common_pb2.Money
    interest: _common_pb2.Money
    total: _common_pb2.Money
    remaining: _common_pb2.Money
    paid: _common_pb2.Money
    status: InstallmentStatus
    def __init__(self, number: _Optional[int] = ..., due_date: _Optional[str] = ..., principal: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., interest: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., remaining: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., paid: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[InstallmentStatus, str]] = ...) -> None: ...

class Repayment(_message.Message):
    __slots__ = ("id", "amount", "principal", "interest", "transaction_id", "request_id", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    amount: _common_pb2.Money
    principal: _common_pb2.Money
    interest: _common_pb2.Money
    transaction_id: str
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., principal: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., interest: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transaction_id: _Optional[str] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LoanStatusChange(_message.Message):
    __slots__ = ("from_status", "to_status", "reason", "actor", "change_time")
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    from_status: LoanApplicationStatus
    to_status: LoanApplicationStatus
    reason: str
    actor: str
    change_time: _timestamp_pb2.Timestamp
    def __init__(self, from_status: _Optional[_Union[LoanApplicationStatus, str]] = ..., to_status: _Optional[_Union[LoanApplicationStatus, str]] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreditScore(_message.Message):
    __slots__ = ("id", "user_id", "score", "band", "default_probability_bps", "reason_codes", "model_version", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_PROBABILITY_BPS_FIELD_NUMBER: _ClassVar[int]
    REASON_CODES_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    score: int
    band: CreditScoreBand
    default_probability_bps: int
    reason_codes: _containers.RepeatedCompositeFieldContainer[ReasonCode]
    model_version: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., score: _Optional[int] = ..., band: _Optional[_Union[CreditScoreBand, str]] = ..., default_probability_bps: _Optional[int] = ..., reason_codes: _Optional[_Iterable[_Union[ReasonCode, _Mapping]]] = ..., model_version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreditLine(_message.Message):
    __slots__ = ("id", "user_id", "limit", "available", "used", "status", "apr_bps", "ledger_account_id", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APR_BPS_FIELD_NUMBER: _ClassVar[int]
    LEDGER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    limit: _common_pb2.Money
    available: _common_pb2.Money
    used: _common_pb2.Money
    status: CreditLineStatus
    apr_bps: int
    ledger_account_id: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., available: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., used: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[CreditLineStatus, str]] = ..., apr_bps: _Optional[int] = ..., ledger_account_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitLoanApplicationRequest(_message.Message):
    __slots__ = ("user_id", "amount", "term_months", "purpose", "purpose_description", "financials", "request_id", "bureau_consent", "national_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TERM_MONTHS_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FINANCIALS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    BUREAU_CONSENT_FIELD_NUMBER: _ClassVar[int]
    NATIONAL_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount: _common_pb2.Money
    term_months: int
    purpose: LoanPurpose
    purpose_description: str
    financials: ApplicantFinancials
    request_id: str
    bureau_consent: bool
    national_id: str
    def __init__(self, user_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., term_months: _Optional[int] = ..., purpose: _Optional[_Union[LoanPurpose, str]] = ..., purpose_description: _Optional[str] = ..., financials: _Optional[_Union[ApplicantFinancials, _Mapping]] = ..., request_id: _Optional[str] = ..., bureau_consent: bool = ..., national_id: _Optional[str] = ...) -> None: ...

class SubmitLoanApplicationResponse(_message.Message):
    __slots__ = ("loan_application",)
    LOAN_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    loan_application: LoanApplication
    def __init__(self, loan_application: _Optional[_Union[LoanApplication, _Mapping]] = ...) -> None: ...

class GetLoanApplicationRequest(_message.Message):
    __slots__ = ("application_id",)
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    def __init__(self, application_id: _Optional[str] = ...) -> None: ...

class GetLoanApplicationResponse(_message.Message):
    __slots__ = ("loan_application",)
    LOAN_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    loan_application: LoanApplication
    def __init__(self, loan_application: _Optional[_Union[LoanApplication, _Mapping]] = ...) -> None: ...

class ListLoanApplicationsRequest(_message.Message):
    __slots__ = ("user_id", "statuses", "create_time_range", "page_size", "page_token", "currency")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    statuses: _containers.RepeatedScalarFieldContainer[LoanApplicationStatus]
    create_time_range: _common_pb2.TimeRange
    page_size: int
    page_token: str
    currency: str
    def __init__(self, user_id: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[LoanApplicationStatus, str]]] = ..., create_time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class ListLoanApplicationsResponse(_message.Message):
    __slots__ = ("loan_applications", "next_page_token")
    LOAN_APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    loan_applications: _containers.RepeatedCompositeFieldContainer[LoanApplication]
    next_page_token: str
    def __init__(self, loan_applications: _Optional[_Iterable[_Union[LoanApplication, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DecideLoanApplicationRequest(_message.Message):
    __slots__ = ("application_id", "decision", "reasons", "approved_amount", "apr_bps", "note", "request_id")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    APR_BPS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    decision: LoanDecision
    reasons: _containers.RepeatedCompositeFieldContainer[ReasonCode]
    approved_amount: _common_pb2.Money
    apr_bps: int
    note: str
    request_id: str
    def __init__(self, application_id: _Optional[str] = ..., decision: _Optional[_Union[LoanDecision, str]] = ..., reasons: _Optional[_Iterable[_Union[ReasonCode, _Mapping]]] = ..., approved_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., apr_bps: _Optional[int] = ..., note: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DecideLoanApplicationResponse(_message.Message):
    __slots__ = ("loan_application",)
    LOAN_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    loan_application: LoanApplication
    def __init__(self, loan_application: _Optional[_Union[LoanApplication, _Mapping]] = ...) -> None: ...

class CancelLoanApplicationRequest(_message.Message):
    __slots__ = ("application_id", "reason", "request_id")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    reason: str
    request_id: str
    def __init__(self, application_id: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CancelLoanApplicationResponse(_message.Message):
    __slots__ = ("loan_application",)
    LOAN_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    loan_application: LoanApplication
    def __init__(self, loan_application: _Optional[_Union[LoanApplication, _Mapping]] = ...) -> None: ...

class DisburseLoanRequest(_message.Message):
    __slots__ = ("application_id", "request_id")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    request_id: str
    def __init__(self, application_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DisburseLoanResponse(_message.Message):
    __slots__ = ("loan_application",)
    LOAN_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    loan_application: LoanApplication
    def __init__(self, loan_application: _Optional[_Union[LoanApplication, _Mapping]] = ...) -> None: ...

class RecordRepaymentRequest(_message.Message):
    __slots__ = ("application_id", "amount", "request_id")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    amount: _common_pb2.Money
    request_id: str
    def __init__(self, application_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordRepaymentResponse(_message.Message):
    __slots__ = ("loan_application", "repayment")
    LOAN_APPLICATION_FIELD_NUMBER: _ClassVar[int]
    REPAYMENT_FIELD_NUMBER: _ClassVar[int]
    loan_application: LoanApplication
    repayment: Repayment
    def __init__(self, loan_application: _Optional[_Union[LoanApplication, _Mapping]] = ..., repayment: _Optional[_Union[Repayment, _Mapping]] = ...) -> None: ...

class GetCreditScoreRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetCreditScoreResponse(_message.Message):
    __slots__ = ("credit_score",)
    CREDIT_SCORE_FIELD_NUMBER: _ClassVar[int]
    credit_score: CreditScore
    def __init__(self, credit_score: _Optional[_Union[CreditScore, _Mapping]] = ...) -> None: ...

class RefreshCreditScoreRequest(_message.Message):
    __slots__ = ("user_id", "financials", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FINANCIALS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    financials: ApplicantFinancials
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., financials: _Optional[_Union[ApplicantFinancials, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RefreshCreditScoreResponse(_message.Message):
    __slots__ = ("credit_score",)
    CREDIT_SCORE_FIELD_NUMBER: _ClassVar[int]
    credit_score: CreditScore
    def __init__(self, credit_score: _Optional[_Union[CreditScore, _Mapping]] = ...) -> None: ...

class ListCreditScoreHistoryRequest(_message.Message):
    __slots__ = ("user_id", "create_time_range", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    create_time_range: _common_pb2.TimeRange
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., create_time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCreditScoreHistoryResponse(_message.Message):
    __slots__ = ("credit_scores", "next_page_token")
    CREDIT_SCORES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    credit_scores: _containers.RepeatedCompositeFieldContainer[CreditScore]
    next_page_token: str
    def __init__(self, credit_scores: _Optional[_Iterable[_Union[CreditScore, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetCreditLineRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetCreditLineResponse(_message.Message):
    __slots__ = ("credit_line",)
    CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    credit_line: CreditLine
    def __init__(self, credit_line: _Optional[_Union[CreditLine, _Mapping]] = ...) -> None: ...

class UpdateCreditLineRequest(_message.Message):
    __slots__ = ("user_id", "limit", "status", "apr_bps", "reason", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    APR_BPS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    limit: _common_pb2.Money
    status: CreditLineStatus
    apr_bps: int
    reason: str
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., limit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[CreditLineStatus, str]] = ..., apr_bps: _Optional[int] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class UpdateCreditLineResponse(_message.Message):
    __slots__ = ("credit_line",)
    CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    credit_line: CreditLine
    def __init__(self, credit_line: _Optional[_Union[CreditLine, _Mapping]] = ...) -> None: ...

class LoanMismatch(_message.Message):
    __slots__ = ("application_id", "kind", "transaction_id", "detail")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    kind: LoanMismatchKind
    transaction_id: str
    detail: str
    def __init__(self, application_id: _Optional[str] = ..., kind: _Optional[_Union[LoanMismatchKind, str]] = ..., transaction_id: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class GetLoanReconciliationReportRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetLoanReconciliationReportResponse(_message.Message):
    __slots__ = ("loans_checked", "ledger_transactions_checked", "loans_in_doubt", "mismatches")
    LOANS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    LEDGER_TRANSACTIONS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    LOANS_IN_DOUBT_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    loans_checked: int
    ledger_transactions_checked: int
    loans_in_doubt: int
    mismatches: _containers.RepeatedCompositeFieldContainer[LoanMismatch]
    def __init__(self, loans_checked: _Optional[int] = ..., ledger_transactions_checked: _Optional[int] = ..., loans_in_doubt: _Optional[int] = ..., mismatches: _Optional[_Iterable[_Union[LoanMismatch, _Mapping]]] = ...) -> None: ...

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

class CreditLineDraw(_message.Message):
    __slots__ = ("id", "user_id", "credit_line_id", "amount", "transaction_id", "request_id", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    credit_line_id: str
    amount: _common_pb2.Money
    transaction_id: str
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., credit_line_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transaction_id: _Optional[str] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreditLineRepayment(_message.Message):
    __slots__ = ("id", "user_id", "credit_line_id", "amount", "interest", "principal", "transaction_id", "request_id", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    credit_line_id: str
    amount: _common_pb2.Money
    interest: _common_pb2.Money
    principal: _common_pb2.Money
    transaction_id: str
    request_id: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., credit_line_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., interest: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., principal: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transaction_id: _Optional[str] = ..., request_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreditLineStatement(_message.Message):
    __slots__ = ("id", "user_id", "credit_line_id", "period_start_date", "period_end_date", "opening_balance", "draws", "repayments", "interest", "closing_balance", "minimum_payment", "due_date", "apr_bps", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_DATE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_DATE_FIELD_NUMBER: _ClassVar[int]
    OPENING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    DRAWS_FIELD_NUMBER: _ClassVar[int]
    REPAYMENTS_FIELD_NUMBER: _ClassVar[int]
    INTEREST_FIELD_NUMBER: _ClassVar[int]
    CLOSING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_PAYMENT_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    APR_BPS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    credit_line_id: str
    period_start_date: str
    period_end_date: str
    opening_balance: _common_pb2.Money
    draws: _common_pb2.Money
    repayments: _common_pb2.Money
    interest: _common_pb2.Money
    closing_balance: _common_pb2.Money
    minimum_payment: _common_pb2.Money
    due_date: str
    apr_bps: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., credit_line_id: _Optional[str] = ..., period_start_date: _Optional[str] = ..., period_end_date: _Optional[str] = ..., opening_balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., draws: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., repayments: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., interest: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., closing_balance: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., minimum_payment: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., due_date: _Optional[str] = ..., apr_bps: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DrawCreditLineRequest(_message.Message):
    __slots__ = ("user_id", "amount", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount: _common_pb2.Money
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DrawCreditLineResponse(_message.Message):
    __slots__ = ("draw", "credit_line", "interest_due")
    DRAW_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    INTEREST_DUE_FIELD_NUMBER: _ClassVar[int]
    draw: CreditLineDraw
    credit_line: CreditLine
    interest_due: _common_pb2.Money
    def __init__(self, draw: _Optional[_Union[CreditLineDraw, _Mapping]] = ..., credit_line: _Optional[_Union[CreditLine, _Mapping]] = ..., interest_due: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class RepayCreditLineRequest(_message.Message):
    __slots__ = ("user_id", "amount", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    amount: _common_pb2.Money
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RepayCreditLineResponse(_message.Message):
    __slots__ = ("repayment", "credit_line", "interest_due")
    REPAYMENT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LINE_FIELD_NUMBER: _ClassVar[int]
    INTEREST_DUE_FIELD_NUMBER: _ClassVar[int]
    repayment: CreditLineRepayment
    credit_line: CreditLine
    interest_due: _common_pb2.Money
    def __init__(self, repayment: _Optional[_Union[CreditLineRepayment, _Mapping]] = ..., credit_line: _Optional[_Union[CreditLine, _Mapping]] = ..., interest_due: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ListCreditLineStatementsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCreditLineStatementsResponse(_message.Message):
    __slots__ = ("statements", "next_page_token")
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    statements: _containers.RepeatedCompositeFieldContainer[CreditLineStatement]
    next_page_token: str
    def __init__(self, statements: _Optional[_Iterable[_Union[CreditLineStatement, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetCreditLineStatementRequest(_message.Message):
    __slots__ = ("user_id", "statement_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    statement_id: str
    def __init__(self, user_id: _Optional[str] = ..., statement_id: _Optional[str] = ...) -> None: ...

class GetCreditLineStatementResponse(_message.Message):
    __slots__ = ("statement",)
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    statement: CreditLineStatement
    def __init__(self, statement: _Optional[_Union[CreditLineStatement, _Mapping]] = ...) -> None: ...
