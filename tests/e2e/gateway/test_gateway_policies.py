"""Gateway policies on a dedicated Envoy: health route, OpenAPI route, rate limits (tiny budgets),
forged identity headers, and 503 (never a hang) when a backend stops."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.gateway.settings import RateLimit
from services.runtime.server import RunningServer, start_server
from tests.e2e.gateway.conftest import Gateway, assert_error, start_gateway, stop, upstream
from tests.support.harness import TokenFactory, service_settings

ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
try:
    from services.user import spec as user_spec
except ImportError:  # only a missing package skips; a broken one fails
    user_spec = None  # type: ignore[assignment]

USER_BUDGET = 3
AUTH_BUDGET = 2


@pytest.fixture(scope="module")
def doomed_ledger(services) -> Iterator[RunningServer]:
    """An extra ledger instance of its own, stopped by the 503 test."""
    settings = service_settings("ledger", services.database_url("ledger"), services.auth)
    running = start_server(ledger_spec.SPEC, settings)
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def gateway(services, keys_dir: Path, module_tmp: Path, doomed_ledger: RunningServer) -> Iterator[Gateway]:
    upstreams = {"ledger": upstream(doomed_ledger)}
    if user_spec is not None:
        upstreams["user"] = upstream(services.start(user_spec.SPEC))
    yield from stop(
        start_gateway(
            module_tmp,
            upstreams,
            keys_dir,
            rate_limit_user=RateLimit(USER_BUDGET, 60),
            rate_limit_auth=RateLimit(AUTH_BUDGET, 60),
            rate_limit_client=RateLimit(1000, 1),
            health_check_interval_seconds=1,
            health_check_no_traffic_seconds=1,
        )
    )


def test_health_route_reports_every_backend(gateway: Gateway):
    reply = gateway.get("/api/v1/health")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["status"] == "SERVING"
    assert body["backends"] == {name: "SERVING" for name in gateway.settings.upstreams}


def test_openapi_route_serves_the_rendered_document(gateway: Gateway):
    reply = gateway.get("/api/v1/openapi.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    document = reply.json()
    assert document == json.loads((gateway.log_dir / "openapi.json").read_text())
    assert document["openapi"].startswith("3.")
    assert "/api/v1/ledger/accounts" in document["paths"]


def test_429_per_user_after_the_budget_is_spent(gateway: Gateway, tokens: TokenFactory):
    ada, bob = tokens.make(f"usr_{uuid.uuid4().hex[:12]}"), tokens.make(f"usr_{uuid.uuid4().hex[:12]}")
    path = "/api/v1/ledger/accounts/acc_missing"
    first = gateway.get(path, token=ada)
    assert first.headers["x-ratelimit-limit"] == str(USER_BUDGET)
    for _ in range(USER_BUDGET - 1):
        assert gateway.get(path, token=ada).status_code != 429
    limited = gateway.get(path, token=ada)
    assert_error(limited, 429)
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert "x-ratelimit-reset" in limited.headers
    # A forged identity header is stripped: it neither escapes the caller's bucket...
    assert gateway.get(path, token=ada, headers={"x-nexafi-subject": "usr_someone_else"}).status_code == 429
    # ...nor charges somebody else's: bob's budget is his own.
    forged = gateway.get(path, token=bob, headers={"x-nexafi-subject": "usr_ada"})
    assert forged.status_code != 429
    assert forged.headers["x-ratelimit-remaining"] == str(USER_BUDGET - 1)


@pytest.mark.skipif(user_spec is None, reason="the user service is not in this checkout")
def test_429_login_has_a_stricter_budget_per_address(gateway: Gateway):
    attempt = {"login": "nobody", "password": "wrong password!!"}
    for _ in range(AUTH_BUDGET):
        assert gateway.post("/api/v1/auth/login", json=attempt).status_code == 401
    limited = gateway.post("/api/v1/auth/login", json=attempt)
    assert_error(limited, 429)
    assert limited.json()["message"] == "rate limit exceeded"
    # Other public routes keep their own (larger) per-address budget.
    assert gateway.get("/api/v1/auth/jwks").status_code == 200


def test_503_when_the_backend_is_down_never_a_hang(
    gateway: Gateway, doomed_ledger: RunningServer, tokens: TokenFactory
):
    admin = tokens.make("usr_ops", ["admin"])
    assert gateway.get("/api/v1/ledger/accounts", token=admin).status_code == 200
    doomed_ledger.stop(0)
    started = time.monotonic()
    reply = gateway.get("/api/v1/ledger/accounts", token=admin)
    assert time.monotonic() - started < 5
    assert_error(reply, 503)
    write = gateway.post("/api/v1/ledger/accounts", token=admin, json={"name": "x"})
    assert_error(write, 503)
    deadline = time.monotonic() + 10
    health = gateway.get("/api/v1/health")
    while health.status_code != 503 and time.monotonic() < deadline:
        time.sleep(0.2)
        health = gateway.get("/api/v1/health")
    assert health.status_code == 503, health.text
    assert health.json()["backends"]["ledger"] == "NOT_SERVING"
    assert health.json()["status"] == "NOT_SERVING"


def test_access_log_is_json_with_request_ids(gateway: Gateway):
    gateway.get("/api/v1/health", headers={"x-request-id": "trace-me-123"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = gateway.access_log()
        if any(e.get("request_id") == "trace-me-123" for e in entries):
            break
        time.sleep(0.2)
    entry = next(e for e in gateway.access_log() if e.get("request_id") == "trace-me-123")
    assert entry["path"] == "/api/v1/health"
    assert entry["status"] in (200, 503)
