"""UpdateAccountLimit: raising, lowering and freezing a credit-limit account, under the balance's lock."""

from __future__ import annotations

import grpc
from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.engine import Engine

from tests.integration.ledger.ledger_support import LedgerClient, assert_ledger_invariants, failure, rid

L = ledger_pb2


def credit_line(ledger: LedgerClient, limit: int) -> ledger_pb2.Account:
    return ledger.open(
        "usr_01LIMITS000000000000000000"[:30],
        rule=L.BALANCE_RULE_CREDIT_LIMIT,
        limit=limit,
        name="credit_line",
    )


def update(
    ledger: LedgerClient, account_id: str, limit: int, request_id: str | None = None, metadata: object = None
) -> ledger_pb2.Account:
    return ledger.stub.UpdateAccountLimit(
        L.UpdateAccountLimitRequest(
            account_id=account_id, credit_limit_minor=limit, request_id=request_id or rid()
        ),
        metadata=metadata or ledger.ops,
    ).account


def test_a_raised_limit_allows_more_and_a_lowered_one_less(ledger: LedgerClient, ledger_db: Engine) -> None:
    line = credit_line(ledger, 10_000)
    sink = ledger.clearing()
    ledger.transfer(line.id, sink, 10_000)
    assert failure(lambda: ledger.transfer(line.id, sink, 1)).reason == "INSUFFICIENT_FUNDS"

    raised = update(ledger, line.id, 15_000)
    assert raised.credit_limit_minor == 15_000 and raised.balance.available.amount_minor == -10_000
    ledger.transfer(line.id, sink, 5_000)
    assert failure(lambda: ledger.transfer(line.id, sink, 1)).reason == "INSUFFICIENT_FUNDS"

    below = failure(lambda: update(ledger, line.id, 14_999))
    assert below.code == grpc.StatusCode.FAILED_PRECONDITION and below.reason == "LIMIT_BELOW_BALANCE"
    # Repaid in full, the limit can go to zero, and then nothing can be drawn.
    ledger.transfer(sink, line.id, 15_000)
    lowered = update(ledger, line.id, 0)
    assert lowered.credit_limit_minor == 0 and lowered.balance.available.amount_minor == 0
    assert failure(lambda: ledger.transfer(line.id, sink, 1)).reason == "INSUFFICIENT_FUNDS"
    assert_ledger_invariants(ledger_db)


def test_limit_updates_are_idempotent_authorized_and_validated(ledger: LedgerClient) -> None:
    line = credit_line(ledger, 1_000)
    key = rid()
    first = update(ledger, line.id, 2_000, key)
    assert update(ledger, line.id, 2_000, key).credit_limit_minor == first.credit_limit_minor == 2_000
    reused = failure(lambda: update(ledger, line.id, 3_000, key))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"

    customer = failure(lambda: update(ledger, line.id, 5_000, metadata=ledger.customer(line.owner_id)))
    assert customer.code == grpc.StatusCode.PERMISSION_DENIED
    negative = failure(lambda: update(ledger, line.id, -1))
    assert negative.code == grpc.StatusCode.INVALID_ARGUMENT and negative.fields == ["credit_limit_minor"]
    missing = failure(lambda: update(ledger, "acc_01JZZZZZZZZZZZZZZZZZZZZZZZ", 5))
    assert missing.code == grpc.StatusCode.NOT_FOUND
    wallet = ledger.wallet()
    not_credit = failure(lambda: update(ledger, wallet.id, 5))
    assert (
        not_credit.code == grpc.StatusCode.FAILED_PRECONDITION and not_credit.reason == "NOT_A_CREDIT_ACCOUNT"
    )
