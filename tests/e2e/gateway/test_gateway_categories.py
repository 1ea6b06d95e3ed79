"""Categories end to end over REST through the real Envoy in front of the real user, ledger, AI,
payment and analytics services: a customer funds the wallet with a card and pays a merchant with
the merchant's category code (metadata ``mcc``); the payment's ledger entry carries the category,
and the analytics feed puts the spending under it. A malformed code or an unknown category is a
400 naming the field."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    field_violations,
    gateway_in_front_of,
    money,
    register_customer,
)
from tests.support.harness import TokenFactory

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
ai_spec = pytest.importorskip("services.ai.spec", reason="the AI service is not in this checkout")
payment_spec = pytest.importorskip("services.payment.spec",
                                   reason="the payment service is not in this checkout")
analytics_spec = pytest.importorskip("services.analytics.spec",
                                     reason="the analytics service is not in this checkout")

CARD = "4242 4242 4242 4242"
WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def gateway(services: Any, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [user_spec.SPEC, ledger_spec.SPEC, ai_spec.SPEC, payment_spec.SPEC, analytics_spec.SPEC]
    yield from gateway_in_front_of(services, specs, keys_dir, module_tmp)


@pytest.fixture(scope="module")
def support(tokens: TokenFactory) -> str:
    return tokens.make("usr_01SUPPORTAGENT000000000000"[:30], ["support"])


def initiate(gateway: Gateway, who: dict[str, str], body: dict[str, Any], support: str) -> dict[str, Any]:
    reply = gateway.post("/api/v1/payments/initiate", token=who["token"],
                         headers={"idempotency-key": uuid.uuid4().hex}, json={"user_id": who["id"], **body})
    assert reply.status_code == 200, reply.text
    payment: dict[str, Any] = reply.json()["payment"]
    if payment["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW":
        # Held by the fraud model: approved the documented way, by a support agent.
        approved = gateway.request("PUT", f"/api/v1/payments/{payment['id']}/status", token=support, json={
            "status": "PAYMENT_STATUS_PROCESSING", "reason": "verified by phone",
            "request_id": uuid.uuid4().hex})
        assert approved.status_code == 200, approved.text
        payment = approved.json()["payment"]
    return payment


def test_a_payment_with_a_merchant_code_is_spending_under_its_category(gateway: Gateway, support: str,
                                                                      tokens: TokenFactory) -> None:
    alice, grocer = register_customer(gateway), register_customer(gateway)
    added = gateway.post("/api/v1/payments/methods", token=alice["token"], json={
        "user_id": alice["id"], "request_id": uuid.uuid4().hex,
        "card": {"number": CARD, "exp_month": 12, "exp_year": time.gmtime().tm_year + 2, "cvc": "123"}})
    assert added.status_code == 200, added.text
    top_up = initiate(gateway, alice, {"kind": "PAYMENT_KIND_TOP_UP", "amount": money(5000),
                                       "payment_method_id": added.json()["payment_method"]["id"]}, support)
    assert top_up["status"] == "PAYMENT_STATUS_SUCCEEDED", top_up

    paid = initiate(gateway, alice, {"kind": "PAYMENT_KIND_TRANSFER", "amount": money(1200),
                                     "payee_user_id": grocer["id"], "description": "weekly shop",
                                     "metadata": {"mcc": "5411"}}, support)
    assert paid["status"] == "PAYMENT_STATUS_SUCCEEDED", paid

    # The ledger entry that booked it carries the category (MCC 5411: grocery stores).
    admin = tokens.make("usr_ops", ["admin"])
    entry = gateway.get(f"/api/v1/ledger/transactions/{paid['transaction_id']}", token=admin)
    assert entry.status_code == 200, entry.text
    metadata = entry.json()["transaction"]["metadata"]
    assert metadata == {"payment_id": paid["id"], "mcc": "5411", "category": "grocery"}

    # Analytics reads it from the ledger's feed (bounded wait: the summaries trail the ledger).
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        reply = gateway.get(f"/api/v1/analytics/spending/{alice['id']}?currency=EUR", token=alice["token"])
        assert reply.status_code == 200, reply.text
        body = reply.json()["spending_analysis"]
        if body["categories"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(c["category"], c["total"]) for c in body["categories"]] == [("grocery", money(1200))]


@pytest.fixture(scope="module")
def pair(gateway: Gateway) -> tuple[dict[str, str], ...]:
    # Registered once: the gateway rate-limits registration.
    return register_customer(gateway), register_customer(gateway)


@pytest.mark.parametrize(("metadata", "field"), [
    ({"mcc": "54x1"}, "metadata[mcc]"),
    ({"mcc": "541"}, "metadata[mcc]"),
    ({"category": "horoscopes"}, "metadata[category]"),
])
def test_a_bad_merchant_code_or_category_is_a_bad_request(gateway: Gateway, pair: tuple[dict[str, str], ...],
                                                          metadata: dict[str, str], field: str) -> None:
    alice, grocer = pair
    reply = gateway.post("/api/v1/payments/initiate", token=alice["token"],
                         headers={"idempotency-key": uuid.uuid4().hex},
                         json={"user_id": alice["id"], "kind": "PAYMENT_KIND_TRANSFER", "amount": money(100),
                               "payee_user_id": grocer["id"], "metadata": metadata})
    body = assert_error(reply, 400, grpc_code=3)
    assert field_violations(body) == [field]
