"""The ledger's REST API through the real Envoy: every binding's success path, both documented
GET /api/v1/ledger/transactions/{id} routes, Idempotency-Key, int64 as strings, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    field_violations,
    reason,
    start_gateway,
    stop,
    upstream,
)
from tests.support.harness import TokenFactory

ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")


@pytest.fixture(scope="module")
def gateway(services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    upstreams = {"ledger": upstream(services.start(ledger_spec.SPEC))}
    try:  # the user service, when present, serves the JWKS the gateway verifies with
        from services.user.spec import SPEC as USER_SPEC
    except ImportError:
        pass
    else:
        upstreams["user"] = upstream(services.start(USER_SPEC))
    yield from stop(start_gateway(module_tmp, upstreams, keys_dir))


@pytest.fixture(scope="module")
def admin(tokens: TokenFactory) -> str:
    return tokens.make("usr_ops", ["admin"])


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def money(amount: int | str) -> dict[str, Any]:
    return {"amount_minor": str(amount), "currency": "EUR"}


@pytest.fixture(scope="module")
def book(gateway: Gateway, admin: str) -> dict[str, str]:
    """A customer's wallet and the platform's cash account, with 100.00 EUR deposited."""
    customer = new_id("usr")
    wallet = gateway.post(
        "/api/v1/ledger/accounts",
        token=admin,
        json={
            "owner_id": customer,
            "name": "wallet",
            "type": "ACCOUNT_TYPE_LIABILITY",
            "currency": "EUR",
            "balance_rule": "BALANCE_RULE_NON_NEGATIVE",
        },
    )
    assert wallet.status_code == 200, wallet.text
    cash = gateway.post(
        "/api/v1/ledger/accounts",
        token=admin,
        json={
            "owner_id": "usr_platform",
            "name": "cash",
            "type": "ACCOUNT_TYPE_ASSET",
            "currency": "EUR",
            "balance_rule": "BALANCE_RULE_UNBOUNDED",
        },
    )
    assert cash.status_code == 200, cash.text
    book = {
        "customer": customer,
        "wallet": wallet.json()["account"]["id"],
        "cash": cash.json()["account"]["id"],
    }
    deposit = gateway.post(
        "/api/v1/ledger/transactions",
        token=admin,
        headers={"idempotency-key": new_id("req")},
        json=deposit_body(book, 10_000),
    )
    assert deposit.status_code == 200, deposit.text
    book["deposit"] = deposit.json()["transaction"]["id"]
    return book


def deposit_body(book: dict[str, str], amount: int) -> dict[str, Any]:
    return {
        "user_id": book["customer"],
        "type": "TRANSACTION_TYPE_DEPOSIT",
        "description": "top-up",
        "postings": [
            {"account_id": book["cash"], "direction": "POSTING_DIRECTION_DEBIT", "amount": money(amount)},
            {"account_id": book["wallet"], "direction": "POSTING_DIRECTION_CREDIT", "amount": money(amount)},
        ],
    }


def test_create_account_idempotency_key_header_replays(gateway: Gateway, admin: str):
    key = new_id("req")
    body = {
        "owner_id": new_id("usr"),
        "name": "savings",
        "type": "ACCOUNT_TYPE_LIABILITY",
        "currency": "EUR",
        "balance_rule": "BALANCE_RULE_NON_NEGATIVE",
    }
    first = gateway.post("/api/v1/ledger/accounts", token=admin, json=body, headers={"idempotency-key": key})
    again = gateway.post("/api/v1/ledger/accounts", token=admin, json=body, headers={"idempotency-key": key})
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["account"]["id"] == again.json()["account"]["id"]
    # The header reached the request_id field: another body with the same key is refused.
    other = gateway.post(
        "/api/v1/ledger/accounts",
        token=admin,
        json={**body, "name": "other"},
        headers={"idempotency-key": key},
    )
    body409 = assert_error(other, 409, grpc_code=6)
    assert reason(body409) == "IDEMPOTENCY_KEY_REUSED"


def test_account_reads_and_int64_as_strings(gateway: Gateway, tokens: TokenFactory, book: dict[str, str]):
    owner = tokens.make(book["customer"])
    account = gateway.get(f"/api/v1/ledger/accounts/{book['wallet']}", token=owner)
    assert account.status_code == 200, account.text
    assert account.json()["account"]["type"] == "ACCOUNT_TYPE_LIABILITY"
    balance = gateway.get(f"/api/v1/ledger/accounts/{book['wallet']}/balance", token=owner)
    assert balance.status_code == 200, balance.text
    # int64 printed as a JSON string.
    assert balance.json()["balance"]["available"] == {"amount_minor": "10000", "currency": "EUR"}
    listed = gateway.get("/api/v1/ledger/accounts", token=owner, params={"owner_id": book["customer"]})
    assert listed.status_code == 200, listed.text
    assert [a["id"] for a in listed.json()["accounts"]] == [book["wallet"]]
    statement = gateway.get(f"/api/v1/ledger/accounts/{book['wallet']}/statement", token=owner)
    assert statement.status_code == 200, statement.text
    history = gateway.get(
        f"/api/v1/ledger/accounts/{book['wallet']}/transactions", token=owner, params={"page_size": 10}
    )
    assert history.status_code == 200, history.text
    assert [t["id"] for t in history.json()["transactions"]] == [book["deposit"]]


def test_both_documented_transactions_routes(gateway: Gateway, tokens: TokenFactory, book: dict[str, str]):
    owner = tokens.make(book["customer"])
    # GET /api/v1/ledger/transactions/{user_id}: the user's history (ListUserTransactions).
    history = gateway.get(f"/api/v1/ledger/transactions/{book['customer']}", token=owner)
    assert history.status_code == 200, history.text
    assert [t["id"] for t in history.json()["transactions"]] == [book["deposit"]]
    same = gateway.get(f"/api/v1/ledger/users/{book['customer']}/transactions", token=owner)
    assert same.json() == history.json()
    # GET /api/v1/ledger/transactions/{transaction_id}: a txn_ id reaches GetTransaction.
    one = gateway.get(f"/api/v1/ledger/transactions/{book['deposit']}", token=owner)
    assert one.status_code == 200, one.text
    transaction = one.json()["transaction"]
    assert transaction["id"] == book["deposit"]
    assert transaction["type"] == "TRANSACTION_TYPE_DEPOSIT"
    assert isinstance(transaction["sequence"], str)
    direct = gateway.get(f"/api/v1/ledger/entries/{book['deposit']}", token=owner)
    assert direct.json() == one.json()
    missing = gateway.get("/api/v1/ledger/transactions/txn_doesnotexist", token=owner)
    assert_error(missing, 404, grpc_code=5)


def test_batch_reverse_pending_and_reports(gateway: Gateway, admin: str, book: dict[str, str]):
    batch = gateway.post(
        "/api/v1/ledger/transactions:batch",
        token=admin,
        json={
            "transfers": [
                {
                    "debit_account_id": book["cash"],
                    "credit_account_id": book["wallet"],
                    "amount": money(500),
                    "user_id": book["customer"],
                    "type": "TRANSACTION_TYPE_DEPOSIT",
                    "request_id": new_id("req"),
                }
            ]
        },
    )
    assert batch.status_code == 200, batch.text
    entry = batch.json()["results"][0]["transaction"]["id"]
    reversed_ = gateway.post(
        f"/api/v1/ledger/entries/{entry}/reverse",
        token=admin,
        json={"reason": "test", "request_id": new_id("req")},
    )
    assert reversed_.status_code == 200, reversed_.text
    pending = gateway.post(
        "/api/v1/ledger/pending-transfers",
        token=admin,
        json={
            "debit_account_id": book["wallet"],
            "credit_account_id": book["cash"],
            "amount": money(300),
            "user_id": book["customer"],
            "type": "TRANSACTION_TYPE_WITHDRAWAL",
            "request_id": new_id("req"),
        },
    )
    assert pending.status_code == 200, pending.text
    pending_id = pending.json()["pending_transfer"]["id"]
    got = gateway.get(f"/api/v1/ledger/pending-transfers/{pending_id}", token=admin)
    assert got.status_code == 200, got.text
    posted = gateway.post(
        f"/api/v1/ledger/pending-transfers/{pending_id}/post", token=admin, json={"request_id": new_id("req")}
    )
    assert posted.status_code == 200, posted.text
    second = gateway.post(
        "/api/v1/ledger/pending-transfers",
        token=admin,
        json={
            "debit_account_id": book["wallet"],
            "credit_account_id": book["cash"],
            "amount": money(100),
            "user_id": book["customer"],
            "type": "TRANSACTION_TYPE_WITHDRAWAL",
            "request_id": new_id("req"),
        },
    )
    voided = gateway.post(
        f"/api/v1/ledger/pending-transfers/{second.json()['pending_transfer']['id']}/void",
        token=admin,
        json={"reason": "cancelled"},
    )
    assert voided.status_code == 200, voided.text
    verify = gateway.post("/api/v1/ledger/chain:verify", token=admin, json={})
    assert verify.status_code == 200, verify.text
    assert verify.json()["valid"] is True
    trial = gateway.get("/api/v1/ledger/reports/trial-balance", token=admin)
    assert trial.status_code == 200, trial.text


def test_403_another_customers_account(gateway: Gateway, tokens: TokenFactory, book: dict[str, str]):
    stranger = tokens.make(new_id("usr"))
    assert_error(gateway.get(f"/api/v1/ledger/accounts/{book['wallet']}", token=stranger), 403, grpc_code=7)
    assert_error(
        gateway.get(f"/api/v1/ledger/transactions/{book['customer']}", token=stranger), 403, grpc_code=7
    )


def test_403_customer_cannot_post_entries(gateway: Gateway, tokens: TokenFactory, book: dict[str, str]):
    owner = tokens.make(book["customer"])
    reply = gateway.post(
        "/api/v1/ledger/transactions",
        token=owner,
        json={**deposit_body(book, 1), "request_id": new_id("req")},
    )
    assert_error(reply, 403, grpc_code=7)


def test_400_field_violations(gateway: Gateway, admin: str):
    reply = gateway.post(
        "/api/v1/ledger/accounts",
        token=admin,
        json={
            "owner_id": new_id("usr"),
            "name": "x",
            "type": "ACCOUNT_TYPE_LIABILITY",
            "currency": "eur",
            "balance_rule": "BALANCE_RULE_NON_NEGATIVE",
        },
    )
    body = assert_error(reply, 400, grpc_code=3)
    assert "currency" in field_violations(body)


def test_400_insufficient_funds_is_failed_precondition(gateway: Gateway, admin: str, book: dict[str, str]):
    overdraw = {
        "user_id": book["customer"],
        "type": "TRANSACTION_TYPE_WITHDRAWAL",
        "request_id": new_id("req"),
        "postings": [
            {"account_id": book["wallet"], "direction": "POSTING_DIRECTION_DEBIT", "amount": money(10**9)},
            {"account_id": book["cash"], "direction": "POSTING_DIRECTION_CREDIT", "amount": money(10**9)},
        ],
    }
    body = assert_error(
        gateway.post("/api/v1/ledger/transactions", token=admin, json=overdraw), 400, grpc_code=9
    )
    assert reason(body) == "INSUFFICIENT_FUNDS"


def test_400_enum_name_unknown(gateway: Gateway, admin: str):
    reply = gateway.post("/api/v1/ledger/accounts", token=admin, json={"type": "ACCOUNT_TYPE_NOPE"})
    assert_error(reply, 400)


def test_401_and_404_json(gateway: Gateway, book: dict[str, str], admin: str):
    assert_error(gateway.get(f"/api/v1/ledger/accounts/{book['wallet']}"), 401)
    assert_error(gateway.get("/api/v1/ledger/accounts/acc_doesnotexist", token=admin), 404, grpc_code=5)
    assert_error(gateway.request("PATCH", "/api/v1/ledger/accounts", token=admin, json={}), 404)
