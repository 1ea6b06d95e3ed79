"""A service as a real process: graceful shutdown with an RPC in flight, and bad configuration."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.runtime.embedded_pg import EmbeddedPostgres
from tests.support import probe_service
from tests.support.harness import TokenFactory

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}", **env}
    return subprocess.Popen([sys.executable, "-m", "tests.support.probe_service", *args], cwd=ROOT,
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_serving(address: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(address)
            time.sleep(0.1)


def test_sigterm_finishes_the_rpc_in_flight(keys_dir: Path, tokens: TokenFactory):
    port = free_port()
    proc = launch({"PROBE_PORT": str(port), "NEXAFI_KEYS_DIR": str(keys_dir), "SHUTDOWN_GRACE_SECONDS": "10"})
    try:
        wait_serving(f"127.0.0.1:{port}")
        result: dict[str, object] = {}

        def slow_call() -> None:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                try:
                    result["value"] = channel.unary_unary(f"/{probe_service.SERVICE}/Sleep")(
                        b"1500", metadata=tokens.metadata("usr_1"), timeout=10)
                except grpc.RpcError as exc:
                    result["error"] = exc.code()

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(0.5)  # the RPC is now in flight
        proc.send_signal(signal.SIGTERM)
        caller.join(15)
        assert result == {"value": b"slept"}
        assert proc.wait(15) == 0
        # Once stopped, nothing listens any more.
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if proc.poll() is None:
            proc.kill()


def _one_line_failure(proc: subprocess.Popen[str]) -> str:
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_port_in_use_stops_with_one_line(keys_dir: Path):
    with socket.socket() as blocker:
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        line = _one_line_failure(launch({"PROBE_PORT": str(port), "NEXAFI_KEYS_DIR": str(keys_dir)}))
    assert line.startswith("nexafi-probe:") and "in use" in line


def test_missing_database_url_stops_with_one_line(keys_dir: Path):
    env = {"PROBE_PORT": str(free_port()), "DATABASE_URL": "", "PROBE_DATABASE_URL": ""}
    line = _one_line_failure(launch(env, "--with-db"))
    assert "DATABASE_URL" in line and "not set" in line


def test_unreachable_database_stops_with_one_line():
    env = {"PROBE_PORT": str(free_port()),
           "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"}
    line = _one_line_failure(launch(env, "--with-db"))
    assert "cannot reach the database" in line and "127.0.0.1" in line


def test_malformed_setting_stops_with_one_line():
    line = _one_line_failure(launch({"PROBE_PORT": "eighty"}))
    assert "PROBE_PORT must be an integer" in line


def test_reachable_database_serves(pg: EmbeddedPostgres, keys_dir: Path):
    port = free_port()
    proc = launch({"PROBE_PORT": str(port), "DATABASE_URL": pg.url("postgres"),
                   "NEXAFI_KEYS_DIR": str(keys_dir)}, "--with-db")
    try:
        wait_serving(f"127.0.0.1:{port}")
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


@pytest.mark.parametrize("signum", [signal.SIGINT])
def test_sigint_also_stops_cleanly(keys_dir: Path, signum: int):
    port = free_port()
    proc = launch({"PROBE_PORT": str(port), "NEXAFI_KEYS_DIR": str(keys_dir)})
    wait_serving(f"127.0.0.1:{port}")
    proc.send_signal(signum)
    assert proc.wait(15) == 0
