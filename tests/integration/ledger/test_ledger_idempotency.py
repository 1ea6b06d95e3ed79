"""The ledger's request_ids under the runtime's one idempotency contract, over real gRPC and PostgreSQL.

A replay returns the first response as it was, whatever happened to the entity since; a
duplicate that arrives while the first request's transaction holds the key is told ABORTED
(REQUEST_IN_PROGRESS) at once instead of waiting for it.
"""

from __future__ import annotations

import grpc
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.engine import Engine

from services.runtime.ids import new_id
from tests.integration.ledger.ledger_support import LedgerClient, failure, money, rid

OPERATOR = "usr_ledger_operator"  # the subject of LedgerClient.ops: the keys' scope


def _reverse(ledger: LedgerClient, txn_id: str) -> ledger_pb2.Transaction:
    request = ledger_pb2.ReverseTransactionRequest(transaction_id=txn_id, reason="undo", request_id=rid())
    return ledger.stub.ReverseTransaction(request, metadata=ledger.ops, timeout=10).transaction


def _get(ledger: LedgerClient, txn_id: str) -> ledger_pb2.Transaction:
    request = ledger_pb2.GetTransactionRequest(transaction_id=txn_id)
    return ledger.stub.GetTransaction(request, metadata=ledger.ops, timeout=10).transaction


def test_a_replayed_transaction_is_the_first_response_even_after_a_reversal(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    key = rid()
    first = ledger.transfer(a.id, b.id, 40, request_id=key)
    reversal = _reverse(ledger, first.id)
    assert _get(ledger, first.id).reversed_by_transaction_id == reversal.id
    again = ledger.transfer(a.id, b.id, 40, request_id=key)
    assert again == first and again.reversed_by_transaction_id == ""
    assert again.sequence > 0 and again.hash  # with the seal the first response carried
    assert ledger.balance(a.id).posted.amount_minor == 100


def test_a_replayed_batch_item_is_its_own_first_response(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    keys = [rid(), rid()]

    def batch(amounts: list[int]) -> ledger_pb2.CreateTransactionsResponse:
        transfers = [
            ledger_pb2.Transfer(
                debit_account_id=a.id,
                credit_account_id=b.id,
                amount=money(amount),
                type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
                request_id=key,
            )
            for key, amount in zip(keys, amounts, strict=True)
        ]
        return ledger.stub.CreateTransactions(
            ledger_pb2.CreateTransactionsRequest(transfers=transfers), metadata=ledger.ops, timeout=10
        )

    first = batch([10, 20])
    assert [r.code for r in first.results] == [0, 0]
    _reverse(ledger, first.results[0].transaction.id)
    again = batch([10, 25])  # the second key with another amount: refused on its own
    assert again.results[0].transaction == first.results[0].transaction
    assert again.results[0].transaction.reversed_by_transaction_id == ""
    assert again.results[1].reason == "IDEMPOTENCY_KEY_REUSED"
    # A single CreateTransaction under a batch item's key replays that item.
    assert ledger.transfer(a.id, b.id, 20, request_id=keys[1]) == first.results[1].transaction
    assert ledger.balance(a.id).posted.amount_minor == 100 - 20


def test_a_replayed_account_keeps_its_opening_balance(ledger: LedgerClient) -> None:
    request = ledger_pb2.CreateAccountRequest(
        owner_id=new_id("usr"),
        name="wallet",
        type=ledger_pb2.ACCOUNT_TYPE_LIABILITY,
        currency="USD",
        balance_rule=ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
        request_id=rid(),
    )
    first = ledger.stub.CreateAccount(request, metadata=ledger.ops, timeout=10).account
    ledger.fund(first.id, 70)
    again = ledger.stub.CreateAccount(request, metadata=ledger.ops, timeout=10).account
    assert again == first and again.balance.posted.amount_minor == 0
    assert ledger.balance(first.id).posted.amount_minor == 70


def test_a_replayed_hold_is_still_pending_after_it_was_posted(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    key = rid()
    hold = ledger.pend(a.id, b.id, 30, request_id=key)
    post_key = rid()
    post = ledger_pb2.PostPendingTransferRequest(pending_transfer_id=hold.id, request_id=post_key)
    posted = ledger.stub.PostPendingTransfer(post, metadata=ledger.ops, timeout=10)
    assert posted.pending_transfer.status == ledger_pb2.PENDING_TRANSFER_STATUS_POSTED
    assert ledger.pend(a.id, b.id, 30, request_id=key) == hold  # still PENDING, as first answered
    assert ledger.stub.PostPendingTransfer(post, metadata=ledger.ops, timeout=10) == posted
    assert ledger.balance(a.id).posted.amount_minor == 70


def _holding_key(ledger_db: Engine, key: str) -> sa.Connection:
    """A transaction holding ``key``'s advisory lock: a first request with the key still executing."""
    connection = ledger_db.connect()
    connection.begin()
    held = connection.execute(
        sa.text(
            "SELECT pg_try_advisory_xact_lock(hashtextextended('idempotency_keys' || '/' || :s || '/' "
            "|| :k, 0))"
        ),
        {"s": OPERATOR, "k": key},
    ).scalar_one()
    assert held
    return connection


def test_a_duplicate_of_a_request_in_progress_is_aborted_at_once(
    ledger: LedgerClient, ledger_db: Engine
) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    key, account_key, other = rid(), rid(), rid()
    holders = [_holding_key(ledger_db, key), _holding_key(ledger_db, account_key)]
    try:
        # The fast path (the SQL function) and the general path (claim_in_transaction) both answer
        # while the key is still held: a call that waited would end in DEADLINE_EXCEEDED instead.
        busy = failure(lambda: ledger.transfer(a.id, b.id, 10, request_id=key))
        assert (busy.code, busy.reason) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")
        assert busy.metadata["request_id"] == key
        account = failure(
            lambda: ledger.stub.CreateAccount(
                ledger_pb2.CreateAccountRequest(
                    owner_id=new_id("usr"),
                    name="wallet",
                    type=ledger_pb2.ACCOUNT_TYPE_LIABILITY,
                    currency="USD",
                    balance_rule=ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
                    request_id=account_key,
                ),
                metadata=ledger.ops,
                timeout=10,
            )
        )
        assert (account.code, account.reason) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")
        # In a batch only the item whose key is held is aborted; the others are recorded.
        transfers = [
            ledger_pb2.Transfer(
                debit_account_id=a.id,
                credit_account_id=b.id,
                amount=money(5),
                type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
                request_id=k,
            )
            for k in (key, other)
        ]
        results = ledger.stub.CreateTransactions(
            ledger_pb2.CreateTransactionsRequest(transfers=transfers), metadata=ledger.ops, timeout=10
        ).results
        aborted = (grpc.StatusCode.ABORTED.value[0], "REQUEST_IN_PROGRESS")
        assert (results[0].code, results[0].reason) == aborted
        assert results[1].code == 0
    finally:
        for holder in holders:
            holder.close()
    # Once the holder is gone (it rolled back: nothing was recorded), the key executes.
    assert ledger.transfer(a.id, b.id, 10, request_id=key).amount.amount_minor == 10
    assert ledger.balance(a.id).posted.amount_minor == 100 - 5 - 10


def test_a_key_past_its_retention_executes_again(ledger: LedgerClient, ledger_db: Engine) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    key = rid()
    first = ledger.transfer(a.id, b.id, 10, request_id=key)
    with ledger_db.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE idempotency_keys SET expire_time = now() - interval '1 second' "
                "WHERE scope = :s AND key = :k"
            ),
            {"s": OPERATOR, "k": key},
        )
    second = ledger.transfer(a.id, b.id, 10, request_id=key)
    assert second.id != first.id
    assert ledger.transfer(a.id, b.id, 10, request_id=key) == second  # and the key replays it now
    assert ledger.balance(a.id).posted.amount_minor == 80
