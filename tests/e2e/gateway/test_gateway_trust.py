"""Trust through the real Envoy: service tokens stay inside, staff never decide their own payments.

- A service identity's token (from the user service's IssueServiceToken, as every service gets
  one) carries the internal audience: the services accept it over gRPC, the gateway's jwt_authn
  refuses it on every route with a JSON 403, so a leaked service secret cannot move a customer's
  money from the internet (the issue's reproduction: analytics' secret, then ledger
  CreateTransaction through Envoy).
- A staff member who is also the payment's customer cannot approve or refund it: 403 with
  ``SELF_DECISION``, whatever the payment's state.

Within the mesh, a service calling an RPC outside its list gets PERMISSION_DENIED
SERVICE_NOT_ALLOWED: that call cannot go through the gateway at all (the token is refused
first), so tests/integration/ledger/test_ledger_service_scopes.py and the authorization matrix
show it over gRPC.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from nexafi.user.v1 import user_pb2, user_pb2_grpc

from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    gateway_in_front_of,
    money,
    reason,
    register_customer,
)
from tests.support.harness import SERVICE_CLIENT_SECRETS, TokenFactory

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
ai_spec = pytest.importorskip("services.ai.spec", reason="the AI service is not in this checkout")
payment_spec = pytest.importorskip(
    "services.payment.spec", reason="the payment service is not in this checkout"
)

CARD = "4242 4242 4242 4242"


@pytest.fixture(scope="module")
def gateway(services, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [user_spec.SPEC, ledger_spec.SPEC, ai_spec.SPEC, payment_spec.SPEC]
    yield from gateway_in_front_of(services, specs, keys_dir, module_tmp)


def service_token(services, client_id: str) -> str:
    with grpc.insecure_channel(services.running["user"].address) as channel:
        reply = user_pb2_grpc.UserServiceStub(channel).IssueServiceToken(
            user_pb2.IssueServiceTokenRequest(
                client_id=client_id, client_secret=SERVICE_CLIENT_SECRETS[client_id]
            ),
            timeout=10,
        )
    return str(reply.access_token)


def test_service_tokens_are_refused_at_the_gateway_and_accepted_inside(
    gateway: Gateway, services, tokens: TokenFactory
):
    victim, thief = register_customer(gateway), register_customer(gateway)
    token = service_token(services, "analytics")
    # The reproduction: move 1.23 EUR between two customers with the analytics service's token.
    transfer = {
        "user_id": victim["id"],
        "type": "TRANSACTION_TYPE_TRANSFER",
        "request_id": uuid.uuid4().hex,
        "postings": [
            {"account_id": "acc_victim", "direction": "POSTING_DIRECTION_DEBIT", "amount": money(123)},
            {"account_id": "acc_thief", "direction": "POSTING_DIRECTION_CREDIT", "amount": money(123)},
        ],
    }
    for method, path, body in (
        ("POST", "/api/v1/ledger/transactions", transfer),
        ("GET", f"/api/v1/users/{victim['id']}", None),
        ("GET", f"/api/v1/ledger/transactions/{victim['id']}", None),
        ("GET", f"/api/v1/payments/users/{thief['id']}", None),
    ):
        reply = gateway.request(method, path, token=token, json=body)
        assert_error(reply, 403)
    # Every service token is internal: the payment service's too.
    assert_error(gateway.get(f"/api/v1/users/{victim['id']}", token=service_token(services, "payment")), 403)
    # Inside the mesh the same token works, for what analytics may do.
    with grpc.insecure_channel(services.running["ledger"].address) as channel:
        ledger = ledger_pb2_grpc.LedgerServiceStub(channel)
        auth = (("authorization", f"Bearer {token}"),)
        assert ledger.GetTrialBalance(
            ledger_pb2.GetTrialBalanceRequest(), metadata=auth, timeout=10
        ).as_of_time
        with pytest.raises(grpc.RpcError) as refused:
            ledger.ListUserTransactions(
                ledger_pb2.ListUserTransactionsRequest(user_id=victim["id"]), metadata=auth, timeout=10
            )
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_user_token_with_the_internal_audience_is_refused_everywhere(
    gateway: Gateway, services, tokens: TokenFactory
):
    customer = register_customer(gateway)
    internal = tokens.make(customer["id"], ["customer"], audience="nexafi-internal")
    assert_error(gateway.get(f"/api/v1/users/{customer['id']}", token=internal), 403)
    with (
        grpc.insecure_channel(services.running["user"].address) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        user_pb2_grpc.UserServiceStub(channel).GetUser(
            user_pb2.GetUserRequest(user_id=customer["id"]),
            metadata=(("authorization", f"Bearer {internal}"),),
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_support_agent_cannot_approve_or_refund_their_own_payment(gateway: Gateway, tokens: TokenFactory):
    agent = register_customer(gateway)
    card = gateway.post(
        "/api/v1/payments/methods",
        token=agent["token"],
        json={
            "user_id": agent["id"],
            "card": {
                "number": CARD,
                "exp_month": 12,
                "exp_year": 2099,
                "cvc": "123",
                "holder_name": "Agent Smith",
            },
            "request_id": uuid.uuid4().hex,
        },
    )
    assert card.status_code == 200, card.text
    payment = gateway.post(
        "/api/v1/payments/initiate",
        token=agent["token"],
        json={
            "user_id": agent["id"],
            "kind": "PAYMENT_KIND_TOP_UP",
            "amount": money(900_000),
            "payment_method_id": card.json()["payment_method"]["id"],
            "request_id": uuid.uuid4().hex,
        },
    )
    assert payment.status_code == 200, payment.text
    payment_id = payment.json()["payment"]["id"]
    # The same person, with the support role: their own payment is not theirs to decide.
    as_support = tokens.make(agent["id"], ["customer", "support"])
    approve = gateway.request(
        "PUT",
        f"/api/v1/payments/{payment_id}/status",
        token=as_support,
        json={
            "status": "PAYMENT_STATUS_PROCESSING",
            "reason": "looks fine to me",
            "request_id": uuid.uuid4().hex,
        },
    )
    assert reason(assert_error(approve, 403, grpc_code=7)) == "SELF_DECISION"
    refund = gateway.post(
        f"/api/v1/payments/{payment_id}/refund",
        token=as_support,
        json={"reason": "changed my mind", "request_id": uuid.uuid4().hex},
    )
    assert reason(assert_error(refund, 403, grpc_code=7)) == "SELF_DECISION"


def test_admins_read_the_staff_audit_trail_over_rest(gateway: Gateway, tokens: TokenFactory):
    customer = register_customer(gateway)
    admin_id = "usr_01TRUSTADMIN" + uuid.uuid4().hex[:14].upper()
    admin = tokens.make(admin_id, ["admin"])
    granted = gateway.post(
        f"/api/v1/users/{customer['id']}/roles", token=admin, json={"role": "ROLE_SUPPORT"}
    )
    assert granted.status_code == 200, granted.text
    trail = gateway.get("/api/v1/users/audit/staff-actions", token=admin, params={"actor_id": admin_id})
    assert trail.status_code == 200, trail.text
    [entry] = trail.json()["staff_actions"]
    assert (entry["action"], entry["actor_id"], entry["user_id"]) == (
        "user.role_granted",
        admin_id,
        customer["id"],
    )
    assert entry["details"] == {"detail": "support"}
    # Only admins read it; the payment service's trail has a route of its own.
    assert_error(gateway.get("/api/v1/users/audit/staff-actions", token=customer["token"]), 403, grpc_code=7)
    payments = gateway.get("/api/v1/payments/audit/staff-actions", token=admin)
    assert payments.status_code == 200 and isinstance(payments.json().get("staff_actions", []), list)
