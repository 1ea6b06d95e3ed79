"""The authorization tables: every RPC of every service has a rule in its service's ``access.py``,
and the shared rules refuse with the runtime's PERMISSION_DENIED (or the edge's hidden error)."""

from __future__ import annotations

import importlib

import pytest

from services.runtime.access_rules import AccessTable, Cases, Public, owner_or, roles
from services.runtime.auth import Principal
from services.runtime.clients import grpc_service
from services.runtime.errors import NotFound, PermissionDenied

SERVICES = ("user", "ledger", "payment", "credit", "analytics", "ai", "document")


def table(service: str) -> AccessTable:
    access: AccessTable = importlib.import_module(f"services.{service}.access").ACCESS
    return access


@pytest.mark.parametrize("service", SERVICES)
def test_every_rpc_of_the_contract_has_exactly_one_rule(service: str) -> None:
    descriptor = grpc_service(service)
    access = table(service)
    assert access.service == descriptor.full_name
    rpcs = {method.name for method in descriptor.methods}
    assert set(access.rules) - rpcs == set(), "rules for RPCs the contract does not have"
    assert rpcs - set(access.rules) == set(), "RPCs without an access rule"


@pytest.mark.parametrize("service", SERVICES)
def test_public_rules_are_the_public_methods_of_the_spec(service: str) -> None:
    spec = importlib.import_module(f"services.{service}.spec").SPEC
    access = table(service)
    public = {method.rsplit("/", 1)[-1] for method in spec.public_methods}
    assert set(access.public_rpcs()) == public


def user(subject: str, *names: str) -> Principal:
    return Principal(subject=subject, roles=frozenset(names))


RULES = AccessTable(
    "test.Service",
    {
        "Open": Public("a signature"),
        "Staff": roles("admin", "support"),
        "Mine": owner_or("admin"),
        "Only": owner_or(message="owners only", reason="OWNER_ONLY"),
        "Hidden": owner_or("admin", hidden=True),
        "Update": Cases({"profile": owner_or("admin"), "roles": roles("admin")}),
    },
)


def denied(call: object) -> PermissionDenied:
    with pytest.raises(PermissionDenied) as caught:
        assert callable(call)
        call()
    return caught.value


def test_roles_and_the_default_message() -> None:
    RULES.check("Staff", user("usr_a", "support"))
    error = denied(lambda: RULES.check("Staff", user("usr_a", "customer")))
    assert str(error) == "requires one of the roles: admin, support"
    assert error.reason == "PERMISSION_DENIED"


def test_owner_or_roles_with_one_several_or_a_loaded_owner() -> None:
    RULES.check("Mine", user("usr_a", "customer"), "usr_a")
    RULES.check("Mine", user("usr_b", "customer"), ("usr_a", "usr_b"))
    loads: list[str] = []

    def load() -> str:
        loads.append("usr_a")
        return "usr_a"

    RULES.check("Mine", user("usr_x", "admin"), load)
    assert loads == [], "a role that decides costs no lookup of the owner"
    RULES.check("Mine", user("usr_a"), load)
    assert loads == ["usr_a"]
    error = denied(lambda: RULES.check("Mine", user("usr_b", "customer"), lambda: "usr_a"))
    assert str(error) == "not allowed to access another user's resources"


def test_a_rule_s_own_message_and_reason() -> None:
    error = denied(lambda: RULES.check("Only", user("usr_b", "admin"), "usr_a"))
    assert (str(error), error.reason) == ("owners only", "OWNER_ONLY")


def test_a_hidden_rule_answers_the_edge_s_error() -> None:
    with pytest.raises(NotFound):
        RULES.check("Hidden", user("usr_b"), "usr_a", hidden_as=NotFound("no such thing"))
    RULES.check("Hidden", user("usr_a"), "usr_a", hidden_as=NotFound("no such thing"))


def test_cases_name_the_rule() -> None:
    RULES.check("Update", user("usr_a"), "usr_a", case="profile")
    denied(lambda: RULES.check("Update", user("usr_a"), "usr_a", case="roles"))
    with pytest.raises(KeyError):
        RULES.check("Update", user("usr_a"), "usr_a")


def test_public_passes_without_a_principal_and_an_unknown_rpc_is_a_programming_error() -> None:
    RULES.check("Open", None)
    denied(lambda: RULES.check("Staff", None))
    with pytest.raises(KeyError):
        RULES.check("Missing", user("usr_a", "admin"))
