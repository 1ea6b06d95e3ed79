"""Passwords, reset tokens and refresh tokens never appear in clear in the database, logs or responses."""

from __future__ import annotations

import logging
import time

import grpc
import pytest
import sqlalchemy as sa
from nexafi.user.v1 import user_pb2
from sqlalchemy.engine import Engine

from tests.integration.user.user_support import (
    SECRETS,
    SERVICE_SECRET,
    TIMEOUT,
    Actor,
    UserApi,
    strong_password,
)
from tests.support.grpc_errors import failure


def dump_database(engine: Engine) -> str:
    """Every row of every table of the user database, as JSON text."""
    with engine.connect() as conn:
        tables = (
            conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            .scalars()
            .all()
        )
        parts = []
        for table in tables:
            rows = conn.execute(sa.text(f'SELECT row_to_json(t)::text FROM "{table}" t')).scalars().all()
            parts.extend(rows)
    return "\n".join(parts)


def test_no_secret_in_clear_in_database_logs_or_responses(
    api: UserApi, user_db: Engine, admin: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = time.time() - 1
    # A full life: register, failures, login, refresh, reuse, reset, service token.
    user, password = api.register(profile=user_pb2.Profile(first_name="Ada"), request_id="secret-scan-1")
    failure(lambda: api.login(user.username, password + "-wrong"))
    SECRETS.add(password + "-wrong")
    login = api.login(user.username, password)
    refreshed = api.refresh(login.tokens.refresh_token)
    api.refresh(login.tokens.refresh_token)  # within grace: a re-issue
    api.stub.RequestPasswordReset(user_pb2.RequestPasswordResetRequest(email=user.email), timeout=TIMEOUT)
    reset_token = api.reset_mail(user.email, after=started)
    assert reset_token is not None
    new_password = strong_password()
    weak = "password1234"
    failure(
        lambda: api.stub.ConfirmPasswordReset(
            user_pb2.ConfirmPasswordResetRequest(reset_token=reset_token, new_password=weak), timeout=TIMEOUT
        )
    )
    api.stub.ConfirmPasswordReset(
        user_pb2.ConfirmPasswordResetRequest(reset_token=reset_token, new_password=new_password),
        timeout=TIMEOUT,
    )
    failure(lambda: api.refresh(refreshed.refresh_token))
    api.stub.IssueServiceToken(
        user_pb2.IssueServiceTokenRequest(client_id="payment", client_secret=SERVICE_SECRET), timeout=TIMEOUT
    )
    failure(
        lambda: api.stub.IssueServiceToken(
            user_pb2.IssueServiceTokenRequest(client_id="payment", client_secret=SERVICE_SECRET + "x"),
            timeout=TIMEOUT,
        )
    )
    SECRETS.add(SERVICE_SECRET)
    SECRETS.add(SERVICE_SECRET + "x")
    api.stub.Logout(user_pb2.LogoutRequest(refresh_token=login.tokens.refresh_token), timeout=TIMEOUT)

    # Responses: the user never carries a password or hash; a refresh never echoes the old token.
    again = api.stub.GetUser(
        user_pb2.GetUserRequest(user_id=user.id), timeout=TIMEOUT, metadata=admin.metadata
    )
    listing = api.stub.ListUsers(
        user_pb2.ListUsersRequest(page_size=100), timeout=TIMEOUT, metadata=admin.metadata
    )
    for message in (user, again.user, listing, refreshed):
        wire = message.SerializeToString()
        for secret in (password, new_password, login.tokens.refresh_token, reset_token):
            assert secret.encode() not in wire
        assert b"argon2" not in wire

    database = dump_database(user_db)
    assert "$argon2id$" in database and user.username in database  # the dump is real
    logs = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "rpc /nexafi.user.v1.UserService/Login failed" in logs  # the capture is real
    secrets = {s for s in SECRETS | {password, new_password, reset_token, weak} if len(s) >= 12}
    assert len(secrets) > 20
    leaked_db = sorted(s for s in secrets if s in database)
    leaked_logs = sorted(s for s in secrets if s in logs)
    assert leaked_db == [] and leaked_logs == []


def test_the_grpc_error_for_a_wrong_password_does_not_echo_it(api: UserApi) -> None:
    user, _ = api.register()
    secret = strong_password()
    with pytest.raises(grpc.RpcError) as caught:
        api.login(user.username, secret)
    assert secret not in (caught.value.details() or "")  # type: ignore[attr-defined]
    assert secret.encode() not in b"".join(
        v if isinstance(v, bytes) else v.encode() for _, v in caught.value.trailing_metadata() or ()
    )  # type: ignore[attr-defined]
