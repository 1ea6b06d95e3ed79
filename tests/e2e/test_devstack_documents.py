"""`make run` keeps documents across a restart: uploaded through Envoy, downloaded intact after it."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from minio import Minio

from services.devtools.embedded_s3 import DEV_ACCESS_KEY, DEV_SECRET_KEY
from tests.e2e.test_devstack import free_port, post_json

ROOT = Path(__file__).resolve().parents[2]


def stack_env(data: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "NEXAFI_DATA_DIR": str(data),
        "GATEWAY_PORT": str(free_port()),
        "ENVOY_ADMIN_PORT": str(free_port()),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}",
    }
    # As `make run` on a developer's machine: the embedded PostgreSQL and S3, not the session's.
    for name in [n for n in env if n == "DATABASE_URL" or n.startswith("DOCUMENT_S3_")]:
        del env[name]
    for name in ("USER", "LEDGER", "AI", "DOCUMENT", "ANALYTICS", "CREDIT", "PAYMENT"):
        env[f"{name}_PORT"] = str(free_port())
        env[f"{name}_METRICS_PORT"] = str(free_port())  # not the fixed 946x: tests run in parallel
    env["GATEWAY_METRICS_PORT"] = str(free_port())
    return env


@contextmanager
def running_stack(env: dict[str, str]) -> Iterator[list[str]]:
    """The launcher until it says it is up; stopped with Ctrl-C (SIGINT) on exit. Yields its output."""
    launcher = subprocess.Popen(
        [sys.executable, "-m", "services.devtools.devstack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert launcher.stdout is not None
    output: list[str] = []
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
        yield output
    finally:
        launcher.send_signal(signal.SIGINT)
        launcher.communicate(timeout=60)
    assert launcher.returncode == 0


def request(
    url: str, token: str, *, data: bytes | None = None, content_type: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    headers = {"authorization": f"Bearer {token}"}
    if content_type:
        headers["content-type"] = content_type
    method = "POST" if data is not None else "GET"
    call = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(call, timeout=30) as reply:
            return int(reply.status), dict(reply.headers), reply.read()
    except urllib.error.HTTPError as failed:
        return int(failed.code), dict(failed.headers), failed.read()


def s3_endpoint(output: list[str]) -> str:
    line = next(line for line in output if line.startswith("Document storage: embedded S3 on "))
    return line.split(" on ", 1)[1].split()[0]


@pytest.mark.slow
def test_a_document_survives_a_restart_of_the_dev_stack(tmp_path: Path) -> None:
    data = tmp_path / "data"
    content = b"%PDF-1.7\n" + os.urandom(300_000)
    env = stack_env(data)
    base = f"http://127.0.0.1:{env['GATEWAY_PORT']}/api/v1"
    password = "a long passphrase of mine"

    with running_stack(env):
        post_json(
            f"{base}/auth/register", {"username": "grace", "email": "grace@example.com", "password": password}
        )
        login = post_json(f"{base}/auth/login", {"login": "grace", "password": password})
        token, user_id = login["tokens"]["access_token"], login["user"]["id"]
        query = urllib.parse.urlencode(
            {
                "user_id": user_id,
                "filename": "passport.pdf",
                "document_type": "DOCUMENT_TYPE_PASSPORT",
                "request_id": uuid.uuid4().hex,
            }
        )
        status, _, body = request(
            f"{base}/documents/upload?{query}", token, data=content, content_type="application/pdf"
        )
        assert status == 200, body
        uploaded = json.loads(body)["document"]
        assert uploaded["sha256"] == hashlib.sha256(content).hexdigest()

    # The same data folder, new ports: everything comes back from disk.
    env = {**stack_env(data)}
    base = f"http://127.0.0.1:{env['GATEWAY_PORT']}/api/v1"
    with running_stack(env) as output:
        login = post_json(f"{base}/auth/login", {"login": "grace", "password": password})
        token = login["tokens"]["access_token"]
        status, headers, body = request(f"{base}/documents/{uploaded['id']}/content", token)
        assert status == 200, body
        assert body == content and hashlib.sha256(body).hexdigest() == uploaded["sha256"]
        assert headers["content-type"] == "application/pdf"

        # Lost behind the service's back: a clear DATA_LOSS naming the document, as JSON.
        client = Minio(
            s3_endpoint(output), access_key=DEV_ACCESS_KEY, secret_key=DEV_SECRET_KEY, secure=False
        )
        bucket = client.list_buckets()[0].name
        key = next(o.object_name for o in client.list_objects(bucket, recursive=True))
        client.remove_object(bucket, str(key))
        status, headers, body = request(f"{base}/documents/{uploaded['id']}/content", token)
        assert status == 500 and headers["content-type"].startswith("application/json")
        error = json.loads(body)
        assert error["code"] == 15 and uploaded["id"] in error["message"]
        info = next(d for d in error["details"] if d["@type"].endswith("google.rpc.ErrorInfo"))
        assert info["reason"] == "CONTENT_MISSING" and info["metadata"]["document_id"] == uploaded["id"]
