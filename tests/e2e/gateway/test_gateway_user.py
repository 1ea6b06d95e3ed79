"""The user service's REST API through the real Envoy: auth routes, profiles, JWT, errors, CORS."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.gateway.settings import RateLimit
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

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")

ORIGIN = "https://app.nexafi.example"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def gateway(services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    running = services.start(user_spec.SPEC)
    yield from stop(
        start_gateway(
            module_tmp,
            {"user": upstream(running)},
            keys_dir,
            cors_origins=(ORIGIN,),
            max_request_bytes=64 * 1024,
            rate_limit_auth=RateLimit(1000, 60),
        )
    )


def register(gateway: Gateway, name: str | None = None) -> dict[str, str]:
    name = name or "u" + uuid.uuid4().hex[:10]
    reply = gateway.post(
        "/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    assert reply.status_code == 200, reply.text
    user = reply.json()["user"]
    login = gateway.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()["tokens"]
    return {
        "id": user["id"],
        "name": name,
        "access": tokens["access_token"],
        "refresh": tokens["refresh_token"],
    }


@pytest.fixture(scope="module")
def ada(gateway: Gateway) -> dict[str, str]:
    return register(gateway)


def test_register_and_login_return_proto_json(gateway: Gateway):
    name = "u" + uuid.uuid4().hex[:10]
    reply = gateway.post(
        "/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    assert reply.status_code == 200, reply.text
    user = reply.json()["user"]
    # Proto field names (snake_case), enums as names, Timestamps as RFC 3339.
    assert user["id"].startswith("usr_")
    assert user["roles"] == ["ROLE_CUSTOMER"]
    assert user["status"] == "USER_STATUS_ACTIVE"
    assert "create_time" in user and user["create_time"].endswith("Z")
    login = gateway.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    assert login.status_code == 200
    assert set(login.json()["tokens"]) >= {"access_token", "refresh_token"}


def test_jwks_route_is_public_and_a_valid_jwks(gateway: Gateway):
    reply = gateway.get("/api/v1/auth/jwks")
    assert reply.status_code == 200
    keys = reply.json()["keys"]
    assert keys and all(k["kty"] == "EC" and k["crv"] == "P-256" and k["kid"] for k in keys)


def test_get_own_profile_with_a_token_from_login(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.get(f"/api/v1/users/{ada['id']}", token=ada["access"])
    assert reply.status_code == 200, reply.text
    assert reply.json()["user"]["username"] == ada["name"]


def test_update_profile_with_field_mask(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.request(
        "PUT",
        f"/api/v1/users/{ada['id']}",
        token=ada["access"],
        json={"profile": {"first_name": "Ada"}, "update_mask": "first_name"},
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["user"]["profile"]["first_name"] == "Ada"


def test_refresh_and_logout(gateway: Gateway):
    who = register(gateway)
    refreshed = gateway.post("/api/v1/auth/refresh", json={"refresh_token": who["refresh"]})
    assert refreshed.status_code == 200, refreshed.text
    new_refresh = refreshed.json()["tokens"]["refresh_token"]
    assert gateway.post("/api/v1/auth/logout", json={"refresh_token": new_refresh}).status_code == 200


def test_password_reset_request_is_public(gateway: Gateway):
    reply = gateway.post("/api/v1/auth/password-reset", json={"email": "nobody@example.com"})
    assert reply.status_code == 200, reply.text
    bad = gateway.post(
        "/api/v1/auth/password-reset/confirm", json={"token": "not-a-token", "new_password": PASSWORD + "!"}
    )
    assert bad.status_code in (400, 401), bad.text
    assert_error(bad, bad.status_code, grpc_code=3 if bad.status_code == 400 else 16)


def test_admin_routes(gateway: Gateway, tokens: TokenFactory, ada: dict[str, str]):
    admin = tokens.make("usr_admin", ["admin"])
    listed = gateway.get("/api/v1/users", token=admin, params={"page_size": 5})
    assert listed.status_code == 200, listed.text
    assert "users" in listed.json()
    granted = gateway.post(f"/api/v1/users/{ada['id']}/roles", token=admin, json={"role": "ROLE_SUPPORT"})
    assert granted.status_code == 200, granted.text
    revoked = gateway.request("DELETE", f"/api/v1/users/{ada['id']}/roles/ROLE_SUPPORT", token=admin)
    assert revoked.status_code == 200, revoked.text
    who = register(gateway)
    deleted = gateway.request("DELETE", f"/api/v1/users/{who['id']}", token=admin)
    assert deleted.status_code == 200, deleted.text


def test_access_log_records_the_client_the_gateway_saw(gateway: Gateway, tokens: TokenFactory):
    name = "u" + uuid.uuid4().hex[:10]
    assert (
        gateway.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        ).status_code
        == 200
    )
    browser = {
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64) NexaFiTest/1.0",
        # A client's own claim of its address is overwritten by the gateway.
        "x-nexafi-client-address": "203.0.113.66",
    }
    login = gateway.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD}, headers=browser)
    assert login.status_code == 200, login.text
    user_id, access = login.json()["user"]["id"], login.json()["tokens"]["access_token"]
    mine = gateway.get(f"/api/v1/users/{user_id}/access-events", token=access, params={"page_size": 10})
    assert mine.status_code == 200, mine.text
    [event] = mine.json()["access_events"]
    assert event["kind"] == "ACCESS_EVENT_KIND_SIGN_IN_SUCCEEDED" and event["session_id"]
    assert event["client_address"] == "127.0.0.1"
    assert event["user_agent"].startswith("Mozilla/5.0 (X11; Linux x86_64) NexaFiTest/1.0")
    support = tokens.make("usr_support", ["support"])
    assert gateway.get(f"/api/v1/users/{user_id}/access-events", token=support).json() == mine.json()
    other = register(gateway)
    refused = gateway.get(f"/api/v1/users/{user_id}/access-events", token=other["access"])
    assert_error(refused, 403, grpc_code=7)
    bad_page = gateway.get(
        f"/api/v1/users/{user_id}/access-events", token=access, params={"page_token": "forged"}
    )
    assert_error(bad_page, 400, grpc_code=3)


# --- errors: every status the user service uses, and Envoy's own ---------------------------------


def test_401_without_token(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.get(f"/api/v1/users/{ada['id']}")
    assert_error(reply, 401)
    assert "missing" in reply.json()["message"].lower()


def test_401_expired_token(gateway: Gateway, tokens: TokenFactory, ada: dict[str, str]):
    expired = tokens.make(ada["id"], ttl_seconds=-120)
    assert_error(gateway.get(f"/api/v1/users/{ada['id']}", token=expired), 401)


def test_401_bad_signature(gateway: Gateway, ada: dict[str, str]):
    header, payload, signature = ada["access"].split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert_error(gateway.get(f"/api/v1/users/{ada['id']}", token=forged), 401)


def test_401_token_in_query_string_is_not_accepted(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.get(f"/api/v1/users/{ada['id']}", params={"access_token": ada["access"]})
    assert_error(reply, 401)


def test_403_wrong_audience(gateway: Gateway, tokens: TokenFactory, ada: dict[str, str]):
    other = tokens.make(ada["id"], audience="someone-else")
    assert_error(gateway.get(f"/api/v1/users/{ada['id']}", token=other), 403)


def test_403_another_users_profile(gateway: Gateway, ada: dict[str, str]):
    bob = register(gateway)
    reply = gateway.get(f"/api/v1/users/{ada['id']}", token=bob["access"])
    body = assert_error(reply, 403, grpc_code=7)
    assert body["details"], "google.rpc details are unpacked"


def test_404_unknown_user(gateway: Gateway, tokens: TokenFactory):
    admin = tokens.make("usr_admin", ["admin"])
    body = assert_error(gateway.get("/api/v1/users/usr_doesnotexist", token=admin), 404, grpc_code=5)
    assert reason(body)


def test_409_duplicate_registration(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.post(
        "/api/v1/auth/register",
        json={"username": ada["name"], "email": f"{ada['name']}@example.com", "password": PASSWORD},
    )
    body = assert_error(reply, 409, grpc_code=6)
    assert reason(body)


def test_400_with_field_details(gateway: Gateway):
    reply = gateway.post(
        "/api/v1/auth/register",
        json={"username": "x" + uuid.uuid4().hex[:8], "email": "not-an-email", "password": PASSWORD},
    )
    body = assert_error(reply, 400, grpc_code=3)
    assert "email" in field_violations(body), body


def test_401_wrong_password_is_unauthenticated(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.post("/api/v1/auth/login", json={"login": ada["name"], "password": "wrong password!!"})
    assert_error(reply, 401, grpc_code=16)


def test_404_unknown_route_is_json(gateway: Gateway):
    assert_error(gateway.get("/api/v1/nowhere"), 404)
    assert_error(gateway.get("/somewhere/else"), 404)


def test_native_grpc_paths_are_not_routed(gateway: Gateway, ada: dict[str, str]):
    # Only the REST bindings are reachable through the gateway.
    reply = gateway.post(
        "/nexafi.user.v1.UserService/GetUser",
        token=ada["access"],
        headers={"content-type": "application/grpc", "te": "trailers"},
        data=b"",
    )
    # Envoy answers a gRPC request's 404 the gRPC way: UNIMPLEMENTED in grpc-status.
    assert reply.headers.get("grpc-status") == "12", reply.headers
    assert reply.content == b""


def test_400_body_that_does_not_parse(gateway: Gateway):
    reply = gateway.post("/api/v1/auth/login", data="{not json", headers={"content-type": "application/json"})
    assert_error(reply, 400)


def test_400_unknown_query_parameter(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.get(f"/api/v1/users/{ada['id']}", token=ada["access"], params={"bogus": "1"})
    body = assert_error(reply, 400)
    assert "bogus" in body["message"]


def test_413_oversized_body(gateway: Gateway, ada: dict[str, str]):
    big = {"profile": {"first_name": "a" * (200 * 1024)}, "update_mask": "first_name"}
    reply = gateway.request("PUT", f"/api/v1/users/{ada['id']}", token=ada["access"], json=big)
    assert_error(reply, 413)


def test_request_id_generated_and_echoed(gateway: Gateway):
    generated = gateway.get("/api/v1/auth/jwks")
    assert generated.headers["x-request-id"]
    mine = "req-" + uuid.uuid4().hex
    echoed = gateway.get("/api/v1/auth/jwks", headers={"x-request-id": mine})
    assert echoed.headers["x-request-id"] == mine


def test_cors_preflight(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.request(
        "OPTIONS",
        f"/api/v1/users/{ada['id']}",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "PUT",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert reply.status_code == 200
    assert reply.headers["access-control-allow-origin"] == ORIGIN
    assert "PUT" in reply.headers["access-control-allow-methods"]
    assert "authorization" in reply.headers["access-control-allow-headers"]
    actual = gateway.get(f"/api/v1/users/{ada['id']}", token=ada["access"], headers={"origin": ORIGIN})
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    foreign = gateway.request(
        "OPTIONS",
        f"/api/v1/users/{ada['id']}",
        headers={"origin": "https://evil.example", "access-control-request-method": "PUT"},
    )
    assert "access-control-allow-origin" not in foreign.headers


def test_no_grpc_headers_leak(gateway: Gateway, ada: dict[str, str]):
    reply = gateway.get(f"/api/v1/users/{ada['id']}", token=ada["access"])
    assert not [h for h in reply.headers if h.lower().startswith("grpc-")]
