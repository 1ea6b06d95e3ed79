"""The in-transaction variant of the idempotency contract on a real PostgreSQL.

The key and its response commit or roll back with the effect; a replay returns the first
response; another request under the key is IDEMPOTENCY_KEY_REUSED; a duplicate while the first
transaction is open is ABORTED (REQUEST_IN_PROGRESS) at once; an expired key executes again.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime.db import UnitOfWork, create_engine, run_in_transaction
from services.runtime.errors import Aborted, AlreadyExists
from services.runtime.idempotency import Claim, IdempotencyStore, create_table_sql

TABLE = "intx_idempotency_keys"


@pytest.fixture(scope="module")
def engine(pg: EmbeddedPostgres) -> Iterator[Engine]:
    engine = create_engine(pg.url("postgres"))
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}, intx_effects"))
        connection.exec_driver_sql(create_table_sql(TABLE))
        connection.execute(sa.text("CREATE TABLE intx_effects (key text, value text)"))
    yield engine
    engine.dispose()


def _execute(store: IdempotencyStore, key: str, value: str, *, fail: bool = False) -> bytes:
    """One request: the effect (a row) and its response stored in one transaction."""

    def work(session: Session) -> bytes:
        claim = store.claim_in_transaction(session, "usr_1", key, "Write", f"fp-{value}")
        if isinstance(claim, bytes):
            return claim
        session.execute(sa.text("INSERT INTO intx_effects VALUES (:k, :v)"), {"k": key, "v": value})
        if fail:
            raise RuntimeError("the effect failed")
        response = f"wrote {value}".encode()
        store.complete_in_transaction(session, claim, response, key)
        return response

    return run_in_transaction(store.engine, work)


def _effects(engine: Engine, key: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM intx_effects WHERE key = :k"), {"k": key}
            ).scalar_one()
        )


def test_a_replay_returns_the_first_response_and_runs_nothing(engine: Engine) -> None:
    store = IdempotencyStore(engine, table=TABLE)
    assert _execute(store, "k1", "a") == b"wrote a"
    assert _execute(store, "k1", "a") == b"wrote a"
    assert _effects(engine, "k1") == 1
    with pytest.raises(AlreadyExists) as caught:
        _execute(store, "k1", "b")
    assert caught.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_a_failed_effect_leaves_no_key(engine: Engine) -> None:
    store = IdempotencyStore(engine, table=TABLE)
    with pytest.raises(RuntimeError):
        _execute(store, "k2", "a", fail=True)
    assert _effects(engine, "k2") == 0
    assert _execute(store, "k2", "b") == b"wrote b"  # the key was not spent: another body is fine


def test_a_duplicate_while_the_first_is_open_is_aborted_at_once(engine: Engine) -> None:
    store = IdempotencyStore(engine, table=TABLE)
    with UnitOfWork(engine)() as first:
        claim = store.claim_in_transaction(first, "usr_1", "k3", "Write", "fp-a")
        assert isinstance(claim, Claim)
        with pytest.raises(Aborted) as caught:
            _execute(store, "k3", "a")  # another transaction, while the first holds the key
        assert caught.value.reason == "REQUEST_IN_PROGRESS"
        store.complete_in_transaction(first, claim, b"first", "k3")
        first.commit()
    assert _execute(store, "k3", "a") == b"first"


def test_an_expired_key_executes_again(engine: Engine) -> None:
    store = IdempotencyStore(engine, table=TABLE)
    assert _execute(store, "k4", "a") == b"wrote a"
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"UPDATE {TABLE} SET expire_time = now() - interval '1 second' WHERE key = 'k4'")
        )
    assert _execute(store, "k4", "b") == b"wrote b"
    assert _execute(store, "k4", "b") == b"wrote b"
    assert _effects(engine, "k4") == 2
    assert store.purge_expired() == 0  # the key is live again
