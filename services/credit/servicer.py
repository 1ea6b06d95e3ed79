"""gRPC adapter of the credit service: proto ⇄ domain, syntactic validation, authorization."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime

import grpc
from google.protobuf.message import Message
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc

from services.credit.bureau.base import normalize_national_id
from services.credit.domain.amortization import installment_state
from services.credit.domain.model import (
    Application,
    BureauCheck,
    Employment,
    Financials,
    LineStatus,
    Purpose,
    Reason,
    Repayment,
    Score,
    Status,
)
from services.credit.domain.underwriting import MAX_APR_BPS, MAX_TERM_MONTHS, MIN_TERM_MONTHS
from services.credit.lines.servicer import CreditLineServicerMixin
from services.credit.service import (
    CreditService,
    Idem,
    LineChange,
    LineView,
    NewApplication,
    reconcile_loans,
)
from services.runtime import audit
from services.runtime.api import (
    FieldChecks,
    page_size,
    paginate,
    query_key,
    time_range,
    to_money,
    to_timestamp,
)
from services.runtime.auth import (
    ROLE_ADMIN,
    ROLE_SERVICE,
    ROLE_UNDERWRITER,
    Principal,
    current_principal,
    require_owner_or_roles,
    require_roles,
)
from services.runtime.clock import Clock
from services.runtime.errors import PermissionDenied
from services.runtime.ids import is_valid_id
from services.runtime.money import MAX_AMOUNT_MINOR

C = credit_pb2
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

BANDS = (
    (800, C.CREDIT_SCORE_BAND_EXCEPTIONAL),
    (740, C.CREDIT_SCORE_BAND_VERY_GOOD),
    (670, C.CREDIT_SCORE_BAND_GOOD),
    (580, C.CREDIT_SCORE_BAND_FAIR),
    (300, C.CREDIT_SCORE_BAND_POOR),
)
INSTALLMENT_STATES = {
    "SCHEDULED": C.INSTALLMENT_STATUS_SCHEDULED,
    "PARTIALLY_PAID": C.INSTALLMENT_STATUS_PARTIALLY_PAID,
    "PAID": C.INSTALLMENT_STATUS_PAID,
    "OVERDUE": C.INSTALLMENT_STATUS_OVERDUE,
}


def band(score: int) -> int:
    for floor, value in BANDS:
        if score >= floor:
            return value
    return C.CREDIT_SCORE_BAND_POOR


def fingerprint(request: Message) -> str:
    """A digest of the request without its idempotency key, to tell a replay from a reuse."""
    body = type(request)()
    body.CopyFrom(request)
    body.ClearField("request_id")
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


def idem(principal: Principal, operation: str, request: Message) -> Idem:
    return Idem(principal.subject, request.request_id, operation, fingerprint(request))


# -- domain -> proto ----------------------------------------------------------------------------


def _reasons_pb(reasons: tuple[Reason, ...]) -> list[credit_pb2.ReasonCode]:
    return [C.ReasonCode(code=r.code, description=r.description) for r in reasons]


def financials_pb(f: Financials) -> credit_pb2.ApplicantFinancials:
    return C.ApplicantFinancials(
        monthly_income=to_money(f.monthly_income, f.currency),
        monthly_debt=to_money(f.monthly_debt, f.currency),
        employment_status=credit_pb2.EmploymentStatus.ValueType(int(f.employment)),
        employment_months=f.employment_months,
        total_debt=to_money(f.total_debt, f.currency),
        credit_history_months=f.credit_history_months,
        utilization_bps=f.utilization_bps,
        delinquencies_24m=f.delinquencies_24m,
        open_accounts=f.open_accounts,
        inquiries_6m=f.inquiries_6m,
    )


def repayment_pb(r: Repayment, currency: str) -> credit_pb2.Repayment:
    return C.Repayment(
        id=r.id,
        amount=to_money(r.amount, currency),
        principal=to_money(r.principal, currency),
        interest=to_money(r.interest, currency),
        transaction_id=r.transaction_id,
        request_id=r.request_id,
        create_time=to_timestamp(r.create_time),
    )


def bureau_check_pb(check: BureauCheck, with_report: bool) -> credit_pb2.BureauCheck:
    pb = C.BureauCheck(
        status=credit_pb2.BureauCheckStatus.ValueType(int(check.status)),
        national_id_masked=check.national_id_masked,
    )
    if check.consent_time is not None:
        pb.consent_time.CopyFrom(to_timestamp(check.consent_time))
    r = check.report
    if with_report and r is not None:
        pb.report.CopyFrom(
            C.CreditBureauReport(
                bureau=r.bureau,
                reference=r.reference,
                score_band=credit_pb2.CreditScoreBand.ValueType(int(r.score_band)),
                open_accounts=r.open_accounts,
                delinquencies_24m=r.delinquencies_24m,
                defaults=r.defaults,
                inquiries_6m=r.inquiries_6m,
                history_months=r.history_months,
                thin_file=r.thin_file,
                pull_time=to_timestamp(r.pull_time),
            )
        )
    return pb


def application_pb(app: Application, today: date, *, with_report: bool = False) -> credit_pb2.LoanApplication:
    """The application as the API shows it; installment states are as of ``today`` (the service's clock);
    ``with_report`` (underwriters and admins) adds the bureau report."""
    cur = app.currency
    pb = C.LoanApplication(
        id=app.id,
        user_id=app.user_id,
        amount=to_money(app.amount, cur),
        term_months=app.term_months,
        purpose=credit_pb2.LoanPurpose.ValueType(int(app.purpose)),
        purpose_description=app.purpose_description,
        financials=financials_pb(app.financials),
        status=credit_pb2.LoanApplicationStatus.ValueType(int(app.status)),
        credit_score=app.credit_score,
        credit_score_id=app.credit_score_id,
        debt_to_income_bps=app.debt_to_income_bps,
        decision_reasons=_reasons_pb(app.decision_reasons),
        decided_by=app.decided_by,
        apr_bps=app.apr_bps,
        repaid_amount=to_money(app.repaid_amount, cur),
        repayments=[repayment_pb(r, cur) for r in app.repayments],
        loan_account_id=app.loan_account_id,
        disbursement_transaction_id=app.disbursement_transaction_id,
        request_id=app.request_id,
        create_time=to_timestamp(app.create_time),
        update_time=to_timestamp(app.update_time),
        status_history=[
            C.LoanStatusChange(
                from_status=credit_pb2.LoanApplicationStatus.ValueType(
                    int(h.from_status) if h.from_status else 0
                ),
                to_status=credit_pb2.LoanApplicationStatus.ValueType(int(h.to_status)),
                reason=h.reason,
                actor=h.actor,
                change_time=to_timestamp(h.change_time),
            )
            for h in app.history
        ],
    )
    if app.decision_time is not None:
        pb.decision_time.CopyFrom(to_timestamp(app.decision_time))
    if app.schedule:
        pb.approved_amount.CopyFrom(to_money(app.approved_amount, cur))
        pb.installment_amount.CopyFrom(to_money(app.installment_amount, cur))
        pb.total_interest.CopyFrom(to_money(app.total_interest, cur))
        pb.outstanding_principal.CopyFrom(to_money(app.outstanding_principal, cur))
        for i in app.schedule:
            pb.schedule.append(
                C.Installment(
                    number=i.number,
                    due_date=i.due_date.isoformat(),
                    principal=to_money(i.principal, cur),
                    interest=to_money(i.interest, cur),
                    total=to_money(i.total, cur),
                    remaining=to_money(i.remaining, cur),
                    paid=to_money(i.paid, cur),
                    status=INSTALLMENT_STATES[installment_state(i, today)],
                )
            )
    if app.disburse_time is not None:
        pb.disburse_time.CopyFrom(to_timestamp(app.disburse_time))
    if app.bureau is not None:
        pb.bureau_check.CopyFrom(bureau_check_pb(app.bureau, with_report))
    return pb


def score_pb(s: Score) -> credit_pb2.CreditScore:
    return C.CreditScore(
        id=s.id,
        user_id=s.user_id,
        score=s.score,
        band=credit_pb2.CreditScoreBand.ValueType(band(s.score)),
        default_probability_bps=s.default_probability_bps,
        reason_codes=_reasons_pb(s.reasons),
        model_version=s.model_version,
        create_time=to_timestamp(s.create_time),
    )


def line_pb(view: LineView) -> credit_pb2.CreditLine:
    line = view.line
    return C.CreditLine(
        id=line.id,
        user_id=line.user_id,
        limit=to_money(line.limit, line.currency),
        available=to_money(view.available, line.currency),
        used=to_money(view.used, line.currency),
        status=credit_pb2.CreditLineStatus.ValueType(int(line.status)),
        apr_bps=line.apr_bps,
        ledger_account_id=line.ledger_account_id,
        create_time=to_timestamp(line.create_time),
        update_time=to_timestamp(line.update_time),
    )


# -- validation ---------------------------------------------------------------------------------


class _Checks(FieldChecks):
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

    def financials(self, parent: Message, currency: str, field: str = "financials") -> Financials | None:
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


def _application_id(position: object) -> str:
    if not (isinstance(position, str) and is_valid_id(position, "app")):
        raise ValueError("not an application id")
    return position


def _render_application(
    response: Callable[..., Message], clock: Clock, *, with_report: bool = False
) -> Callable[[Application], bytes]:
    """The stored (and replayed) response of a write RPC whose answer is the application alone."""
    return lambda app: response(
        loan_application=application_pb(app, clock().date(), with_report=with_report)
    ).SerializeToString()


def _staff(principal: Principal) -> bool:
    """Whether the caller may see bureau reports: underwriters and admins, never customers or services."""
    return principal.has_role(ROLE_UNDERWRITER, ROLE_ADMIN)


# -- authorization ------------------------------------------------------------------------------


def _owner_or(principal: Principal, *roles: str) -> Callable[[Application], None]:
    def check(app: Application) -> None:
        require_owner_or_roles(principal, app.user_id, *roles)

    return check


def _user_request(user_id: str) -> tuple[Principal, _Checks]:
    """The caller of an RPC about one user's score or line, after checking ``user_id``.

    Allowed: the user, underwriters, admins and services. The checks are returned for the
    RPC's other fields, which are checked only once the caller may see that user's data.
    """
    principal = current_principal()
    c = _Checks()
    c.user_id(user_id)
    c.done()
    require_owner_or_roles(principal, user_id, ROLE_UNDERWRITER, ROLE_ADMIN, ROLE_SERVICE)
    return principal, c


class CreditServicer(CreditLineServicerMixin, credit_pb2_grpc.CreditServiceServicer):
    def __init__(self, service: CreditService) -> None:
        self.service = service

    # -- applications -----------------------------------------------------------------------------
    def SubmitLoanApplication(
        self, request: credit_pb2.SubmitLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.SubmitLoanApplicationResponse:
        principal = current_principal()
        c = _Checks()
        c.user_id(request.user_id)
        c.done()
        require_owner_or_roles(principal, request.user_id, ROLE_ADMIN)
        if not request.HasField("amount"):
            c.add("amount", "is required")
        amount, currency = c.money(request.amount, "amount")
        if not MIN_TERM_MONTHS <= request.term_months <= MAX_TERM_MONTHS:
            c.add("term_months", f"must be from {MIN_TERM_MONTHS} to {MAX_TERM_MONTHS}")
        c.enum(request.purpose, Purpose, "purpose")
        c.text(
            request.purpose_description,
            "purpose_description",
            max_length=MAX_DESCRIPTION,
            required=request.purpose == C.LOAN_PURPOSE_OTHER,
        )
        financials = c.financials(request, currency)
        national_id = normalize_national_id(request.national_id)
        if request.bureau_consent and not MIN_NATIONAL_ID <= len(national_id) <= MAX_NATIONAL_ID:
            c.add(
                "national_id",
                f"is required with bureau_consent: {MIN_NATIONAL_ID} to {MAX_NATIONAL_ID} letters and digits",
            )
        elif not request.bureau_consent and request.national_id:
            c.add(
                "national_id", "must be empty without bureau_consent: the bureau is only asked with consent"
            )
        c.request_id(request.request_id)
        c.done("invalid loan application")
        assert financials is not None
        new = NewApplication(
            request.user_id,
            amount,
            currency,
            request.term_months,
            Purpose(request.purpose),
            request.purpose_description,
            financials,
            request.bureau_consent,
            national_id,
        )
        body = self.service.submit(
            idem(principal, "SubmitLoanApplication", request),
            new,
            principal.subject,
            _render_application(C.SubmitLoanApplicationResponse, self.service.clock),
        )
        return C.SubmitLoanApplicationResponse.FromString(body)

    def GetLoanApplication(
        self, request: credit_pb2.GetLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetLoanApplicationResponse:
        principal = current_principal()
        c = _Checks()
        c.application_id(request.application_id)
        c.done()
        app = self.service.get_application(request.application_id)
        require_owner_or_roles(principal, app.user_id, ROLE_UNDERWRITER, ROLE_ADMIN)
        today = self.service.clock().date()
        return C.GetLoanApplicationResponse(
            loan_application=application_pb(app, today, with_report=_staff(principal))
        )

    def ListLoanApplications(
        self, request: credit_pb2.ListLoanApplicationsRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListLoanApplicationsResponse:
        principal = current_principal()
        c = _Checks()
        if request.user_id:
            c.user_id(request.user_id)
        for index, status in enumerate(request.statuses):
            c.enum(status, Status, f"statuses[{index}]")
        if request.currency:
            c.currency(request.currency, "currency")
        size = c.page(request.page_size)
        c.done()
        # Services list the whole book too: analytics builds its credit_portfolio report from it.
        if (
            not principal.has_role(ROLE_UNDERWRITER, ROLE_ADMIN, ROLE_SERVICE)
            and request.user_id != principal.subject
        ):
            raise PermissionDenied("customers may list only their own applications")
        start, end = time_range(request, "create_time_range")
        statuses = sorted({int(s) for s in request.statuses})
        # The currency joins the key only when set, so tokens issued before the filter existed stay valid.
        currency_filter = [request.currency] if request.currency else []
        query = query_key("applications", request.user_id, statuses, start, end, *currency_filter)
        page = paginate(
            lambda before, limit: self.service.list_applications(
                request.user_id or None, statuses, request.currency or None, start, end, before, limit
            ),
            page_token=request.page_token, query=query, size=size,
            position=lambda app: app.id, parse=_application_id,
        )
        today = self.service.clock().date()
        return C.ListLoanApplicationsResponse(
            loan_applications=[application_pb(a, today, with_report=_staff(principal)) for a in page.items],
            next_page_token=page.next_page_token,
        )

    def DecideLoanApplication(
        self, request: credit_pb2.DecideLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.DecideLoanApplicationResponse:
        principal = current_principal()
        require_roles(principal, ROLE_UNDERWRITER, ROLE_ADMIN)
        c = _Checks()
        c.application_id(request.application_id)
        c.enum(request.decision, [C.LOAN_DECISION_APPROVE, C.LOAN_DECISION_REJECT], "decision")
        approve = request.decision == C.LOAN_DECISION_APPROVE
        if request.decision == C.LOAN_DECISION_REJECT and not request.reasons:
            c.add("reasons", "at least one reason code is required to reject")
        if len(request.reasons) > MAX_REASONS:
            c.add("reasons", f"must have at most {MAX_REASONS} entries")
        for index, reason in enumerate(request.reasons):
            if (
                not reason.code
                or not reason.code.replace("_", "").isalnum()
                or reason.code.upper() != reason.code
            ):
                c.add(f"reasons[{index}].code", "must be an UPPER_SNAKE code")
            c.text(reason.description, f"reasons[{index}].description", max_length=MAX_DESCRIPTION)
        approved: tuple[int, str] | None = None
        if request.HasField("approved_amount"):
            if not approve:
                c.add("approved_amount", "is only allowed with an approval")
            approved = c.money(request.approved_amount, "approved_amount")
        apr: int | None = None
        if request.HasField("apr_bps"):
            if not approve:
                c.add("apr_bps", "is only allowed with an approval")
            if not 0 <= request.apr_bps <= MAX_APR_BPS:
                c.add("apr_bps", f"must be from 0 to {MAX_APR_BPS}")
            apr = request.apr_bps
        c.text(request.note, "note", max_length=MAX_DESCRIPTION)
        c.request_id(request.request_id)
        c.done("invalid decision")
        reasons = tuple(Reason(r.code, r.description) for r in request.reasons)
        body = self.service.decide(
            idem(principal, "DecideLoanApplication", request),
            request.application_id,
            approve,
            reasons,
            approved,
            apr,
            request.note,
            principal.subject,
            _render_application(C.DecideLoanApplicationResponse, self.service.clock, with_report=True),
        )
        return C.DecideLoanApplicationResponse.FromString(body)

    def CancelLoanApplication(
        self, request: credit_pb2.CancelLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.CancelLoanApplicationResponse:
        principal = current_principal()
        c = _Checks()
        c.application_id(request.application_id)
        c.text(request.reason, "reason", max_length=MAX_DESCRIPTION)
        c.request_id(request.request_id)
        c.done()
        body = self.service.cancel(
            idem(principal, "CancelLoanApplication", request),
            request.application_id,
            request.reason,
            principal.subject,
            _owner_or(principal, ROLE_ADMIN),
            _render_application(C.CancelLoanApplicationResponse, self.service.clock),
        )
        return C.CancelLoanApplicationResponse.FromString(body)

    def DisburseLoan(
        self, request: credit_pb2.DisburseLoanRequest, context: grpc.ServicerContext
    ) -> credit_pb2.DisburseLoanResponse:
        principal = current_principal()
        c = _Checks()
        c.application_id(request.application_id)
        c.request_id(request.request_id)
        c.done()
        body = self.service.disburse(
            idem(principal, "DisburseLoan", request),
            application_id=request.application_id,
            actor=principal.subject,
            authorize=_owner_or(principal, ROLE_ADMIN, ROLE_SERVICE),
            render=render_disbursement,
        )
        return C.DisburseLoanResponse.FromString(body)

    def RecordRepayment(
        self, request: credit_pb2.RecordRepaymentRequest, context: grpc.ServicerContext
    ) -> credit_pb2.RecordRepaymentResponse:
        principal = current_principal()
        c = _Checks()
        c.application_id(request.application_id)
        if not request.HasField("amount"):
            c.add("amount", "is required")
        amount, currency = c.money(request.amount, "amount")
        c.request_id(request.request_id)
        c.done("invalid repayment")
        body = self.service.repay(
            idem(principal, "RecordRepayment", request),
            application_id=request.application_id,
            amount=amount,
            currency=currency,
            actor=principal.subject,
            authorize=_owner_or(principal, ROLE_ADMIN, ROLE_SERVICE),
            render=render_repayment,
        )
        return C.RecordRepaymentResponse.FromString(body)

    # -- scores -----------------------------------------------------------------------------------
    def GetCreditScore(
        self, request: credit_pb2.GetCreditScoreRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetCreditScoreResponse:
        _user_request(request.user_id)
        return C.GetCreditScoreResponse(credit_score=score_pb(self.service.get_score(request.user_id)))

    def RefreshCreditScore(
        self, request: credit_pb2.RefreshCreditScoreRequest, context: grpc.ServicerContext
    ) -> credit_pb2.RefreshCreditScoreResponse:
        principal, c = _user_request(request.user_id)
        financials = None
        if request.HasField("financials"):
            currency = request.financials.monthly_income.currency
            c.currency(currency, "financials.monthly_income.currency")
            financials = c.financials(request, currency)
        c.request_id(request.request_id)
        c.done("invalid score refresh")
        body = self.service.refresh_score(
            idem(principal, "RefreshCreditScore", request),
            request.user_id,
            financials,
            lambda s: C.RefreshCreditScoreResponse(credit_score=score_pb(s)).SerializeToString(),
        )
        return C.RefreshCreditScoreResponse.FromString(body)

    def ListCreditScoreHistory(
        self, request: credit_pb2.ListCreditScoreHistoryRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListCreditScoreHistoryResponse:
        principal = current_principal()
        c = _Checks()
        c.user_id(request.user_id)
        size = c.page(request.page_size)
        c.done()
        require_owner_or_roles(principal, request.user_id, ROLE_UNDERWRITER, ROLE_ADMIN)
        start, end = time_range(request, "create_time_range")
        query = query_key("scores", request.user_id, start, end)
        page = paginate(
            lambda after, limit: self.service.list_scores(request.user_id, start, end, after, limit),
            page_token=request.page_token, query=query, size=size,
            position=lambda score: [score.create_time.isoformat(), score.id],
            parse=lambda raw: (datetime.fromisoformat(raw[0]), str(raw[1])),
        )
        return C.ListCreditScoreHistoryResponse(
            credit_scores=[score_pb(s) for s in page.items], next_page_token=page.next_page_token
        )

    # -- the audit trail of staff actions -----------------------------------------------------------
    def ListStaffActions(
        self, request: credit_pb2.ListStaffActionsRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListStaffActionsResponse:
        require_roles(current_principal(), ROLE_ADMIN)
        size = page_size(request.page_size)
        actor = request.actor_id or None
        actions = self.service.staff_actions(actor, audit.page_position(request.page_token, request.actor_id),
                                             size + 1)
        return credit_pb2.ListStaffActionsResponse(
            staff_actions=[audit.staff_action_pb(a) for a in actions[:size]],
            next_page_token=audit.next_page_token(actions, size, request.actor_id),
        )

    # -- credit lines -----------------------------------------------------------------------------
    def GetCreditLine(
        self, request: credit_pb2.GetCreditLineRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetCreditLineResponse:
        _user_request(request.user_id)
        return C.GetCreditLineResponse(credit_line=line_pb(self.service.get_line(request.user_id)))

    def UpdateCreditLine(
        self, request: credit_pb2.UpdateCreditLineRequest, context: grpc.ServicerContext
    ) -> credit_pb2.UpdateCreditLineResponse:
        principal = current_principal()
        require_roles(principal, ROLE_UNDERWRITER, ROLE_ADMIN, ROLE_SERVICE)
        c = _Checks()
        c.user_id(request.user_id)
        if not request.HasField("limit"):
            c.add("limit", "is required")
        limit, currency = c.money(request.limit, "limit", allow_zero=True)
        if request.status:
            c.enum(request.status, LineStatus, "status")
        apr: int | None = None
        if request.HasField("apr_bps"):
            if not 0 <= request.apr_bps <= MAX_APR_BPS:
                c.add("apr_bps", f"must be from 0 to {MAX_APR_BPS}")
            apr = request.apr_bps
        c.text(request.reason, "reason", max_length=MAX_DESCRIPTION, required=True)
        c.request_id(request.request_id)
        c.done("invalid credit line update")
        status = LineStatus(request.status) if request.status else None
        body = self.service.update_line(
            idem(principal, "UpdateCreditLine", request),
            LineChange(request.user_id, limit, currency, status, apr, request.reason, principal.subject),
            lambda view: C.UpdateCreditLineResponse(credit_line=line_pb(view)).SerializeToString(),
        )
        return C.UpdateCreditLineResponse.FromString(body)

    # -- reconciliation ---------------------------------------------------------------------------
    def GetLoanReconciliationReport(
        self, request: credit_pb2.GetLoanReconciliationReportRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetLoanReconciliationReportResponse:
        require_roles(current_principal(), ROLE_ADMIN, ROLE_SERVICE)
        report = reconcile_loans(self.service)
        return C.GetLoanReconciliationReportResponse(
            loans_checked=report.loans_checked,
            ledger_transactions_checked=report.ledger_transactions_checked,
            loans_in_doubt=report.in_doubt,
            mismatches=[
                C.LoanMismatch(
                    application_id=m.application_id,
                    kind=C.LoanMismatchKind.Value(f"LOAN_MISMATCH_KIND_{m.kind}"),
                    transaction_id=m.transaction_id,
                    detail=m.detail,
                )
                for m in report.mismatches
            ],
        )


def render_disbursement(app: Application) -> bytes:
    """The stored response of DisburseLoan (also for one that recovery completes).

    Installment states as of the application's last change, stamped by the service's clock."""
    return C.DisburseLoanResponse(
        loan_application=application_pb(app, app.update_time.date())
    ).SerializeToString()


def render_repayment(app: Application, repayment: Repayment) -> bytes:
    """The stored response of RecordRepayment (also for one that recovery completes)."""
    return C.RecordRepaymentResponse(
        loan_application=application_pb(app, app.update_time.date()),
        repayment=repayment_pb(repayment, app.currency),
    ).SerializeToString()
