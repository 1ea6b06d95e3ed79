"""The mesh as real child processes, for fault tests: kill -9, restarts, a database restart, and a
TCP proxy that drops replies after the callee committed.

Each service runs as ``python -m services.<name>`` (its own interpreter, its own pools and
background jobs) on a fixed port of this machine, against a PostgreSQL of the test's own (so it
may be stopped without disturbing the session's). A killed service is restarted on the same port
at once: the runtime binds with SO_REUSEADDR, as grpc does.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from services.runtime.children import dying_with_parent, free_port, stop_process
from services.runtime.keys import Keyring

ROOT = Path(__file__).resolve().parents[2]
# Fast reconnects: a client of a restarted service should find it within a second.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class Stack:
    """User, ledger, payment and credit as child processes on one PostgreSQL of their own."""

    def __init__(
        self,
        root: Path,
        services: tuple[str, ...] = ("user", "ledger", "payment", "credit"),
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.keys = root / "keys"
        Keyring(self.keys).ensure()
        self.pg = EmbeddedPostgres(root / "pg", port=free_port())
        self.services = services
        self.ports = {name: free_port() for name in services}
        self.logs = root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.extra_env = dict(env or {})
        # Where each service dials the others; a test may point one at a proxy instead.
        self.addresses = {name: self.address(name) for name in services}
        self.dial_overrides: dict[str, dict[str, str]] = {}

    def address(self, name: str) -> str:
        return f"127.0.0.1:{self.ports[name]}"

    def client_env(self) -> dict[str, str]:
        """What a command run against the stack needs: the keys and every service's address."""
        env = {
            **os.environ,
            **self.extra_env,
            "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}",
            "NEXAFI_KEYS_DIR": str(self.keys),
            "JWKS_URL": str(self.keys / "jwks.json"),
        }
        env.pop("NEXAFI_ADMIN_TOKEN", None)
        for other, address in self.addresses.items():
            env[f"{other.upper()}_ADDR"] = address
        return env

    def env(self, name: str) -> dict[str, str]:
        env = {
            **self.client_env(),
            "DATABASE_URL": self.pg.url(f"nexafi_{name}"),
            f"{name.upper()}_HOST": "127.0.0.1",
            f"{name.upper()}_PORT": str(self.ports[name]),
            # No metrics listener: the fixed 946x ports would collide across parallel sessions.
            f"{name.upper()}_METRICS_PORT": "0",
            "SHUTDOWN_GRACE_SECONDS": "1",
            "LOG_LEVEL": self.extra_env.get("LOG_LEVEL", "WARNING"),
        }
        for other, address in self.dial_overrides.get(name, {}).items():
            env[f"{other.upper()}_ADDR"] = address
        return env

    # -- lifecycle ---------------------------------------------------------------------------------
    def start_database(self) -> None:
        """Start the stack's PostgreSQL; a failed initdb (seen now and then on this shared machine,
        "failed to remove contents of data directory") is retried in a fresh directory."""
        for attempt in range(3):
            try:
                self.pg.start()
                return
            except EmbeddedPostgresError:
                if attempt == 2:
                    raise
                self.pg = EmbeddedPostgres(self.root / f"pg{attempt + 1}", port=free_port())

    def start(self) -> Stack:
        if self.pg.process is None:
            self.start_database()
        for name in self.services:
            self.launch(name)
        for name in self.services:
            self.wait_serving(name)
        return self

    def launch(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            dying_with_parent([sys.executable, "-m", f"services.{name}"]),
            cwd=ROOT,
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_serving(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(self.address(name), options=CHANNEL_OPTIONS) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}: {self.log_tail(name)}")
                try:
                    reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not become healthy: {self.log_tail(name)}")

    def kill(self, name: str) -> None:
        """kill -9: no shutdown hook, no grace, in-flight requests cut."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def restart(self, name: str) -> None:
        self.launch(name)
        self.wait_serving(name)

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process(process, signal.SIGTERM, 5)
        self.pg.stop()

    def channel(self, name: str) -> grpc.Channel:
        return grpc.insecure_channel(self.address(name), options=CHANNEL_OPTIONS)


class ReplyDropper:
    """A TCP proxy that can drop the callee's reply: the request goes through and is executed
    (the ledger commits), then the connection is cut instead of the reply being passed on.

    HTTP/2 carries small control frames too (SETTINGS, PING, WINDOW_UPDATE); a chunk from the
    server of at least ``reply_bytes`` is taken for a reply. ``drop(n)`` cuts the next n replies.
    """

    def __init__(self, target: str, reply_bytes: int = 64) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.reply_bytes = reply_bytes
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._to_drop = 0
        self.dropped = 0
        self._closed = False
        threading.Thread(target=self._accept, name="reply-dropper", daemon=True).start()

    def drop(self, replies: int) -> None:
        with self._lock:
            self._to_drop += replies

    def cancel(self) -> None:
        """Forget the drops not yet used: what comes after the fault sees a healthy network."""
        with self._lock:
            self._to_drop = 0

    def _take_drop(self) -> bool:
        with self._lock:
            if self._to_drop <= 0:
                return False
            self._to_drop -= 1
            self.dropped += 1
            return True

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._pipe, args=(client,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        sockets = [client, server]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 1.0)
                if self._closed:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    if source is server and len(data) >= self.reply_bytes and self._take_drop():
                        # The callee answered, so it executed the call: lose the answer.
                        return
                    (server if source is client else client).sendall(data)
        except OSError:
            return
        finally:
            for s in sockets:
                # A reset, not an orderly close: the peer sees the connection break mid-call.
                with contextlib.suppress(OSError):
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
