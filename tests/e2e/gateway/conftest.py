"""The real Envoy in front of real services started in-process on port 0.

Each test module starts at most one Envoy (its own admin port; --disable-hot-restart
so several can run at once). JWT keys: the user service's JWKS route when the user
service is routed (as in production), else the session keyring's jwks.json file.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import requests

from services.devtools.envoy_process import Envoy, free_port
from services.gateway.envoy_config import write
from services.gateway.settings import GatewaySettings
from services.runtime.server import RunningServer, ServiceSpec

# Every error, from a service or from Envoy itself, has this shape.
ERROR_KEYS = {"code", "message"}
PASSWORD = "correct horse battery staple 9"


@dataclasses.dataclass
class Gateway:
    envoy: Envoy
    port: int
    settings: GatewaySettings
    log_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        return requests.request(method, self.url(path), headers=all_headers, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def access_log(self) -> list[dict[str, Any]]:
        lines = (self.log_dir / "access.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def upstream(running: RunningServer) -> str:
    return f"127.0.0.1:{running.port}"


def start_gateway(tmp_path: Path, upstreams: dict[str, str], keys_dir: Path, **overrides: Any) -> Gateway:
    port, admin = free_port(), free_port()
    jwks = "self" if "user" in upstreams else str(keys_dir / "jwks.json")
    settings = GatewaySettings(
        listen_port=port,
        admin_port=admin,
        upstreams=upstreams,
        listen_address="127.0.0.1",
        jwks_source=jwks,
        **overrides,
    )
    config = write(settings, tmp_path / "envoy.json")
    envoy = Envoy(
        config, admin, stdout=(tmp_path / "access.log").open("w"), stderr=(tmp_path / "envoy.log").open("w")
    )
    gateway = Gateway(envoy, port, settings, tmp_path)
    if not envoy.wait_ready():
        envoy.stop()
        raise RuntimeError("Envoy did not start:\n" + (tmp_path / "envoy.log").read_text()[-3000:])
    # A remote JWKS is fetched in the background just after start (through this Envoy).
    if jwks == "self" and not envoy.wait_jwks():
        envoy.stop()
        raise RuntimeError("Envoy never fetched the JWKS:\n" + (tmp_path / "envoy.log").read_text()[-3000:])
    return gateway


def gateway_in_front_of(
    services: Any, specs: Sequence[ServiceSpec], keys_dir: Path, tmp_path: Path
) -> Iterator[Gateway]:
    """The real Envoy in front of ``specs``, started in order: each service finds the ones started
    before it (``<NAME>_ADDR``), so list them in dependency order."""
    upstreams = {spec.name: upstream(services.start(spec)) for spec in specs}
    yield from stop(start_gateway(tmp_path, upstreams, keys_dir))


def register_customer(gateway: Gateway) -> dict[str, str]:
    """A new customer, registered and logged in through the gateway: ``{"id", "token"}``."""
    name = "u" + uuid.uuid4().hex[:10]
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    registered = gateway.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 200, registered.text
    login = gateway.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"id": registered.json()["user"]["id"], "token": login.json()["tokens"]["access_token"]}


def money(amount: int, currency: str = "EUR") -> dict[str, str]:
    return {"amount_minor": str(amount), "currency": currency}


def assert_error(reply: requests.Response, status: int, *, grpc_code: int | None = None) -> dict[str, Any]:
    """The one error shape: JSON with code and message; code is the gRPC code for service
    errors and the HTTP status for Envoy's own replies."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    body = reply.json()
    assert set(body) >= ERROR_KEYS, body
    assert isinstance(body["message"], str)
    assert body["code"] == (grpc_code if grpc_code is not None else status), body
    assert reply.headers.get("x-request-id"), "every reply carries the request id"
    return body


def reason(body: dict[str, Any]) -> str | None:
    for detail in body.get("details", []):
        if detail.get("@type", "").endswith("google.rpc.ErrorInfo"):
            return str(detail["reason"])
    return None


def field_violations(body: dict[str, Any]) -> list[str]:
    fields: list[str] = []
    for detail in body.get("details", []):
        if detail.get("@type", "").endswith("google.rpc.BadRequest"):
            fields.extend(v["field"] for v in detail.get("field_violations", []))
    return fields


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


def stop(gateway: Gateway) -> Iterator[Gateway]:
    try:
        yield gateway
    finally:
        gateway.envoy.stop()
