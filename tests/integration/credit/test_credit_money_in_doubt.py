"""The window between the ledger's commit and ours: money that moved must end up recorded, once.

A crash (or a lost reply) after the ledger posted is made real here: the test calls the credit
service's own use case on the running server's database and real ledger, under the request's key as
the servicer runs it, with a ledger client whose posting dies right after the real ledger committed,
so the ledger keeps its entry and the credit transaction rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from nexafi.credit.v1 import credit_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.credit import repository as repo
from services.credit.converters import disbursement_response, repayment_response
from services.credit.domain.amortization import apply_repayment
from services.credit.domain.ledger import AccountType, BalanceRule
from services.credit.domain.model import RepaymentIntent
from services.credit.service import CreditService
from services.credit.shared import key_digest
from services.runtime.db import run_in_transaction
from services.runtime.request_keys import RequestKeys
from tests.integration.credit.credit_support import CreditApi, eur, key
from tests.support.grpc_errors import failure

C = credit_pb2
S = C.LoanApplicationStatus


class CrashAfterLedger(Exception):
    """The credit service died after the ledger committed, before its own commit."""


@dataclass(frozen=True)
class Posted:
    """What the ledger recorded before the credit service died."""

    transaction_id: str
    credits: list[tuple[str, int]]


@pytest.fixture
def crash_after_ledger(
    credit_service: CreditService, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[Posted]]:
    """The credit service's next ledger posting reaches the real ledger, then the service dies."""
    ledger = credit_service.clients.ledger
    real = ledger.post
    posted: list[Posted] = []

    def post(**kwargs: Any) -> str:
        posted.append(Posted(real(**kwargs), kwargs["credits"]))
        monkeypatch.setattr(ledger, "post", real)
        raise CrashAfterLedger()

    monkeypatch.setattr(ledger, "post", post)
    yield posted


def test_a_disbursement_lost_after_the_ledger_cannot_be_cancelled_and_completes_on_retry(
    credit: CreditApi,
    credit_service: CreditService,
    credit_keys: RequestKeys,
    crash_after_ledger: list[Posted],
) -> None:
    user = credit.register()
    wallet = credit.wallet(user)
    app = credit.approved(user, amount=300_000, term=6)

    request = C.DisburseLoanRequest(application_id=app.id, request_id=key())
    with pytest.raises(CrashAfterLedger):
        credit_keys.run(
            user,
            "DisburseLoan",
            request,
            lambda claim: disbursement_response(
                credit_service.disburse(claim, application_id=app.id, actor=user)
            ),
        )
    [posted] = crash_after_ledger
    paid_in_ledger = posted.transaction_id
    assert credit.balance(wallet) == 300_000
    assert credit.get(app.id, credit.md(user)).status == S.LOAN_APPLICATION_STATUS_APPROVED

    cancel = C.CancelLoanApplicationRequest(application_id=app.id, reason="changed my mind", request_id=key())
    refused = failure(lambda: credit.credit.CancelLoanApplication(cancel, metadata=credit.md(user)))
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION and refused.reason == "DISBURSEMENT_IN_DOUBT"
    assert credit.get(app.id, credit.md(user)).status == S.LOAN_APPLICATION_STATUS_APPROVED

    # Retrying the disbursement replays the ledger entry and records it: nothing is paid twice.
    loan = credit.disburse(app.id, user)
    assert loan.status == S.LOAN_APPLICATION_STATUS_DISBURSED
    assert loan.disbursement_transaction_id == paid_in_ledger
    assert credit.balance(wallet) == 300_000 and credit.balance(loan.loan_account_id) == 300_000
    again = failure(lambda: credit.credit.CancelLoanApplication(cancel, metadata=credit.md(user)))
    assert again.code == grpc.StatusCode.FAILED_PRECONDITION


def test_an_approved_loan_whose_disbursement_never_reached_the_ledger_can_be_cancelled(
    credit: CreditApi, credit_service: CreditService
) -> None:
    user = credit.register()
    credit.wallet(user)
    app = credit.approved(user, amount=300_000, term=6)
    # The loan account exists (opened before the posting) but nothing was posted to it.
    account = credit_service._ledger_account(
        user, f"loan:{app.id}", "EUR", AccountType.ASSET, BalanceRule.NON_NEGATIVE
    )
    assert credit.balance(account) == 0
    cancel = C.CancelLoanApplicationRequest(application_id=app.id, reason="not needed", request_id=key())
    cancelled = credit.credit.CancelLoanApplication(cancel, metadata=credit.md(user)).loan_application
    assert cancelled.status == S.LOAN_APPLICATION_STATUS_CANCELLED


# -- repayments ---------------------------------------------------------------------------------


def _repay_request(application_id: str, amount: int, request_id: str) -> credit_pb2.RecordRepaymentRequest:
    return C.RecordRepaymentRequest(application_id=application_id, amount=eur(amount), request_id=request_id)


def _crashed_repayment(
    credit: CreditApi,
    credit_service: CreditService,
    keys: RequestKeys,
    crashes: list[Posted],
    loan_id: str,
    user: str,
    amount: int,
    request_id: str,
) -> Posted:
    """A repayment the ledger recorded and the credit service did not (it died before committing)."""
    request = _repay_request(loan_id, amount, request_id)
    with pytest.raises(CrashAfterLedger):
        keys.run(
            user,
            "RecordRepayment",
            request,
            lambda claim: repayment_response(
                *credit_service.repay(
                    claim, application_id=loan_id, amount=amount, currency="EUR", actor=user
                )
            ),
        )
    assert all(r.request_id != request_id for r in credit.get(loan_id, credit.md(user)).repayments)
    return crashes[-1]


def _intents(credit_service: CreditService, application_id: str) -> list[RepaymentIntent]:
    return run_in_transaction(credit_service.engine, lambda s: repo.repayment_intents(s, application_id))


def _loan(credit: CreditApi, user: str, funds: int) -> tuple[str, Any]:
    wallet = credit.wallet(user, funds=funds)
    return wallet, credit.disburse(credit.approved(user, amount=240_000, term=6).id, user)


def test_a_repayment_lost_after_the_ledger_is_completed_by_the_next_one_and_replays(
    credit: CreditApi,
    credit_service: CreditService,
    credit_keys: RequestKeys,
    crash_after_ledger: list[Posted],
) -> None:
    user = credit.register()
    wallet, loan = _loan(credit, user, funds=100_000)
    first_key = key()
    lost = _crashed_repayment(
        credit, credit_service, credit_keys, crash_after_ledger, loan.id, user, 45_000, first_key
    )
    # The ledger took the money; credit has no record of it, only the intent.
    assert credit.balance(wallet) == 340_000 - 45_000
    assert [i.request_id for i in _intents(credit_service, loan.id)] == [first_key]

    # Another repayment first completes the lost one with its own split, then applies itself.
    second = credit.repay(loan.id, user, 30_000)
    assert second.repayment.amount == eur(30_000)
    final = credit.get(loan.id, credit.md(user))
    assert [(r.request_id, r.amount.amount_minor) for r in final.repayments] == [
        (first_key, 45_000),
        (second.repayment.request_id, 30_000),
    ]
    recovered = final.repayments[0]
    assert recovered.transaction_id == lost.transaction_id
    split = (recovered.principal.amount_minor, recovered.interest.amount_minor)
    assert split == (lost.credits[0][1], lost.credits[1][1])  # to the loan account, to interest income
    assert final.repaid_amount == eur(75_000) and sum(i.paid.amount_minor for i in final.schedule) == 75_000
    # The wallet was debited once for each; the receivable matches what credit says is owed.
    assert credit.balance(wallet) == 340_000 - 75_000
    assert credit.balance(loan.loan_account_id) == final.outstanding_principal.amount_minor
    assert _intents(credit_service, loan.id) == []

    # A retry of the lost request gets its original repayment; the key with another body is refused.
    as_user = credit.md(user)
    retry = credit.credit.RecordRepayment(_repay_request(loan.id, 45_000, first_key), metadata=as_user)
    assert retry.repayment == recovered
    reused = failure(
        lambda: credit.credit.RecordRepayment(
            _repay_request(loan.id, 45_001, first_key), metadata=credit.md(user)
        )
    )
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"
    assert credit.balance(wallet) == 340_000 - 75_000
    assert len(credit.get(loan.id, credit.md(user)).repayments) == 2


def test_a_retry_of_a_repayment_lost_after_the_ledger_returns_it_once(
    credit: CreditApi,
    credit_service: CreditService,
    credit_keys: RequestKeys,
    crash_after_ledger: list[Posted],
) -> None:
    user = credit.register()
    wallet, loan = _loan(credit, user, funds=0)
    request_id = key()
    lost = _crashed_repayment(
        credit, credit_service, credit_keys, crash_after_ledger, loan.id, user, 20_000, request_id
    )

    as_user = credit.md(user)
    retried = credit.credit.RecordRepayment(_repay_request(loan.id, 20_000, request_id), metadata=as_user)
    assert retried.repayment.transaction_id == lost.transaction_id
    assert retried.repayment.request_id == request_id and retried.repayment.amount == eur(20_000)
    again = credit.credit.RecordRepayment(_repay_request(loan.id, 20_000, request_id), metadata=as_user)
    assert again == retried
    final = credit.get(loan.id, credit.md(user))
    assert [r.id for r in final.repayments] == [retried.repayment.id]
    assert credit.balance(wallet) == 240_000 - 20_000
    assert credit.balance(loan.loan_account_id) == final.outstanding_principal.amount_minor
    assert _intents(credit_service, loan.id) == []


def test_a_repayment_intent_the_ledger_refuses_leaves_no_trace(
    credit: CreditApi, credit_service: CreditService
) -> None:
    user = credit.register()
    wallet, loan = _loan(credit, user, funds=0)
    # Died after writing its intent, before the ledger call; the wallet cannot pay it now.
    app = credit_service.get_application(loan.id)
    split = apply_repayment(app.schedule, 200_000)
    income = credit_service._ledger_account(
        "system",
        "loan_interest_income",
        "EUR",
        AccountType.INCOME,
        BalanceRule.UNBOUNDED,
    )
    doomed_key = key()
    intent = RepaymentIntent(
        0,
        loan.id,
        user,
        doomed_key,
        user,
        200_000,
        split.principal,
        split.interest,
        wallet,
        income,
        f"{loan.id}:repayment:{key_digest(user, doomed_key)}",
    )
    run_in_transaction(credit_service.engine, lambda s: repo.insert_repayment_intent(s, intent))
    spent = credit.account(user, "spent", ledger_pb2.ACCOUNT_TYPE_ASSET, ledger_pb2.BALANCE_RULE_UNBOUNDED)
    credit.post(wallet, spent, 240_000 - 10_000)

    paid = credit.repay(loan.id, user, 10_000)
    final = credit.get(loan.id, credit.md(user))
    assert [r.id for r in final.repayments] == [paid.repayment.id]
    assert final.repaid_amount == eur(10_000) and credit.balance(wallet) == 0
    assert credit.balance(loan.loan_account_id) == final.outstanding_principal.amount_minor
    assert _intents(credit_service, loan.id) == []
    # The refused request was never answered: its key is free, and it now fails on its own.
    refused = failure(
        lambda: credit.credit.RecordRepayment(
            _repay_request(loan.id, 200_000, doomed_key), metadata=credit.md(user)
        )
    )
    assert refused.code == grpc.StatusCode.FAILED_PRECONDITION
    assert refused.reason == "INSUFFICIENT_FUNDS"
    assert len(credit.get(loan.id, credit.md(user)).repayments) == 1
    assert _intents(credit_service, loan.id) == []
