"""The credit-bureau check over the real credit, AI, ledger and user services with the sandbox bureau."""

from __future__ import annotations

import grpc
import sqlalchemy as sa
from nexafi.credit.v1 import credit_pb2

from services.runtime.server import RunningServer
from tests.integration.credit.credit_support import (
    BUREAU_DOWN_ID,
    DEFAULTED_ID,
    GOOD_ID,
    THIN_ID,
    CreditApi,
    key,
)
from tests.support.grpc_errors import failure

C = credit_pb2
S = C.LoanApplicationStatus
B = C.BureauCheckStatus


def codes(app: credit_pb2.LoanApplication) -> list[str]:
    return [r.code for r in app.decision_reasons]


def test_the_defaulted_identity_is_rejected_with_the_bureau_reason(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, national_id=DEFAULTED_ID)
    assert app.status == S.LOAN_APPLICATION_STATUS_REJECTED, app
    assert "BUREAU_DEFAULT" in codes(app) and app.decided_by == "system:underwriting"
    # The same solid declared financials: the AI score alone would have approved.
    assert app.credit_score >= 670
    assert app.bureau_check.status == B.BUREAU_CHECK_STATUS_REPORTED
    assert app.bureau_check.HasField("consent_time")
    assert app.bureau_check.national_id_masked == "******0002"
    # The applicant sees the reason, not the report itself.
    assert not app.bureau_check.HasField("report")

    staff = credit.get(app.id, credit.underwriter()).bureau_check.report
    assert staff.bureau == "sandbox" and staff.reference.startswith("sbxr_")
    assert (staff.defaults, staff.delinquencies_24m, staff.score_band) == (2, 5, C.CREDIT_SCORE_BAND_POOR)
    assert credit.get(app.id, credit.admin()).bureau_check.report == staff
    assert not credit.get(app.id, credit.md(user)).bureau_check.HasField("report")
    listed = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(user_id=user), metadata=credit.underwriter()
    ).loan_applications
    assert [a.bureau_check.report for a in listed] == [staff]


def test_with_the_bureau_down_the_application_goes_to_review_never_approved_or_rejected(
    credit: CreditApi,
) -> None:
    user = credit.register()
    app = credit.submit(user, national_id=BUREAU_DOWN_ID)
    assert app.status == S.LOAN_APPLICATION_STATUS_UNDER_REVIEW, app
    assert codes(app) == ["BUREAU_UNAVAILABLE"]
    check = credit.get(app.id, credit.underwriter()).bureau_check
    assert check.status == B.BUREAU_CHECK_STATUS_UNAVAILABLE and check.HasField("consent_time")
    assert not check.HasField("report")
    # An underwriter can still decide it; the APR priced from the score is kept for that.
    decided = credit.decide(app.id)
    assert decided.status == S.LOAN_APPLICATION_STATUS_APPROVED and decided.apr_bps > 0


def test_a_good_history_is_approved_and_a_thin_file_is_referred(credit: CreditApi) -> None:
    good = credit.submit(credit.register(), national_id=GOOD_ID)
    assert good.status == S.LOAN_APPLICATION_STATUS_APPROVED and codes(good) == ["AUTOMATIC_APPROVAL"]
    assert credit.get(good.id, credit.underwriter()).bureau_check.report.score_band == (
        C.CREDIT_SCORE_BAND_VERY_GOOD
    )
    thin = credit.submit(credit.register(), national_id=THIN_ID)
    assert thin.status == S.LOAN_APPLICATION_STATUS_UNDER_REVIEW and codes(thin) == ["BUREAU_THIN_FILE"]


def test_without_consent_the_bureau_is_not_asked_and_the_application_is_referred(
    credit: CreditApi, credit_server: RunningServer
) -> None:
    user = credit.register()
    app = credit.submit(user, national_id="")
    assert app.status == S.LOAN_APPLICATION_STATUS_UNDER_REVIEW and codes(app) == ["BUREAU_CONSENT_MISSING"]
    check = credit.get(app.id, credit.underwriter()).bureau_check
    assert check.status == B.BUREAU_CHECK_STATUS_NO_CONSENT
    assert (
        not check.HasField("consent_time") and not check.HasField("report") and not check.national_id_masked
    )

    # The consent and the masked id are stored with the application; the full id never is.
    other = credit.submit(credit.register(), national_id=GOOD_ID)
    engine = credit_server.context.engine
    assert engine is not None
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT status, consent_time IS NOT NULL, national_id_masked FROM bureau_checks "
                "WHERE application_id = :id"
            ),
            {"id": other.id},
        ).one()
        assert tuple(row) == (1, True, "******7777")
        leaked = connection.execute(
            sa.text("SELECT count(*) FROM bureau_checks WHERE national_id_masked LIKE '%10007777%'")
        ).scalar_one()
        assert leaked == 0


def test_consent_needs_a_national_id_and_an_id_needs_consent(credit: CreditApi) -> None:
    user = credit.register()
    request = credit.submit_request(user)
    request.national_id = "12"
    short = failure(lambda: credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)))
    assert short.code == grpc.StatusCode.INVALID_ARGUMENT and short.fields == ["national_id"]
    request = credit.submit_request(user)
    request.bureau_consent = False
    unconsented = failure(lambda: credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)))
    assert unconsented.code == grpc.StatusCode.INVALID_ARGUMENT and unconsented.fields == ["national_id"]


def test_a_replayed_submission_answers_the_first_bureau_decision(credit: CreditApi) -> None:
    user = credit.register()
    request = credit.submit_request(user, national_id=DEFAULTED_ID)
    request.request_id = key()
    first = credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)).loan_application
    again = credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)).loan_application
    assert again == first and first.status == S.LOAN_APPLICATION_STATUS_REJECTED
