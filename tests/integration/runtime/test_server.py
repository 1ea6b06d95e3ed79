"""The shared server over real gRPC: error mapping, authentication, health, reflection."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.runtime.keys import Keyring
from tests.support import probe_service
from tests.support.grpc_errors import failure
from tests.support.harness import ServiceRunner, TokenFactory

METHOD = f"/{probe_service.SERVICE}"


@pytest.fixture(scope="module")
def channel(services: ServiceRunner) -> Iterator[grpc.Channel]:
    with services.channel(probe_service.SPEC) as ch:
        yield ch


def call(channel: grpc.Channel, name: str, payload: bytes = b"", metadata=None) -> bytes:
    return channel.unary_unary(f"{METHOD}/{name}")(payload, metadata=metadata, timeout=10)


@pytest.mark.parametrize(
    ("kind", "code", "reason"),
    [
        ("not_found", grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
        ("invalid", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"),
        ("exists", grpc.StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED"),
        ("denied", grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
        ("funds", grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS"),
        ("aborted", grpc.StatusCode.ABORTED, "ABORTED"),
        ("exhausted", grpc.StatusCode.RESOURCE_EXHAUSTED, "DAILY_LIMIT_EXCEEDED"),
        ("unavailable", grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE"),
    ],
)
def test_domain_errors_map_to_status_and_error_info(channel, tokens: TokenFactory, kind, code, reason):
    failed = failure(lambda: call(channel, "Fail", kind.encode(), tokens.metadata("usr_1")))
    assert (failed.code, failed.reason, failed.domain) == (code, reason, "nexafi.dev")


def test_invalid_argument_carries_field_violations(channel, tokens: TokenFactory):
    failed = failure(lambda: call(channel, "Fail", b"invalid", tokens.metadata("usr_1")))
    assert failed.violations == [("amount.amount_minor", "must be a positive integer")]
    assert failed.message == "amount must be positive"


def test_error_metadata_reaches_the_client(channel, tokens: TokenFactory):
    failed = failure(lambda: call(channel, "Fail", b"funds", tokens.metadata("usr_1")))
    assert failed.metadata == {"account_id": "acc_1"}


def test_unexpected_exception_is_internal_without_leaking(channel, tokens: TokenFactory):
    with pytest.raises(grpc.RpcError) as caught:
        call(channel, "Fail", b"crash", tokens.metadata("usr_1"))
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in (caught.value.details() or "")


def test_errors_in_server_streams_are_mapped(channel, tokens: TokenFactory):
    stream = channel.unary_stream(f"{METHOD}/StreamFail")(b"", metadata=tokens.metadata("usr_1"), timeout=10)
    assert next(stream) == b"one"
    with pytest.raises(grpc.RpcError) as caught:
        next(stream)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_valid_token_gives_the_principal(channel, tokens: TokenFactory):
    assert (
        call(channel, "WhoAmI", metadata=tokens.metadata("usr_7", ["customer", "admin"]))
        == b"usr_7|admin,customer"
    )


def _unauthenticated_reason(channel, metadata) -> str:
    failed = failure(lambda: call(channel, "WhoAmI", metadata=metadata))
    assert failed.code == grpc.StatusCode.UNAUTHENTICATED
    return failed.reason


def test_missing_token_is_unauthenticated(channel):
    assert _unauthenticated_reason(channel, None) == "TOKEN_MISSING"


def test_expired_token_is_unauthenticated(channel, tokens: TokenFactory):
    token = tokens.make("usr_1", ttl_seconds=-10)
    assert _unauthenticated_reason(channel, (("authorization", f"Bearer {token}"),)) == "TOKEN_EXPIRED"


def test_wrong_audience_is_unauthenticated(channel, tokens: TokenFactory):
    token = tokens.make("usr_1", audience="someone-else")
    assert _unauthenticated_reason(channel, (("authorization", f"Bearer {token}"),)) == "TOKEN_INVALID"


def test_token_signed_by_an_unknown_key_is_unauthenticated(channel, tmp_path):
    stranger = TokenFactory(Keyring(tmp_path))
    stranger.keyring.ensure()
    token = stranger.make("usr_1")
    assert _unauthenticated_reason(channel, (("authorization", f"Bearer {token}"),)) == "TOKEN_INVALID"


def test_garbage_and_wrong_scheme_are_unauthenticated(channel, tokens: TokenFactory):
    assert _unauthenticated_reason(channel, (("authorization", "Bearer not.a.jwt"),)) == "TOKEN_INVALID"
    token = tokens.make("usr_1")
    assert _unauthenticated_reason(channel, (("authorization", f"Basic {token}"),)) == "TOKEN_INVALID"


def test_public_method_needs_no_token(channel):
    assert call(channel, "Public") == b"hello"


def test_rotated_key_keeps_old_tokens_valid(channel, tokens: TokenFactory, keyring: Keyring):
    old = tokens.make("usr_old")
    keyring.rotate()
    new = tokens.make("usr_new")
    assert call(channel, "WhoAmI", metadata=(("authorization", f"Bearer {old}"),)).startswith(b"usr_old")
    # The server has never seen the new kid: it refreshes its JWKS on demand (at most once a second).
    time.sleep(1.1)
    assert call(channel, "WhoAmI", metadata=(("authorization", f"Bearer {new}"),)).startswith(b"usr_new")


def test_health_reports_serving(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    assert (
        stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        == health_pb2.HealthCheckResponse.SERVING
    )
    assert (
        stub.Check(health_pb2.HealthCheckRequest(service=probe_service.SERVICE), timeout=5).status
        == health_pb2.HealthCheckResponse.SERVING
    )


def test_reflection_lists_the_service(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
    )
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert {probe_service.SERVICE, "grpc.health.v1.Health"} <= names


def _echo_request_id(channel, request, metadata):
    from nexafi.ledger.v1 import ledger_pb2

    method = channel.unary_unary(
        f"{METHOD}/EchoRequestId",
        request_serializer=ledger_pb2.CreateAccountRequest.SerializeToString,
        response_deserializer=ledger_pb2.CreateAccountRequest.FromString,
    )
    return method(request, metadata=metadata, timeout=10).request_id


def test_idempotency_key_header_fills_an_empty_request_id(channel, tokens: TokenFactory):
    from nexafi.ledger.v1 import ledger_pb2

    metadata = (*tokens.metadata("usr_1"), ("idempotency-key", "key-123"))
    assert _echo_request_id(channel, ledger_pb2.CreateAccountRequest(), metadata) == "key-123"
    # A request_id in the body wins over the header.
    with_body = ledger_pb2.CreateAccountRequest(request_id="body-1")
    assert _echo_request_id(channel, with_body, metadata) == "body-1"
    assert _echo_request_id(channel, ledger_pb2.CreateAccountRequest(), tokens.metadata("usr_1")) == ""


def test_a_key_is_published_before_it_signs(tmp_path):
    ring = Keyring(tmp_path)
    first = ring.ensure()
    upcoming = ring.next_kid()
    published = {k["kid"] for k in ring.jwks()["keys"]}
    assert {first, upcoming} == published
    # Rotation promotes the key verifiers have already cached, so no token is refused.
    assert ring.rotate() == upcoming
    assert {first, upcoming, ring.next_kid()} == {k["kid"] for k in ring.jwks()["keys"]}
    for _ in range(3):
        ring.rotate()
    assert first not in {k["kid"] for k in ring.jwks()["keys"]}
    assert len(ring.jwks()["keys"]) == 4  # two retired, current, next
