"""An embedded S3-protocol server for development and tests, from the ``moto[server]`` wheel.

No MinIO server binary is published on PyPI, so the dev stack and the tests speak the real
S3 protocol to moto's server instead (the document service's ``minio`` client cannot tell
the difference for the calls it makes). Production points ``DOCUMENT_S3_ENDPOINT`` at a real
MinIO or S3.

The server runs as a child process (``python -m moto.server``) on 127.0.0.1 and a free
port, with a parent-death signal, so killing the launcher (even with SIGKILL) stops it too:
no orphan server. It accepts any access key and secret; :attr:`EmbeddedS3.access_key` and
:attr:`EmbeddedS3.secret_key` are fixed development values the clients send.

Persistence: moto keeps every bucket and object in memory only. With ``data_dir`` the server
is :mod:`services.devtools.disk_s3` instead, the same moto server whose buckets and objects are
written to that folder before each request is answered and loaded back at start, so documents
survive a restart of ``make run``. Without it (the tests) objects live in memory only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from services.runtime.children import dying_with_parent, free_port, stop_process

DEV_ACCESS_KEY = "nexafi-dev-access-key"
DEV_SECRET_KEY = "nexafi-dev-secret-key-not-secret"  # noqa: S105 - any value is accepted by the dev server


class EmbeddedS3Error(Exception):
    """The embedded server could not start."""


class EmbeddedS3:
    """One S3-protocol server on 127.0.0.1."""

    access_key = DEV_ACCESS_KEY
    secret_key = DEV_SECRET_KEY
    host = "127.0.0.1"

    def __init__(self, port: int = 0, log_path: Path | None = None, data_dir: Path | None = None) -> None:
        self.port = port
        self.log_path = log_path
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """``host:port`` as the minio client takes it (plain HTTP, so ``secure=False``)."""
        return f"{self.host}:{self.port}"

    def env(self, bucket: str = "nexafi-documents") -> dict[str, str]:
        """The document service's storage settings for this server."""
        return {
            "DOCUMENT_S3_ENDPOINT": self.endpoint,
            "DOCUMENT_S3_ACCESS_KEY": self.access_key,
            "DOCUMENT_S3_SECRET_KEY": self.secret_key,
            "DOCUMENT_S3_BUCKET": bucket,
            "DOCUMENT_S3_SECURE": "false",
        }

    def start(self, timeout_seconds: float = 30.0) -> EmbeddedS3:
        """Start the server and wait until it answers S3 requests."""
        if self.process is not None:
            return self
        if not self.port:
            # moto prints its port only in a log line; choosing it here is simpler and the
            # window in which another process could take it is a few milliseconds.
            self.port = free_port(self.host)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        child_env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        argv = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        if self.data_dir is not None:
            argv = [
                sys.executable,
                "-m",
                "services.devtools.disk_s3",
                "-H",
                self.host,
                "-p",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ]
        # Own process group: a Ctrl-C at the terminal reaches the launcher, which stops the server.
        self.process = subprocess.Popen(
            dying_with_parent(argv, signal.SIGTERM),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_env,
            process_group=0,
            close_fds=True,
        )
        if log is not subprocess.DEVNULL:
            log.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout_seconds
        while not self._ready():
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise EmbeddedS3Error(f"the S3 server exited at start (code {code})")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedS3Error("the S3 server did not become ready in time")
            time.sleep(0.05)
        return self

    def stop(self, timeout_seconds: float = 10.0) -> None:
        if self.process is None:
            return
        stop_process(self.process, signal.SIGTERM, timeout_seconds)
        self.process = None

    def __enter__(self) -> EmbeddedS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _ready(self) -> bool:
        try:
            # The list-buckets call of the S3 API; any HTTP answer means the server is up.
            with urllib.request.urlopen(f"http://{self.endpoint}/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
