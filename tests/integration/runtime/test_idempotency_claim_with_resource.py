"""``IdempotencyStore.run(claim_with_resource=True)`` on a real PostgreSQL: a new key is claimed by
``attach`` in the transaction that creates the resource (the payment service's InitiatePayment),
not in a transaction of its own before the work.

The contract is the same as ``run``'s: one resource per key, the first response (or error after
validation) replayed, a concurrent duplicate ABORTED (REQUEST_IN_PROGRESS) at once once the
resource exists, and a duplicate racing the creation rolled back there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime.db import create_engine, run_in_transaction
from services.runtime.errors import Aborted, AlreadyExists, NotFound, Unavailable
from services.runtime.idempotency import Claim, IdempotencyStore, StoredError, create_table_sql

TABLE = "cwr_idempotency_keys"


@pytest.fixture(scope="module")
def engine(pg: EmbeddedPostgres) -> Iterator[Engine]:
    engine = create_engine(pg.url("postgres"))
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}, cwr_resources"))
        connection.exec_driver_sql(create_table_sql(TABLE))
        connection.execute(sa.text("CREATE TABLE cwr_resources (id text PRIMARY KEY, key text)"))
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> IdempotencyStore:
    return IdempotencyStore(engine, table=TABLE)


def _run(store: IdempotencyStore, key: str, body: str, execute: Callable[[Claim], bytes]) -> bytes:
    return store.run("usr_1", key, "Create", f"fp-{body}", execute, claim_with_resource=True)


def _create(
    store: IdempotencyStore, key: str, resource: str, before: Callable[[], None] = lambda: None
) -> Callable[[Claim], bytes]:
    """An execute that creates ``resource`` and claims the key in one transaction; ``before`` runs
    first (while nothing of this request is written)."""

    def execute(claim: Claim) -> bytes:
        if claim.resource_id:
            return f"resumed {claim.resource_id}".encode()
        before()

        def work(session: Session) -> None:
            session.execute(sa.text("INSERT INTO cwr_resources VALUES (:id, :k)"), {"id": resource, "k": key})
            store.attach(session, claim, resource)

        run_in_transaction(store.engine, work)
        return f"created {resource}".encode()

    return execute


def _rows(engine: Engine, sql: str, key: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(sql), {"k": key}).scalar_one())


def _keys(engine: Engine, key: str) -> int:
    return _rows(engine, f"SELECT count(*) FROM {TABLE} WHERE key = :k", key)


def _resources(engine: Engine, key: str) -> int:
    return _rows(engine, "SELECT count(*) FROM cwr_resources WHERE key = :k", key)


def test_the_key_is_written_with_the_resource_and_its_response_replayed(
    store: IdempotencyStore, engine: Engine
) -> None:
    before_claim: list[int] = []
    execute = _create(store, "k1", "res_1", lambda: before_claim.append(_keys(engine, "k1")))
    assert _run(store, "k1", "a", execute) == b"created res_1"
    assert before_claim == [0]  # nothing written (nor committed) before the resource's transaction
    with engine.connect() as connection:
        row = connection.execute(
            sa.text(f"SELECT state, resource_id, response, lock_until FROM {TABLE} WHERE key = 'k1'")
        ).one()
    assert (row.state, row.resource_id, bytes(row.response), row.lock_until) == (
        "done",
        "res_1",
        b"created res_1",
        None,
    )

    def never(claim: Claim) -> bytes:
        raise AssertionError("a replay executes nothing")

    assert _run(store, "k1", "a", never) == b"created res_1"
    with pytest.raises(AlreadyExists):
        _run(store, "k1", "b", never)


def test_a_duplicate_once_the_resource_exists_is_aborted_at_once(
    store: IdempotencyStore, engine: Engine
) -> None:
    seen: list[str] = []

    def execute(claim: Claim) -> bytes:
        _create(store, "k2", "res_2")(claim)
        try:
            _run(store, "k2", "a", _create(store, "k2", "res_2b"))
        except Aborted as exc:
            seen.append(exc.reason)
        return b"created res_2"

    assert _run(store, "k2", "a", execute) == b"created res_2"
    assert seen == ["REQUEST_IN_PROGRESS"]
    assert _resources(engine, "k2") == 1


def test_a_duplicate_racing_the_creation_is_rolled_back(store: IdempotencyStore, engine: Engine) -> None:
    """Both found the key free; the second to create finds it claimed: its creation rolls back, it is
    ABORTED (a retry gets the first's response), and the first's key is untouched."""
    first = _create(store, "k3", "res_3a")

    def racing() -> None:
        assert _run(store, "k3", "a", first) == b"created res_3a"

    with pytest.raises(Aborted) as lost:
        _run(store, "k3", "a", _create(store, "k3", "res_3b", racing))
    assert lost.value.reason == "REQUEST_IN_PROGRESS"
    assert _resources(engine, "k3") == 1
    assert _run(store, "k3", "a", _create(store, "k3", "res_3c")) == b"created res_3a"


def test_an_error_before_the_resource_is_stored_and_replayed(store: IdempotencyStore, engine: Engine) -> None:
    def refuse(claim: Claim) -> bytes:
        raise NotFound("no such method", "PAYMENT_METHOD_NOT_FOUND")

    with pytest.raises(NotFound):
        _run(store, "k4", "a", refuse)
    with pytest.raises(StoredError) as replayed:
        _run(store, "k4", "a", _create(store, "k4", "res_4"))
    assert replayed.value.reason == "PAYMENT_METHOD_NOT_FOUND"
    assert _resources(engine, "k4") == 0


def test_a_transient_error_before_the_resource_stores_nothing(
    store: IdempotencyStore, engine: Engine
) -> None:
    def unavailable(claim: Claim) -> bytes:
        raise Unavailable("the ledger is down", "LEDGER_UNAVAILABLE")

    with pytest.raises(Unavailable):
        _run(store, "k5", "a", unavailable)
    assert _keys(engine, "k5") == 0
    assert _run(store, "k5", "b", _create(store, "k5", "res_5")) == b"created res_5"


def test_a_transient_error_after_the_resource_keeps_the_key_for_a_resuming_retry(
    store: IdempotencyStore, engine: Engine
) -> None:
    def created_then_lost(claim: Claim) -> bytes:
        _create(store, "k6", "res_6")(claim)
        raise Unavailable("the ledger's answer was lost", "LEDGER_UNAVAILABLE")

    with pytest.raises(Unavailable):
        _run(store, "k6", "a", created_then_lost)
    assert _run(store, "k6", "a", _create(store, "k6", "res_6b")) == b"resumed res_6"
    assert _resources(engine, "k6") == 1
