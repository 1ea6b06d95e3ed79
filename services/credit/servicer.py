"""gRPC adapter of the credit service: proto ⇄ domain, syntactic validation, authorization."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from google.protobuf.message import Message
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc

from services.credit import repository as repo
from services.credit.access import ACCESS, sees_bureau_reports
from services.credit.applications import NewApplication
from services.credit.bureau.base import normalize_national_id
from services.credit.converters import (
    C,
    application_pb,
    disbursement_response,
    line_pb,
    repayment_response,
    score_pb,
)
from services.credit.credit_lines import LineChange
from services.credit.domain.model import (
    LineStatus,
    Purpose,
    Reason,
    Status,
)
from services.credit.domain.underwriting import MAX_APR_BPS, MAX_TERM_MONTHS, MIN_TERM_MONTHS
from services.credit.lines.servicer import CreditLineServicerMixin
from services.credit.loan_reconciliation import reconcile_loans
from services.credit.service import CreditService
from services.credit.validation import (
    MAX_DESCRIPTION,
    MAX_NATIONAL_ID,
    MAX_REASONS,
    MIN_NATIONAL_ID,
    CreditChecks,
)
from services.runtime import audit
from services.runtime.api import (
    as_str,
    paginate,
    paginate_by_time,
    query_key,
    time_range,
)
from services.runtime.auth import Principal, current_principal
from services.runtime.idempotency import Claim
from services.runtime.ids import is_valid_id
from services.runtime.request_keys import M, RequestKeys


def _application_id(position: object) -> str:
    if not (isinstance(position, str) and is_valid_id(position, "app")):
        raise ValueError("not an application id")
    return position


def _owner_or(rpc: str, service: CreditService, principal: Principal, application_id: str) -> None:
    """The RPC's rule (access.py) against the owner of the application.

    Checked under the request's key (which belongs to this caller alone): a key reused with another
    body is refused as such first, and a refusal is stored as the key's answer."""
    ACCESS.check(rpc, principal, service.get_application(application_id).user_id)


def _user_request(rpc: str, user_id: str) -> tuple[Principal, CreditChecks]:
    """The caller of an RPC about one user's score or line, after checking ``user_id``.

    The checks are returned for the RPC's other fields, which are checked only once the caller
    may see that user's data.
    """
    principal = current_principal()
    c = CreditChecks()
    c.user_id(user_id)
    c.done()
    ACCESS.check(rpc, principal, user_id)
    return principal, c


class CreditServicer(CreditLineServicerMixin, credit_pb2_grpc.CreditServiceServicer):
    def __init__(self, service: CreditService, fingerprint_key: bytes) -> None:
        self.service = service
        # Keys the request fingerprints of idempotency keys (services/runtime/fingerprints.py).
        self.fingerprint_key = fingerprint_key
        self.keys = RequestKeys(service.idempotency, fingerprint_key)

    def _idempotent(
        self,
        principal: Principal,
        operation: str,
        request: Message,
        response: type[M],
        execute: Callable[[Claim], M],
    ) -> M:
        return self.keys.respond_to(principal.subject, operation, request, response, execute)

    # -- applications -----------------------------------------------------------------------------
    def SubmitLoanApplication(
        self, request: credit_pb2.SubmitLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.SubmitLoanApplicationResponse:
        principal = current_principal()
        c = CreditChecks()
        c.user_id(request.user_id)
        c.done()
        ACCESS.check("SubmitLoanApplication", principal, request.user_id)
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
        return self._idempotent(
            principal,
            "SubmitLoanApplication",
            request,
            C.SubmitLoanApplicationResponse,
            lambda claim: C.SubmitLoanApplicationResponse(
                loan_application=application_pb(
                    self.service.submit(claim, new, principal.subject), self.service.clock().date()
                )
            ),
        )

    def GetLoanApplication(
        self, request: credit_pb2.GetLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetLoanApplicationResponse:
        principal = current_principal()
        c = CreditChecks()
        c.application_id(request.application_id)
        c.done()
        app = self.service.get_application(request.application_id)
        ACCESS.check("GetLoanApplication", principal, app.user_id)
        today = self.service.clock().date()
        return C.GetLoanApplicationResponse(
            loan_application=application_pb(app, today, with_report=sees_bureau_reports(principal))
        )

    def ListLoanApplications(
        self, request: credit_pb2.ListLoanApplicationsRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListLoanApplicationsResponse:
        principal = current_principal()
        c = CreditChecks()
        if request.user_id:
            c.user_id(request.user_id)
        for index, status in enumerate(request.statuses):
            c.enum(status, Status, f"statuses[{index}]")
        if request.currency:
            c.currency(request.currency, "currency")
        size = c.page(request.page_size)
        c.done()
        ACCESS.check("ListLoanApplications", principal, request.user_id)
        start, end = time_range(request, "create_time_range")
        statuses = sorted({int(s) for s in request.statuses})
        # The currency joins the key only when set, so tokens issued before the filter existed stay valid.
        currency_filter = [request.currency] if request.currency else []
        query = query_key("applications", request.user_id, statuses, start, end, *currency_filter)
        where = repo.ApplicationFilter(
            request.user_id or None, tuple(statuses), request.currency or None, start, end
        )
        page = paginate(
            lambda before, limit: self.service.list_applications(where, before, limit),
            page_token=request.page_token,
            query=query,
            size=size,
            position=lambda app: app.id,
            parse=_application_id,
        )
        today, reports = self.service.clock().date(), sees_bureau_reports(principal)
        return C.ListLoanApplicationsResponse(
            loan_applications=[application_pb(a, today, with_report=reports) for a in page.items],
            next_page_token=page.next_page_token,
        )

    def DecideLoanApplication(
        self, request: credit_pb2.DecideLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.DecideLoanApplicationResponse:
        principal = current_principal()
        ACCESS.check("DecideLoanApplication", principal)
        c = CreditChecks()
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
        return self._idempotent(
            principal,
            "DecideLoanApplication",
            request,
            C.DecideLoanApplicationResponse,
            lambda claim: C.DecideLoanApplicationResponse(
                loan_application=application_pb(
                    self.service.decide(
                        claim,
                        request.application_id,
                        approve,
                        reasons,
                        approved,
                        apr,
                        request.note,
                        principal.subject,
                    ),
                    self.service.clock().date(),
                    with_report=True,
                )
            ),
        )

    def CancelLoanApplication(
        self, request: credit_pb2.CancelLoanApplicationRequest, context: grpc.ServicerContext
    ) -> credit_pb2.CancelLoanApplicationResponse:
        principal = current_principal()
        c = CreditChecks()
        c.application_id(request.application_id)
        c.text(request.reason, "reason", max_length=MAX_DESCRIPTION)
        c.request_id(request.request_id)
        c.done()

        def execute(claim: Claim) -> credit_pb2.CancelLoanApplicationResponse:
            _owner_or("CancelLoanApplication", self.service, principal, request.application_id)
            app = self.service.cancel(claim, request.application_id, request.reason, principal.subject)
            return C.CancelLoanApplicationResponse(
                loan_application=application_pb(app, self.service.clock().date())
            )

        return self._idempotent(
            principal, "CancelLoanApplication", request, C.CancelLoanApplicationResponse, execute
        )

    def DisburseLoan(
        self, request: credit_pb2.DisburseLoanRequest, context: grpc.ServicerContext
    ) -> credit_pb2.DisburseLoanResponse:
        principal = current_principal()
        c = CreditChecks()
        c.application_id(request.application_id)
        c.request_id(request.request_id)
        c.done()

        def execute(claim: Claim) -> credit_pb2.DisburseLoanResponse:
            _owner_or("DisburseLoan", self.service, principal, request.application_id)
            return disbursement_response(
                self.service.disburse(claim, application_id=request.application_id, actor=principal.subject)
            )

        return self._idempotent(principal, "DisburseLoan", request, C.DisburseLoanResponse, execute)

    def RecordRepayment(
        self, request: credit_pb2.RecordRepaymentRequest, context: grpc.ServicerContext
    ) -> credit_pb2.RecordRepaymentResponse:
        principal = current_principal()
        c = CreditChecks()
        c.application_id(request.application_id)
        if not request.HasField("amount"):
            c.add("amount", "is required")
        amount, currency = c.money(request.amount, "amount")
        c.request_id(request.request_id)
        c.done("invalid repayment")

        def execute(claim: Claim) -> credit_pb2.RecordRepaymentResponse:
            _owner_or("RecordRepayment", self.service, principal, request.application_id)
            app, repayment = self.service.repay(
                claim,
                application_id=request.application_id,
                amount=amount,
                currency=currency,
                actor=principal.subject,
            )
            return repayment_response(app, repayment)

        return self._idempotent(principal, "RecordRepayment", request, C.RecordRepaymentResponse, execute)

    # -- scores -----------------------------------------------------------------------------------
    def GetCreditScore(
        self, request: credit_pb2.GetCreditScoreRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetCreditScoreResponse:
        _user_request("GetCreditScore", request.user_id)
        return C.GetCreditScoreResponse(credit_score=score_pb(self.service.get_score(request.user_id)))

    def RefreshCreditScore(
        self, request: credit_pb2.RefreshCreditScoreRequest, context: grpc.ServicerContext
    ) -> credit_pb2.RefreshCreditScoreResponse:
        principal, c = _user_request("RefreshCreditScore", request.user_id)
        financials = None
        if request.HasField("financials"):
            currency = request.financials.monthly_income.currency
            c.currency(currency, "financials.monthly_income.currency")
            financials = c.financials(request, currency)
        c.request_id(request.request_id)
        c.done("invalid score refresh")
        return self._idempotent(
            principal,
            "RefreshCreditScore",
            request,
            C.RefreshCreditScoreResponse,
            lambda claim: C.RefreshCreditScoreResponse(
                credit_score=score_pb(self.service.refresh_score(claim, request.user_id, financials))
            ),
        )

    def ListCreditScoreHistory(
        self, request: credit_pb2.ListCreditScoreHistoryRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListCreditScoreHistoryResponse:
        principal = current_principal()
        c = CreditChecks()
        c.user_id(request.user_id)
        size = c.page(request.page_size)
        c.done()
        ACCESS.check("ListCreditScoreHistory", principal, request.user_id)
        start, end = time_range(request, "create_time_range")
        query = query_key("scores", request.user_id, start, end)
        where = repo.ScoreFilter(request.user_id, start, end)
        page = paginate_by_time(
            lambda after, limit: self.service.list_scores(where, after, limit),
            page_token=request.page_token,
            query=query,
            size=size,
            key=lambda score: score.id,
            parse_key=as_str,
        )
        return C.ListCreditScoreHistoryResponse(
            credit_scores=[score_pb(s) for s in page.items], next_page_token=page.next_page_token
        )

    # -- the audit trail of staff actions -----------------------------------------------------------
    def ListStaffActions(
        self, request: credit_pb2.ListStaffActionsRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListStaffActionsResponse:
        ACCESS.check("ListStaffActions", current_principal())
        return audit.list_staff_actions(
            request, credit_pb2.ListStaffActionsResponse, self.service.staff_actions
        )

    # -- credit lines -----------------------------------------------------------------------------
    def GetCreditLine(
        self, request: credit_pb2.GetCreditLineRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetCreditLineResponse:
        _user_request("GetCreditLine", request.user_id)
        return C.GetCreditLineResponse(credit_line=line_pb(self.service.get_line(request.user_id)))

    def UpdateCreditLine(
        self, request: credit_pb2.UpdateCreditLineRequest, context: grpc.ServicerContext
    ) -> credit_pb2.UpdateCreditLineResponse:
        principal = current_principal()
        ACCESS.check("UpdateCreditLine", principal)
        c = CreditChecks()
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
        change = LineChange(request.user_id, limit, currency, status, apr, request.reason, principal.subject)
        return self._idempotent(
            principal,
            "UpdateCreditLine",
            request,
            C.UpdateCreditLineResponse,
            lambda claim: C.UpdateCreditLineResponse(
                credit_line=line_pb(self.service.update_line(claim, change))
            ),
        )

    # -- reconciliation ---------------------------------------------------------------------------
    def GetLoanReconciliationReport(
        self, request: credit_pb2.GetLoanReconciliationReportRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetLoanReconciliationReportResponse:
        ACCESS.check("GetLoanReconciliationReport", current_principal())
        report = reconcile_loans(self.service)
        return C.GetLoanReconciliationReportResponse(
            loans_checked=report.loans_checked,
            ledger_transactions_checked=report.ledger_transactions_checked,
            loans_in_doubt=report.in_doubt,
            mismatches=[
                C.LoanMismatch(
                    application_id=m.application_id,
                    kind=f"LOAN_MISMATCH_KIND_{m.kind}",
                    transaction_id=m.transaction_id,
                    detail=m.detail,
                )
                for m in report.mismatches
            ],
        )
