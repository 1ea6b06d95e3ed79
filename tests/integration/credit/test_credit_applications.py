"""Loan applications over real gRPC: underwriting, review, authorization, validation, idempotency."""

from __future__ import annotations

import grpc
import pytest
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2

from tests.integration.credit.credit_support import RISKY, UNDERWRITER, CreditApi, eur, financials, key
from tests.support.grpc_errors import failure

C = credit_pb2
S = C.LoanApplicationStatus


def test_a_solid_applicant_is_approved_with_an_exact_schedule_and_a_stored_score(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, amount=600_000, term=12)

    assert app.id.startswith("app_") and app.user_id == user
    assert app.status == S.LOAN_APPLICATION_STATUS_APPROVED
    assert app.decided_by == "system:underwriting" and app.HasField("decision_time")
    assert [r.code for r in app.decision_reasons] == ["AUTOMATIC_APPROVAL"]
    assert 670 <= app.credit_score <= 850 and app.credit_score_id.startswith("cs_")
    assert app.approved_amount == eur(600_000) and 0 < app.apr_bps <= 3600
    assert len(app.schedule) == 12 and [i.number for i in app.schedule] == list(range(1, 13))
    assert sum(i.principal.amount_minor for i in app.schedule) == 600_000
    assert sum(i.interest.amount_minor for i in app.schedule) == app.total_interest.amount_minor > 0
    assert all(
        i.total.amount_minor == i.principal.amount_minor + i.interest.amount_minor for i in app.schedule
    )
    assert all(i.total == app.installment_amount for i in app.schedule[:-1])
    assert app.schedule[-1].remaining.amount_minor == 0
    assert all(i.status == C.INSTALLMENT_STATUS_SCHEDULED for i in app.schedule)
    # The DTI includes the new installment: (500 + installment) / 5,000 EUR.
    assert app.debt_to_income_bps == (50_000 + app.installment_amount.amount_minor) * 10_000 // 500_000
    assert [(h.from_status, h.to_status) for h in app.status_history] == [
        (S.LOAN_APPLICATION_STATUS_UNSPECIFIED, S.LOAN_APPLICATION_STATUS_SUBMITTED),
        (S.LOAN_APPLICATION_STATUS_SUBMITTED, S.LOAN_APPLICATION_STATUS_APPROVED),
    ]
    assert app.status_history[0].actor == user and app.status_history[1].actor == "system:underwriting"

    score = credit.credit.GetCreditScore(
        C.GetCreditScoreRequest(user_id=user), metadata=credit.md(user)
    ).credit_score
    assert score.id == app.credit_score_id and score.score == app.credit_score
    assert score.band != C.CREDIT_SCORE_BAND_UNSPECIFIED and score.model_version
    assert credit.get(app.id, credit.md(user)) == app


def test_a_risky_applicant_is_rejected_with_adverse_action_reasons(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, **RISKY)
    assert app.status == S.LOAN_APPLICATION_STATUS_REJECTED
    codes = [r.code for r in app.decision_reasons]
    assert (
        codes[0] == "LOW_CREDIT_SCORE" and len(codes) > 1 and all(r.description for r in app.decision_reasons)
    )
    assert app.credit_score < 580 and not app.schedule and not app.HasField("approved_amount")
    # A rejected application is closed: the user may apply again.
    assert credit.submit(user).status == S.LOAN_APPLICATION_STATUS_APPROVED


def test_unaffordable_loans_are_rejected_for_debt_to_income(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, amount=3_000_000, term=12, monthly_debt=eur(200_000))
    assert app.status == S.LOAN_APPLICATION_STATUS_REJECTED
    assert "HIGH_DEBT_TO_INCOME" in [r.code for r in app.decision_reasons] and app.debt_to_income_bps > 5000


def test_a_short_employment_is_referred_and_an_underwriter_decides(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, employment_months=2)
    assert app.status == S.LOAN_APPLICATION_STATUS_UNDER_REVIEW and not app.decided_by
    assert "SHORT_EMPLOYMENT_HISTORY" in [r.code for r in app.decision_reasons]

    queue = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(statuses=[S.LOAN_APPLICATION_STATUS_UNDER_REVIEW], page_size=200),
        metadata=credit.underwriter(),
    )
    assert app.id in [a.id for a in queue.loan_applications]

    decided = credit.decide(app.id, approved_amount=eur(400_000), apr_bps=1450, note="verified payslips")
    assert decided.status == S.LOAN_APPLICATION_STATUS_APPROVED and decided.decided_by == UNDERWRITER
    assert decided.approved_amount == eur(400_000) and decided.apr_bps == 1450
    assert sum(i.principal.amount_minor for i in decided.schedule) == 400_000
    assert decided.status_history[-1].reason == "verified payslips"
    # Decided once: a second decision is an illegal transition.
    again = failure(
        lambda: credit.decide(app.id, C.LOAN_DECISION_REJECT, reasons=[C.ReasonCode(code="FRAUD_SUSPECTED")])
    )
    assert again.code == grpc.StatusCode.FAILED_PRECONDITION and again.reason == "ILLEGAL_STATUS_TRANSITION"


def test_an_underwriter_rejects_with_reasons_and_never_their_own_application(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, employment_status=C.EMPLOYMENT_STATUS_STUDENT)
    assert app.status == S.LOAN_APPLICATION_STATUS_UNDER_REVIEW
    no_reason = failure(lambda: credit.decide(app.id, C.LOAN_DECISION_REJECT))
    assert no_reason.code == grpc.StatusCode.INVALID_ARGUMENT and "reasons" in no_reason.fields
    own = failure(
        lambda: credit.credit.DecideLoanApplication(
            C.DecideLoanApplicationRequest(
                application_id=app.id, decision=C.LOAN_DECISION_APPROVE, request_id=key()
            ),
            metadata=credit.md(user, "underwriter"),
        )
    )
    assert own.code == grpc.StatusCode.PERMISSION_DENIED
    customer = failure(
        lambda: credit.credit.DecideLoanApplication(
            C.DecideLoanApplicationRequest(
                application_id=app.id, decision=C.LOAN_DECISION_APPROVE, request_id=key()
            ),
            metadata=credit.md(user),
        )
    )
    assert customer.code == grpc.StatusCode.PERMISSION_DENIED
    rejected = credit.decide(
        app.id,
        C.LOAN_DECISION_REJECT,
        reasons=[C.ReasonCode(code="INCOME_NOT_VERIFIED", description="No payslips.")],
    )
    assert rejected.status == S.LOAN_APPLICATION_STATUS_REJECTED
    assert [r.code for r in rejected.decision_reasons] == ["INCOME_NOT_VERIFIED"]


def test_customers_see_only_their_own_applications(credit: CreditApi) -> None:
    alice, bob = credit.register(), credit.register()
    app = credit.submit(alice)
    denied = failure(lambda: credit.get(app.id, credit.md(bob)))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    assert credit.get(app.id, credit.underwriter()).id == app.id
    assert credit.get(app.id, credit.admin()).id == app.id
    listing = failure(
        lambda: credit.credit.ListLoanApplications(
            C.ListLoanApplicationsRequest(user_id=alice), metadata=credit.md(bob)
        )
    )
    assert listing.code == grpc.StatusCode.PERMISSION_DENIED
    everyone = failure(
        lambda: credit.credit.ListLoanApplications(C.ListLoanApplicationsRequest(), metadata=credit.md(bob))
    )
    assert everyone.code == grpc.StatusCode.PERMISSION_DENIED
    assert everyone.message == "customers may list only their own applications"
    # Support and compliance staff are refused the book too (authorization unchanged), told why as staff.
    for role in ("support", "compliance"):
        staff = failure(
            lambda role=role: credit.credit.ListLoanApplications(
                C.ListLoanApplicationsRequest(user_id=alice), metadata=credit.md(f"usr_{role}desk", role)
            )
        )
        assert staff.code == grpc.StatusCode.PERMISSION_DENIED
        assert staff.message.startswith("only underwriters and admins list other customers' applications")
    for_other = failure(
        lambda: credit.credit.SubmitLoanApplication(credit.submit_request(alice), metadata=credit.md(bob))
    )
    assert for_other.code == grpc.StatusCode.PERMISSION_DENIED
    unauthenticated = failure(
        lambda: credit.credit.GetLoanApplication(C.GetLoanApplicationRequest(application_id=app.id))
    )
    assert unauthenticated.code == grpc.StatusCode.UNAUTHENTICATED


def test_unknown_and_malformed_application_ids(credit: CreditApi) -> None:
    user = credit.register()
    missing = failure(lambda: credit.get("app_01JZZZZZZZZZZZZZZZZZZZZZZZ", credit.md(user)))
    assert missing.code == grpc.StatusCode.NOT_FOUND and missing.reason == "APPLICATION_NOT_FOUND"
    for bad in ("", "pay_01JZZZZZZZZZZZZZZZZZZZZZZZ", "app_nope"):
        malformed = failure(lambda bad=bad: credit.get(bad, credit.md(user)))
        assert malformed.code == grpc.StatusCode.INVALID_ARGUMENT and malformed.fields == ["application_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": eur(0)}, "amount.amount_minor"),
        ({"amount": common_pb2.Money(amount_minor=100, currency="XXX")}, "amount.currency"),
        ({"term_months": 2}, "term_months"),
        ({"term_months": 61}, "term_months"),
        ({"purpose": C.LOAN_PURPOSE_UNSPECIFIED}, "purpose"),
        ({"purpose": C.LOAN_PURPOSE_OTHER}, "purpose_description"),
        ({"financials": financials(monthly_income=eur(-1))}, "financials.monthly_income.amount_minor"),
        ({"financials": financials(monthly_debt=eur(-5))}, "financials.monthly_debt.amount_minor"),
        ({"financials": financials(employment_months=-1)}, "financials.employment_months"),
        (
            {"financials": financials(employment_status=C.EMPLOYMENT_STATUS_UNSPECIFIED)},
            "financials.employment_status",
        ),
        ({"request_id": ""}, "request_id"),
    ],
)
def test_invalid_applications_name_the_field(
    credit: CreditApi, change: dict[str, object], field: str
) -> None:
    user = credit.register()
    request = credit.submit_request(user)
    for name, value in change.items():
        if isinstance(value, (int, str)):
            setattr(request, name, value)
        else:
            getattr(request, name).CopyFrom(value)
    result = failure(lambda: credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)))
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT and field in result.fields, result


def test_missing_financials_and_a_debt_in_another_currency_are_invalid(credit: CreditApi) -> None:
    user = credit.register()
    request = credit.submit_request(user)
    request.ClearField("financials")
    missing = failure(lambda: credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)))
    assert missing.code == grpc.StatusCode.INVALID_ARGUMENT and missing.fields == ["financials"]
    request = credit.submit_request(user)
    request.financials.monthly_debt.currency = "USD"
    mixed = failure(lambda: credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)))
    assert mixed.fields == ["financials.monthly_debt.currency"]


def test_replay_returns_the_first_result_and_a_changed_body_is_refused(credit: CreditApi) -> None:
    user = credit.register()
    request = credit.submit_request(user)
    first = credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)).loan_application
    again = credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)).loan_application
    assert again == first
    changed = C.SubmitLoanApplicationRequest()
    changed.CopyFrom(request)
    changed.amount.amount_minor += 1
    reused = failure(lambda: credit.credit.SubmitLoanApplication(changed, metadata=credit.md(user)))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"


def test_one_open_application_per_user_and_cancellation(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user)
    second = failure(lambda: credit.submit(user))
    assert second.code == grpc.StatusCode.FAILED_PRECONDITION and second.reason == "OPEN_APPLICATION_EXISTS"

    other = credit.register()
    request = C.CancelLoanApplicationRequest(
        application_id=app.id, reason="found a cheaper loan", request_id=key()
    )
    denied = failure(lambda: credit.credit.CancelLoanApplication(request, metadata=credit.md(other)))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    cancelled = credit.credit.CancelLoanApplication(request, metadata=credit.md(user)).loan_application
    assert cancelled.status == S.LOAN_APPLICATION_STATUS_CANCELLED
    assert cancelled.status_history[-1].reason == "found a cheaper loan"
    again = C.CancelLoanApplicationRequest(application_id=app.id, request_id=key())
    unchanged = credit.credit.CancelLoanApplication(again, metadata=credit.md(user)).loan_application
    assert unchanged.status == S.LOAN_APPLICATION_STATUS_CANCELLED
    assert len(unchanged.status_history) == len(cancelled.status_history)
    # Withdrawn: a new application is welcome.
    assert credit.submit(user).status == S.LOAN_APPLICATION_STATUS_APPROVED


def test_a_rejected_application_cannot_be_cancelled(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, **RISKY)
    result = failure(
        lambda: credit.credit.CancelLoanApplication(
            C.CancelLoanApplicationRequest(application_id=app.id, request_id=key()), metadata=credit.md(user)
        )
    )
    assert result.code == grpc.StatusCode.FAILED_PRECONDITION and result.reason == "ILLEGAL_STATUS_TRANSITION"


def test_listing_pages_newest_first_with_filters(credit: CreditApi) -> None:
    user = credit.register()
    ids = []
    for _ in range(3):
        ids.append(credit.submit(user, **RISKY).id)  # rejected, so the next one may be submitted
    seen: list[str] = []
    token = ""
    while True:
        page = credit.credit.ListLoanApplications(
            C.ListLoanApplicationsRequest(user_id=user, page_size=2, page_token=token),
            metadata=credit.md(user),
        )
        assert len(page.loan_applications) <= 2
        seen += [a.id for a in page.loan_applications]
        token = page.next_page_token
        if not token:
            break
    assert seen == ids[::-1]
    none = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(user_id=user, statuses=[S.LOAN_APPLICATION_STATUS_APPROVED]),
        metadata=credit.md(user),
    )
    assert list(none.loan_applications) == []
    first = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(user_id=user, page_size=1), metadata=credit.md(user)
    )
    foreign = failure(
        lambda: credit.credit.ListLoanApplications(
            C.ListLoanApplicationsRequest(
                user_id=user,
                page_size=1,
                statuses=[S.LOAN_APPLICATION_STATUS_REJECTED],
                page_token=first.next_page_token,
            ),
            metadata=credit.md(user),
        )
    )
    assert foreign.code == grpc.StatusCode.INVALID_ARGUMENT and foreign.fields == ["page_token"]
    negative = failure(
        lambda: credit.credit.ListLoanApplications(
            C.ListLoanApplicationsRequest(user_id=user, page_size=-1), metadata=credit.md(user)
        )
    )
    assert negative.fields == ["page_size"]


def test_services_list_every_users_applications_by_currency(credit: CreditApi) -> None:
    user = credit.register()
    app = credit.submit(user, **RISKY)
    # Every user's applications, as the analytics service pages through them for its credit_portfolio report.
    seen: list[str] = []
    token = ""
    while True:
        page = credit.credit.ListLoanApplications(
            C.ListLoanApplicationsRequest(currency="EUR", page_size=200, page_token=token),
            metadata=credit.service(),
        )
        assert {a.amount.currency for a in page.loan_applications} <= {"EUR"}
        seen += [a.id for a in page.loan_applications]
        token = page.next_page_token
        if not token:
            break
    assert app.id in seen
    other = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(user_id=user, currency="GBP"), metadata=credit.service()
    )
    assert list(other.loan_applications) == []
    first = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(currency="EUR", page_size=1), metadata=credit.service()
    )
    foreign = failure(
        lambda: credit.credit.ListLoanApplications(
            C.ListLoanApplicationsRequest(currency="GBP", page_size=1, page_token=first.next_page_token),
            metadata=credit.service(),
        )
    )
    assert foreign.fields == ["page_token"]
    bad = failure(
        lambda: credit.credit.ListLoanApplications(
            C.ListLoanApplicationsRequest(currency="eur"), metadata=credit.service()
        )
    )
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT and bad.fields == ["currency"]
