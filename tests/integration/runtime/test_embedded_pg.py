"""The embedded PostgreSQL's lifecycle: start, reuse, stop, and no orphan after a killed launcher."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

from services.devtools.embedded_pg import EmbeddedPostgres, postmaster_pid

ROOT = Path(__file__).resolve().parents[3]


def query(server: EmbeddedPostgres, sql: str) -> object:
    with psycopg2.connect(server.dsn()) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None


def wait_until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_start_stop_and_restart_keeps_data(tmp_path: Path):
    data = tmp_path / "pg"
    server = EmbeddedPostgres(data).start()
    assert str(query(server, "SHOW server_version")).startswith("16.")
    query(server, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
    server.stop()
    assert postmaster_pid(data) is None
    again = EmbeddedPostgres(data).start()
    try:
        assert query(again, "SELECT v FROM kept") == 42
    finally:
        again.stop()


def test_a_second_launcher_reuses_the_running_server(tmp_path: Path):
    first = EmbeddedPostgres(tmp_path / "pg").start()
    try:
        pid = postmaster_pid(first.data_dir)
        second = EmbeddedPostgres(tmp_path / "pg").start()
        assert postmaster_pid(second.data_dir) == pid
        second.stop()  # not its server: stopping it must leave the server running
        assert query(first, "SELECT 1") == 1
    finally:
        first.stop()


LAUNCHER = """
import sys, time
from services.devtools.embedded_pg import EmbeddedPostgres
EmbeddedPostgres(sys.argv[1]).start()
print("ready", flush=True)
time.sleep(600)
"""


def test_killing_the_launcher_leaves_no_orphan_server(tmp_path: Path):
    data = tmp_path / "pg"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}"}
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(data)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert launcher.stdout is not None
    assert launcher.stdout.readline().strip() == "ready"
    server_pid = postmaster_pid(data.resolve())
    assert server_pid is not None
    launcher.send_signal(signal.SIGKILL)
    launcher.wait(10)
    assert wait_until(lambda: postmaster_pid(data.resolve()) is None), "PostgreSQL outlived its launcher"
    # And the directory is reusable at once.
    server = EmbeddedPostgres(data).start()
    server.stop()
