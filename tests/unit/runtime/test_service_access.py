"""Least privilege between services: the callers' tables and their enforcement, without I/O."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from services.runtime.auth import JwtVerifier, Principal
from services.runtime.call_graph import CALLING_SERVICES
from services.runtime.clients import grpc_service
from services.runtime.errors import PermissionDenied, Unauthenticated
from services.runtime.keys import Keyring
from services.runtime.service_access import check_service_call, service_callers, service_identity
from tests.support.harness import TokenFactory, auth_settings_for

CALLEES = ("user", "ledger", "payment", "credit", "analytics", "ai", "document")


def service(client_id: str) -> Principal:
    return Principal(
        subject=f"svc_{client_id}", roles=frozenset({"service"}), claims={"client_id": client_id}
    )


@pytest.mark.parametrize("callee", CALLEES)
def test_every_entry_names_a_calling_service_and_an_rpc_of_the_callee(callee: str) -> None:
    spec = importlib.import_module(f"services.{callee}.spec").SPEC
    rpcs = {method.name for method in grpc_service(callee).methods}
    for caller, methods in spec.service_callers.items():
        assert caller in CALLING_SERVICES, f"{callee}: {caller} is not a service identity"
        assert caller != callee
        assert methods <= rpcs, f"{callee}: {caller} lists unknown RPCs {sorted(methods - rpcs)}"


def test_a_service_calls_only_what_its_entry_lists() -> None:
    table = service_callers({"payment": {"GetUser"}})
    check_service_call(service("payment"), "/nexafi.user.v1.UserService/GetUser", table)
    for principal, method in (
        (service("payment"), "/nexafi.user.v1.UserService/GrantRole"),
        (service("analytics"), "/nexafi.user.v1.UserService/GetUser"),
    ):
        with pytest.raises(PermissionDenied) as refused:
            check_service_call(principal, method, table)
        assert refused.value.reason == "SERVICE_NOT_ALLOWED"
        assert refused.value.metadata["method"] == method.rsplit("/", 1)[1]


def test_people_and_anonymous_callers_are_not_concerned() -> None:
    admin = Principal(subject="usr_1", roles=frozenset({"admin"}))
    assert service_identity(admin) is None and service_identity(None) is None
    check_service_call(admin, "/nexafi.user.v1.UserService/GrantRole", {})
    check_service_call(None, "/nexafi.user.v1.UserService/GetJwks", {})


def test_the_identity_is_the_client_id_claim_or_the_subject() -> None:
    assert service_identity(service("credit")) == "credit"
    assert service_identity(Principal(subject="svc_ai", roles=frozenset({"service"}))) == "ai"


def test_the_service_role_and_the_internal_audience_go_together(tmp_path: Path) -> None:
    ring = Keyring(tmp_path)
    ring.ensure()
    verifier = JwtVerifier(auth_settings_for(ring.keys_dir))
    tokens = TokenFactory(ring)
    assert service_identity(verifier.verify(tokens.make("svc_payment", ["service"]))) == "payment"
    assert verifier.verify(tokens.make("usr_1", ["customer"])).subject == "usr_1"
    for forged in (
        tokens.make("svc_payment", ["service"], audience="nexafi-api"),
        tokens.make("usr_1", ["customer"], audience="nexafi-internal"),
        tokens.make("usr_1", ["admin"], audience="nexafi-internal"),
    ):
        with pytest.raises(Unauthenticated) as caught:
            verifier.verify(forged)
        assert caught.value.reason == "TOKEN_INVALID"


def test_the_gateway_never_accepts_the_internal_audience(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.gateway.render import settings_from_env
    from services.runtime.config import ConfigError

    assert "nexafi-internal" not in settings_from_env({}).jwt_audiences
    monkeypatch.setenv("JWT_AUDIENCE", "nexafi-api,nexafi-internal")
    with pytest.raises(ConfigError, match="internal audience"):
        settings_from_env({})
