"""The unit of work on a real PostgreSQL: commit, rollback by default, retries."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime.db import UnitOfWork, create_engine, database_failure, in_batches, run_in_transaction
from services.runtime.errors import Unavailable


def test_nothing_is_kept_without_commit(pg: EmbeddedPostgres):
    engine = create_engine(pg.url("postgres"))
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE IF NOT EXISTS uow_probe (v int)"))
        c.execute(sa.text("TRUNCATE uow_probe"))
    with UnitOfWork(engine)() as session:
        session.execute(sa.text("INSERT INTO uow_probe VALUES (1)"))
    run_in_transaction(engine, lambda s: s.execute(sa.text("INSERT INTO uow_probe VALUES (2)")))
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT array_agg(v) FROM uow_probe")).scalar() == [2]
    engine.dispose()


def test_serialization_failures_are_retried_then_unavailable(pg: EmbeddedPostgres):
    # The client may retry just this call (the server re-runs the whole transaction): UNAVAILABLE,
    # which Envoy answers 503, with the delay to wait.
    engine = create_engine(pg.url("postgres"))
    calls = []

    def always_conflicts(session):
        calls.append(1)
        session.execute(sa.text("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"))

    with pytest.raises(Unavailable) as caught:
        run_in_transaction(engine, always_conflicts, attempts=3)
    assert len(calls) == 3
    assert caught.value.reason == "TRANSACTION_CONFLICT" and caught.value.retry_delay_seconds
    engine.dispose()


def test_database_failures_are_unavailable_and_bugs_are_not(tmp_path: Path):
    server = EmbeddedPostgres(tmp_path / "pg").start()
    engine = create_engine(server.url("postgres"), pool_size=1, max_overflow=0)
    try:
        # A bad statement is a bug: not retryable.
        with pytest.raises(DBAPIError) as bad:
            run_in_transaction(engine, lambda s: s.execute(sa.text("SELECT no_such_column")))
        assert database_failure(bad.value) is None
        # A statement cancelled for its time is a slow query, not an outage.
        with pytest.raises(DBAPIError) as slow:
            run_in_transaction(
                engine, lambda s: s.execute(sa.text("SET LOCAL statement_timeout = 10; SELECT pg_sleep(1)"))
            )
        assert database_failure(slow.value) is None
        # The pool exhausted: every connection is in use for longer than the pool waits.
        pool = create_engine(server.url("postgres"), pool_size=1, max_overflow=0)
        pool.pool._timeout = 0.2  # type: ignore[attr-defined]
        with pool.connect(), pytest.raises(sa.exc.TimeoutError) as exhausted:
            pool.connect()
        pool.dispose()
        failure = database_failure(exhausted.value)
        assert failure is not None and failure.reason == "DATABASE_UNAVAILABLE"
        # The server gone: a query on a pooled connection, then a new connection.
        assert run_in_transaction(engine, lambda s: s.execute(sa.text("SELECT 1")).scalar()) == 1
        server.stop()
        for _ in range(2):
            with pytest.raises(DBAPIError) as gone, engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            failure = database_failure(gone.value)
            assert failure is not None and failure.reason == "DATABASE_UNAVAILABLE", gone.value
            assert failure.retry_delay_seconds and failure.retry_delay_seconds > 0
    finally:
        engine.dispose()
        server.stop()


def test_a_database_restart_costs_no_request(tmp_path: Path):
    server = EmbeddedPostgres(tmp_path / "pg").start()
    engine = create_engine(server.url("postgres"), pool_size=2)
    try:
        assert run_in_transaction(engine, lambda s: s.execute(sa.text("SELECT 1")).scalar()) == 1
        server.stop()
        server.start()
        # The pooled connection is dead; the unit of work notices and uses a fresh one.
        assert run_in_transaction(engine, lambda s: s.execute(sa.text("SELECT 2")).scalar()) == 2
    finally:
        engine.dispose()
        server.stop()


def test_concurrent_units_of_work_do_not_share_sessions(pg: EmbeddedPostgres):
    engine = create_engine(pg.url("postgres"))
    seen: set[int] = set()
    lock = threading.Lock()

    def backend_pid(session) -> int:
        return int(session.execute(sa.text("SELECT pg_backend_pid()")).scalar())

    def slow_pid(session) -> int:
        session.execute(sa.text("SELECT pg_sleep(0.2)"))
        return backend_pid(session)

    def worker() -> None:
        pid = run_in_transaction(engine, slow_pid)
        with lock:
            seen.add(pid)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4
    engine.dispose()


def test_in_batches_walks_a_table_in_key_order_one_transaction_per_batch(pg: EmbeddedPostgres):
    engine = create_engine(pg.url("postgres"))
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE IF NOT EXISTS batch_probe (k text PRIMARY KEY)"))
        c.execute(sa.text("TRUNCATE batch_probe"))
        c.execute(sa.text("INSERT INTO batch_probe SELECT 'k' || g FROM generate_series(1, 5) g"))
    transactions: set[int] = set()

    def fetch(session: Session, after: str) -> list[str]:
        transactions.add(session.execute(sa.text("SELECT txid_current()")).scalar_one())
        rows = session.execute(
            sa.text("SELECT k FROM batch_probe WHERE k > :a ORDER BY k LIMIT 2"), {"a": after}
        )
        return [row.k for row in rows]

    batches = list(in_batches(engine, fetch, key=lambda k: k, start=""))
    assert batches == [["k1", "k2"], ["k3", "k4"], ["k5"]]
    assert len(transactions) == 4  # the empty fourth batch ends the walk
    engine.dispose()
