"""Hostile input through the real Envoy in front of the real services: each of the inputs that
once answered 500 (issue 12) is a 400 whose JSON body names the field; downloads are
attachments that must not be sniffed; hostile file names are refused."""

from __future__ import annotations

import base64
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.devtools.embedded_s3 import EmbeddedS3
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
payment_spec = pytest.importorskip(
    "services.payment.spec", reason="the payment service is not in this checkout"
)
credit_spec = pytest.importorskip("services.credit.spec", reason="the credit service is not in this checkout")
document_spec = pytest.importorskip(
    "services.document.spec", reason="the document service is not in this checkout"
)

INVALID_ARGUMENT = 3
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2099, "cvc": "314", "holder_name": "Ada"}


@pytest.fixture(scope="module")
def gateway(s3: EmbeddedS3, services: Any, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [
        user_spec.SPEC,
        ledger_spec.SPEC,
        ai_spec.SPEC,
        payment_spec.SPEC,
        credit_spec.SPEC,
        document_spec.SPEC,
    ]
    yield from gateway_in_front_of(services, specs, keys_dir, module_tmp)


@pytest.fixture(scope="module")
def customer(gateway: Gateway) -> dict[str, str]:
    return register_customer(gateway)


@pytest.fixture(scope="module")
def staff(tokens: TokenFactory) -> str:
    return tokens.make("usr_01SUPPORTAGENT000000000000"[:30], ["support", "admin"])


def refused(reply: Any, field: str) -> dict[str, Any]:
    """400 with the JSON error shape, naming ``field``."""
    body = assert_error(reply, 400, grpc_code=INVALID_ARGUMENT)
    assert field in field_violations(body), body
    return body


def initiate_body(customer: dict[str, str], **changes: Any) -> dict[str, Any]:
    body = {
        "user_id": customer["id"],
        "kind": "PAYMENT_KIND_TOP_UP",
        "amount": money(500),
        "payment_method_id": "pm_01JF3N4X8Q2W5Y7Z9A1B3C5D7E",
        "request_id": uuid.uuid4().hex,
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"request_id": "key\u0000one"}, "request_id"),
        ({"metadata": {"mcc\u0000": "5411"}}, "metadata"),
        ({"metadata": {"device_id": "dev\u0000ice"}}, 'metadata["device_id"]'),
        ({"description": "rent\u0000"}, "description"),
    ],
    ids=["request_id", "metadata_key", "metadata_value", "description"],
)
def test_nul_in_a_payment(gateway: Gateway, customer: dict[str, str], changes: dict[str, Any], field: str):
    reply = gateway.post(
        "/api/v1/payments/initiate", token=customer["token"], json=initiate_body(customer, **changes)
    )
    refused(reply, field)


def test_nul_in_a_refund_reason(gateway: Gateway, staff: str):
    reply = gateway.post(
        "/api/v1/payments/pay_01JF3N4X8Q2W5Y7Z9A1B3C5D7E/refund",
        token=staff,
        json={"reason": "changed\u0000mind", "request_id": uuid.uuid4().hex},
    )
    refused(reply, "reason")


def test_nul_in_card_and_bank_holder_names(gateway: Gateway, customer: dict[str, str]):
    card = gateway.post(
        "/api/v1/payments/methods",
        token=customer["token"],
        json={
            "user_id": customer["id"],
            "request_id": uuid.uuid4().hex,
            "card": {**CARD, "holder_name": "Ada\u0000"},
        },
    )
    refused(card, "card.holder_name")
    bank = gateway.post(
        "/api/v1/payments/methods",
        token=customer["token"],
        json={
            "user_id": customer["id"],
            "request_id": uuid.uuid4().hex,
            "bank_account": {"iban": "DE89370400440532013000", "holder_name": "\u0000"},
        },
    )
    refused(bank, "bank_account.holder_name")


def test_nul_in_the_login_field(gateway: Gateway):
    refused(gateway.post("/api/v1/auth/login", json={"login": "ada\u0000", "password": "x" * 12}), "login")


def forged_token() -> str:
    """A page token of the old, unsigned shape, as someone outside the service would make it."""
    return base64.urlsafe_b64encode(json.dumps({"p": "x", "q": "0" * 16}).encode()).decode().rstrip("=")


LIST_ROUTES = [
    "/api/v1/payments/users/{user}",
    "/api/v1/payments/methods/{user}",
    "/api/v1/ledger/accounts",
    "/api/v1/ledger/transactions/{user}",
    "/api/v1/credit/applications",
    "/api/v1/documents/user/{user}",
    "/api/v1/users",
]


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("token", ["eyJwIjoi\u0000", "forged", "true"])
def test_forged_page_tokens_are_400(
    gateway: Gateway, customer: dict[str, str], staff: str, route: str, token: str
):
    caller = staff if route in ("/api/v1/users", "/api/v1/credit/applications") else customer["token"]
    value = forged_token() if token == "forged" else token
    reply = gateway.get(route.format(user=customer["id"]), token=caller, params={"page_token": value})
    refused(reply, "page_token")


def test_a_real_page_token_still_pages(gateway: Gateway, customer: dict[str, str], staff: str):
    register_customer(gateway)  # at least two users exist
    first = gateway.get("/api/v1/users", token=staff, params={"page_size": 1})
    assert first.status_code == 200, first.text
    token = first.json()["next_page_token"]
    second = gateway.get("/api/v1/users", token=staff, params={"page_size": 1, "page_token": token})
    assert second.status_code == 200, second.text
    assert second.json()["users"][0]["id"] != first.json()["users"][0]["id"]


def upload(gateway: Gateway, who: dict[str, str], filename: str) -> Any:
    query = {"user_id": who["id"], "filename": filename, "document_type": "DOCUMENT_TYPE_BANK_STATEMENT"}
    # %20, not "+": the transcoder reads "+" in a query as a plus sign.
    path = "/api/v1/documents/upload?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
    return gateway.post(
        path,
        token=who["token"],
        data=b"%PDF-1.7\n" + b"0" * 4000,
        headers={"content-type": "application/pdf", "idempotency-key": uuid.uuid4().hex},
    )


@pytest.mark.parametrize("filename", ["invoice_\u202efdp.exe", "   ", "a\u2067b.pdf"])
def test_hostile_file_names_are_400(gateway: Gateway, customer: dict[str, str], filename: str):
    refused(upload(gateway, customer, filename), "filename")


def test_a_download_is_an_attachment_that_is_not_sniffed(gateway: Gateway, customer: dict[str, str]):
    uploaded = upload(gateway, customer, "Zoe\u0308 statement.pdf")
    assert uploaded.status_code == 200, uploaded.text
    document = uploaded.json()["document"]
    assert document["filename"] == "Zo\u00eb statement.pdf"
    reply = gateway.get(f"/api/v1/documents/{document['id']}/content", token=customer["token"])
    assert reply.status_code == 200, reply.text[:300]
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["content-disposition"] == (
        "attachment; filename=\"Zo_ statement.pdf\"; filename*=UTF-8''Zo%C3%AB%20statement.pdf"
    )
    assert reply.headers["content-type"] == "application/pdf"
