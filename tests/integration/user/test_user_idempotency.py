"""Register under the one idempotency contract (services/runtime/idempotency.py), over real gRPC.

A stored error is replayed even when the request would now succeed; a concurrent duplicate
is ABORTED (REQUEST_IN_PROGRESS) at once instead of waiting; erasure forgets the stored answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
import sqlalchemy as sa
from nexafi.user.v1 import user_pb2
from sqlalchemy.engine import Engine

from tests.integration.user.user_support import TIMEOUT, UserApi, strong_password, unique
from tests.support.grpc_errors import failure

OK = grpc.StatusCode


def _erase(api: UserApi, user_id: str) -> None:
    api.stub.DeleteUser(
        user_pb2.DeleteUserRequest(user_id=user_id, erase=True), timeout=TIMEOUT, metadata=api.staff("admin")
    )


def _wait_for(condition: Callable[[], bool], what: str, limit_seconds: float = 20.0) -> None:
    """Poll until ``condition`` holds (a state of the database, not a duration, is what is awaited)."""
    deadline = time.monotonic() + limit_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _key_state(user_db: Engine, key: str) -> str | None:
    with user_db.connect() as conn:
        state = conn.execute(
            sa.text("SELECT state FROM idempotency_keys WHERE key = :k"), {"k": key}
        ).scalar()
    return state if isinstance(state, str) else None


def test_a_stored_error_is_replayed_even_when_the_request_would_now_succeed(api: UserApi) -> None:
    holder, _ = api.register()
    name, password, key = unique(), strong_password(), unique("req-")

    def attempt() -> object:
        return api.register(username=name, email=holder.email, password=password, request_id=key)

    first = failure(attempt)
    assert (first.code, first.reason) == (OK.ALREADY_EXISTS, "EMAIL_TAKEN")
    # Erasure frees the email: a new request would now succeed, the key's answer stays.
    _erase(api, holder.id)
    again = failure(attempt)
    assert (again.code, again.reason, again.message) == (first.code, first.reason, first.message)
    fresh, _ = api.register(username=name, email=holder.email, password=password, request_id=unique("req-"))
    assert fresh.email == holder.email


def test_validation_errors_do_not_consume_the_key(api: UserApi) -> None:
    name, password, key = unique(), strong_password(), unique("req-")
    bad = failure(
        lambda: api.register(username=name, email="not-an-email", password=password, request_id=key)
    )
    assert bad.code == OK.INVALID_ARGUMENT
    user, _ = api.register(username=name, password=password, request_id=key)
    assert user.username == name


def test_a_concurrent_duplicate_is_aborted_at_once(api: UserApi, user_db: Engine) -> None:
    name, password, key = unique(), strong_password(), unique("req-")
    email = f"{name}@example.com"
    outcome: dict[str, object] = {}
    # An uncommitted account with the same username holds the unique index: the first request
    # claims its key, then waits on that index until this transaction ends.
    with user_db.connect() as blocker:
        blocker.execute(
            sa.text(
                "INSERT INTO users (id, username, email, roles, token_version) VALUES (:id, :u, :e, '{}', 0)"
            ),
            {"id": unique("usr_blocker"), "u": name, "e": unique() + "@x.io"},
        )

        def first() -> None:
            try:
                outcome["user"], _ = api.register(
                    username=name, email=email, password=password, request_id=key
                )
            except grpc.RpcError as error:
                outcome["error"] = error

        thread = threading.Thread(target=first)
        thread.start()
        try:
            _wait_for(lambda: _key_state(user_db, key) == "running", "the first request to claim its key")
            duplicate = failure(
                lambda: api.register(username=name, email=email, password=password, request_id=key)
            )
            assert (duplicate.code, duplicate.reason) == (OK.ABORTED, "REQUEST_IN_PROGRESS")
        finally:
            blocker.rollback()
            thread.join(30)
    assert "error" not in outcome, outcome
    created = outcome["user"]
    assert isinstance(created, user_pb2.User)
    # The retry after the first finished gets its answer.
    replayed, _ = api.register(username=name, email=email, password=password, request_id=key)
    assert replayed == created and _key_state(user_db, key) == "done"


def test_erasure_forgets_the_stored_registration(api: UserApi, user_db: Engine) -> None:
    key = unique("req-")
    user, _ = api.register(profile=user_pb2.Profile(first_name="Grace"), request_id=key)
    assert _key_state(user_db, key) == "done"
    _erase(api, user.id)
    # The stored response held the name, the email and the profile.
    assert _key_state(user_db, key) is None
