"""The credit service's records as plain dataclasses; enum numbers match the proto's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from services.credit.bureau.base import BureauReport
from services.credit.domain.amortization import Installment


class Status(IntEnum):
    SUBMITTED = 1
    UNDER_REVIEW = 2
    APPROVED = 3
    REJECTED = 4
    DISBURSED = 5
    REPAID = 6
    CANCELLED = 7


class Purpose(IntEnum):
    PERSONAL = 1
    DEBT_CONSOLIDATION = 2
    HOME_IMPROVEMENT = 3
    EDUCATION = 4
    AUTO = 5
    MEDICAL = 6
    BUSINESS = 7
    OTHER = 8


class Employment(IntEnum):
    EMPLOYED = 1
    SELF_EMPLOYED = 2
    UNEMPLOYED = 3
    RETIRED = 4
    STUDENT = 5


class LineStatus(IntEnum):
    ACTIVE = 1
    FROZEN = 2
    CLOSED = 3


# Only these transitions are legal (the state machine documented in credit.proto).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SUBMITTED: frozenset({Status.UNDER_REVIEW, Status.APPROVED, Status.REJECTED, Status.CANCELLED}),
    Status.UNDER_REVIEW: frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED}),
    Status.APPROVED: frozenset({Status.DISBURSED, Status.CANCELLED}),
    Status.DISBURSED: frozenset({Status.REPAID}),
    Status.REJECTED: frozenset(),
    Status.REPAID: frozenset(),
    Status.CANCELLED: frozenset(),
}
OPEN_STATUSES = frozenset({Status.SUBMITTED, Status.UNDER_REVIEW, Status.APPROVED})
# Loans that may have ledger entries: approved or further (a cancelled one may have been paid out).
BOOKED_STATUSES = frozenset({Status.APPROVED, Status.DISBURSED, Status.REPAID, Status.CANCELLED})


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


class BureauStatus(IntEnum):
    """What came of the bureau check of an application; numbers match the proto's BureauCheckStatus."""

    REPORTED = 1  # the bureau answered with a report
    UNAVAILABLE = 2  # the bureau could not be reached; nothing is known
    NO_CONSENT = 3  # the applicant did not consent, so the bureau was not asked


@dataclass(frozen=True)
class BureauCheck:
    """The bureau check of one application, kept with it (the national id only masked)."""

    status: BureauStatus
    consent_time: datetime | None
    national_id_masked: str = ""
    report: BureauReport | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    description: str


@dataclass(frozen=True)
class Financials:
    """What the applicant declares; all amounts in ``currency``."""

    currency: str
    monthly_income: int
    monthly_debt: int
    employment: Employment
    employment_months: int
    total_debt: int = 0
    credit_history_months: int = 0
    utilization_bps: int = 0
    delinquencies_24m: int = 0
    open_accounts: int = 0
    inquiries_6m: int = 0


@dataclass(frozen=True)
class Score:
    id: str
    user_id: str
    score: int
    default_probability_bps: int
    reasons: tuple[Reason, ...]
    model_version: str
    create_time: datetime
    application_id: str = ""


@dataclass(frozen=True)
class StatusChange:
    from_status: Status | None
    to_status: Status
    reason: str
    actor: str
    change_time: datetime


@dataclass(frozen=True)
class Repayment:
    id: str
    amount: int
    principal: int
    interest: int
    transaction_id: str
    request_id: str
    create_time: datetime


@dataclass(frozen=True)
class RepaymentIntent:
    """A repayment's ledger entry as decided under the application's lock, kept until recorded.

    ``seq`` orders intents by creation (0 before it is stored); ``scope``/``request_id`` identify
    the request (its idempotency key) that the recorded repayment answers."""

    seq: int
    application_id: str
    scope: str
    request_id: str
    actor: str
    amount: int
    principal: int
    interest: int
    wallet_account_id: str
    income_account_id: str
    ledger_key: str


@dataclass
class Application:
    id: str
    user_id: str
    amount: int
    currency: str
    term_months: int
    purpose: Purpose
    purpose_description: str
    financials: Financials
    status: Status
    request_id: str
    create_time: datetime
    update_time: datetime
    credit_score: int = 0
    credit_score_id: str = ""
    debt_to_income_bps: int = 0
    decision_reasons: tuple[Reason, ...] = ()
    decided_by: str = ""
    decision_time: datetime | None = None
    approved_amount: int = 0
    # The APR automatic underwriting priced, kept for an underwriter's approval; 0 when none.
    priced_apr_bps: int = 0
    apr_bps: int = 0
    installment_amount: int = 0
    schedule: tuple[Installment, ...] = ()
    loan_account_id: str = ""
    disbursement_transaction_id: str = ""
    disburse_time: datetime | None = None
    repayments: tuple[Repayment, ...] = ()
    history: tuple[StatusChange, ...] = field(default_factory=tuple)
    # None for applications submitted before the bureau connector existed.
    bureau: BureauCheck | None = None

    @property
    def total_interest(self) -> int:
        return sum(i.interest for i in self.schedule)

    @property
    def repaid_amount(self) -> int:
        return sum(r.amount for r in self.repayments)

    @property
    def outstanding_principal(self) -> int:
        if not self.schedule:
            return 0
        return self.approved_amount - sum(i.principal_paid for i in self.schedule)


@dataclass(frozen=True)
class CreditLine:
    id: str
    user_id: str
    currency: str
    limit: int
    status: LineStatus
    apr_bps: int
    ledger_account_id: str
    create_time: datetime
    update_time: datetime
