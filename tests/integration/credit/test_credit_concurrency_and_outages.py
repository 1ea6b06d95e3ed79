"""Concurrent submissions and repayments, and a scoring model that cannot be reached."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.engine import Engine

from services.credit.spec import SPEC as CREDIT
from services.runtime.server import RunningServer
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


IN_PROGRESS = (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")


def test_concurrent_replays_of_one_submission_create_one_application(credit: CreditApi) -> None:
    user = credit.register()
    request = credit.submit_request(user)

    def submit() -> Any:
        return credit.credit.SubmitLoanApplication(request, metadata=credit.md(user)).loan_application

    results = in_parallel([submit] * 6)
    answered = [r for r in results if not isinstance(r, Failure)]
    busy = [r for r in results if isinstance(r, Failure)]
    # A duplicate that arrives while the first runs is told so at once; one that arrives after, replays.
    assert answered and {(f.code, f.reason) for f in busy} <= {IN_PROGRESS}, results
    final = submit()
    assert {r.id for r in answered} == {final.id}
    listed = credit.credit.ListLoanApplications(
        C.ListLoanApplicationsRequest(user_id=user), metadata=credit.md(user)
    )
    assert [a.id for a in listed.loan_applications] == [final.id]


def _running(engine: Engine, scope: str, request_id: str) -> bool:
    with engine.connect() as connection:
        state = connection.execute(
            sa.text("SELECT state FROM idempotency_keys WHERE scope = :s AND key = :k"),
            {"s": scope, "k": request_id},
        ).scalar()
    return state == "running"


def test_a_duplicate_while_the_first_runs_is_aborted_at_once_and_replays_after(
    credit: CreditApi, credit_server: RunningServer
) -> None:
    engine = credit_server.context.engine
    assert engine is not None
    user = credit.register()
    app = credit.submit(user)
    request = C.CancelLoanApplicationRequest(application_id=app.id, reason="not needed", request_id=key())

    def cancel() -> Any:
        return credit.credit.CancelLoanApplication(request, metadata=credit.md(user)).loan_application

    with engine.connect() as holder, ThreadPoolExecutor(1) as pool:
        held = holder.begin()
        # The application's row is locked here: the first request claims its key, then waits for the row.
        holder.execute(sa.text("SELECT id FROM loan_applications WHERE id = :i FOR UPDATE"), {"i": app.id})
        first = pool.submit(outcome, cancel)
        for _ in range(2000):
            if _running(engine, user, request.request_id):
                break
            time.sleep(0.005)  # polls for the first request's claim; nothing measures time
        assert _running(engine, user, request.request_id)
        duplicate = outcome(cancel)
        assert isinstance(duplicate, Failure) and (duplicate.code, duplicate.reason) == IN_PROGRESS
        assert not first.done()
        held.rollback()
        cancelled = first.result()
    assert cancelled.status == S.LOAN_APPLICATION_STATUS_CANCELLED
    assert cancel() == cancelled


def test_an_error_after_validation_is_stored_and_replayed(credit: CreditApi) -> None:
    user = credit.register()
    wallet = credit.wallet(user)
    loan = credit.disburse(credit.approved(user, amount=240_000, term=6).id, user)
    spent = credit.account(user, "spent", ledger_pb2.ACCOUNT_TYPE_ASSET, ledger_pb2.BALANCE_RULE_UNBOUNDED)
    credit.post(wallet, spent, 240_000)
    request_id = key()
    refused = failure(lambda: credit.repay(loan.id, user, 10_000, request_id))
    assert (refused.code, refused.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS")

    # The wallet can pay now, but the key's answer is the stored error, and nothing moves.
    credit.post(spent, wallet, 10_000)
    replayed = failure(lambda: credit.repay(loan.id, user, 10_000, request_id))
    assert replayed == refused
    assert credit.balance(wallet) == 10_000 and credit.get(loan.id, credit.md(user)).repayments == []
    paid = credit.repay(loan.id, user, 10_000)  # a new key runs afresh
    assert paid.repayment.amount.amount_minor == 10_000 and credit.balance(wallet) == 0


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
