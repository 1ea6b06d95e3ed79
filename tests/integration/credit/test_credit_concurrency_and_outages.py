"""Concurrent submissions and repayments, and a scoring model that cannot be reached."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2

from services.credit.spec import SPEC as CREDIT
from tests.integration.credit.credit_support import CreditApi, financials, key
from tests.support.grpc_errors import Failure, describe, failure
from tests.support.harness import ServiceRunner, second_server_without

C = credit_pb2
S = C.LoanApplicationStatus


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except grpc.RpcError as error:
        return describe(error)


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(outcome, calls))


def test_concurrent_replays_of_one_submission_create_one_application(credit: CreditApi) -> None:
    user = credit.register()
    request = credit.submit_request(user)
    results = in_parallel(
        [lambda: credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)).loan_application] * 6
    )
    assert all(not isinstance(r, Failure) for r in results), results
    assert len({r.id for r in results}) == 1
    listed = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(user_id=user), metadata=credit.md(user)
    )
    assert [a.id for a in listed.loan_applications] == [results[0].id]


def test_concurrent_submissions_with_different_keys_open_one_application(credit: CreditApi) -> None:
    user = credit.register()
    results = in_parallel([lambda: credit.submit(user) for _ in range(6)])
    opened = [r for r in results if not isinstance(r, Failure)]
    refused = [r for r in results if isinstance(r, Failure)]
    assert len(opened) == 1
    assert {(f.code, f.reason) for f in refused} == {
        (grpc.StatusCode.FAILED_PRECONDITION, "OPEN_APPLICATION_EXISTS")
    }


def test_concurrent_repayments_are_applied_one_after_the_other_exactly(credit: CreditApi) -> None:
    user = credit.register()
    wallet = credit.wallet(user, funds=100_000)
    loan = credit.disburse(credit.approved(user, amount=240_000, term=6).id, user)
    results = in_parallel([lambda: credit.repay(loan.id, user, 7_001) for _ in range(8)])
    assert all(not isinstance(r, Failure) for r in results), results
    final = credit.get(loan.id, credit.md(user))
    assert len(final.repayments) == 8 and final.repaid_amount.amount_minor == 8 * 7_001
    assert sum(i.paid.amount_minor for i in final.schedule) == 8 * 7_001
    principal = sum(r.principal.amount_minor for r in final.repayments)
    assert final.outstanding_principal.amount_minor == 240_000 - principal
    assert credit.balance(loan.loan_account_id) == 240_000 - principal
    assert credit.balance(wallet) == 100_000 + 240_000 - 8 * 7_001


@pytest.fixture
def credit_without_ai(
    credit: CreditApi, services: ServiceRunner
) -> Iterator[credit_pb2_grpc.CreditServiceStub]:
    """A second credit server whose AI address is a closed port: the scoring model is unreachable."""
    with second_server_without(services, CREDIT, "ai") as channel:
        yield credit_pb2_grpc.CreditServiceStub(channel)


def test_without_the_model_applications_go_to_review_and_refreshes_are_unavailable(
    credit: CreditApi, credit_without_ai: credit_pb2_grpc.CreditServiceStub
) -> None:
    user = credit.register()
    app = credit_without_ai.SubmitLoanApplication(credit.submit_request(user), metadata=credit.md(user))
    app = app.loan_application
    assert app.status == S.LOAN_APPLICATION_STATUS_UNDER_REVIEW
    assert [r.code for r in app.decision_reasons] == ["SCORING_UNAVAILABLE"]
    assert app.credit_score == 0 and app.credit_score_id == ""

    refresh = failure(
        lambda: credit_without_ai.RefreshCreditScore(
            C.RefreshCreditScoreRequest(user_id=user, request_id=key(), financials=financials()),
            metadata=credit.md(user),
        )
    )
    assert refresh.code == grpc.StatusCode.UNAVAILABLE and refresh.reason == "SCORING_UNAVAILABLE"

    # Nothing was priced: the underwriter must set the APR.
    unpriced = failure(lambda: credit.decide(app.id))
    assert unpriced.code == grpc.StatusCode.INVALID_ARGUMENT and unpriced.fields == ["apr_bps"]
    approved = credit.decide(app.id, apr_bps=1999)
    assert approved.status == S.LOAN_APPLICATION_STATUS_APPROVED and approved.apr_bps == 1999


def test_concurrent_first_credit_line_updates_share_one_ledger_account(credit: CreditApi) -> None:
    user = credit.register()
    limits = [100_000 + 1_000 * n for n in range(6)]
    results = in_parallel([lambda limit=limit: credit.update_line(user, limit) for limit in limits])
    opened = [r for r in results if not isinstance(r, Failure)]
    refused = [r for r in results if isinstance(r, Failure)]
    assert len({r.id for r in opened}) == 1, results
    assert {(f.code, f.reason) for f in refused} <= {(grpc.StatusCode.ABORTED, "CONCURRENT_MODIFICATION")}

    line = credit.credit.GetCreditLine(
        C.GetCreditLineRequest(user_id=user), metadata=credit.underwriter()
    ).credit_line
    accounts = credit.ledger.ListAccounts(
        ledger_pb2.ListAccountsRequest(owner_id=user, page_size=100), metadata=credit.admin()
    ).accounts
    # One ledger account for the line, with the line's limit: no orphan holds another limit.
    assert [(a.id, a.name) for a in accounts] == [(line.ledger_account_id, "credit_line")]
    assert accounts[0].credit_limit_minor == line.limit.amount_minor
    assert line.limit.amount_minor in limits

    # A later first call's retry of the losers now changes the same line and account.
    raised = credit.update_line(user, 500_000, apr=None)
    assert raised.id == line.id and raised.ledger_account_id == line.ledger_account_id
    assert credit.ledger_account(line.ledger_account_id).credit_limit_minor == 500_000
