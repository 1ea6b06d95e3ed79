"""The credit API's messages from the domain's objects (domain -> protobuf), for the servicer."""

from __future__ import annotations

from datetime import date

from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2

from services.credit.credit_lines import LineView
from services.credit.domain.amortization import installment_state
from services.credit.domain.model import (
    Application,
    BureauCheck,
    CreditLine,
    Financials,
    Reason,
    Repayment,
    Score,
)
from services.credit.lines.repository import Draw, LineRepayment, Statement
from services.credit.lines.settlement import LineUse
from services.runtime.api import (
    to_enum,
    to_money,
    to_timestamp,
)

C = credit_pb2
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


def band(score: int) -> credit_pb2.CreditScoreBand:
    for floor, value in BANDS:
        if score >= floor:
            return value
    return C.CREDIT_SCORE_BAND_POOR


# -- domain -> proto ----------------------------------------------------------------------------


def _reasons_pb(reasons: tuple[Reason, ...]) -> list[credit_pb2.ReasonCode]:
    return [C.ReasonCode(code=r.code, description=r.description) for r in reasons]


def financials_pb(f: Financials) -> credit_pb2.ApplicantFinancials:
    return C.ApplicantFinancials(
        monthly_income=to_money(f.monthly_income, f.currency),
        monthly_debt=to_money(f.monthly_debt, f.currency),
        employment_status=to_enum(credit_pb2.EmploymentStatus, f.employment),
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
        status=to_enum(credit_pb2.BureauCheckStatus, check.status),
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
                score_band=to_enum(credit_pb2.CreditScoreBand, r.score_band),
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
        purpose=to_enum(credit_pb2.LoanPurpose, app.purpose),
        purpose_description=app.purpose_description,
        financials=financials_pb(app.financials),
        status=to_enum(credit_pb2.LoanApplicationStatus, app.status),
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
                from_status=to_enum(credit_pb2.LoanApplicationStatus, h.from_status or 0),
                to_status=to_enum(credit_pb2.LoanApplicationStatus, h.to_status),
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
        band=band(s.score),
        default_probability_bps=s.default_probability_bps,
        reason_codes=_reasons_pb(s.reasons),
        model_version=s.model_version,
        create_time=to_timestamp(s.create_time),
    )


def line_pb(view: LineView) -> credit_pb2.CreditLine:
    return _line_message(view.line, available=view.available, used=view.used)


def _line_message(line: CreditLine, *, available: int, used: int) -> credit_pb2.CreditLine:
    """A credit line with the figures of whichever view of it the caller holds."""
    return C.CreditLine(
        id=line.id,
        user_id=line.user_id,
        limit=to_money(line.limit, line.currency),
        available=to_money(available, line.currency),
        used=to_money(used, line.currency),
        status=to_enum(credit_pb2.CreditLineStatus, line.status),
        apr_bps=line.apr_bps,
        ledger_account_id=line.ledger_account_id,
        create_time=to_timestamp(line.create_time),
        update_time=to_timestamp(line.update_time),
    )


def disbursement_response(app: Application) -> credit_pb2.DisburseLoanResponse:
    """The response of DisburseLoan, stored and replayed under its key.

    Installment states as of the application's last change, stamped by the service's clock."""
    return C.DisburseLoanResponse(loan_application=application_pb(app, app.update_time.date()))


def repayment_response(app: Application, repayment: Repayment) -> credit_pb2.RecordRepaymentResponse:
    """The response of RecordRepayment, stored and replayed under its key."""
    return C.RecordRepaymentResponse(
        loan_application=application_pb(app, app.update_time.date()),
        repayment=repayment_pb(repayment, app.currency),
    )


# -- credit line use ------------------------------------------------------------------------------


def line_use_pb(use: LineUse) -> credit_pb2.CreditLine:
    # As line_pb, from the line's settled state.
    return _line_message(use.line, available=use.available, used=use.principal)


def draw_pb(d: Draw) -> credit_pb2.CreditLineDraw:
    return C.CreditLineDraw(
        id=d.id,
        user_id=d.user_id,
        credit_line_id=d.line_id,
        amount=to_money(d.amount, d.currency),
        transaction_id=d.transaction_id,
        request_id=d.request_id,
        create_time=to_timestamp(d.create_time),
    )


def line_repayment_pb(r: LineRepayment) -> credit_pb2.CreditLineRepayment:
    return C.CreditLineRepayment(
        id=r.id,
        user_id=r.user_id,
        credit_line_id=r.line_id,
        amount=to_money(r.amount, r.currency),
        interest=to_money(r.interest, r.currency),
        principal=to_money(r.principal, r.currency),
        transaction_id=r.transaction_id,
        request_id=r.request_id,
        create_time=to_timestamp(r.create_time),
    )


def statement_pb(s: Statement) -> credit_pb2.CreditLineStatement:
    def money(amount: int) -> common_pb2.Money:
        return to_money(amount, s.currency)

    return C.CreditLineStatement(
        id=s.id,
        user_id=s.user_id,
        credit_line_id=s.line_id,
        period_start_date=s.period_start.isoformat(),
        period_end_date=s.period_end.isoformat(),
        opening_balance=money(s.opening_balance),
        draws=money(s.draws),
        repayments=money(s.repayments),
        interest=money(s.interest),
        closing_balance=money(s.closing_balance),
        minimum_payment=money(s.minimum_payment),
        due_date=s.due_date.isoformat(),
        apr_bps=s.apr_bps,
        create_time=to_timestamp(s.create_time),
    )
