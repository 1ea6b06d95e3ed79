"""Revocation within seconds: the real user service's feed, read by the real user and ledger servers.

The session's servers run with AUTH_REVOCATION off (tokens minted by the test keyring carry no
version); here a second user server and a ledger server on the same databases check every
request against the feed, with the default poll (1 s) and window (5 s). Each test polls with a
deadline of the window: the refusal must come within it, and usually comes after one poll.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from nexafi.user.v1 import user_pb2, user_pb2_grpc

from services.ledger.spec import SPEC as LEDGER_SPEC
from services.runtime.auth import ROLE_ADMIN, ROLE_CUSTOMER
from services.runtime.config import AuthSettings
from services.runtime.server import RunningServer, ServiceSpec, start_server
from tests.integration.user.user_support import TIMEOUT, Actor, UserApi, strong_password
from tests.support.grpc_errors import describe, failure
from tests.support.harness import (
    ServiceRunner,
    TokenFactory,
    closed_port_address,
    service_settings,
    user_spec_for_tests,
)

OK = grpc.StatusCode
WINDOW_SECONDS = 5.0


def _feed_auth(auth: AuthSettings) -> AuthSettings:
    return dataclasses.replace(auth, revocation="feed")


def _start_checked(services: ServiceRunner, spec: ServiceSpec) -> RunningServer:
    settings = service_settings(spec.name, services.database_url(spec.name), _feed_auth(services.auth))
    return start_server(spec, settings)


@pytest.fixture(scope="module")
def checked_user(
    services: ServiceRunner, user_server: RunningServer, mail_dir: Path
) -> Iterator[user_pb2_grpc.UserServiceStub]:
    server = _start_checked(services, user_spec_for_tests(mail_dir))
    with grpc.insecure_channel(server.address) as channel:
        yield user_pb2_grpc.UserServiceStub(channel)
    server.stop(0)


@pytest.fixture(scope="module")
def checked_ledger(
    services: ServiceRunner, user_server: RunningServer
) -> Iterator[ledger_pb2_grpc.LedgerServiceStub]:
    # USER_ADDR points at the session's user server: the ledger reads the feed as itself.
    server = _start_checked(services, LEDGER_SPEC)
    with grpc.insecure_channel(server.address) as channel:
        yield ledger_pb2_grpc.LedgerServiceStub(channel)
    server.stop(0)


def _bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def refused_within_window(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    """Call until it fails with TOKEN_REVOKED, for at most the revocation window."""
    deadline = time.monotonic() + WINDOW_SECONDS
    while True:
        try:
            call()
        except grpc.RpcError as error:
            result = describe(error)
            if result.reason == "TOKEN_REVOKED" or time.monotonic() >= deadline:
                return result.code, result.reason
        if time.monotonic() >= deadline:
            return OK.OK, "still accepted after the window"
        time.sleep(0.1)


def _list_users(stub: user_pb2_grpc.UserServiceStub, token: str) -> Any:
    return stub.ListUsers(user_pb2.ListUsersRequest(page_size=1), metadata=_bearer(token), timeout=TIMEOUT)


def _list_accounts(stub: ledger_pb2_grpc.LedgerServiceStub, token: str) -> Any:
    return stub.ListAccounts(ledger_pb2.ListAccountsRequest(), metadata=_bearer(token), timeout=TIMEOUT)


def test_a_demoted_admins_old_token_is_refused_on_admin_rpcs(
    api: UserApi, admin: Actor, checked_user: user_pb2_grpc.UserServiceStub
) -> None:
    deputy = api.new_customer()
    api.stub.GrantRole(
        user_pb2.GrantRoleRequest(user_id=deputy.id, role=user_pb2.ROLE_ADMIN),
        metadata=admin.metadata,
        timeout=TIMEOUT,
    )
    # The grant itself ends the customer-only token: tokens carry the current role set.
    assert refused_within_window(lambda: _get_self(checked_user, deputy)) == (
        OK.UNAUTHENTICATED,
        "TOKEN_REVOKED",
    )
    as_admin = api.refresh(deputy.refresh_token)
    _list_users(checked_user, as_admin.access_token)
    api.stub.RevokeRole(
        user_pb2.RevokeRoleRequest(user_id=deputy.id, role=user_pb2.ROLE_ADMIN),
        metadata=admin.metadata,
        timeout=TIMEOUT,
    )
    assert refused_within_window(lambda: _list_users(checked_user, as_admin.access_token)) == (
        OK.UNAUTHENTICATED,
        "TOKEN_REVOKED",
    )
    # Not even a second grant with the old token: the attack of the issue.
    other = api.new_customer()
    granted = failure(
        lambda: checked_user.GrantRole(
            user_pb2.GrantRoleRequest(user_id=other.id, role=user_pb2.ROLE_ADMIN),
            metadata=_bearer(as_admin.access_token),
            timeout=TIMEOUT,
        )
    )
    assert (granted.code, granted.reason) == (OK.UNAUTHENTICATED, "TOKEN_REVOKED")
    # The session lives on with the current roles: customer only.
    demoted = api.refresh(as_admin.refresh_token)
    assert set(jwt_roles(demoted.access_token)) == {ROLE_CUSTOMER}
    denied = failure(lambda: _list_users(checked_user, demoted.access_token))
    assert denied.code == OK.PERMISSION_DENIED


def _get_self(stub: user_pb2_grpc.UserServiceStub, actor: Actor) -> Any:
    return stub.GetUser(user_pb2.GetUserRequest(user_id=actor.id), metadata=actor.metadata, timeout=TIMEOUT)


def jwt_roles(token: str) -> list[str]:
    return list(jwt.decode(token, options={"verify_signature": False})["roles"])


def test_a_deactivated_users_old_token_is_refused_by_another_service(
    api: UserApi, admin: Actor, checked_ledger: ledger_pb2_grpc.LedgerServiceStub
) -> None:
    customer = api.new_customer()
    _list_accounts(checked_ledger, customer.access_token)
    api.stub.DeleteUser(
        user_pb2.DeleteUserRequest(user_id=customer.id), metadata=admin.metadata, timeout=TIMEOUT
    )
    assert refused_within_window(lambda: _list_accounts(checked_ledger, customer.access_token)) == (
        OK.UNAUTHENTICATED,
        "TOKEN_REVOKED",
    )


def test_a_password_reset_revokes_every_access_token(
    api: UserApi, checked_ledger: ledger_pb2_grpc.LedgerServiceStub
) -> None:
    customer = api.new_customer()
    _list_accounts(checked_ledger, customer.access_token)
    started = time.time() - 1
    api.stub.RequestPasswordReset(
        user_pb2.RequestPasswordResetRequest(email=customer.user.email), timeout=TIMEOUT
    )
    token = api.reset_mail(customer.user.email, after=started)
    assert token is not None
    new_password = strong_password()
    api.stub.ConfirmPasswordReset(
        user_pb2.ConfirmPasswordResetRequest(reset_token=token, new_password=new_password), timeout=TIMEOUT
    )
    assert refused_within_window(lambda: _list_accounts(checked_ledger, customer.access_token)) == (
        OK.UNAUTHENTICATED,
        "TOKEN_REVOKED",
    )
    fresh = api.login(customer.user.username, new_password)
    _list_accounts(checked_ledger, fresh.tokens.access_token)


def test_logout_ends_one_session_and_logout_everywhere_ends_all(
    api: UserApi, checked_ledger: ledger_pb2_grpc.LedgerServiceStub
) -> None:
    first = api.new_customer()
    second = api.login_as(first.user.username, first.password)
    api.stub.Logout(user_pb2.LogoutRequest(refresh_token=first.refresh_token), timeout=TIMEOUT)
    assert refused_within_window(lambda: _list_accounts(checked_ledger, first.access_token)) == (
        OK.UNAUTHENTICATED,
        "TOKEN_REVOKED",
    )
    _list_accounts(checked_ledger, second.access_token)  # the other session is untouched
    reply = api.stub.RevokeSessions(
        user_pb2.RevokeSessionsRequest(user_id=first.id), metadata=second.metadata, timeout=TIMEOUT
    )
    assert reply.revoked_sessions == 1
    assert refused_within_window(lambda: _list_accounts(checked_ledger, second.access_token)) == (
        OK.UNAUTHENTICATED,
        "TOKEN_REVOKED",
    )
    assert failure(lambda: api.refresh(second.refresh_token)).reason == "REFRESH_TOKEN_REVOKED"
    again = api.login(first.user.username, first.password)
    _list_accounts(checked_ledger, again.tokens.access_token)


def test_only_the_owner_or_an_admin_logs_a_user_out_everywhere(api: UserApi) -> None:
    victim, stranger = api.new_customer(), api.new_customer()
    denied = failure(
        lambda: api.stub.RevokeSessions(
            user_pb2.RevokeSessionsRequest(user_id=victim.id), metadata=stranger.metadata, timeout=TIMEOUT
        )
    )
    assert denied.code == OK.PERMISSION_DENIED


def test_the_feed_is_for_services_only(api: UserApi) -> None:
    customer = api.new_customer()
    denied = failure(
        lambda: api.stub.ListRevocations(
            user_pb2.ListRevocationsRequest(), metadata=customer.metadata, timeout=TIMEOUT
        )
    )
    assert denied.code == OK.PERMISSION_DENIED
    ledger = api.tokens.service("ledger")  # every service's verifier reads the feed as itself
    bad = failure(
        lambda: api.stub.ListRevocations(
            user_pb2.ListRevocationsRequest(after_sequence=-1), metadata=ledger, timeout=TIMEOUT
        )
    )
    assert (bad.code, bad.fields) == (OK.INVALID_ARGUMENT, ["after_sequence"])


def test_an_unreadable_feed_fails_closed_for_staff_only(
    services: ServiceRunner, tokens: TokenFactory, user_server: RunningServer
) -> None:
    saved = os.environ["USER_ADDR"]
    os.environ["USER_ADDR"] = closed_port_address()
    try:
        server = _start_checked(services, LEDGER_SPEC)
    finally:
        os.environ["USER_ADDR"] = saved
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            staff = failure(
                lambda: stub.ListAccounts(
                    ledger_pb2.ListAccountsRequest(),
                    metadata=tokens.metadata("usr_staff1", [ROLE_ADMIN]),
                    timeout=TIMEOUT,
                )
            )
            assert (staff.code, staff.reason) == (OK.UNAVAILABLE, "REVOCATION_STATE_STALE")
            stub.ListAccounts(
                ledger_pb2.ListAccountsRequest(),
                metadata=tokens.metadata("usr_someone", [ROLE_CUSTOMER]),
                timeout=TIMEOUT,
            )
    finally:
        server.stop(0)
