"""Calls between services: a service token from the user service, deadlines, request ids."""

from __future__ import annotations

import grpc
import pytest
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.ledger.spec import SPEC as LEDGER
from services.runtime.auth import JwtVerifier
from services.runtime.clients import ServiceTokenProvider, service_channel
from services.runtime.config import AuthSettings
from services.user.spec import SPEC as USER
from tests.support.harness import SERVICE_CLIENT_SECRETS, ServiceRunner

LEDGER_SERVICE = ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"]


@pytest.fixture(scope="module")
def provider(services: ServiceRunner) -> ServiceTokenProvider:
    services.start(USER)
    return ServiceTokenProvider.from_env("analytics")


def test_service_token_has_the_service_role(provider: ServiceTokenProvider, auth_settings: AuthSettings):
    principal = JwtVerifier(auth_settings).verify(provider.token())
    assert principal.subject == "svc_analytics" and principal.roles == frozenset({"service"})
    assert principal.claims["aud"] == "nexafi-internal" and principal.claims["client_id"] == "analytics"
    assert provider.token() == provider.token()  # cached, not fetched per call


def test_wrong_secret_is_refused(services: ServiceRunner):
    services.start(USER)
    provider = ServiceTokenProvider(
        "analytics",
        SERVICE_CLIENT_SECRETS["payment"],
        grpc.insecure_channel(services.running["user"].address),
    )
    with pytest.raises(grpc.RpcError) as caught:
        provider.token()
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_service_channel_calls_another_service_as_itself(
    services: ServiceRunner, provider: ServiceTokenProvider
):
    services.start(LEDGER)
    with service_channel("ledger", LEDGER_SERVICE, provider.token) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        # Trial balance is for admins, compliance and the analytics service's reports.
        reply = stub.GetTrialBalance(ledger_pb2.GetTrialBalanceRequest())
        assert reply.as_of_time.seconds > 0


def test_unreachable_service_fails_fast_with_unavailable(provider: ServiceTokenProvider):
    with service_channel(
        "ledger", LEDGER_SERVICE, provider.token, address="127.0.0.1:1", default_timeout=2
    ) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetTrialBalance(ledger_pb2.GetTrialBalanceRequest())
        assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
