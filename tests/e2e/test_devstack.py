"""`make run`'s launcher end to end: everything starts, answers through Envoy, heals a crashed
service, stops on Ctrl-C with nothing left, and starts again at once on the same ports."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from services.devtools.embedded_pg import postmaster_pid

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("user", "ledger", "ai", "document", "analytics", "credit", "payment")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Launcher:
    """`make run` in its own session, as in a terminal: Ctrl-C goes to its whole process group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.devtools.devstack"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, prefix: str, timeout: float) -> bool:
        """True once a line containing ``prefix`` arrives (lines seen before are consumed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if line is None:
                return False
            if prefix in line:
                return True
        return False

    def text(self) -> str:
        return "".join(self.output)

    def session_processes(self) -> list[str]:
        """Every process of the launcher's session (PostgreSQL has its own group, not its own session)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            except OSError:
                continue
            if int(fields[3]) == self.process.pid and fields[0] != "Z":
                found.append(f"{entry.name} {cmdline}")
        return found

    def child_pid(self, service: str) -> int:
        for line in self.session_processes():
            pid, _, cmdline = line.partition(" ")
            if cmdline.endswith(f"-m services.{service}"):
                return int(pid)
        raise AssertionError(f"no {service} process:\n" + "\n".join(self.session_processes()))

    def ctrl_c(self, timeout: float = 60) -> float:
        """SIGINT to the whole group, as a terminal's Ctrl-C; the seconds until the launcher exited."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout)
        return time.monotonic() - started


def post_json(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())  # type: ignore[no-any-return]


def get_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as failed:
        return int(failed.code)


def gateway_health(gateway: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{gateway}/api/v1/health", timeout=10) as reply:
            return dict(json.loads(reply.read()))
    except urllib.error.HTTPError as failed:
        return dict(json.loads(failed.read()))
    except OSError:
        return {}


def wait_all_serving(gateway: int, timeout: float) -> dict:
    health: dict = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = gateway_health(gateway)
        if health.get("backends") == dict.fromkeys(SERVICES, "SERVING"):
            break
        time.sleep(0.5)
    return health


def is_listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_devstack_starts_serves_heals_stops_and_starts_again(tmp_path: Path):
    gateway, admin = free_port(), free_port()
    # A terminal's environment, not the test session's: the session's services leave their
    # addresses, secrets and settings in os.environ, which `make run` on a fresh machine never sees.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM", "NEXAFI_PG_FAST")
        or k.startswith("NEXAFI_ARGON2_")
    }
    env = {
        **inherited,
        "NEXAFI_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_PORT": str(gateway),
        "ENVOY_ADMIN_PORT": str(admin),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}",
    }
    # From nothing, as `make run` on a fresh machine: embedded PostgreSQL and S3, not the session's.
    for name in [n for n in env if n == "DATABASE_URL" or n.startswith("DOCUMENT_S3_")]:
        del env[name]
    service_ports = {name: free_port() for name in SERVICES}
    for name, port in service_ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_METRICS_PORT"] = str(free_port())  # not the fixed 946x: tests run in parallel
    env["GATEWAY_METRICS_PORT"] = str(free_port())
    launcher = Launcher(env)
    try:
        assert launcher.wait_for("NexaFi is up", 180), launcher.text()

        # Envoy answers an unknown route with the JSON error shape.
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{gateway}/api/v1/nowhere", timeout=5)
        assert caught.value.code == 404
        assert caught.value.headers["content-type"] == "application/json"
        assert json.loads(caught.value.read())["code"] == 404
        # The staff console is served by the stack's Envoy (its browser tests: test_gateway_console.py).
        assert "Staff console:" in launcher.text()
        with urllib.request.urlopen(f"http://127.0.0.1:{gateway}/console/", timeout=5) as page:
            assert page.headers["content-type"].startswith("text/html") and b"console.js" in page.read()

        # A first journey through Envoy into the user service, as the README suggests.
        body = json.dumps(
            {"username": "ada", "email": "ada@example.com", "password": "a long passphrase of mine"}
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{gateway}/api/v1/auth/register",
            data=body,
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert json.loads(reply.read())["user"]["username"] == "ada"
        # Every service of the mesh is up behind Envoy (once its first health check has run).
        assert wait_all_serving(gateway, 30).get("backends") == dict.fromkeys(SERVICES, "SERVING")
        # Service identities were provisioned for the services that call others.
        clients = json.loads((tmp_path / "data" / "service-clients.json").read_text())
        assert set(clients) == {"payment", "credit", "analytics", "ai", "ledger", "document"}
        # No public development secrets: made at random into the data folder.
        made = json.loads((tmp_path / "data" / "dev-secrets.json").read_text())
        assert set(made) == {
            "PAYMENT_FINGERPRINT_KEY",
            "PAYMENT_SANDBOX_WEBHOOK_SECRET",
            "DOCUMENT_MASTER_KEYS",
        }
        # Revocation works across the mesh: after "log out everywhere" the old token is
        # refused by the ledger (which reads the feed as its own service identity).
        base = f"http://127.0.0.1:{gateway}/api/v1"
        login = post_json(f"{base}/auth/login", {"login": "ada", "password": "a long passphrase of mine"})
        token, user_id = login["tokens"]["access_token"], login["user"]["id"]
        assert get_status(f"{base}/ledger/accounts", token) == 200
        post_json(f"{base}/users/{user_id}/sessions:revoke", {}, token)
        deadline = time.monotonic() + 5
        while get_status(f"{base}/ledger/accounts", token) != 401 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert get_status(f"{base}/ledger/accounts", token) == 401

        # kill -9 of a service: the launcher restarts it, the rest keeps running, and the
        # gateway sees it SERVING again.
        crashed = launcher.child_pid("payment")
        os.kill(crashed, signal.SIGKILL)
        assert launcher.wait_for("payment was killed by SIGKILL; restarting it", 30), launcher.text()
        assert launcher.wait_for("payment    gRPC on", 120), launcher.text()
        assert launcher.child_pid("payment") != crashed
        assert wait_all_serving(gateway, 60).get("backends") == dict.fromkeys(SERVICES, "SERVING")
        assert launcher.process.poll() is None
    finally:
        if launcher.process.poll() is None:
            stopped_in = launcher.ctrl_c()
            print(f"Ctrl-C: the launcher exited {stopped_in:.1f} s after the signal")
    assert launcher.process.returncode == 0, launcher.text()
    # Nothing is left: no process of the session, no listening port, no PostgreSQL.
    assert launcher.session_processes() == []
    pg_data = tmp_path / "data" / "pg"
    assert postmaster_pid(pg_data.resolve()) is None
    storage = next(line for line in launcher.output if line.startswith("Document storage: embedded S3 on "))
    s3_port = int(storage.split(" on ", 1)[1].split()[0].rsplit(":", 1)[1])
    for port in (gateway, admin, s3_port, *service_ports.values()):
        assert not is_listening(port), port
    # Every service drained and said so (none was killed for want of hearing the signal).
    for name in SERVICES:
        assert f"nexafi-{name} stopped" in launcher.text(), name
    assert "did not stop in time" not in launcher.text()

    # `make run` again at once, on the same ports and data: it starts.
    again = Launcher(env)
    try:
        assert again.wait_for("NexaFi is up", 180), again.text()
        assert wait_all_serving(gateway, 30).get("backends") == dict.fromkeys(SERVICES, "SERVING")
    finally:
        if again.process.poll() is None:
            again.ctrl_c()
    assert again.process.returncode == 0, again.text()
    assert again.session_processes() == []
