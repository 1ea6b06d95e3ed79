"""The reconciliation reads (entries by related record, by prefix) and VerifyBooks."""

from __future__ import annotations

import grpc
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.ids import new_id
from tests.integration.ledger.ledger_support import LedgerClient, failure, money, rid


def _related_transfer(ledger: LedgerClient, debit: str, credit: str, amount: int, related: str) -> str:
    request = ledger.transfer_request(debit, credit, amount)
    request.related_entity_id = related
    return ledger.stub.CreateTransaction(request, metadata=ledger.ops, timeout=10).transaction.id


def test_a_transfer_between_two_customers_is_returned_once(ledger: LedgerClient) -> None:
    payer, payee = ledger.wallet(), ledger.wallet()
    ledger.fund(payer.id, 1_000)
    record, other = new_id("pay"), new_id("pay")
    first = _related_transfer(ledger, payer.id, payee.id, 300, record)
    second = _related_transfer(ledger, payer.id, payee.id, 200, other)
    hold = ledger.stub.CreatePendingTransfer(
        ledger_pb2.CreatePendingTransferRequest(
            debit_account_id=payer.id,
            credit_account_id=payee.id,
            amount=money(100),
            type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
            related_entity_id=record,
            request_id=rid(),
        ),
        metadata=ledger.ops,
        timeout=10,
    ).pending_transfer

    reply = ledger.stub.BatchGetRelatedEntries(
        ledger_pb2.BatchGetRelatedEntriesRequest(related_entity_ids=[record, other, record, new_id("pay")]),
        metadata=ledger.ops,
        timeout=10,
    )
    assert sorted(t.id for t in reply.transactions) == sorted([first, second])
    assert [t.id for t in reply.pending_transfers] == [hold.id]
    assert all(len(t.postings) == 2 and t.sequence > 0 for t in reply.transactions)


def test_related_reads_check_their_input_and_caller(ledger: LedgerClient) -> None:
    empty = failure(
        lambda: ledger.stub.BatchGetRelatedEntries(
            ledger_pb2.BatchGetRelatedEntriesRequest(), metadata=ledger.ops, timeout=10
        )
    )
    assert empty.code == grpc.StatusCode.INVALID_ARGUMENT and empty.fields == ["related_entity_ids"]
    too_many = failure(
        lambda: ledger.stub.BatchGetRelatedEntries(
            ledger_pb2.BatchGetRelatedEntriesRequest(related_entity_ids=[f"pay_{i}" for i in range(1001)]),
            metadata=ledger.ops,
            timeout=10,
        )
    )
    assert too_many.code == grpc.StatusCode.INVALID_ARGUMENT
    customer = failure(
        lambda: ledger.stub.BatchGetRelatedEntries(
            ledger_pb2.BatchGetRelatedEntriesRequest(related_entity_ids=["pay_x"]),
            metadata=ledger.customer("usr_someone"),
            timeout=10,
        )
    )
    assert customer.code == grpc.StatusCode.PERMISSION_DENIED
    for bad in ("", "pay_"):
        no_type = failure(
            lambda b=bad: ledger.stub.ListRelatedEntries(
                ledger_pb2.ListRelatedEntriesRequest(related_entity_type=b), metadata=ledger.ops, timeout=10
            )
        )
        assert no_type.code == grpc.StatusCode.INVALID_ARGUMENT
        assert no_type.fields == ["related_entity_type"]


def test_entries_are_paged_by_type_oldest_first(ledger: LedgerClient) -> None:
    payer, payee = ledger.wallet(), ledger.wallet()
    ledger.fund(payer.id, 1_000)
    kind = f"tst{new_id('x')[-10:].lower()}"
    made = [_related_transfer(ledger, payer.id, payee.id, 10 + i, f"{kind}_{i}") for i in range(5)]
    _related_transfer(ledger, payer.id, payee.id, 1, f"{kind}x_1")
    seen: list[str] = []
    token = ""
    while True:
        reply = ledger.stub.ListRelatedEntries(
            ledger_pb2.ListRelatedEntriesRequest(related_entity_type=kind, page_size=2, page_token=token),
            metadata=ledger.ops,
            timeout=10,
        )
        assert len(reply.transactions) <= 2
        seen += [t.id for t in reply.transactions]
        token = reply.next_page_token
        if not token:
            break
    assert seen == made


def test_verify_books_is_clean_and_finds_a_balance_that_drifted(ledger: LedgerClient, ledger_db) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 500)
    ledger.transfer(a.id, b.id, 120)
    ledger.pend(a.id, b.id, 30)
    report = ledger.stub.VerifyBooks(ledger_pb2.VerifyBooksRequest(), metadata=ledger.admin, timeout=60)
    assert report.clean, report.findings
    assert report.entries_checked > 0 and report.accounts_checked >= 2 and report.open_pending_transfers >= 1
    assert all(t.balanced for t in report.totals)

    def shift(delta: int) -> None:
        with ledger_db.begin() as connection:
            connection.execute(
                sa.text("UPDATE balances SET posted = posted + :d WHERE account_id = :a"),
                {"d": delta, "a": b.id},
            )

    shift(7)
    try:
        found = ledger.stub.VerifyBooks(ledger_pb2.VerifyBooksRequest(), metadata=ledger.admin, timeout=60)
    finally:
        shift(-7)
    assert not found.clean
    assert [(f.kind, f.subject_id) for f in found.findings] == [
        (ledger_pb2.BOOKS_FINDING_KIND_BALANCE_MISMATCH, b.id)
    ]
    assert "127" in found.findings[0].detail and "120" in found.findings[0].detail
    refused = failure(
        lambda: ledger.stub.VerifyBooks(
            ledger_pb2.VerifyBooksRequest(), metadata=ledger.tokens.service("payment"), timeout=10
        )
    )
    assert refused.code == grpc.StatusCode.PERMISSION_DENIED
