"""The unit of work on a real PostgreSQL: commit, rollback by default, retries."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.runtime.db import UnitOfWork, create_engine, run_in_transaction
from services.runtime.embedded_pg import EmbeddedPostgres
from services.runtime.errors import Aborted


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


def test_serialization_failures_are_retried_then_aborted(pg: EmbeddedPostgres):
    engine = create_engine(pg.url("postgres"))
    calls = []

    def always_conflicts(session):
        calls.append(1)
        session.execute(sa.text("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$"))

    with pytest.raises(Aborted):
        run_in_transaction(engine, always_conflicts, attempts=3)
    assert len(calls) == 3
    engine.dispose()


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
