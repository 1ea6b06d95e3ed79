"""Register, Login, throttling, refresh-token rotation and reuse, Logout, service tokens, JWKS."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from nexafi.user.v1 import user_pb2
from sqlalchemy.engine import Engine

from services.runtime.auth import JwtVerifier
from services.runtime.config import AuthSettings
from services.runtime.keys import Keyring
from services.user.service import keyed_digest
from services.user.tokens import token_digest
from tests.integration.user.user_support import SERVICE_SECRET, TIMEOUT, UserApi, strong_password, unique
from tests.support.grpc_errors import failure

OK = grpc.StatusCode


# -- Register ------------------------------------------------------------------------------


def test_register_normalizes_and_stores_the_profile(api: UserApi) -> None:
    name = unique("Ada.")
    profile = user_pb2.Profile(
        first_name=" Ada ",
        last_name="Lovelace",
        phone_number="+44 20 7946 0958",
        address=user_pb2.Address(city="London", country="gb"),
    )
    user, _ = api.register(username=name, email=f"{name}@Example.COM", profile=profile)
    assert user.id.startswith("usr_") and user.username == name.lower()
    assert user.email == f"{name}@example.com"
    assert list(user.roles) == [user_pb2.ROLE_CUSTOMER] and user.status == user_pb2.USER_STATUS_ACTIVE
    assert user.profile.first_name == "Ada" and user.profile.phone_number == "+442079460958"
    assert user.profile.address.country == "GB" and user.create_time.seconds > 0


def test_register_refuses_a_malformed_email(api: UserApi) -> None:
    result = failure(lambda: api.register(email="not-an-email"))
    assert (result.code, result.reason, result.fields) == (OK.INVALID_ARGUMENT, "INVALID_ARGUMENT", ["email"])


def test_register_refuses_weak_passwords(api: UserApi) -> None:
    name = unique()
    for weak in ("short", "password1234", "Summer2024!!!", f"{name}-secret!"):
        result = failure(lambda weak=weak: api.register(username=name, password=weak))
        assert (result.code, result.fields) == (OK.INVALID_ARGUMENT, ["password"]), weak
        assert weak not in result.message


def test_register_reports_every_bad_field_at_once(api: UserApi) -> None:
    request = user_pb2.RegisterRequest(
        username="x", email="nope", password="short", profile=user_pb2.Profile(phone_number="12345")
    )
    result = failure(lambda: api.stub.Register(request, timeout=TIMEOUT))
    assert result.fields == ["username", "email", "password", "profile.phone_number"]


def test_register_refuses_duplicates_case_insensitively(api: UserApi) -> None:
    user, _ = api.register()
    same_name = failure(lambda: api.register(username=user.username.upper(), email=f"{unique()}@example.com"))
    assert (same_name.code, same_name.reason) == (OK.ALREADY_EXISTS, "USERNAME_TAKEN")
    same_email = failure(lambda: api.register(email=user.email.upper()))
    assert (same_email.code, same_email.reason) == (OK.ALREADY_EXISTS, "EMAIL_TAKEN")


def test_concurrent_registrations_of_one_username_create_one_user(api: UserApi) -> None:
    name, outcomes = unique(), []

    def attempt(i: int) -> None:
        try:
            api.register(username=name, email=f"{name}.{i}@example.com")
            outcomes.append("created")
        except grpc.RpcError as exc:
            outcomes.append(exc.code().name)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ALREADY_EXISTS"] * 5 + ["created"]


def test_register_replay_with_the_same_request_id_returns_the_first_user(api: UserApi) -> None:
    name, password, key = unique(), strong_password(), unique("req-")
    first, _ = api.register(username=name, password=password, request_id=key)
    again, _ = api.register(username=name, password=password, request_id=key)
    assert again.id == first.id
    other_body = failure(lambda: api.register(username=unique(), password=password, request_id=key))
    assert (other_body.code, other_body.reason) == (OK.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED")
    other_password = failure(lambda: api.register(username=name, password=strong_password(), request_id=key))
    assert other_password.reason == "IDEMPOTENCY_KEY_REUSED"


# -- Login ---------------------------------------------------------------------------------


def test_login_by_username_or_email_returns_a_verifiable_token_pair(
    api: UserApi, auth_settings: AuthSettings, keyring: Keyring
) -> None:
    user, password = api.register()
    by_name = api.login(user.username.upper(), password)
    by_email = api.login(user.email.upper(), password)
    assert by_name.user.id == by_email.user.id == user.id
    pair = by_name.tokens
    assert pair.token_type == "Bearer" and pair.expires_in == 900 and len(pair.refresh_token) == 43
    assert pair.refresh_token != by_email.tokens.refresh_token
    header = jwt.get_unverified_header(pair.access_token)
    assert header["alg"] == "ES256" and header["kid"] == keyring.current_kid()
    principal = JwtVerifier(auth_settings).verify(pair.access_token)
    claims = principal.claims
    assert principal.subject == user.id and principal.roles == {"customer"}
    assert claims["iss"] == auth_settings.issuer and claims["aud"] == auth_settings.audience
    assert claims["exp"] - claims["iat"] == 900 and claims["jti"]


def test_unknown_user_and_wrong_password_get_the_same_answer(api: UserApi) -> None:
    user, _ = api.register()
    wrong = failure(lambda: api.login(user.username, "wrong-password-entirely"))
    unknown = failure(lambda: api.login(unique("ghost"), "wrong-password-entirely"))
    assert (wrong.code, wrong.reason, wrong.message) == (unknown.code, unknown.reason, unknown.message)
    assert (wrong.code, wrong.reason) == (OK.UNAUTHENTICATED, "INVALID_CREDENTIALS")
    empty = failure(lambda: api.login("", ""))
    assert (empty.code, empty.fields) == (OK.INVALID_ARGUMENT, ["login", "password"])


def _block_buckets(engine: Engine, login: str, hours: int = 1) -> None:
    """Make a login's blocked buckets stay blocked for ``hours``: no test waits on the clock."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE login_throttle SET blocked_until = now() + make_interval(hours => :h) "
                "WHERE login_digest = :d AND blocked_until IS NOT NULL"
            ),
            {"h": hours, "d": keyed_digest("login", login.lower())},
        )


def _throttle_answer(api: UserApi, login: str, password: str, address: str) -> tuple[object, ...]:
    result = failure(lambda: api.login(login, password, address=address))
    return result.code, result.reason, "retry_after_seconds" in result.metadata


def test_failures_past_the_allowance_throttle_the_same_for_unknown_and_existing_logins(
    api: UserApi, user_db: Engine
) -> None:
    user, password = api.register()
    ghost = unique("ghost")
    for login in (user.username, ghost):
        for _ in range(5):
            wrong = failure(
                lambda login=login: api.login(login, "wrong-password-entirely", address="10.0.0.1")
            )
            assert (wrong.code, wrong.reason) == (OK.UNAUTHENTICATED, "INVALID_CREDENTIALS")
        _block_buckets(user_db, login)
    # No ACCOUNT_LOCKED oracle: the same answer, with retry info, for an account and a made-up login.
    expected = (OK.RESOURCE_EXHAUSTED, "LOGIN_THROTTLED", True)
    assert _throttle_answer(api, user.username, "wrong-password-entirely", "10.0.0.1") == expected
    assert _throttle_answer(api, ghost, "wrong-password-entirely", "10.0.0.1") == expected
    # The right password is not even checked from the throttled address...
    assert _throttle_answer(api, user.username, password, "10.0.0.1") == expected
    # ...while the owner's own address is another bucket.
    assert api.login(user.username, password, address="10.0.0.2").user.id == user.id


def test_an_attacker_spraying_from_many_addresses_cannot_lock_the_owner_out(
    api: UserApi, user_db: Engine
) -> None:
    user, password = api.register()
    api.login(user.username, password, address="192.0.2.10")  # the owner's usual address
    answers = set()
    for i in range(60):
        result = failure(
            lambda i=i: api.login(user.username, "wrong-password-entirely", address=f"198.51.100.{i}")
        )
        answers.add((result.code, result.reason))
        if result.reason == "LOGIN_THROTTLED":
            break
    assert answers == {
        (OK.UNAUTHENTICATED, "INVALID_CREDENTIALS"),
        (OK.RESOURCE_EXHAUSTED, "LOGIN_THROTTLED"),
    }
    _block_buckets(user_db, user.username)
    # The account as a whole is throttled: a new address waits, even with the right password.
    assert _throttle_answer(api, user.username, password, "203.0.113.7")[1] == "LOGIN_THROTTLED"
    # The owner, from an address the account has logged in from, is not kept out.
    assert api.login(user.username, password, address="192.0.2.10").user.id == user.id


def test_a_successful_login_resets_the_failure_count(api: UserApi) -> None:
    user, password = api.register()
    for _ in range(4):
        failure(lambda: api.login(user.username, "wrong-password-entirely"))
    api.login(user.username, password)
    for _ in range(4):
        assert (
            failure(lambda: api.login(user.username, "wrong-password-entirely")).reason
            == "INVALID_CREDENTIALS"
        )


def test_login_upgrades_a_hash_made_with_old_parameters(api: UserApi, user_db: Engine) -> None:
    user, password = api.register()
    old_hash = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(password)
    with user_db.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": old_hash, "id": user.id}
        )
    api.login(user.username, password)
    with user_db.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT password_hash FROM users WHERE id = :id"), {"id": user.id}
        ).scalar()
    assert stored != old_hash and stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert api.login(user.username, password).user.id == user.id


# -- RefreshToken and Logout --------------------------------------------------------------------


def test_refresh_rotates_the_token(api: UserApi) -> None:
    actor = api.new_customer()
    second = api.refresh(actor.refresh_token)
    assert second.refresh_token != actor.refresh_token and second.access_token
    third = api.refresh(second.refresh_token)
    assert third.refresh_token not in (actor.refresh_token, second.refresh_token)


def test_two_tabs_refreshing_at_once_both_stay_logged_in(api: UserApi) -> None:
    actor = api.new_customer()
    results: list[str] = []

    def refresh() -> None:
        try:
            results.append(api.refresh(actor.refresh_token).refresh_token)
        except grpc.RpcError as exc:
            results.append(exc.code().name)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One successor, handed to both: never a second live chain.
    assert len(set(results)) == 1 and all(len(r) == 43 for r in results)
    api.refresh(results[0])


def test_replays_within_the_grace_window_return_the_same_successor(api: UserApi, user_db: Engine) -> None:
    actor = api.new_customer()
    first = api.refresh(actor.refresh_token)
    with ThreadPoolExecutor(max_workers=8) as pool:
        replays = list(pool.map(lambda _: api.refresh(actor.refresh_token), range(8)))
    assert {r.refresh_token for r in replays} == {first.refresh_token}
    assert all(r.access_token and r.refresh_expire_time == first.refresh_expire_time for r in replays)
    with user_db.connect() as conn:
        tokens = conn.execute(
            sa.text(
                "SELECT count(*) FROM refresh_tokens WHERE family_id = "
                "(SELECT family_id FROM refresh_tokens WHERE token_hash = :h)"
            ),
            {"h": token_digest(actor.refresh_token)},
        ).scalar()
    assert tokens == 2  # the original and its one successor: no fork
    # The chain goes on from the successor; then a replay of the original is theft.
    api.refresh(first.refresh_token)
    with user_db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute' "
                "WHERE token_hash = :h"
            ),
            {"h": token_digest(actor.refresh_token)},
        )
    reused = failure(lambda: api.refresh(actor.refresh_token))
    assert (reused.code, reused.reason) == (OK.UNAUTHENTICATED, "REFRESH_TOKEN_REUSED")


def test_concurrent_replays_after_the_grace_window_revoke_the_family(api: UserApi, user_db: Engine) -> None:
    actor = api.new_customer()
    successor = api.refresh(actor.refresh_token).refresh_token
    with user_db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute' "
                "WHERE token_hash = :h"
            ),
            {"h": token_digest(actor.refresh_token)},
        )
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: failure(lambda: api.refresh(actor.refresh_token)).reason, range(4)))
    # The first is detected as reuse; the others find the family already revoked.
    assert sorted(answers) == ["REFRESH_TOKEN_REUSED"] + ["REFRESH_TOKEN_REVOKED"] * 3
    assert failure(lambda: api.refresh(successor)).reason == "REFRESH_TOKEN_REVOKED"


def test_reuse_after_the_grace_window_revokes_the_family(api: UserApi, user_db: Engine) -> None:
    actor = api.new_customer()
    successor = api.refresh(actor.refresh_token).refresh_token
    with user_db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute' "
                "WHERE token_hash = :h"
            ),
            {"h": token_digest(actor.refresh_token)},
        )
    reused = failure(lambda: api.refresh(actor.refresh_token))
    assert (reused.code, reused.reason) == (OK.UNAUTHENTICATED, "REFRESH_TOKEN_REUSED")
    # The thief's or the owner's successor is dead too.
    revoked = failure(lambda: api.refresh(successor))
    assert (revoked.code, revoked.reason) == (OK.UNAUTHENTICATED, "REFRESH_TOKEN_REVOKED")


def test_expired_refresh_tokens_are_refused(api: UserApi, user_db: Engine) -> None:
    actor = api.new_customer()
    with user_db.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = :h"
            ),
            {"h": token_digest(actor.refresh_token)},
        )
    expired = failure(lambda: api.refresh(actor.refresh_token))
    assert (expired.code, expired.reason) == (OK.UNAUTHENTICATED, "REFRESH_TOKEN_EXPIRED")


def test_logout_revokes_and_is_idempotent(api: UserApi) -> None:
    actor = api.new_customer()
    api.stub.Logout(user_pb2.LogoutRequest(refresh_token=actor.refresh_token), timeout=TIMEOUT)
    revoked = failure(lambda: api.refresh(actor.refresh_token))
    assert (revoked.code, revoked.reason) == (OK.UNAUTHENTICATED, "REFRESH_TOKEN_REVOKED")
    api.stub.Logout(user_pb2.LogoutRequest(refresh_token=actor.refresh_token), timeout=TIMEOUT)
    api.stub.Logout(user_pb2.LogoutRequest(refresh_token="not-a-token"), timeout=TIMEOUT)


def test_unknown_refresh_tokens_are_refused(api: UserApi) -> None:
    for token in ("", "garbage", "x" * 500):
        result = failure(lambda token=token: api.refresh(token))
        assert (result.code, result.reason) == (OK.UNAUTHENTICATED, "REFRESH_TOKEN_INVALID")


# -- IssueServiceToken and GetJwks ---------------------------------------------------------------


def test_a_service_gets_a_service_token(api: UserApi, auth_settings: AuthSettings) -> None:
    response = api.stub.IssueServiceToken(
        user_pb2.IssueServiceTokenRequest(client_id="payment", client_secret=SERVICE_SECRET), timeout=TIMEOUT
    )
    principal = JwtVerifier(auth_settings).verify(response.access_token)
    assert principal.subject == "svc_payment" and principal.roles == {"service"}
    assert response.expires_in == 900
    # A service may read a customer (e.g. to address a payment receipt).
    customer = api.new_customer()
    got = api.stub.GetUser(
        user_pb2.GetUserRequest(user_id=customer.id),
        timeout=TIMEOUT,
        metadata=(("authorization", f"Bearer {response.access_token}"),),
    )
    assert got.user.id == customer.id


def test_wrong_or_unknown_service_credentials_are_refused(api: UserApi) -> None:
    for client_id, secret in (("payment", "not-the-secret-at-all"), ("ledger", SERVICE_SECRET), ("", "")):
        result = failure(
            lambda c=client_id, s=secret: api.stub.IssueServiceToken(
                user_pb2.IssueServiceTokenRequest(client_id=c, client_secret=s), timeout=TIMEOUT
            )
        )
        assert (result.code, result.reason) == (OK.UNAUTHENTICATED, "INVALID_CLIENT_CREDENTIALS")


def test_jwks_publishes_the_keyring(api: UserApi, keyring: Keyring) -> None:
    response = api.stub.GetJwks(user_pb2.GetJwksRequest(), timeout=TIMEOUT)
    published = [{f.name: v for f, v in key.ListFields()} for key in response.keys]
    assert published == keyring.jwks()["keys"]
    assert keyring.current_kid() in {key.kid for key in response.keys}
    assert all(key.kty == "EC" and key.alg == "ES256" and key.use == "sig" for key in response.keys)


def test_quiet_throttle_buckets_are_purged(api: UserApi, user_db: Engine) -> None:
    stale = keyed_digest("login", unique("long-gone"))
    with user_db.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO login_throttle (login_digest, address_digest, failures, "
                "last_failure_at) VALUES (:d, '', 3, now() - interval '2 days')"
            ),
            {"d": stale},
        )

    def left() -> int:
        with user_db.connect() as conn:
            return int(
                conn.execute(
                    sa.text("SELECT count(*) FROM login_throttle WHERE login_digest = :d"), {"d": stale}
                ).scalar_one()
            )

    # Each failed login purges up to 100 quiet buckets; other tests leave some too.
    for _ in range(20):
        failure(lambda: api.login(unique("ghost"), "wrong-password-entirely"))
        if left() == 0:
            break
    assert left() == 0


def test_register_stores_real_world_numbers_in_e164(api: UserApi) -> None:
    # Numbering plans of several countries, written as people write them.
    for written, stored in (
        ("+49 (0)30 901820", "+4930901820"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("+81 3-1234-5678", "+81312345678"),
        ("+55 11 91234-5678", "+5511912345678"),
    ):
        user, _ = api.register(profile=user_pb2.Profile(phone_number=written))
        assert user.profile.phone_number == stored, written


def test_register_refuses_numbers_outside_their_numbering_plan(api: UserApi) -> None:
    for number in ("+1 555 0100", "+44 7700 900123", "+999 1234 5678", "030 901820"):
        result = failure(lambda number=number: api.register(profile=user_pb2.Profile(phone_number=number)))
        assert (result.code, result.fields) == (OK.INVALID_ARGUMENT, ["profile.phone_number"]), number


def test_register_normalizes_an_internationalized_domain_and_refuses_tricky_emails(api: UserApi) -> None:
    name = unique()
    user, _ = api.register(username=name, email=f"{name}@Bücher.example")
    assert user.email == f"{name}@xn--bcher-kva.example"
    for email in (
        f'"{name} x"@example.com',
        f"{name}@localhost",
        f"{name}@exa\u200bmple.com",
        f"{name}@[192.0.2.1]",
        f"Ada <{name}@example.com>",
        f"{name}@mail.test",
    ):
        result = failure(lambda email=email: api.register(email=email))
        assert (result.code, result.fields) == (OK.INVALID_ARGUMENT, ["email"]), email
