"""Revocation and login throttling through the real Envoy: Envoy checks only the signature,
the services refuse.

Behind the gateway run a user server and a ledger server that check every request against
the user service's revocation feed (AUTH_REVOCATION=feed, default poll and window). A demoted
admin's old token must be refused on admin routes, and a deactivated user's everywhere, within
the revocation window (5 s), polled with that deadline.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from services.gateway.settings import RateLimit
from services.runtime.server import RunningServer, ServiceSpec, start_server
from services.user.service import keyed_digest
from tests.e2e.gateway.conftest import PASSWORD, Gateway, assert_error, reason, start_gateway, stop, upstream
from tests.support.harness import ServiceRunner, TokenFactory, service_settings

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger is not in this checkout")

WINDOW_SECONDS = 5.0


def _checked(services: ServiceRunner, spec: ServiceSpec) -> RunningServer:
    auth = dataclasses.replace(services.auth, revocation="feed")
    return start_server(spec, service_settings(spec.name, services.database_url(spec.name), auth))


@pytest.fixture(scope="module")
def gateway(services: ServiceRunner, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    services.start(user_spec.SPEC)  # the session's server: USER_ADDR, the ledger's feed
    servers = [_checked(services, user_spec.SPEC), _checked(services, ledger_spec.SPEC)]
    try:
        upstreams = {"user": upstream(servers[0]), "ledger": upstream(servers[1])}
        yield from stop(start_gateway(module_tmp, upstreams, keys_dir, rate_limit_auth=RateLimit(1000, 60)))
    finally:
        for server in servers:
            server.stop(0)


def _register(gateway: Gateway) -> dict[str, str]:
    name = "u" + uuid.uuid4().hex[:10]
    reply = gateway.post(
        "/api/v1/auth/register", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    )
    assert reply.status_code == 200, reply.text
    return {"id": reply.json()["user"]["id"], "name": name}


def _login(gateway: Gateway, name: str) -> str:
    reply = gateway.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["tokens"]["access_token"])


def _refused_within_window(gateway: Gateway, path: str, token: str) -> requests.Response:
    deadline = time.monotonic() + WINDOW_SECONDS
    while True:
        reply = gateway.get(path, token=token)
        if reply.status_code == 401 or time.monotonic() >= deadline:
            return reply
        time.sleep(0.1)


def test_a_demoted_admins_old_token_is_refused_on_admin_routes(gateway: Gateway, tokens: TokenFactory):
    operator = tokens.make("usr_operator", ["admin"])
    deputy, other = _register(gateway), _register(gateway)
    for user in (deputy, other):  # two admins, so that one may lose the role (LAST_ADMIN)
        granted = gateway.post(
            f"/api/v1/users/{user['id']}/roles", token=operator, json={"role": "ROLE_ADMIN"}
        )
        assert granted.status_code == 200, granted.text
    token = _login(gateway, deputy["name"])
    assert gateway.get("/api/v1/users", token=token).status_code == 200
    revoked = gateway.request("DELETE", f"/api/v1/users/{deputy['id']}/roles/ROLE_ADMIN", token=operator)
    assert revoked.status_code == 200, revoked.text
    reply = _refused_within_window(gateway, "/api/v1/users", token)
    assert reason(assert_error(reply, 401, grpc_code=16)) == "TOKEN_REVOKED"
    grant = gateway.post(f"/api/v1/users/{deputy['id']}/roles", token=token, json={"role": "ROLE_ADMIN"})
    assert reason(assert_error(grant, 401, grpc_code=16)) == "TOKEN_REVOKED"


def test_a_deactivated_users_old_token_is_refused_everywhere(gateway: Gateway):
    user = _register(gateway)
    token = _login(gateway, user["name"])
    for path in (f"/api/v1/users/{user['id']}", "/api/v1/ledger/accounts"):
        assert gateway.get(path, token=token).status_code == 200
    deleted = gateway.request("DELETE", f"/api/v1/users/{user['id']}", token=token)
    assert deleted.status_code == 200, deleted.text
    for path in ("/api/v1/ledger/accounts", f"/api/v1/users/{user['id']}"):
        reply = _refused_within_window(gateway, path, token)
        assert reason(assert_error(reply, 401, grpc_code=16)) == "TOKEN_REVOKED"


def test_a_throttled_login_is_429_with_retry_info_the_same_for_unknown_logins(
    gateway: Gateway, services: ServiceRunner
):
    user = _register(gateway)
    ghost = "ghost" + uuid.uuid4().hex[:8]
    engine = sa.create_engine(services.pg.url("nexafi_user"))
    try:
        for login in (user["name"], ghost):
            for i in range(5):
                # A client cannot pick its throttle bucket: Envoy overwrites this header.
                wrong = gateway.post(
                    "/api/v1/auth/login",
                    json={"login": login, "password": "wrong password!"},
                    headers={"x-nexafi-client-address": f"10.9.8.{i}"},
                )
                assert reason(assert_error(wrong, 401, grpc_code=16)) == "INVALID_CREDENTIALS"
            with engine.begin() as conn:  # blocked for an hour: no race with the 1 s first delay
                conn.execute(
                    sa.text(
                        "UPDATE login_throttle SET blocked_until = now() + interval '1 hour' "
                        "WHERE login_digest = :d AND blocked_until IS NOT NULL"
                    ),
                    {"d": keyed_digest("login", login)},
                )
    finally:
        engine.dispose()
    answers = []
    for login, password in ((user["name"], PASSWORD), (ghost, PASSWORD)):
        reply = gateway.post("/api/v1/auth/login", json={"login": login, "password": password})
        body = assert_error(reply, 429, grpc_code=8)
        retry = [d for d in body["details"] if d["@type"].endswith("google.rpc.RetryInfo")]
        answers.append((reason(body), bool(retry and retry[0]["retry_delay"])))
    assert answers == [("LOGIN_THROTTLED", True)] * 2
