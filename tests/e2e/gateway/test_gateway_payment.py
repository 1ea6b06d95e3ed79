"""A customer's payment journey over REST through the real Envoy in front of the real user,
ledger, AI and payment services: register, log in, add a card, fund the wallet, pay another
user, read the payment, and find it in the ledger history.

Payments the fraud model holds for review are approved the documented way: a support agent's
PUT /api/v1/payments/{id}/status to PROCESSING. Nothing here approves automatically.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nexafi.user.v1 import user_pb2_grpc

from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    gateway_in_front_of,
    money,
    reason,
    register_customer,
)
from tests.support.harness import TokenFactory, register_user

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
ai_spec = pytest.importorskip("services.ai.spec", reason="the AI service is not in this checkout")
payment_spec = pytest.importorskip(
    "services.payment.spec", reason="the payment service is not in this checkout"
)

CARD = "4242 4242 4242 4242"


@pytest.fixture(scope="module")
def gateway(services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [user_spec.SPEC, ledger_spec.SPEC, ai_spec.SPEC, payment_spec.SPEC]
    yield from gateway_in_front_of(services, specs, keys_dir, module_tmp)


@pytest.fixture(scope="module")
def support(tokens: TokenFactory) -> str:
    return tokens.make("usr_01SUPPORTAGENT000000000000"[:30], ["support"])


def initiate(gateway: Gateway, who: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    key = uuid.uuid4().hex
    reply = gateway.post(
        "/api/v1/payments/initiate",
        token=who["token"],
        headers={"idempotency-key": key},
        json={"user_id": who["id"], **body},
    )
    assert reply.status_code == 200, reply.text
    # The Idempotency-Key header is the request_id: the same call replays the same payment.
    again = gateway.post(
        "/api/v1/payments/initiate",
        token=who["token"],
        headers={"idempotency-key": key},
        json={"user_id": who["id"], **body},
    )
    assert again.status_code == 200 and again.json()["payment"]["id"] == reply.json()["payment"]["id"]
    payment: dict[str, Any] = reply.json()["payment"]
    return payment


def settled(gateway: Gateway, payment: dict[str, Any], support: str) -> dict[str, Any]:
    """A payment held for review, approved by a support agent over REST."""
    if payment["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW":
        reply = gateway.request(
            "PUT",
            f"/api/v1/payments/{payment['id']}/status",
            token=support,
            json={
                "status": "PAYMENT_STATUS_PROCESSING",
                "reason": "verified by phone",
                "request_id": uuid.uuid4().hex,
            },
        )
        assert reply.status_code == 200, reply.text
        payment = reply.json()["payment"]
    return payment


def test_register_fund_pay_read_and_find_it_in_the_ledger(gateway: Gateway, support: str):
    alice, bob = register_customer(gateway), register_customer(gateway)

    added = gateway.post(
        "/api/v1/payments/methods",
        token=alice["token"],
        json={
            "user_id": alice["id"],
            "request_id": uuid.uuid4().hex,
            "card": {"number": CARD, "exp_month": 12, "exp_year": time.gmtime().tm_year + 2, "cvc": "123"},
        },
    )
    assert added.status_code == 200, added.text
    card = added.json()["payment_method"]
    assert card["card"]["last4"] == "4242" and card["card"]["brand"] == "CARD_BRAND_VISA"
    assert "4242424242424242" not in added.text and "123" not in str(card["card"])
    listed = gateway.get(f"/api/v1/payments/methods/{alice['id']}", token=alice["token"])
    assert listed.status_code == 200, listed.text
    assert [m["id"] for m in listed.json()["payment_methods"]] == [card["id"]]

    top_up = initiate(
        gateway,
        alice,
        {"kind": "PAYMENT_KIND_TOP_UP", "amount": money(5000), "payment_method_id": card["id"]},
    )
    top_up = settled(gateway, top_up, support)
    assert top_up["status"] == "PAYMENT_STATUS_SUCCEEDED", top_up
    assert top_up["amount"] == money(5000)  # int64 as a JSON string

    transfer = initiate(
        gateway,
        alice,
        {
            "kind": "PAYMENT_KIND_TRANSFER",
            "amount": money(1200),
            "payee_user_id": bob["id"],
            "description": "dinner",
        },
    )
    transfer = settled(gateway, transfer, support)
    assert transfer["status"] == "PAYMENT_STATUS_SUCCEEDED", transfer

    read = gateway.get(f"/api/v1/payments/{transfer['id']}", token=alice["token"])
    assert read.status_code == 200, read.text
    payment = read.json()["payment"]
    assert payment["payee_user_id"] == bob["id"] and payment["amount"] == money(1200)
    assert payment["transaction_id"].startswith("txn_")
    assert payment["status_history"][-1]["to_status"] == "PAYMENT_STATUS_SUCCEEDED"
    # The payee may read it too; a stranger may not.
    assert gateway.get(f"/api/v1/payments/{transfer['id']}", token=bob["token"]).status_code == 200
    stranger = register_customer(gateway)
    body = assert_error(
        gateway.get(f"/api/v1/payments/{transfer['id']}", token=stranger["token"]), 403, grpc_code=7
    )
    assert body["message"]

    history = gateway.get(f"/api/v1/ledger/transactions/{alice['id']}", token=alice["token"])
    assert history.status_code == 200, history.text
    entries = {t["related_entity_id"]: t for t in history.json()["transactions"]}
    assert entries[transfer["id"]]["id"] == payment["transaction_id"]
    assert entries[transfer["id"]]["type"] == "TRANSACTION_TYPE_TRANSFER"
    assert entries[transfer["id"]]["amount"] == money(1200)
    assert entries[top_up["id"]]["type"] == "TRANSACTION_TYPE_DEPOSIT"
    bob_history = gateway.get(f"/api/v1/ledger/transactions/{bob['id']}", token=bob["token"])
    assert transfer["id"] in {t["related_entity_id"] for t in bob_history.json()["transactions"]}


def test_payment_errors_through_the_gateway(gateway: Gateway):
    alice = register_customer(gateway)
    unauthenticated = gateway.post("/api/v1/payments/initiate", json={"user_id": alice["id"]})
    assert unauthenticated.status_code == 401
    bad = gateway.post(
        "/api/v1/payments/methods",
        token=alice["token"],
        json={
            "user_id": alice["id"],
            "request_id": uuid.uuid4().hex,
            "card": {
                "number": "4242424242424241",
                "exp_month": 12,
                "exp_year": time.gmtime().tm_year + 1,
                "cvc": "123",
            },
        },
    )
    body = assert_error(bad, 400, grpc_code=3)
    assert reason(body) == "INVALID_CARD_NUMBER" and "4242424242424241" not in bad.text


@pytest.fixture(scope="module")
def new_user(services, gateway: Gateway) -> Iterator[Callable[[], str]]:
    """Registers users over the user service's gRPC API: the gateway limits registrations per address."""
    channel = services.channel(user_spec.SPEC)
    stub = user_pb2_grpc.UserServiceStub(channel)
    yield lambda: register_user(stub)
    channel.close()


@pytest.mark.parametrize(
    ("currency", "zone"), [("EUR", "Europe/Berlin"), ("USD", "America/New_York"), ("GBP", "Europe/London")]
)
def test_a_customer_tops_up_and_pays_five_friends_in_any_accepted_currency(
    gateway: Gateway,
    support: str,
    tokens: TokenFactory,
    new_user: Callable[[], str],
    currency: str,
    zone: str,
):
    """Through Envoy: a first top-up, a friend, then five friends in a row, without a fraud decline.

    The payment service decides with the session's clock (a Tuesday at 12:00 UTC);
    test_gateway_fraud_ordinary.py runs these payments at 02:00 and 20:00 local time on a weekday and
    at the weekend, with the clock pinned per case.
    """
    payer = new_user()
    alice = {"id": payer, "token": tokens.make(payer, ["customer"])}
    friends = [new_user() for _ in range(6)]
    signals = {"device_id": "dev-alice-phone", "time_zone": zone}
    added = gateway.post(
        "/api/v1/payments/methods",
        token=alice["token"],
        json={
            "user_id": alice["id"],
            "request_id": uuid.uuid4().hex,
            "card": {"number": CARD, "exp_month": 12, "exp_year": time.gmtime().tm_year + 2, "cvc": "123"},
        },
    )
    assert added.status_code == 200, added.text
    top_up = initiate(
        gateway,
        alice,
        {
            "kind": "PAYMENT_KIND_TOP_UP",
            "amount": money(10_000, currency),
            "metadata": signals,
            "payment_method_id": added.json()["payment_method"]["id"],
        },
    )
    assert top_up["status"] != "PAYMENT_STATUS_FAILED", top_up
    assert settled(gateway, top_up, support)["status"] == "PAYMENT_STATUS_SUCCEEDED"
    payments = []
    for k, friend in enumerate(friends):
        each = money(1_250 if k == 0 else 1_500, currency)
        payments.append(
            initiate(
                gateway,
                alice,
                {
                    "kind": "PAYMENT_KIND_TRANSFER",
                    "amount": each,
                    "payee_user_id": friend,
                    "metadata": signals,
                },
            )
        )
    assert [p.get("failure") for p in payments if p["status"] == "PAYMENT_STATUS_FAILED"] == []
    assert all(p.get("fraud_decision") != "FRAUD_DECISION_DECLINE" for p in payments)
