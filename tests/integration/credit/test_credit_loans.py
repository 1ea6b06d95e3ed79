"""Disbursing and repaying loans through the real ledger: exact schedules, idempotency, failures."""

from __future__ import annotations

import calendar
from datetime import UTC, date

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2

from tests.integration.credit.credit_support import CreditApi, eur, key
from tests.support.grpc_errors import failure

C = credit_pb2
S = C.LoanApplicationStatus


def _plus_months(start: date, months: int) -> date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def test_disbursement_pays_the_wallet_once_and_fixes_the_schedule(credit: CreditApi) -> None:
    user = credit.register()
    wallet = credit.wallet(user)
    app = credit.approved(user, amount=600_000, term=12)
    request_id = key()
    loan = credit.disburse(app.id, user, request_id)

    assert loan.status == S.LOAN_APPLICATION_STATUS_DISBURSED and loan.HasField("disburse_time")
    assert loan.disbursement_transaction_id.startswith("txn_") and loan.loan_account_id.startswith("acc_")
    assert loan.outstanding_principal == eur(600_000) and loan.repaid_amount == eur(0)
    assert credit.balance(wallet) == 600_000 and credit.balance(loan.loan_account_id) == 600_000
    paid_out = loan.disburse_time.ToDatetime(tzinfo=UTC).date()
    assert [date.fromisoformat(i.due_date) for i in loan.schedule][:2] == [
        _plus_months(paid_out, 1),
        _plus_months(paid_out, 2),
    ]
    assert [i.principal for i in loan.schedule] == [i.principal for i in app.schedule]

    # The same request replays; another key finds the loan already paid out, and nothing moves twice.
    assert credit.disburse(app.id, user, request_id) == loan
    twice = failure(lambda: credit.disburse(app.id, user))
    assert twice.code == grpc.StatusCode.FAILED_PRECONDITION and twice.reason == "ILLEGAL_STATUS_TRANSITION"
    assert credit.balance(wallet) == 600_000
    other = credit.approved(credit.register())
    changed = C.DisburseLoanRequest(application_id=other.id, request_id=request_id)
    reused = failure(lambda: credit.credit.DisburseLoan(changed, metadata=credit.md(user)))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"


def test_disbursement_needs_an_approved_loan_a_wallet_and_the_owner(credit: CreditApi) -> None:
    user, other = credit.register(), credit.register()
    app = credit.approved(user)
    denied = failure(lambda: credit.disburse(app.id, other))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    no_wallet = failure(lambda: credit.disburse(app.id, user))
    assert no_wallet.code == grpc.StatusCode.FAILED_PRECONDITION and no_wallet.reason == "WALLET_NOT_FOUND"
    missing = failure(lambda: credit.disburse("app_01JZZZZZZZZZZZZZZZZZZZZZZZ", user))
    assert missing.code == grpc.StatusCode.NOT_FOUND

    referred = credit.submit(other, employment_months=1)
    assert referred.status == S.LOAN_APPLICATION_STATUS_UNDER_REVIEW
    credit.wallet(other)
    early = failure(lambda: credit.disburse(referred.id, other))
    assert early.code == grpc.StatusCode.FAILED_PRECONDITION and early.reason == "ILLEGAL_STATUS_TRANSITION"

    # No service disburses: the borrower (or an admin) does.
    credit.wallet(user)
    by_service = failure(
        lambda: credit.credit.DisburseLoan(
            C.DisburseLoanRequest(application_id=app.id, request_id=key()), metadata=credit.service()
        )
    )
    assert (by_service.code, by_service.reason) == (grpc.StatusCode.PERMISSION_DENIED, "SERVICE_NOT_ALLOWED")
    assert credit.disburse(app.id, user).status == S.LOAN_APPLICATION_STATUS_DISBURSED


def test_repayments_go_interest_first_in_due_order_and_close_the_loan_exactly(credit: CreditApi) -> None:
    user = credit.register()
    wallet = credit.wallet(user, funds=100_000)
    loan = credit.disburse(credit.approved(user, amount=300_000, term=3).id, user)
    first = loan.schedule[0]
    balance_before = credit.balance(wallet)

    # Part of the first installment: its interest first, then principal.
    part = first.interest.amount_minor + 1_000
    reply = credit.repay(loan.id, user, part)
    repayment, after = reply.repayment, reply.loan_application
    assert repayment.id.startswith("rpy_") and repayment.transaction_id.startswith("txn_")
    assert repayment.interest.amount_minor == first.interest.amount_minor
    assert repayment.principal.amount_minor == 1_000
    assert after.schedule[0].paid.amount_minor == part
    assert after.schedule[0].status == C.INSTALLMENT_STATUS_PARTIALLY_PAID
    assert after.outstanding_principal.amount_minor == 300_000 - 1_000
    assert credit.balance(wallet) == balance_before - part
    assert credit.balance(loan.loan_account_id) == 300_000 - 1_000

    # More than the first installment's rest: it is paid and the second starts.
    owed_first = first.total.amount_minor - part
    reply = credit.repay(loan.id, user, owed_first + 500)
    after = reply.loan_application
    assert after.schedule[0].status == C.INSTALLMENT_STATUS_PAID
    assert after.schedule[1].paid.amount_minor == 500
    assert reply.repayment.principal.amount_minor + reply.repayment.interest.amount_minor == owed_first + 500

    # Too much is refused; exactly the rest closes the loan.
    rest = sum(i.total.amount_minor - i.paid.amount_minor for i in after.schedule)
    credit.post(credit.account("system", "test_clearing", 1, 3), wallet, rest)
    too_much = failure(lambda: credit.repay(loan.id, user, rest + 1))
    assert (
        too_much.code == grpc.StatusCode.FAILED_PRECONDITION
        and too_much.reason == "REPAYMENT_EXCEEDS_BALANCE"
    )
    final = credit.repay(loan.id, user, rest).loan_application
    assert final.status == S.LOAN_APPLICATION_STATUS_REPAID
    assert final.outstanding_principal.amount_minor == 0
    assert all(i.status == C.INSTALLMENT_STATUS_PAID for i in final.schedule)
    assert final.repaid_amount.amount_minor == sum(i.total.amount_minor for i in final.schedule)
    assert sum(r.principal.amount_minor for r in final.repayments) == 300_000
    assert sum(r.interest.amount_minor for r in final.repayments) == final.total_interest.amount_minor
    assert credit.balance(loan.loan_account_id) == 0
    done = failure(lambda: credit.repay(loan.id, user, 1))
    assert done.code == grpc.StatusCode.FAILED_PRECONDITION


def test_repayment_replay_insufficient_funds_and_validation(credit: CreditApi) -> None:
    user, other = credit.register(), credit.register()
    wallet = credit.wallet(user)
    loan = credit.disburse(credit.approved(user, amount=300_000, term=6).id, user)
    # The whole disbursement sits in the wallet; spend it so a repayment finds nothing.
    credit.post(wallet, credit.account("system", "test_sink", 1, 3), 300_000)
    broke = failure(lambda: credit.repay(loan.id, user, 10_000))
    assert broke.code == grpc.StatusCode.FAILED_PRECONDITION and broke.reason == "INSUFFICIENT_FUNDS"
    credit.post(credit.account("system", "test_clearing", 1, 3), wallet, 50_000)

    request_id = key()
    first = credit.repay(loan.id, user, 10_000, request_id)
    again = credit.repay(loan.id, user, 10_000, request_id)
    assert again == first and len(again.loan_application.repayments) == 1
    assert credit.balance(wallet) == 40_000
    reused = failure(lambda: credit.repay(loan.id, user, 10_001, request_id))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"

    denied = failure(lambda: credit.repay(loan.id, other, 1_000))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    zero = failure(lambda: credit.repay(loan.id, user, 0))
    assert zero.code == grpc.StatusCode.INVALID_ARGUMENT and zero.fields == ["amount.amount_minor"]
    usd = failure(
        lambda: credit.credit.RecordRepayment(
            C.RecordRepaymentRequest(
                application_id=loan.id,
                amount=common_pb2.Money(amount_minor=1_000, currency="USD"),
                request_id=key(),
            ),
            metadata=credit.md(user),
        )
    )
    assert usd.code == grpc.StatusCode.INVALID_ARGUMENT and usd.fields == ["amount.currency"]
