"""Hostile bodies and tokens through the real Envoy in front of the real user and document services:
a body past the limit is a JSON 413 on a unary route and on the streamed upload (with and without
Content-Length), and a flood of invalid bearer tokens spends the per-address budget (JSON 429)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.devtools.embedded_s3 import EmbeddedS3
from services.gateway.settings import RateLimit
from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    reason,
    register_customer,
    start_gateway,
    stop,
    upstream,
)

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
document_spec = pytest.importorskip(
    "services.document.spec", reason="the document service is not in this checkout"
)

CLIENT_BUDGET = 5
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def upstreams(s3: EmbeddedS3, services) -> dict[str, str]:
    return {
        "user": upstream(services.start(user_spec.SPEC)),
        "document": upstream(services.start(document_spec.SPEC)),
    }


@pytest.fixture(scope="module")
def gateway(upstreams: dict[str, str], keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    # A roomy login budget: every test registers and logs in its own customer.
    yield from stop(
        start_gateway(module_tmp / "default", upstreams, keys_dir, rate_limit_auth=RateLimit(1000, 1))
    )


@pytest.fixture(scope="module")
def strict_gateway(upstreams: dict[str, str], keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    """A tiny per-address budget; the per-user and login budgets stay out of the way."""
    yield from stop(
        start_gateway(
            module_tmp / "strict",
            upstreams,
            keys_dir,
            rate_limit_client=RateLimit(CLIENT_BUDGET, 60),
            rate_limit_user=RateLimit(1000, 1),
            rate_limit_auth=RateLimit(1000, 1),
        )
    )


@pytest.fixture(scope="module")
def roomy_upload_gateway(upstreams: dict[str, str], keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    """An upload limit above the document service's, so that the service itself refuses."""
    yield from stop(
        start_gateway(
            module_tmp / "roomy",
            upstreams,
            keys_dir,
            rate_limit_auth=RateLimit(1000, 1),
            max_upload_bytes=64 * MIB,
        )
    )


def chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """A body of ``total`` bytes sent without Content-Length (Transfer-Encoding: chunked)."""
    sent = 0
    first = b"%PDF-1.7\n"
    while sent < total:
        piece = first + os.urandom(min(size, total - sent) - len(first))
        first = b""
        sent += len(piece)
        yield piece


def upload(gateway: Gateway, who: dict[str, str], body: bytes | Iterator[bytes]):
    query = {"user_id": who["id"], "filename": "statement.pdf", "document_type": "DOCUMENT_TYPE_PASSPORT"}
    return gateway.post(
        "/api/v1/documents/upload",
        token=who["token"],
        params=query,
        data=body,
        headers={"content-type": "application/pdf", "idempotency-key": uuid.uuid4().hex},
    )


def test_oversized_unary_body_is_a_json_413(gateway: Gateway):
    padding = "x" * (2 * MIB)
    reply = gateway.post("/api/v1/auth/login", json={"login": "someone", "password": padding})
    body = assert_error(reply, 413)
    assert body["message"] == "request body too large"


def test_oversized_chunked_unary_body_is_a_json_413(gateway: Gateway):
    reply = gateway.post(
        "/api/v1/auth/login", data=chunks(2 * MIB), headers={"content-type": "application/json"}
    )
    assert_error(reply, 413)


@pytest.mark.parametrize("size_mib", [11, 60])
def test_oversized_upload_with_content_length_is_a_json_413(gateway: Gateway, size_mib: int):
    alice = register_customer(gateway)
    reply = upload(gateway, alice, b"%PDF-1.7\n" + os.urandom(size_mib * MIB))
    body = assert_error(reply, 413)
    assert body["message"] == "request body too large"


@pytest.mark.parametrize("size_mib", [11, 60])
def test_oversized_chunked_upload_is_a_json_413(gateway: Gateway, size_mib: int):
    alice = register_customer(gateway)
    reply = upload(gateway, alice, chunks(size_mib * MIB))
    assert_error(reply, 413)
    assert (
        gateway.get(f"/api/v1/documents/user/{alice['id']}", token=alice["token"]).json().get("documents", [])
        == []
    )


@pytest.mark.parametrize("chunked", [False, True])
def test_the_document_services_own_refusal_reaches_the_client_as_json(
    roomy_upload_gateway: Gateway, chunked: bool
):
    # The service answers DOCUMENT_TOO_LARGE and ends its stream while the client is still
    # sending the other ~50 MiB: Envoy must pass the answer on, then drain or close; no reset.
    alice = register_customer(roomy_upload_gateway)
    size = 60 * MIB
    reply = upload(roomy_upload_gateway, alice, chunks(size) if chunked else b"%PDF-1.7\n" + os.urandom(size))
    body = assert_error(reply, 400, grpc_code=3)
    assert reason(body) == "DOCUMENT_TOO_LARGE"


def test_upload_at_the_limit_is_accepted(gateway: Gateway):
    alice = register_customer(gateway)
    limit = document_spec.DEFAULT_MAX_BYTES
    assert gateway.settings.max_upload_bytes == limit, "the gateway's upload limit is the service's"
    reply = upload(gateway, alice, b"%PDF-1.7\n" + os.urandom(limit - 9))
    assert reply.status_code == 200, reply.text
    assert reply.json()["document"]["size_bytes"] == str(limit)


def test_invalid_tokens_spend_the_per_address_budget(strict_gateway: Gateway):
    forged = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfeCJ9.c2lnbmF0dXJl"
    # The gateway's own JWKS fetch (through its listener, from this address) may have spent a
    # token of the budget already.
    statuses = [
        strict_gateway.get("/api/v1/users/usr_someone", token=forged).status_code
        for _ in range(CLIENT_BUDGET + 1)
    ]
    first_429 = statuses.index(429)
    assert CLIENT_BUDGET - 1 <= first_429 <= CLIENT_BUDGET, statuses
    assert set(statuses[:first_429]) == {401}, statuses
    limited = strict_gateway.get("/api/v1/users/usr_someone", token=forged)
    assert_error(limited, 429)
    assert limited.headers["x-ratelimit-remaining"] == "0"
    # Garbage that is not even a JWT, and no token at all, come out of the same bucket.
    assert_error(strict_gateway.get("/api/v1/users/usr_someone", token="not-a-jwt"), 429)
    assert_error(strict_gateway.post("/api/v1/auth/login", json={"login": "x", "password": "y"}), 429)


def test_a_valid_token_is_not_charged_to_the_address(gateway: Gateway, strict_gateway: Gateway):
    # Registered through the other gateway (same keys): the strict one's address budget may
    # already be spent, and a verified caller is charged to its own bucket, not the address's.
    alice = register_customer(gateway)
    for _ in range(CLIENT_BUDGET + 1):
        strict_gateway.get("/api/v1/users/usr_someone", token="not-a-jwt")
    me = strict_gateway.get(f"/api/v1/users/{alice['id']}", token=alice["token"])
    assert me.status_code == 200, me.text
    assert reason(me.json()) is None


def test_headers_that_cannot_be_grpc_metadata_never_reach_a_service(gateway: Gateway):
    # gRPC metadata keys are [0-9a-z_.-] and values printable ASCII; the services' gRPC server
    # resets the stream of anything else, which Envoy answered with a 503.
    alice = register_customer(gateway)
    odd_name = gateway.get(
        f"/api/v1/users/{alice['id']}", token=alice["token"], headers={"we^ird&na%me!": "1", "x-ok": "fine"}
    )
    assert odd_name.status_code == 200, odd_name.text
    odd_value = gateway.get(
        f"/api/v1/users/{alice['id']}", token=alice["token"], headers={"x-note": b"caf\xc3\xa9"}
    )
    body = assert_error(odd_value, 400)
    assert "x-note" in body["message"]
