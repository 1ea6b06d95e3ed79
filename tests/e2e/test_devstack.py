"""`make run`'s launcher end to end: everything starts, answers through Envoy, and stops with nothing left."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from services.runtime.embedded_pg import postmaster_pid

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@pytest.mark.slow
def test_devstack_starts_serves_and_stops_cleanly(tmp_path: Path):
    gateway, admin = free_port(), free_port()
    env = {**os.environ, "NEXAFI_DATA_DIR": str(tmp_path / "data"), "GATEWAY_PORT": str(gateway),
           "ENVOY_ADMIN_PORT": str(admin), "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}"}
    # From nothing, as `make run` on a fresh machine: embedded PostgreSQL and S3, not the session's.
    for name in [n for n in env if n == "DATABASE_URL" or n.startswith("DOCUMENT_S3_")]:
        del env[name]
    for name, port in [("USER", free_port()), ("LEDGER", free_port()), ("AI", free_port()),
                       ("DOCUMENT", free_port()), ("ANALYTICS", free_port()), ("CREDIT", free_port()),
                       ("PAYMENT", free_port())]:
        env[f"{name}_PORT"] = str(port)
        env[f"{name}_METRICS_PORT"] = str(free_port())  # not the fixed 946x: tests run in parallel
    env["GATEWAY_METRICS_PORT"] = str(free_port())
    launcher = subprocess.Popen([sys.executable, "-m", "services.runtime.devstack"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert launcher.stdout is not None
    output = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("NexaFi is up"):
                break
        assert any(line.startswith("NexaFi is up") for line in output), "".join(output)

        # Envoy answers an unknown route with the JSON error shape.
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{gateway}/api/v1/nowhere", timeout=5)
        assert caught.value.code == 404
        assert caught.value.headers["content-type"] == "application/json"
        assert json.loads(caught.value.read())["code"] == 404

        # A first journey through Envoy into the user service, as the README suggests.
        body = json.dumps({"username": "ada", "email": "ada@example.com",
                           "password": "a long passphrase of mine"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{gateway}/api/v1/auth/register", data=body,
                                         headers={"content-type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert json.loads(reply.read())["user"]["username"] == "ada"
        # Every service of the mesh is up behind Envoy (once its first health check has run).
        health: dict = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{gateway}/api/v1/health", timeout=10) as reply:
                    health = json.loads(reply.read())
                break
            except urllib.error.HTTPError as failed:
                health = json.loads(failed.read())
                time.sleep(0.5)
        assert health.get("backends") == {name: "SERVING" for name in
                                      ("user", "ledger", "ai", "document", "analytics", "credit", "payment")}
        # Service identities were provisioned for the services that call others.
        clients = json.loads((tmp_path / "data" / "service-clients.json").read_text())
        assert set(clients) == {"payment", "credit", "analytics", "ai", "ledger", "document"}
        # No public development secrets: made at random into the data folder.
        made = json.loads((tmp_path / "data" / "dev-secrets.json").read_text())
        assert set(made) == {"PAYMENT_FINGERPRINT_KEY", "PAYMENT_SANDBOX_WEBHOOK_SECRET",
                             "DOCUMENT_MASTER_KEYS"}
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
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.communicate(timeout=60)
    assert launcher.returncode == 0
    pg_data = tmp_path / "data" / "pg"
    assert postmaster_pid(pg_data.resolve()) is None
    storage = next(line for line in output if line.startswith("Document storage: embedded S3 on "))
    s3_port = int(storage.split(" on ", 1)[1].split()[0].rsplit(":", 1)[1])
    for port in (gateway, admin, s3_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
