"""A lost ledger reply leaves a disbursement, repayment or line change in doubt, never failed;
the recovery job (or the client's retry with its key) completes it once.

The credit service's use cases run here on the running server's database with their own real
clients, whose ledger stub loses chosen replies after the real ledger committed.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from nexafi.credit.v1 import credit_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.credit import repository as repo
from services.credit.converters import disbursement_response, line_pb, repayment_response
from services.credit.credit_lines import LineChange
from services.credit.domain.ledger import AccountType, BalanceRule
from services.credit.loan_reconciliation import reconcile_loans
from services.credit.recovery import CreditRecovery
from services.credit.service import CreditService
from services.credit.settings import CreditSettings
from services.credit.spec import build_service
from services.runtime.db import run_in_transaction
from services.runtime.errors import InsufficientFunds, Unavailable
from services.runtime.idempotency import Claim
from services.runtime.request_keys import RequestKeys
from services.runtime.server import RunningServer
from tests.integration.credit.credit_support import CreditApi, eur, key, server_keys
from tests.support.faults import LostLedgerReplies

C = credit_pb2
S = C.LoanApplicationStatus


@pytest.fixture(scope="module")
def lossy(credit_server: RunningServer) -> Iterator[tuple[CreditService, LostLedgerReplies]]:
    assert credit_server.context.engine is not None
    service = build_service(credit_server.context.engine, CreditSettings(), clock=credit_server.context.clock)
    yield service, LostLedgerReplies(service.clients.ledger.stub)
    service.clients.close()


@pytest.fixture(scope="module")
def keys(lossy: tuple[CreditService, LostLedgerReplies], credit_server: RunningServer) -> RequestKeys:
    return server_keys(credit_server, lossy[0].idempotency)


def _recover(service: CreditService) -> object:
    return CreditRecovery(service).run(stale_after_seconds=0)


def _disburse(
    keys: RequestKeys, service: CreditService, user: str, request: credit_pb2.DisburseLoanRequest
) -> bytes:
    """DisburseLoan as the servicer runs it, under the request's key in the server's key table."""
    return keys.run(
        user,
        "DisburseLoan",
        request,
        lambda claim: disbursement_response(
            service.disburse(claim, application_id=request.application_id, actor=user)
        ),
    )


def _repay(
    keys: RequestKeys, service: CreditService, user: str, request: credit_pb2.RecordRepaymentRequest
) -> bytes:
    return keys.run(
        user,
        "RecordRepayment",
        request,
        lambda claim: repayment_response(
            *service.repay(
                claim,
                application_id=request.application_id,
                amount=request.amount.amount_minor,
                currency=request.amount.currency,
                actor=user,
            )
        ),
    )


def _entries(credit: CreditApi, application_id: str) -> list[ledger_pb2.Transaction]:
    return list(
        credit.ledger.BatchGetRelatedEntries(
            ledger_pb2.BatchGetRelatedEntriesRequest(related_entity_ids=[application_id]),
            metadata=credit.admin(),
        ).transactions
    )


@pytest.mark.parametrize("code", [grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.ABORTED])
def test_a_lost_disbursement_is_recorded_by_recovery_and_replayed_to_the_client(
    credit: CreditApi,
    lossy: tuple[CreditService, LostLedgerReplies],
    keys: RequestKeys,
    code: grpc.StatusCode,
) -> None:
    service, replies = lossy
    user = credit.register()
    wallet = credit.wallet(user)
    app = credit.approved(user, amount=300_000, term=6)
    request_id = key()
    request = C.DisburseLoanRequest(application_id=app.id, request_id=request_id)
    replies.lose("CreateTransaction", code)
    with pytest.raises(Unavailable) as lost:
        _disburse(keys, service, user, request)
    assert lost.value.reason == "LEDGER_UNAVAILABLE"
    assert credit.balance(wallet) == 300_000  # the ledger paid out
    assert credit.get(app.id, credit.md(user)).status == S.LOAN_APPLICATION_STATUS_APPROVED
    in_doubt = reconcile_loans(service)
    assert app.id not in {m.application_id for m in in_doubt.mismatches} and in_doubt.in_doubt >= 1

    _recover(service)
    done = credit.get(app.id, credit.md(user))
    assert done.status == S.LOAN_APPLICATION_STATUS_DISBURSED
    [entry] = _entries(credit, app.id)
    assert done.disbursement_transaction_id == entry.id and credit.balance(wallet) == 300_000
    # The client's retry with its key (bound to the loan) gets the disbursement that recovery recorded.
    again = credit.disburse(app.id, user, request_id=request_id)
    assert again.status == S.LOAN_APPLICATION_STATUS_DISBURSED
    assert again.disbursement_transaction_id == entry.id
    assert app.id not in {m.application_id for m in reconcile_loans(service).mismatches}


def test_a_disbursement_that_never_reached_the_ledger_is_dropped_by_recovery(
    credit: CreditApi, lossy: tuple[CreditService, LostLedgerReplies]
) -> None:
    service, _ = lossy
    user = credit.register()
    wallet = credit.wallet(user)
    app = credit.approved(user, amount=200_000, term=6)
    loan_account = service._ledger_account(
        user, f"loan:{app.id}", "EUR", AccountType.ASSET, BalanceRule.NON_NEGATIVE
    )
    intent = repo.DisbursementIntent(app.id, user, key(), user, wallet, loan_account)
    run_in_transaction(service.engine, lambda s: repo.save_disbursement_intent(s, intent))
    _recover(service)
    assert credit.get(app.id, credit.md(user)).status == S.LOAN_APPLICATION_STATUS_APPROVED
    assert credit.balance(wallet) == 0 and _entries(credit, app.id) == []
    left = run_in_transaction(service.engine, lambda s: repo.stale_disbursement_intents(s, 0, 1000))
    assert app.id not in {i.application_id for i in left}


def test_a_lost_repayment_is_recorded_once_by_recovery(
    credit: CreditApi, lossy: tuple[CreditService, LostLedgerReplies], keys: RequestKeys
) -> None:
    service, replies = lossy
    user = credit.register()
    wallet = credit.wallet(user, funds=100_000)
    loan = credit.disburse(credit.approved(user, amount=240_000, term=6).id, user)
    request_id = key()
    request = C.RecordRepaymentRequest(application_id=loan.id, amount=eur(30_000), request_id=request_id)
    replies.lose("CreateTransaction", grpc.StatusCode.INTERNAL)
    with pytest.raises(Unavailable):
        _repay(keys, service, user, request)
    assert credit.balance(wallet) == 100_000 + 240_000 - 30_000  # the ledger took it

    _recover(service)
    final = credit.get(loan.id, credit.md(user))
    assert len(final.repayments) == 1 and final.repaid_amount == eur(30_000)
    replayed = credit.repay(loan.id, user, 30_000, request_id=request_id)
    assert replayed.repayment.id == final.repayments[0].id
    repaid = ledger_pb2.TRANSACTION_TYPE_LOAN_REPAYMENT
    repayments = [e for e in _entries(credit, loan.id) if e.type == repaid]
    assert [e.id for e in repayments] == [final.repayments[0].transaction_id]
    assert credit.balance(wallet) == 100_000 + 240_000 - 30_000
    assert loan.id not in {m.application_id for m in reconcile_loans(service).mismatches}


def test_a_lost_limit_change_is_not_a_failure_and_the_retry_completes_it(
    credit: CreditApi, lossy: tuple[CreditService, LostLedgerReplies], keys: RequestKeys
) -> None:
    service, replies = lossy
    user = credit.register()
    underwriter = "usr_underwriter_in_doubt"
    request_id = key()
    change = LineChange(user, 50_000, "EUR", None, 1500, "opening", underwriter)
    request = C.UpdateCreditLineRequest(
        user_id=user, limit=eur(50_000), apr_bps=1500, reason="opening", request_id=request_id
    )

    def update() -> bytes:
        return keys.run(
            underwriter,
            "UpdateCreditLine",
            request,
            lambda claim: C.UpdateCreditLineResponse(credit_line=line_pb(service.update_line(claim, change))),
        )

    replies.lose("UpdateAccountLimit", grpc.StatusCode.INTERNAL)
    with pytest.raises(Unavailable):
        update()  # in doubt: not stored under the key, so the retry runs again
    line = C.UpdateCreditLineResponse.FromString(update()).credit_line
    assert line.limit == eur(50_000)
    account = credit.ledger_account(line.ledger_account_id)
    assert account.credit_limit_minor == 50_000


def test_a_repayment_beyond_the_wallet_is_refused_not_in_doubt(
    credit: CreditApi, lossy: tuple[CreditService, LostLedgerReplies], keys: RequestKeys
) -> None:
    service, _ = lossy
    user = credit.register()
    wallet = credit.wallet(user)
    loan = credit.disburse(credit.approved(user, amount=240_000, term=6).id, user)
    spent = credit.account(user, "spent", ledger_pb2.ACCOUNT_TYPE_ASSET, ledger_pb2.BALANCE_RULE_UNBOUNDED)
    credit.post(wallet, spent, 240_000)
    request_id = key()
    request = C.RecordRepaymentRequest(application_id=loan.id, amount=eur(10_000), request_id=request_id)
    with pytest.raises(InsufficientFunds):
        _repay(keys, service, user, request)
    assert run_in_transaction(service.engine, lambda s: repo.repayment_intents(s, loan.id)) == []


class DiedAfterCommit(Exception):
    """The credit service died after its commit, before the key stored the answer."""


def test_a_change_whose_answer_was_lost_after_its_commit_is_resumed_not_repeated(
    credit: CreditApi, lossy: tuple[CreditService, LostLedgerReplies], keys: RequestKeys
) -> None:
    service, _ = lossy
    user = credit.register()
    underwriter = "usr_underwriter_resumed"
    request = C.UpdateCreditLineRequest(
        user_id=user, limit=eur(40_000), apr_bps=1500, reason="opening", request_id=key()
    )
    change = LineChange(user, 40_000, "EUR", None, 1500, "opening", underwriter)

    def dies_after_commit(claim: Claim) -> credit_pb2.UpdateCreditLineResponse:
        service.update_line(claim, change)
        raise DiedAfterCommit()

    def update(claim: Claim) -> credit_pb2.UpdateCreditLineResponse:
        return C.UpdateCreditLineResponse(credit_line=line_pb(service.update_line(claim, change)))

    with pytest.raises(DiedAfterCommit):
        keys.run(underwriter, "UpdateCreditLine", request, dies_after_commit)
    # The key stayed bound to the line it made: the retry answers with that line, changing nothing.
    line = C.UpdateCreditLineResponse.FromString(
        keys.run(underwriter, "UpdateCreditLine", request, update)
    ).credit_line
    assert line.limit == eur(40_000) and line.user_id == user
    with service.engine.connect() as connection:
        changes = connection.execute(
            sa.text("SELECT count(*) FROM credit_line_changes WHERE request_id = :k"),
            {"k": request.request_id},
        ).scalar()
    assert changes == 1
