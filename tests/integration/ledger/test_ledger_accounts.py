"""Accounts and balances over real gRPC: creation, validation, idempotency, authorization, pagination."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.ids import new_id
from tests.integration.ledger.ledger_support import LedgerClient, failure, rid

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def create(ledger: LedgerClient, metadata=None, **fields) -> ledger_pb2.Account:
    request = ledger_pb2.CreateAccountRequest(
        owner_id=fields.pop("owner_id", new_id("usr")),
        name=fields.pop("name", "wallet"),
        type=fields.pop("type", ledger_pb2.ACCOUNT_TYPE_LIABILITY),
        currency=fields.pop("currency", "EUR"),
        balance_rule=fields.pop("balance_rule", ledger_pb2.BALANCE_RULE_NON_NEGATIVE),
        request_id=fields.pop("request_id", rid()),
        **fields,
    )
    return ledger.stub.CreateAccount(request, metadata=metadata or ledger.ops, timeout=10).account


def test_create_account_returns_it_with_zero_balances(ledger: LedgerClient) -> None:
    owner = new_id("usr")
    account = ledger.stub.CreateAccount(
        ledger_pb2.CreateAccountRequest(
            owner_id=owner,
            name="main wallet",
            type=ledger_pb2.ACCOUNT_TYPE_LIABILITY,
            currency="EUR",
            balance_rule=ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
            metadata={"tier": "gold"},
            request_id=rid(),
        ),
        metadata=ledger.ops,
        timeout=10,
    ).account
    assert account.id.startswith("acc_") and account.owner_id == owner and account.currency == "EUR"
    assert account.metadata["tier"] == "gold" and account.create_time.seconds > 0
    assert account.balance.posted.amount_minor == 0 and account.balance.available.currency == "EUR"
    fetched = ledger.stub.GetAccount(
        ledger_pb2.GetAccountRequest(account_id=account.id), metadata=ledger.customer(owner), timeout=10
    ).account
    assert fetched.id == account.id and fetched.name == "main wallet"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"currency": "XXX"}, "currency"),
        ({"currency": "usd"}, "currency"),
        ({"type": ledger_pb2.ACCOUNT_TYPE_UNSPECIFIED}, "type"),
        ({"balance_rule": ledger_pb2.BALANCE_RULE_UNSPECIFIED}, "balance_rule"),
        (
            {"balance_rule": ledger_pb2.BALANCE_RULE_CREDIT_LIMIT, "credit_limit_minor": -1},
            "credit_limit_minor",
        ),
        ({"credit_limit_minor": 100}, "credit_limit_minor"),
        ({"name": ""}, "name"),
        ({"owner_id": ""}, "owner_id"),
    ],
)
def test_invalid_accounts_are_refused_with_the_field(ledger: LedgerClient, fields: dict, field: str) -> None:
    result = failure(lambda: create(ledger, **fields))
    assert (result.code, result.reason) == (INVALID, "INVALID_ARGUMENT")
    assert field in [f for f, _ in result.violations]


def test_create_account_replay_and_key_reuse(ledger: LedgerClient) -> None:
    key, owner = rid(), new_id("usr")
    first = create(ledger, owner_id=owner, request_id=key)
    again = create(ledger, owner_id=owner, request_id=key)
    assert again.id == first.id
    result = failure(lambda: create(ledger, owner_id=owner, request_id=key, name="other"))
    assert (result.code, result.reason) == (grpc.StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED")


def test_only_services_and_admins_open_accounts(ledger: LedgerClient) -> None:
    user = new_id("usr")
    result = failure(lambda: create(ledger, metadata=ledger.customer(user), owner_id=user))
    assert (result.code, result.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
    assert create(ledger, metadata=ledger.admin).id.startswith("acc_")


def test_unauthenticated_calls_are_refused(ledger: LedgerClient) -> None:
    result = failure(
        lambda: ledger.stub.GetAccount(ledger_pb2.GetAccountRequest(account_id="acc_x"), timeout=10)
    )
    assert (result.code, result.reason) == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_MISSING")


def test_unknown_account_is_not_found(ledger: LedgerClient) -> None:
    for call in (ledger.stub.GetAccount, ledger.stub.GetBalance):
        request_type = (
            ledger_pb2.GetAccountRequest if call is ledger.stub.GetAccount else ledger_pb2.GetBalanceRequest
        )
        result = failure(
            lambda call=call, request_type=request_type: call(
                request_type(account_id="acc_nope"), metadata=ledger.ops, timeout=10
            )
        )
        assert (result.code, result.reason) == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")


def test_customers_read_only_their_own_accounts(ledger: LedgerClient) -> None:
    alice, bob = new_id("usr"), new_id("usr")
    account = ledger.wallet(alice)
    for caller in (ledger.customer(bob),):
        for call, request in (
            (ledger.stub.GetAccount, ledger_pb2.GetAccountRequest(account_id=account.id)),
            (ledger.stub.GetBalance, ledger_pb2.GetBalanceRequest(account_id=account.id)),
            (
                ledger.stub.ListAccountTransactions,
                ledger_pb2.ListAccountTransactionsRequest(account_id=account.id),
            ),
            (ledger.stub.GetAccountStatement, ledger_pb2.GetAccountStatementRequest(account_id=account.id)),
        ):
            result = failure(lambda c=call, r=request, m=caller: c(r, metadata=m, timeout=10))
            assert result.code == grpc.StatusCode.PERMISSION_DENIED
    support = ledger.tokens.metadata("usr_support", ["support"])
    assert (
        ledger.stub.GetBalance(
            ledger_pb2.GetBalanceRequest(account_id=account.id), metadata=support, timeout=10
        ).balance.posted.currency
        == "USD"
    )


def test_list_accounts_paginates_and_limits_customers_to_their_own(ledger: LedgerClient) -> None:
    owner = new_id("usr")
    opened = {ledger.wallet(owner).id for _ in range(5)}
    seen, token, pages = [], "", 0
    while True:
        page = ledger.stub.ListAccounts(
            ledger_pb2.ListAccountsRequest(owner_id=owner, page_size=2, page_token=token),
            metadata=ledger.ops,
            timeout=10,
        )
        seen += [a.id for a in page.accounts]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == 3 and seen == sorted(opened)
    mine = ledger.stub.ListAccounts(
        ledger_pb2.ListAccountsRequest(), metadata=ledger.customer(owner), timeout=10
    )
    assert {a.id for a in mine.accounts} == opened
    result = failure(
        lambda: ledger.stub.ListAccounts(
            ledger_pb2.ListAccountsRequest(owner_id="usr_other"), metadata=ledger.customer(owner), timeout=10
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED
    result = failure(
        lambda: ledger.stub.ListAccounts(
            ledger_pb2.ListAccountsRequest(
                owner_id="usr_other", page_token=page.next_page_token or "garbage!"
            ),
            metadata=ledger.ops,
            timeout=10,
        )
    )
    assert result.code == INVALID and result.violations[0][0] == "page_token"


def test_balance_as_of_a_past_time_sums_postings_up_to_then(ledger: LedgerClient) -> None:
    wallet = ledger.wallet()
    ledger.fund(wallet.id, 500)
    time.sleep(0.02)
    middle = Timestamp()
    middle.FromDatetime(datetime.now(UTC))
    time.sleep(0.02)
    ledger.fund(wallet.id, 250)
    past = ledger.stub.GetBalance(
        ledger_pb2.GetBalanceRequest(account_id=wallet.id, as_of_time=middle),
        metadata=ledger.ops,
        timeout=10,
    ).balance
    assert past.posted.amount_minor == 500 and past.available.amount_minor == 500
    assert past.as_of_time == middle
    assert ledger.balance(wallet.id).posted.amount_minor == 750
