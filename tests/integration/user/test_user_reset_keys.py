"""Password reset through the file outbox, signing-key rotation with the CLI, and the create-admin CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import jwt
import pytest
import sqlalchemy as sa
from nexafi.user.v1 import user_pb2, user_pb2_grpc
from sqlalchemy.engine import Engine

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime.auth import JwtVerifier
from services.runtime.errors import Unauthenticated
from services.runtime.keys import Keyring
from services.runtime.server import RunningServer, start_server
from services.user.service import keyed_digest
from services.user.tokens import token_digest
from tests.integration.user.user_support import TIMEOUT, UserApi, cli_env, run_cli, strong_password, unique
from tests.support.grpc_errors import failure
from tests.support.harness import auth_settings_for, service_settings, user_spec_for_tests

OK = grpc.StatusCode


def request_reset(api: UserApi, email: str) -> user_pb2.RequestPasswordResetResponse:
    return api.stub.RequestPasswordReset(user_pb2.RequestPasswordResetRequest(email=email), timeout=TIMEOUT)


def confirm(api: UserApi, token: str, password: str) -> None:
    api.stub.ConfirmPasswordReset(
        user_pb2.ConfirmPasswordResetRequest(reset_token=token, new_password=password), timeout=TIMEOUT
    )


# -- password reset -----------------------------------------------------------------------------


def test_password_reset_end_to_end(api: UserApi) -> None:
    actor = api.new_customer()
    started = time.time() - 1
    assert request_reset(api, actor.user.email.upper()) == user_pb2.RequestPasswordResetResponse()
    token = api.reset_mail(actor.user.email, after=started)
    assert token is not None and len(token) == 43
    # A weak password is refused without using up the token.
    weak = failure(lambda: confirm(api, token, "password1234"))
    assert (weak.code, weak.fields) == (OK.INVALID_ARGUMENT, ["new_password"])
    new_password = strong_password()
    confirm(api, token, new_password)
    # Every session is gone, the old password too; the new one works.
    assert failure(lambda: api.refresh(actor.refresh_token)).reason == "REFRESH_TOKEN_REVOKED"
    assert failure(lambda: api.login(actor.user.username, actor.password)).reason == "INVALID_CREDENTIALS"
    assert api.login(actor.user.username, new_password).user.id == actor.id
    used = failure(lambda: confirm(api, token, strong_password()))
    assert (used.code, used.reason) == (OK.UNAUTHENTICATED, "RESET_TOKEN_INVALID")


def test_reset_answers_the_same_for_unknown_emails_and_sends_nothing(api: UserApi) -> None:
    started = time.time() - 1
    ghost = f"{unique('ghost')}@example.com"
    assert request_reset(api, ghost) == user_pb2.RequestPasswordResetResponse()
    # The worker is serial: once a later mail is out, the ghost's request was handled.
    marker = api.new_customer()
    request_reset(api, marker.user.email)
    assert api.reset_mail(marker.user.email, after=started) is not None
    assert api.reset_mails(ghost, after=started) == []
    malformed = failure(lambda: request_reset(api, "not-an-email"))
    assert (malformed.code, malformed.fields) == (OK.INVALID_ARGUMENT, ["email"])


def test_reset_mails_are_rate_limited_per_account(api: UserApi) -> None:
    started = time.time() - 1
    actor, marker = api.new_customer(), api.new_customer()
    request_reset(api, actor.user.email)
    request_reset(api, actor.user.email)
    request_reset(api, marker.user.email)
    assert api.reset_mail(marker.user.email, after=started) is not None
    assert len(api.reset_mails(actor.user.email, after=started)) == 1


def test_unknown_and_expired_reset_tokens_are_refused(api: UserApi, user_db: Engine) -> None:
    unknown = failure(lambda: confirm(api, "no-such-token", strong_password()))
    assert (unknown.code, unknown.reason) == (OK.UNAUTHENTICATED, "RESET_TOKEN_INVALID")
    started = time.time() - 1
    actor = api.new_customer()
    request_reset(api, actor.user.email)
    token = api.reset_mail(actor.user.email, after=started)
    assert token is not None
    with user_db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE password_reset_tokens SET expires_at = now() - interval '1 second' "
                "WHERE token_hash = :h"
            ),
            {"h": token_digest(token)},
        )
    expired = failure(lambda: confirm(api, token, strong_password()))
    assert (expired.code, expired.reason) == (OK.UNAUTHENTICATED, "RESET_TOKEN_INVALID")


def test_a_reset_lifts_the_login_throttle(api: UserApi, user_db: Engine) -> None:
    actor = api.new_customer()
    for _ in range(5):
        failure(lambda: api.login(actor.user.username, "wrong-password-entirely"))
    with user_db.begin() as conn:  # blocked for an hour: the test does not race the delay
        conn.execute(
            sa.text(
                "UPDATE login_throttle SET blocked_until = now() + interval '1 hour' "
                "WHERE blocked_until IS NOT NULL AND login_digest = :d"
            ),
            {"d": keyed_digest("login", actor.user.username)},
        )
    assert failure(lambda: api.login(actor.user.username, actor.password)).reason == "LOGIN_THROTTLED"
    started = time.time() - 1
    request_reset(api, actor.user.email)
    token = api.reset_mail(actor.user.email, after=started)
    assert token is not None
    new_password = strong_password()
    confirm(api, token, new_password)
    assert api.login(actor.user.username, new_password).user.id == actor.id


# -- signing-key rotation ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def isolated(
    pg: EmbeddedPostgres, user_server: RunningServer, tmp_path_factory: pytest.TempPathFactory, mail_dir: Path
) -> Iterator[tuple[RunningServer, Path]]:
    """A second user server with its own keyring, so rotating it leaves the session's keys alone."""
    keys_dir = tmp_path_factory.mktemp("user-keys")
    settings = service_settings("user", pg.url("nexafi_user"), auth_settings_for(keys_dir))
    running = start_server(user_spec_for_tests(mail_dir), settings)
    yield running, keys_dir
    running.stop(0)


def test_rotation_keeps_older_tokens_valid_until_they_expire(
    isolated: tuple[RunningServer, Path], pg: EmbeddedPostgres, api: UserApi
) -> None:
    running, keys_dir = isolated
    keyring = Keyring(keys_dir)
    user, password = api.register()
    with grpc.insecure_channel(running.address) as channel:
        stub = user_pb2_grpc.UserServiceStub(channel)

        def login() -> str:
            return stub.Login(
                user_pb2.LoginRequest(login=user.username, password=password), timeout=TIMEOUT
            ).tokens.access_token

        def get_user(token: str) -> user_pb2.User:
            return stub.GetUser(
                user_pb2.GetUserRequest(user_id=user.id),
                timeout=TIMEOUT,
                metadata=(("authorization", f"Bearer {token}"),),
            ).user

        old_kid = keyring.current_kid()
        old_token = login()
        assert get_user(old_token).id == user.id
        result = run_cli(cli_env(pg, keys_dir), "rotate-keys")
        assert result.returncode == 0, result.stderr
        new_kid = keyring.current_kid()
        assert new_kid != old_kid and new_kid in result.stdout
        published = {k.kid for k in stub.GetJwks(user_pb2.GetJwksRequest(), timeout=TIMEOUT).keys}
        # The previous key, the current one, and the next one published ahead of its use.
        assert {old_kid, new_kid, keyring.next_kid()} <= published
        # The verifier re-reads the JWKS on an unknown kid, at most once a second.
        time.sleep(1.1)
        new_token = login()
        assert jwt.get_unverified_header(new_token)["kid"] == new_kid
        assert get_user(new_token).id == user.id
        assert get_user(old_token).id == user.id
        verifier = JwtVerifier(auth_settings_for(keys_dir))
        assert verifier.verify(old_token).subject == verifier.verify(new_token).subject == user.id

        # "Until they expire": an old-key token past its exp is refused as expired.
        claims = {**jwt.decode(old_token, options={"verify_signature": False}), "exp": int(time.time()) - 5}
        expired = jwt.encode(
            claims, keyring.private_key(old_kid), algorithm="ES256", headers={"kid": old_kid}
        )
        with pytest.raises(Unauthenticated) as caught:
            verifier.verify(expired)
        assert caught.value.reason == "TOKEN_EXPIRED"
        assert failure(lambda: get_user(expired)).reason == "TOKEN_EXPIRED"

        # Two more rotations push the first key out of the JWKS (two retired keys are kept);
        # a verifier loading the JWKS now refuses its tokens. (Running verifiers
        # drop it when their cache expires, JwksCache.ttl_seconds.)
        keyring.rotate()
        keyring.rotate()
        assert old_kid not in {k.kid for k in stub.GetJwks(user_pb2.GetJwksRequest(), timeout=TIMEOUT).keys}
        with pytest.raises(Unauthenticated) as caught:
            JwtVerifier(auth_settings_for(keys_dir)).verify(old_token)
        assert caught.value.reason == "TOKEN_INVALID"


# -- create-admin CLI ----------------------------------------------------------------------------------


def test_create_admin_applies_the_same_rules(pg: EmbeddedPostgres, keys_dir: Path, admin: object) -> None:
    env = cli_env(pg, keys_dir)
    weak = run_cli(
        env,
        "create-admin",
        "--username",
        unique("adm"),
        "--email",
        f"{unique()}@example.com",
        "--password-stdin",
        stdin="password1234\n",
    )
    assert weak.returncode == 1 and "password" in weak.stderr and "password1234" not in weak.stderr
    taken = run_cli(
        env,
        "create-admin",
        "--username",
        "root-admin",
        "--email",
        f"{unique()}@example.com",
        "--password-stdin",
        stdin=strong_password() + "\n",
    )
    assert taken.returncode == 1 and "USERNAME_TAKEN" in taken.stderr
