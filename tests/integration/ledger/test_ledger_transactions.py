"""Journal entries over real gRPC: posting, errors, idempotency, reversal, batches, history, reports."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.ids import new_id
from tests.integration.ledger.ledger_support import (
    LedgerClient,
    assert_ledger_invariants,
    describe,
    failure,
    money,
    rid,
)

DEBIT, CREDIT = ledger_pb2.POSTING_DIRECTION_DEBIT, ledger_pb2.POSTING_DIRECTION_CREDIT
INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def posting(account: str, direction: int, amount: int, currency: str = "USD") -> ledger_pb2.Posting:
    return ledger_pb2.Posting(account_id=account, direction=direction, amount=money(amount, currency))


def now_ts() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


def test_a_multi_leg_multi_currency_entry_is_recorded(ledger: LedgerClient, ledger_db) -> None:
    user = new_id("usr")
    usd, eur, fees = (
        ledger.wallet(user),
        ledger.wallet(user, "EUR"),
        ledger.open("system", name="fees", type=ledger_pb2.ACCOUNT_TYPE_INCOME),
    )
    ledger.fund(usd.id, 1000)
    eur_clearing = ledger.clearing("EUR")
    request = ledger_pb2.CreateTransactionRequest(
        user_id=user,
        type=ledger_pb2.TRANSACTION_TYPE_PAYMENT,
        description="FX with fee",
        related_entity_id="pay_123",
        metadata={"channel": "app"},
        request_id=rid(),
        postings=[
            posting(usd.id, DEBIT, 1000),
            posting(ledger.clearing(), CREDIT, 990),
            posting(fees.id, CREDIT, 10),
            posting(eur_clearing, DEBIT, 900, "EUR"),
            posting(eur.id, CREDIT, 900, "EUR"),
        ],
    )
    txn = ledger.stub.CreateTransaction(request, metadata=ledger.ops, timeout=10).transaction
    assert txn.id.startswith("txn_") and txn.user_id == user and txn.related_entity_id == "pay_123"
    assert txn.amount == money(1000) and txn.metadata["channel"] == "app" and len(txn.postings) == 5
    assert txn.request_id == request.request_id and txn.timestamp.seconds > 0
    assert ledger.balance(usd.id).posted.amount_minor == 0
    assert ledger.balance(eur.id).posted.amount_minor == 900
    assert ledger.balance(fees.id).posted.amount_minor == 10
    fetched = ledger.stub.GetTransaction(
        ledger_pb2.GetTransactionRequest(transaction_id=txn.id), metadata=ledger.customer(user), timeout=10
    ).transaction
    assert fetched == txn
    assert_ledger_invariants(ledger_db)


@pytest.mark.parametrize(
    ("postings", "field"),
    [
        ([posting("acc_a", DEBIT, 100)], "postings"),
        ([posting("acc_a", DEBIT, 0), posting("acc_b", CREDIT, 0)], "postings[0].amount.amount_minor"),
        ([posting("acc_a", DEBIT, -5), posting("acc_b", CREDIT, -5)], "postings[0].amount.amount_minor"),
        (
            [posting("acc_a", DEBIT, 5, "ABC"), posting("acc_b", CREDIT, 5, "ABC")],
            "postings[0].amount.currency",
        ),
        ([posting("acc_a", 0, 5), posting("acc_b", CREDIT, 5)], "postings[0].direction"),
    ],
)
def test_malformed_postings_are_invalid(ledger: LedgerClient, postings: list, field: str) -> None:
    request = ledger_pb2.CreateTransactionRequest(
        type=ledger_pb2.TRANSACTION_TYPE_TRANSFER, request_id=rid(), postings=postings
    )
    result = failure(lambda: ledger.stub.CreateTransaction(request, metadata=ledger.ops, timeout=10))
    assert result.code == INVALID and field in [f for f, _ in result.violations]


def test_unbalanced_entries_are_invalid(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    request = ledger_pb2.CreateTransactionRequest(
        type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        request_id=rid(),
        postings=[posting(a.id, DEBIT, 100), posting(b.id, CREDIT, 99)],
    )
    result = failure(lambda: ledger.stub.CreateTransaction(request, metadata=ledger.ops, timeout=10))
    assert (result.code, result.reason) == (INVALID, "UNBALANCED_ENTRY")
    assert result.violations[0][0] == "postings"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"request_id": ""}, "request_id"),
        ({"type": ledger_pb2.TRANSACTION_TYPE_UNSPECIFIED}, "type"),
        ({"type": ledger_pb2.TRANSACTION_TYPE_REVERSAL}, "type"),
        ({"description": "x" * 501}, "description"),
    ],
)
def test_request_fields_are_validated(ledger: LedgerClient, change: dict, field: str) -> None:
    request = ledger.transfer_request("acc_a", "acc_b", 5)
    for key, value in change.items():
        setattr(request, key, value)
    result = failure(lambda: ledger.stub.CreateTransaction(request, metadata=ledger.ops, timeout=10))
    assert result.code == INVALID and field in [f for f, _ in result.violations]


def test_unknown_account_is_not_found(ledger: LedgerClient) -> None:
    wallet = ledger.wallet()
    result = failure(lambda: ledger.transfer(ledger.clearing(), "acc_missing", 5))
    assert (result.code, result.reason) == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")
    assert result.metadata["account_id"] == "acc_missing"
    assert ledger.balance(wallet.id).posted.amount_minor == 0


def test_currency_mismatch_is_a_failed_precondition(ledger: LedgerClient) -> None:
    eur = ledger.wallet(currency="EUR")
    result = failure(lambda: ledger.transfer(ledger.clearing("USD"), eur.id, 5, "USD"))
    assert (result.code, result.reason) == (PRECONDITION, "CURRENCY_MISMATCH")


def test_insufficient_funds_leaves_nothing_behind(ledger: LedgerClient, ledger_db) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    key = rid()
    result = failure(lambda: ledger.transfer(a.id, b.id, 101, request_id=key))
    assert (result.code, result.reason) == (PRECONDITION, "INSUFFICIENT_FUNDS")
    assert result.metadata["account_id"] == a.id
    assert ledger.balance(a.id).posted.amount_minor == 100
    # The failed attempt did not burn its key: the same request succeeds once funds arrive.
    ledger.fund(a.id, 1)
    assert ledger.transfer(a.id, b.id, 101, request_id=key).amount.amount_minor == 101
    assert_ledger_invariants(ledger_db)


def test_credit_line_goes_below_zero_down_to_its_limit(ledger: LedgerClient) -> None:
    line = ledger.open(
        new_id("usr"), rule=ledger_pb2.BALANCE_RULE_CREDIT_LIMIT, limit=500, name="credit line"
    )
    shop = ledger.wallet()
    ledger.transfer(line.id, shop.id, 500)
    assert ledger.balance(line.id).available.amount_minor == -500
    result = failure(lambda: ledger.transfer(line.id, shop.id, 1))
    assert result.reason == "INSUFFICIENT_FUNDS"


def test_customers_cannot_post(ledger: LedgerClient) -> None:
    user = new_id("usr")
    wallet = ledger.wallet(user)
    result = failure(lambda: ledger.transfer(ledger.clearing(), wallet.id, 5, metadata=ledger.customer(user)))
    assert (result.code, result.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")


def test_replay_returns_the_original_and_a_changed_body_is_refused(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 1000)
    key = rid()
    first = ledger.transfer(a.id, b.id, 100, request_id=key)
    again = ledger.transfer(a.id, b.id, 100, request_id=key)
    assert again == first
    assert ledger.balance(a.id).posted.amount_minor == 900
    result = failure(lambda: ledger.transfer(a.id, b.id, 101, request_id=key))
    assert (result.code, result.reason) == (grpc.StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED")
    # Keys are scoped to the caller: another caller may use the same key for its own entry.
    other = ledger.tokens.metadata("usr_other_operator", ["admin"])
    assert ledger.transfer(a.id, b.id, 100, request_id=key, metadata=other).id != first.id


def test_concurrent_identical_requests_record_one_entry(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 1000)
    key, results, errors = rid(), [], []
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        try:
            results.append(ledger.transfer(a.id, b.id, 100, request_id=key).id)
        except grpc.RpcError as error:
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # One records the entry; the others replay it, or, while it has not committed, are told
    # at once that it is in progress (ABORTED REQUEST_IN_PROGRESS, retryable with the same key).
    assert len(results) >= 1 and len(set(results)) == 1 and len(results) + len(errors) == 8
    assert all(
        (e.code(), describe(e).reason) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS") for e in errors
    )
    assert ledger.transfer(a.id, b.id, 100, request_id=key).id == results[0]
    assert ledger.balance(a.id).posted.amount_minor == 900


def test_get_transaction_errors_and_authorization(ledger: LedgerClient) -> None:
    owner, stranger = new_id("usr"), new_id("usr")
    wallet = ledger.wallet(owner)
    txn = ledger.fund(wallet.id, 10)
    result = failure(
        lambda: ledger.stub.GetTransaction(
            ledger_pb2.GetTransactionRequest(transaction_id="txn_nope"), metadata=ledger.ops, timeout=10
        )
    )
    assert (result.code, result.reason) == (grpc.StatusCode.NOT_FOUND, "TRANSACTION_NOT_FOUND")
    # The owner of a touched account reads it even though the entry names no user.
    assert (
        ledger.stub.GetTransaction(
            ledger_pb2.GetTransactionRequest(transaction_id=txn.id),
            metadata=ledger.customer(owner),
            timeout=10,
        ).transaction.id
        == txn.id
    )
    result = failure(
        lambda: ledger.stub.GetTransaction(
            ledger_pb2.GetTransactionRequest(transaction_id=txn.id),
            metadata=ledger.customer(stranger),
            timeout=10,
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED


# -- reversal ----------------------------------------------------------------------------------------


def reverse(ledger: LedgerClient, txn_id: str, key: str | None = None, reason: str = "duplicate charge"):
    return ledger.stub.ReverseTransaction(
        ledger_pb2.ReverseTransactionRequest(transaction_id=txn_id, reason=reason, request_id=key or rid()),
        metadata=ledger.ops,
        timeout=10,
    )


def test_reversal_mirrors_the_entry_and_happens_once(ledger: LedgerClient, ledger_db) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 300)
    original = ledger.transfer(a.id, b.id, 200, user_id="usr_x")
    key = rid()
    reversal = reverse(ledger, original.id, key).transaction
    assert reversal.type == ledger_pb2.TRANSACTION_TYPE_REVERSAL
    assert reversal.reverses_transaction_id == original.id and reversal.user_id == "usr_x"
    assert [(p.account_id, p.direction) for p in reversal.postings] == [(a.id, CREDIT), (b.id, DEBIT)]
    assert "duplicate charge" in reversal.description
    assert ledger.balance(a.id).posted.amount_minor == 300 and ledger.balance(b.id).posted.amount_minor == 0
    assert reverse(ledger, original.id, key).transaction == reversal  # replay
    result = failure(lambda: reverse(ledger, original.id))
    assert (result.code, result.reason) == (PRECONDITION, "ALREADY_REVERSED")
    assert result.metadata["reversed_by_transaction_id"] == reversal.id
    result = failure(lambda: reverse(ledger, reversal.id))
    assert (result.code, result.reason) == (PRECONDITION, "REVERSAL_NOT_REVERSIBLE")
    fetched = ledger.stub.GetTransaction(
        ledger_pb2.GetTransactionRequest(transaction_id=original.id), metadata=ledger.ops, timeout=10
    ).transaction
    assert fetched.reversed_by_transaction_id == reversal.id
    assert_ledger_invariants(ledger_db)


def test_reversal_errors(ledger: LedgerClient) -> None:
    result = failure(lambda: reverse(ledger, "txn_nope"))
    assert (result.code, result.reason) == (grpc.StatusCode.NOT_FOUND, "TRANSACTION_NOT_FOUND")
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    txn = ledger.transfer(a.id, b.id, 100)
    ledger.transfer(b.id, a.id, 60)  # b spent the money: undoing would overdraw it
    result = failure(lambda: reverse(ledger, txn.id))
    assert (result.code, result.reason) == (PRECONDITION, "INSUFFICIENT_FUNDS")
    result = failure(
        lambda: ledger.stub.ReverseTransaction(
            ledger_pb2.ReverseTransactionRequest(transaction_id=txn.id, request_id=rid()),
            metadata=ledger.customer("usr_1"),
            timeout=10,
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED


def test_concurrent_reversals_of_one_entry_record_one(ledger: LedgerClient) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)
    txn = ledger.transfer(a.id, b.id, 100)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        try:
            reverse(ledger, txn.id)
            outcomes.append("ok")
        except grpc.RpcError as error:
            outcomes.append(describe(error).reason)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ALREADY_REVERSED"] * 5 + ["ok"]
    assert ledger.balance(b.id).posted.amount_minor == 0


# -- batch -------------------------------------------------------------------------------------------


def test_batch_applies_each_item_on_its_own(ledger: LedgerClient, ledger_db) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 100)

    def item(amount: int, debit: str = a.id, key: str | None = None) -> ledger_pb2.Transfer:
        return ledger_pb2.Transfer(
            debit_account_id=debit,
            credit_account_id=b.id,
            amount=money(amount),
            type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
            request_id=key or rid(),
        )

    key = rid()
    response = ledger.stub.CreateTransactions(
        ledger_pb2.CreateTransactionsRequest(
            transfers=[
                item(60, key=key),
                item(60),
                item(40),
                item(5, debit="acc_missing"),
                item(0),
                item(40, key=key),
            ]
        ),
        metadata=ledger.ops,
        timeout=10,
    )
    codes = [(r.code, r.reason) for r in response.results]
    assert codes == [
        (0, ""),
        (PRECONDITION.value[0], "INSUFFICIENT_FUNDS"),
        (0, ""),
        (grpc.StatusCode.NOT_FOUND.value[0], "ACCOUNT_NOT_FOUND"),
        (INVALID.value[0], "INVALID_ARGUMENT"),
        (grpc.StatusCode.ALREADY_EXISTS.value[0], "IDEMPOTENCY_KEY_REUSED"),
    ]
    assert response.results[0].transaction.amount.amount_minor == 60 and response.results[1].message
    assert ledger.balance(b.id).posted.amount_minor == 100
    assert_ledger_invariants(ledger_db)
    for request in (
        ledger_pb2.CreateTransactionsRequest(),
        ledger_pb2.CreateTransactionsRequest(transfers=[item(1)] * 1001),
    ):
        result = failure(
            lambda request=request: ledger.stub.CreateTransactions(request, metadata=ledger.ops, timeout=10)
        )
        assert result.code == INVALID
    result = failure(
        lambda: ledger.stub.CreateTransactions(
            ledger_pb2.CreateTransactionsRequest(transfers=[item(1)]),
            metadata=ledger.customer("usr_1"),
            timeout=10,
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED


# -- history -----------------------------------------------------------------------------------------


def test_user_history_is_newest_first_filtered_and_paginated(ledger: LedgerClient) -> None:
    user = new_id("usr")
    wallet, other = ledger.wallet(user), ledger.wallet()
    ledger.fund(wallet.id, 1000)
    start = now_ts()
    recorded = [ledger.transfer(wallet.id, other.id, 10 + i, user_id=user) for i in range(5)]
    fee = ledger.transfer(wallet.id, ledger.clearing(), 1, user_id=user, type=ledger_pb2.TRANSACTION_TYPE_FEE)
    # Incoming money is part of the receiver's history even though the entry names the sender.
    incoming = ledger.transfer(other.id, wallet.id, 3, user_id="usr_sender")
    seen, token = [], ""
    while True:
        page = ledger.stub.ListUserTransactions(
            ledger_pb2.ListUserTransactionsRequest(
                user_id=user, time_range=common_pb2.TimeRange(start_time=start), page_size=3, page_token=token
            ),
            metadata=ledger.customer(user),
            timeout=10,
        )
        seen += [t.id for t in page.transactions]
        token = page.next_page_token
        if not token:
            break
    assert seen == [incoming.id, fee.id, *[t.id for t in reversed(recorded)]]
    fees = ledger.stub.ListUserTransactions(
        ledger_pb2.ListUserTransactionsRequest(user_id=user, types=[ledger_pb2.TRANSACTION_TYPE_FEE]),
        metadata=ledger.ops,
        timeout=10,
    )
    assert [t.id for t in fees.transactions] == [fee.id]
    before_start = ledger.stub.ListUserTransactions(
        ledger_pb2.ListUserTransactionsRequest(user_id=user, time_range=common_pb2.TimeRange(end_time=start)),
        metadata=ledger.ops,
        timeout=10,
    )
    assert len(before_start.transactions) == 1  # the deposit
    account_history = ledger.stub.ListAccountTransactions(
        ledger_pb2.ListAccountTransactionsRequest(account_id=other.id, page_size=100),
        metadata=ledger.ops,
        timeout=10,
    )
    assert [t.id for t in account_history.transactions] == [incoming.id, *[t.id for t in reversed(recorded)]]


def test_history_errors(ledger: LedgerClient) -> None:
    user = new_id("usr")
    txn = ledger.fund(ledger.wallet(user).id, 5)
    result = failure(
        lambda: ledger.stub.ListUserTransactions(
            ledger_pb2.ListUserTransactionsRequest(user_id=txn.id), metadata=ledger.ops, timeout=10
        )
    )
    assert (result.code, result.reason) == (INVALID, "TRANSACTION_ID_AS_USER_ID")
    assert "GetTransaction" in result.message
    result = failure(
        lambda: ledger.stub.ListUserTransactions(
            ledger_pb2.ListUserTransactionsRequest(user_id=user),
            metadata=ledger.customer("usr_other"),
            timeout=10,
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED
    page = ledger.stub.ListUserTransactions(
        ledger_pb2.ListUserTransactionsRequest(user_id=user, page_size=1), metadata=ledger.ops, timeout=10
    )
    assert page.next_page_token == ""  # exactly one entry: no further page
    ledger.fund(ledger.wallet(user).id, 5)
    page = ledger.stub.ListUserTransactions(
        ledger_pb2.ListUserTransactionsRequest(user_id=user, page_size=1), metadata=ledger.ops, timeout=10
    )
    for request in (
        ledger_pb2.ListUserTransactionsRequest(user_id="usr_someone_else", page_token=page.next_page_token),
        ledger_pb2.ListUserTransactionsRequest(user_id=user, page_token="not-a-token"),
        ledger_pb2.ListUserTransactionsRequest(user_id=user, page_size=-1),
        ledger_pb2.ListUserTransactionsRequest(user_id=user, types=[99]),
        ledger_pb2.ListUserTransactionsRequest(
            user_id=user, time_range=common_pb2.TimeRange(start_time=now_ts(), end_time=Timestamp(seconds=1))
        ),
    ):
        result = failure(
            lambda request=request: ledger.stub.ListUserTransactions(request, metadata=ledger.ops, timeout=10)
        )
        assert result.code == INVALID


# -- reports -----------------------------------------------------------------------------------------


def test_trial_balance_sums_to_zero_per_currency(ledger: LedgerClient) -> None:
    ledger.fund(ledger.wallet().id, 77)
    ledger.fund(ledger.wallet(currency="EUR").id, 55, "EUR")
    report = ledger.stub.GetTrialBalance(ledger_pb2.GetTrialBalanceRequest(), metadata=ledger.ops, timeout=10)
    totals = {t.currency: t for t in report.totals}
    assert {"USD", "EUR"} <= set(totals)
    assert all(t.balanced and t.total_debits_minor == t.total_credits_minor > 0 for t in totals.values())
    for currency, total in totals.items():
        lines = [line for line in report.lines if line.currency == currency]
        assert sum(line.debit_minor for line in lines) == total.total_debits_minor
    past = ledger.stub.GetTrialBalance(
        ledger_pb2.GetTrialBalanceRequest(as_of_time=Timestamp(seconds=1)), metadata=ledger.admin, timeout=10
    )
    assert list(past.lines) == [] and list(past.totals) == []
    result = failure(
        lambda: ledger.stub.GetTrialBalance(
            ledger_pb2.GetTrialBalanceRequest(), metadata=ledger.customer("usr_1"), timeout=10
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED


def test_account_statement_has_running_balances(ledger: LedgerClient) -> None:
    owner = new_id("usr")
    wallet, other = ledger.wallet(owner), ledger.wallet()
    ledger.fund(wallet.id, 1000)
    time.sleep(0.01)
    start = now_ts()
    out = ledger.transfer(wallet.id, other.id, 300, description="rent")
    back = ledger.transfer(other.id, wallet.id, 50, description="refund")
    statement = ledger.stub.GetAccountStatement(
        ledger_pb2.GetAccountStatementRequest(
            account_id=wallet.id, time_range=common_pb2.TimeRange(start_time=start)
        ),
        metadata=ledger.customer(owner),
        timeout=10,
    )
    assert statement.account.id == wallet.id
    assert statement.opening_balance == money(1000) and statement.closing_balance == money(750)
    assert [
        (line.transaction_id, line.change_minor, line.balance_after_minor, line.description)
        for line in statement.lines
    ] == [(out.id, -300, 700, "rent"), (back.id, 50, 750, "refund")]
    full = ledger.stub.GetAccountStatement(
        ledger_pb2.GetAccountStatementRequest(account_id=wallet.id), metadata=ledger.ops, timeout=10
    )
    assert full.opening_balance.amount_minor == 0 and len(full.lines) == 3
