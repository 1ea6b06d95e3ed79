"""A service as a real process: graceful shutdown with an RPC in flight, and bad configuration."""

from __future__ import annotations

import contextlib
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

from services.devtools.embedded_pg import EmbeddedPostgres
from tests.support import probe_service
from tests.support.harness import TokenFactory

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    full_env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}", **env}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.probe_service", *args],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_serving(address: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
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
                        b"1500", metadata=tokens.metadata("usr_1"), timeout=10
                    )
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
    env = {
        "PROBE_PORT": str(free_port()),
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
    }
    line = _one_line_failure(launch(env, "--with-db"))
    assert "cannot reach the database" in line and "127.0.0.1" in line


def test_malformed_setting_stops_with_one_line():
    line = _one_line_failure(launch({"PROBE_PORT": "eighty"}))
    assert "PROBE_PORT must be an integer" in line


def test_reachable_database_serves(pg: EmbeddedPostgres, keys_dir: Path):
    port = free_port()
    proc = launch(
        {"PROBE_PORT": str(port), "DATABASE_URL": pg.url("postgres"), "NEXAFI_KEYS_DIR": str(keys_dir)},
        "--with-db",
    )
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


def _tgkill(pid: int, tid: int, signum: int) -> None:
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    sys_tgkill = 234  # x86_64
    if libc.syscall(sys_tgkill, pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), "tgkill")


def test_a_stop_signal_taken_by_another_thread_still_stops_the_service(keys_dir: Path):
    # A process-directed signal may be delivered to any thread that does not block it (grpc's,
    # onnxruntime's, OpenCV's threads): the service must stop all the same. Seen under `make
    # run`: services that never logged the signal and were killed 20 s later.
    port = free_port()
    proc = launch({"PROBE_PORT": str(port), "NEXAFI_KEYS_DIR": str(keys_dir)})
    try:
        wait_serving(f"127.0.0.1:{port}")
        others = [int(tid) for tid in os.listdir(f"/proc/{proc.pid}/task") if int(tid) != proc.pid]
        assert others, "the server runs threads besides the main one"
        _tgkill(proc.pid, others[-1], signal.SIGTERM)
        assert proc.wait(15) == 0
        _, err = proc.communicate(timeout=5)
        assert "received SIGTERM, shutting down" in err and "nexafi-probe stopped" in err
    finally:
        if proc.poll() is None:
            proc.kill()


def _time_wait_left_on(port: int) -> bool:
    """Sockets of the stopped server linger on ``port``: a bind without SO_REUSEADDR fails."""
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
        return False


def _read_until_settings_ack(client: socket.socket) -> None:
    buffer = b""
    while True:
        while len(buffer) < 9:
            chunk = client.recv(65536)
            assert chunk, "the server closed the connection"
            buffer += chunk
        length, kind, flags = int.from_bytes(buffer[:3], "big"), buffer[3], buffer[4]
        while len(buffer) < 9 + length:
            chunk = client.recv(65536)
            assert chunk, "the server closed the connection"
            buffer += chunk
        buffer = buffer[9 + length :]
        if kind == 4 and flags & 1:  # SETTINGS with ACK
            return


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_a_restart_on_the_same_port_works_at_once(keys_dir: Path, tokens: TokenFactory, how: str):
    # A stopped or crashed server leaves its connections in TIME_WAIT (or FIN_WAIT) on its port;
    # the next start must bind at once, as grpc itself does (SO_REUSEADDR), not a minute later.
    port = free_port()
    env = {"PROBE_PORT": str(port), "NEXAFI_KEYS_DIR": str(keys_dir)}
    first = launch(env)
    channels: list[grpc.Channel] = []
    clients: list[socket.socket] = []
    try:
        wait_serving(f"127.0.0.1:{port}")
        # Connections open when the server goes away: a channel that made a call, and plain TCP
        # clients that wait for the server to close first (the server's side then lingers in
        # TIME_WAIT on the port, as behind a client that keeps its connections).
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        channel.unary_unary(f"/{probe_service.SERVICE}/WhoAmI")(
            b"", metadata=tokens.metadata("usr_1"), timeout=5
        )
        channels.append(channel)
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", port), timeout=15)
            # The HTTP/2 preface and an empty SETTINGS frame. The server's acknowledgement proves
            # it accepted the connection and read all we sent: a connection still in the backlog,
            # or one with unread data, would be reset by the kill rather than closed.
            client.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
            _read_until_settings_ack(client)
            clients.append(client)
        if how == "sigterm":
            first.send_signal(signal.SIGTERM)
        else:
            first.kill()
        first.wait(15)
        for client in clients:
            with contextlib.suppress(ConnectionResetError):
                while client.recv(65536):  # until the server's FIN
                    pass
            client.close()
        assert _time_wait_left_on(port), "the test needs lingering sockets on the port"
        second = launch(env)
        try:
            wait_serving(f"127.0.0.1:{port}")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
    finally:
        for channel in channels:
            channel.close()
        for client in clients:
            client.close()
        if first.poll() is None:
            first.kill()


def test_a_port_another_process_listens_on_still_fails_with_one_line(keys_dir: Path):
    port = free_port()
    env = {"PROBE_PORT": str(port), "NEXAFI_KEYS_DIR": str(keys_dir)}
    holder = launch(env)
    try:
        wait_serving(f"127.0.0.1:{port}")
        line = _one_line_failure(launch(env))
        assert line == f"nexafi-probe: cannot listen on 0.0.0.0:{port}: the port is in use", line
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(15)
