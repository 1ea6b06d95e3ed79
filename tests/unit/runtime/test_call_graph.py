"""The call graph (services/runtime/call_graph.py) is the one record of who calls whom: each
callee's SERVICE_CALLERS agrees with it, no service imports the stub of a service it is not
declared to call, and the clients refuse an undeclared call."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from services.devtools import devstack
from services.runtime.call_graph import CALLING_SERVICES, CALLS, SERVICES, USER, callees, callers, start_order
from services.runtime.clients import ServiceChannels
from services.runtime.config import DEFAULT_PORTS, ConfigError

ROOT = Path(__file__).resolve().parents[3]
# Deployed services: a package with a __main__ (the graph may name one not yet in this checkout).
PRESENT = [s for s in SERVICES if (ROOT / "services" / s / "__main__.py").is_file()]


def test_the_graph_names_the_services_of_the_ports_table():
    assert list(SERVICES) == list(DEFAULT_PORTS)
    for service, called in CALLS.items():
        assert service not in called
        assert called <= set(SERVICES)


def test_every_caller_calls_the_user_service_for_its_token_and_the_revocation_feed():
    for service in CALLING_SERVICES:
        assert USER in callees(service)
    assert set(CALLING_SERVICES) == callers(USER)
    assert USER not in CALLING_SERVICES


@pytest.mark.parametrize("callee", PRESENT)
def test_service_callers_allow_exactly_the_declared_callers(callee: str) -> None:
    """A caller the callee's table leaves out would be refused (SERVICE_NOT_ALLOWED) on every
    call; an entry for a service not declared to call it is a path the network policies close."""
    table = importlib.import_module(f"services.{callee}.spec").SERVICE_CALLERS
    assert set(table) == callers(callee), callee
    assert all(table[caller] for caller in table), f"{callee}: an empty entry allows nothing"


def _stubs_imported(service: str) -> set[str]:
    """The services whose generated gRPC stubs (``nexafi.<s>.v1 ... _pb2_grpc``) or shared runtime
    client (``services.runtime.<s>_client``) ``service`` imports."""
    found = set()
    for path in (ROOT / "services" / service).rglob("*.py"):
        if "migrations" in path.parts or "training" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if (
                    parts[0] == "nexafi"
                    and len(parts) == 3
                    and any(alias.name.endswith("_pb2_grpc") for alias in node.names)
                ):
                    found.add(parts[1])
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
                found.update(
                    n.split(".")[2].removesuffix("_client")
                    for n in names
                    if n.startswith("services.runtime.") and n.endswith("_client")
                )
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "nexafi" and len(parts) == 4 and parts[3].endswith("_pb2_grpc"):
                        found.add(parts[1])
    return found - {service}


@pytest.mark.parametrize("service", PRESENT)
def test_a_service_imports_only_the_stubs_of_the_services_it_calls(service: str) -> None:
    assert _stubs_imported(service) <= callees(service)


def test_the_graph_is_not_stale():
    # Every declared path is used: a stub import, or (the user service) the token and the feed.
    for service in PRESENT:
        assert (callees(service) - {USER}) & set(PRESENT) <= _stubs_imported(service), service


def test_the_start_order_puts_callees_first_where_the_graph_allows():
    order = start_order()
    assert sorted(order) == sorted(SERVICES)
    assert order[0] == USER
    assert order.index("ledger") < order.index("payment")
    assert start_order(["payment", "ledger", "user"]) == ["user", "ledger", "payment"]
    assert order == devstack.SERVICE_ORDER


def test_clients_refuse_an_undeclared_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCUMENT_CLIENT_SECRET", "a-secret-for-this-test")
    monkeypatch.setenv("USER_ADDR", "127.0.0.1:1")
    channels = ServiceChannels("document")
    try:
        with pytest.raises(ConfigError, match="not declared to call ledger"):
            channels.open("ledger")
    finally:
        channels.close()
    with pytest.raises(ConfigError, match="call graph"):
        ServiceChannels("gateway")
