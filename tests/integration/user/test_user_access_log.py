"""A user's access log (ListAccessEvents) over real gRPC: sign-ins, refreshes, logouts, resets and
staff actions newest first with their sessions, clients and actors; paging; who may read it;
erasure forgetting the clients; the database refusing to rewrite it."""

from __future__ import annotations

import time

import grpc
import pytest
import sqlalchemy as sa
from nexafi.user.v1 import user_pb2
from sqlalchemy.engine import Engine

from services.user.tokens import token_digest
from tests.integration.user.user_support import TIMEOUT, UserApi, strong_password, unique
from tests.support.grpc_errors import failure

OK = grpc.StatusCode
K = user_pb2


def events(
    api: UserApi,
    user_id: str,
    metadata: tuple[tuple[str, str], ...],
    *,
    page_size: int = 100,
    page_token: str = "",
) -> user_pb2.ListAccessEventsResponse:
    return api.stub.ListAccessEvents(
        user_pb2.ListAccessEventsRequest(user_id=user_id, page_size=page_size, page_token=page_token),
        metadata=metadata,
        timeout=TIMEOUT,
    )


def kinds(response: user_pb2.ListAccessEventsResponse) -> list[str]:
    return [K.AccessEventKind.Name(e.kind).removeprefix("ACCESS_EVENT_KIND_") for e in response.access_events]


def test_a_session_from_sign_in_to_logout_and_the_staff_actions_on_the_account(api: UserApi) -> None:
    user, password = api.register()
    wrong = failure(lambda: api.login(user.username, "not-the-password-at-all", address="198.51.100.7"))
    assert wrong.reason == "INVALID_CREDENTIALS"
    signed_in = api.login(user.username, password, address="203.0.113.9")
    refreshed = api.refresh(signed_in.tokens.refresh_token)
    api.stub.Logout(user_pb2.LogoutRequest(refresh_token=refreshed.refresh_token), timeout=TIMEOUT)
    # Logging out ended the first session's access tokens too: the second session logs out everywhere.
    again = api.login(user.username, password)
    api.stub.RevokeSessions(
        user_pb2.RevokeSessionsRequest(user_id=user.id),
        timeout=TIMEOUT,
        metadata=(("authorization", f"Bearer {again.tokens.access_token}"),),
    )
    admin_id = unique("usr_staff")
    admin = api.tokens.metadata(admin_id, ["admin"])
    api.stub.GrantRole(
        user_pb2.GrantRoleRequest(user_id=user.id, role=user_pb2.ROLE_SUPPORT),
        metadata=admin,
        timeout=TIMEOUT,
    )
    api.stub.RevokeRole(
        user_pb2.RevokeRoleRequest(user_id=user.id, role=user_pb2.ROLE_SUPPORT),
        metadata=admin,
        timeout=TIMEOUT,
    )
    api.stub.DeleteUser(user_pb2.DeleteUserRequest(user_id=user.id), metadata=admin, timeout=TIMEOUT)
    refused = failure(lambda: api.login(user.username, password))
    assert refused.reason == "ACCOUNT_DEACTIVATED"

    log = events(api, user.id, api.staff("support"))
    assert kinds(log) == [
        "SIGN_IN_FAILED",
        "DEACTIVATED",
        "ROLE_REVOKED",
        "ROLE_GRANTED",
        "SESSIONS_REVOKED",
        "SIGN_IN_SUCCEEDED",
        "SIGNED_OUT",
        "TOKEN_REFRESHED",
        "SIGN_IN_SUCCEEDED",
        "SIGN_IN_FAILED",
    ]
    (
        deactivated_refusal,
        deactivated,
        revoked_role,
        granted,
        everywhere,
        second_sign_in,
        signed_out,
        refresh,
        sign_in,
        failed,
    ) = log.access_events
    times = [e.create_time.ToDatetime() for e in log.access_events]
    assert times == sorted(times, reverse=True)
    assert len({e.id for e in log.access_events}) == len(log.access_events)
    # One session, from its sign-in through its refresh to its logout, with the client of each call.
    assert sign_in.session_id
    assert sign_in.session_id == refresh.session_id == signed_out.session_id != second_sign_in.session_id
    assert (sign_in.client_address, failed.client_address) == ("203.0.113.9", "198.51.100.7")
    assert refresh.client_address == "" and "grpc-python" in sign_in.user_agent
    assert (failed.detail, failed.session_id, deactivated_refusal.detail) == (
        "INVALID_CREDENTIALS",
        "",
        "ACCOUNT_DEACTIVATED",
    )
    # The user logged out everywhere themself; the admin's actions name the admin.
    assert (everywhere.actor_id, everywhere.detail) == ("", "1")
    assert (granted.detail, revoked_role.detail) == ("support", "support")
    assert granted.actor_id == revoked_role.actor_id == deactivated.actor_id == admin_id
    assert all(e.actor_id == "" for e in (sign_in, refresh, signed_out, failed))


def test_password_resets_and_a_reused_refresh_token_are_logged(api: UserApi, user_db: Engine) -> None:
    actor = api.new_customer()
    api.refresh(actor.refresh_token)
    # Presented again after the grace window (aged in the database, as test_user_auth does): theft.
    with user_db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute' "
                "WHERE token_hash = :h"
            ),
            {"h": token_digest(actor.refresh_token)},
        )
    assert failure(lambda: api.refresh(actor.refresh_token)).reason == "REFRESH_TOKEN_REUSED"
    started = time.time() - 1
    api.stub.RequestPasswordReset(
        user_pb2.RequestPasswordResetRequest(email=actor.user.email), timeout=TIMEOUT
    )
    token = api.reset_mail(actor.user.email, after=started)
    assert token is not None
    api.stub.ConfirmPasswordReset(
        user_pb2.ConfirmPasswordResetRequest(reset_token=token, new_password=strong_password()),
        timeout=TIMEOUT,
    )
    log = events(api, actor.id, api.staff("support"))
    assert kinds(log) == [
        "PASSWORD_RESET",
        "PASSWORD_RESET_REQUESTED",
        "REFRESH_TOKEN_REUSED",
        "TOKEN_REFRESHED",
        "SIGN_IN_SUCCEEDED",
    ]
    reuse, refreshed, sign_in = log.access_events[2:]
    # The reuse names the session it revoked; nobody on the staff did any of it.
    assert reuse.session_id == refreshed.session_id == sign_in.session_id != ""
    assert all(e.actor_id == "" for e in log.access_events)


def test_pages_cover_the_log_once_and_tokens_are_bound_to_the_user(api: UserApi) -> None:
    actor = api.new_customer()
    for _ in range(4):
        api.login(actor.user.username, actor.password)
    whole = events(api, actor.id, actor.metadata)
    assert len(whole.access_events) == 5 and whole.next_page_token == ""
    seen, token = [], ""
    while True:
        page = events(api, actor.id, actor.metadata, page_size=2, page_token=token)
        assert len(page.access_events) <= 2
        seen += [e.id for e in page.access_events]
        token = page.next_page_token
        if not token:
            break
    assert seen == [e.id for e in whole.access_events]
    first = events(api, actor.id, actor.metadata, page_size=2)
    other = api.new_customer()
    foreign = failure(lambda: events(api, other.id, api.staff("support"), page_token=first.next_page_token))
    assert (foreign.code, foreign.fields) == (OK.INVALID_ARGUMENT, ["page_token"])
    negative = failure(lambda: events(api, actor.id, actor.metadata, page_size=-1))
    assert (negative.code, negative.fields) == (OK.INVALID_ARGUMENT, ["page_size"])


def test_who_may_read_a_log(api: UserApi) -> None:
    owner, stranger = api.new_customer(), api.new_customer()
    for role in ("support", "compliance", "admin"):
        assert kinds(events(api, owner.id, api.staff(role))) == ["SIGN_IN_SUCCEEDED"]
    for metadata in (stranger.metadata, api.staff("underwriter"), api.tokens.service("payment")):
        refused = failure(lambda m=metadata: events(api, owner.id, m))
        assert refused.code == OK.PERMISSION_DENIED
    # A customer probing another id learns nothing; staff are told it does not exist.
    assert failure(lambda: events(api, "usr_00NOSUCHUSER", stranger.metadata)).code == OK.PERMISSION_DENIED
    assert failure(lambda: events(api, "usr_00NOSUCHUSER", api.staff("support"))).code == OK.NOT_FOUND
    blank = failure(lambda: events(api, " ", api.staff("support")))
    assert (blank.code, blank.fields) == (OK.INVALID_ARGUMENT, ["user_id"])
    unauthenticated = failure(lambda: events(api, owner.id, ()))
    assert unauthenticated.code == OK.UNAUTHENTICATED


def test_erasure_forgets_where_the_user_came_from_and_keeps_the_events(api: UserApi, user_db: Engine) -> None:
    user, password = api.register()
    api.login(user.username, password, address="192.0.2.44")
    api.stub.DeleteUser(
        user_pb2.DeleteUserRequest(user_id=user.id, erase=True), metadata=api.staff("admin"), timeout=TIMEOUT
    )
    log = events(api, user.id, api.staff("compliance"))
    assert kinds(log) == ["ERASED", "SIGN_IN_SUCCEEDED"]
    assert all(e.client_address == "" and e.user_agent == "" for e in log.access_events)
    assert log.access_events[1].session_id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_events SET kind = 'signed_out'",
        "UPDATE access_events SET client_address = '10.0.0.1'",
        "DELETE FROM access_events",
        "TRUNCATE access_events",
    ],
)
def test_the_database_refuses_to_rewrite_the_log(api: UserApi, user_db: Engine, statement: str) -> None:
    api.new_customer()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), user_db.begin() as connection:
        connection.execute(sa.text(statement))
