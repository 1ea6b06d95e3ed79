"""gRPC server bootstrap shared by every service.

``serve(spec)`` is the whole ``__main__`` of a service: settings, logging,
telemetry, database check and migrations, the server with health, reflection
and the interceptor, and graceful shutdown on SIGTERM/SIGINT (health goes
NOT_SERVING, in-flight RPCs finish within the grace period). Bad configuration
stops it with one line on stderr, never a traceback.

``start_server`` is the same server without signals, for tests: port 0, a real socket.

Why the stop is written as it is (each was seen to hang ``make run``'s Ctrl-C):

* The signal handler only records the signal; the main thread polls for it. A process-directed
  signal may be taken by any thread that does not block it (OpenCV's, onnxruntime's and grpc's
  threads do not), and CPython then only sets a flag: a main thread blocked in ``Event.wait()``
  would never run the handler. A handler that takes a lock (``Event.set``) can also deadlock
  when a second signal (a terminal's SIGINT, then the launcher's SIGTERM) interrupts it.
* After the drain the process leaves with ``os._exit`` once logs and traces are flushed:
  tearing down the interpreter (grpc's and the libraries' objects) took 1 to 3 s per service
  measured here, time that a restart and ``make run``'s stop would wait for nothing.

``NEXAFI_WORKERS=N`` (default 1) runs N worker processes on one port, grpcio's multi-process
server: one Python interpreter is one core at most (the GIL), and a service on a machine with
cores to spare can use them without a second pod. The process started becomes a supervisor:
it migrates once, reserves the port with ``SO_REUSEPORT`` (bound, never listening, so it takes
no connection), and starts N fresh interpreters (``setpriv`` with a parent-death signal:
``children.dying_with_parent``), each with its own server bound to that port with
``SO_REUSEPORT``; the kernel spreads connections over them. Fresh interpreters rather than
``fork``: no grpc state, thread or open connection of the supervisor is copied into a worker
(``GRPC_ENABLE_FORK_SUPPORT`` stays 0). Worker i serves its metrics on the metrics port + i.
A stop signal is passed on to every worker; a worker that exits on its own stops the others
and the supervisor exits 1, so whoever restarts the service (Kubernetes, ``make run``) sees it.
``PeriodicJob``s run in worker 0 only (services/runtime/jobs.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import NoReturn

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from sqlalchemy.engine import Engine

from services.runtime import migrations
from services.runtime.auth import JwtVerifier
from services.runtime.children import dying_with_parent
from services.runtime.clock import Clock, system_clock
from services.runtime.config import ConfigError, Settings
from services.runtime.db import DatabaseUnreachable, check_connection, create_engine
from services.runtime.interceptors import ServerInterceptor
from services.runtime.jobs import WORKER_INDEX_ENV, worker_index
from services.runtime.logs import setup_logging
from services.runtime.metrics import serve_metrics
from services.runtime.revocation import GrpcRevocationFeed, RevocationCache
from services.runtime.telemetry import instrument_engine, setup_telemetry

log = logging.getLogger("nexafi.server")

# Large enough for document chunks and batches; services enforce their own limits.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
# How soon the main thread notices a stop signal that another thread received.
SIGNAL_POLL_SECONDS = 0.1


@dataclass
class ServiceContext:
    """What a service's ``register`` gets to build its servicers."""

    settings: Settings
    engine: Engine | None
    verifier: JwtVerifier
    # The revocation feed's cache the verifier checks (None when AUTH_REVOCATION=off). A
    # service that is the feed's source (the user service) sets its ``source`` in register.
    revocations: RevocationCache | None = None
    # The service's "now" for its decisions; tests pin it (see services/runtime/clock.py).
    clock: Clock = system_clock
    # Called on shutdown, before the server stops (e.g. to end change-feed streams).
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceSpec:
    """How to build one service."""

    name: str
    # Adds the servicers to the server; returns their full names for health and reflection.
    register: Callable[[grpc.Server, ServiceContext], Sequence[str]]
    public_methods: frozenset[str] = frozenset()
    # Calling service -> the RPCs of this service it may call (services.runtime.service_access);
    # a service identity not listed may call none.
    service_callers: Mapping[str, frozenset[str]] = field(default_factory=dict)
    needs_database: bool = True
    has_migrations: bool = True


@dataclass
class RunningServer:
    """A started server and what it needs to stop."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    service_names: Sequence[str]
    context: ServiceContext

    @property
    def address(self) -> str:
        return f"localhost:{self.port}"

    def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self.service_names]:
            self.health.set(name, status)

    def stop(self, grace: float | None = None) -> None:
        """Stop accepting RPCs, let in-flight ones finish within ``grace``, then release."""
        self.set_serving(False)
        for hook in self.context.on_shutdown:
            hook()
        if self.context.revocations is not None:
            self.context.revocations.stop()
        self.server.stop(grace).wait()
        if self.context.engine is not None:
            self.context.engine.dispose()


class PortInUse(Exception):
    """The gRPC port cannot be bound."""


def start_server(
    spec: ServiceSpec,
    settings: Settings,
    *,
    engine: Engine | None = None,
    verifier: JwtVerifier | None = None,
    clock: Clock = system_clock,
) -> RunningServer:
    """Build, bind and start the server of ``spec``; health says SERVING once it runs.

    ``clock`` is what the service decides with. Token expiry is checked by ``verifier`` on
    its own clock (the system's unless a verifier is given): tokens are minted by the user
    service on its clock, so a test that pins one service's clock leaves their checks alone.
    """
    if engine is None and spec.needs_database:
        assert settings.database_url is not None
        engine = create_engine(settings.database_url)
        instrument_engine(engine)
    if verifier is None:
        verifier = JwtVerifier(settings.auth, revocations=revocation_cache(settings))
    revocations = verifier.revocations if isinstance(verifier.revocations, RevocationCache) else None
    context = ServiceContext(
        settings=settings, engine=engine, verifier=verifier, revocations=revocations, clock=clock
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix=f"{spec.name}-rpc"),
        interceptors=[
            ServerInterceptor(
                context.verifier,
                spec.public_methods,
                page_token_key(settings),
                service_callers=spec.service_callers,
            )
        ],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # Only a worker of a multi-process server shares its port (with its siblings).
            ("grpc.so_reuseport", 1 if worker_index() is not None else 0),
        ],
    )
    if settings.port and worker_index() is None:
        _check_port_free(settings.host, settings.port)
    service_names = list(spec.register(server, context))
    if revocations is not None and revocations.source is None:
        revocations.source = GrpcRevocationFeed.for_service(spec.name)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    address = f"{settings.host}:{settings.port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise PortInUse(f"cannot listen on {address}: the port is in use or not available")
    if revocations is not None:
        # Before serving: a first read, so staff are not refused while the cache is empty.
        revocations.start()
    server.start()
    running = RunningServer(server, port, health_servicer, service_names, context)
    running.set_serving(True)
    return running


def revocation_cache(settings: Settings) -> RevocationCache | None:
    """The cache of the user service's revocation feed, unless AUTH_REVOCATION=off."""
    auth = settings.auth
    if auth.revocation != "feed":
        return None
    return RevocationCache(
        poll_seconds=auth.revocation_poll_seconds,
        max_staleness_seconds=auth.revocation_max_staleness_seconds,
        fail_closed=auth.revocation_fail_closed,
    )


def page_token_key(settings: Settings) -> bytes:
    """The key that signs the service's page tokens, the same on every replica.

    ``<SERVICE>_PAGE_TOKEN_KEY`` when set (production should set it); else derived from the
    service's name and database URL, which its replicas share and clients never see (in
    development the URL is guessable; a token forged with it still only carries a position
    the list checks, bound to its query); without a database, a key for this process only.
    """
    if settings.page_token_secret:
        secret = settings.page_token_secret.encode()
    elif settings.database_url:
        secret = settings.database_url.encode()
    else:
        return os.urandom(32)
    return hmac.new(b"nexafi-page-tokens:" + settings.service.encode(), secret, hashlib.sha256).digest()


def _check_port_free(host: str, port: int) -> None:
    # grpc logs its own multi-line error on a failed bind; check first to fail in one line.
    # SO_REUSEADDR as grpc binds: sockets of a stopped or crashed predecessor lingering in
    # TIME_WAIT must not stop a restart, while a port another process listens on still fails.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUse(f"cannot listen on {host}:{port}: the port is in use") from None


def serve(spec: ServiceSpec) -> int:
    """Run ``spec`` until SIGTERM or SIGINT, then drain and leave the process (exit code 0).

    Returns only when the service could not start: the exit code for ``sys.exit``."""
    prog = f"nexafi-{spec.name}"
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)  # no lock, no I/O: see the module docstring

    # From the first moment: a stop asked for during the start is honoured once the server
    # runs (rather than a KeyboardInterrupt traceback from the middle of a migration).
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        settings = Settings.from_env(spec.name, needs_database=spec.needs_database)
        setup_logging(spec.name, settings.log_level, settings.log_json)
        workers = _workers()
        if workers > 1 and worker_index() is None:
            if spec.needs_database and spec.has_migrations and _migrate_on_start():
                assert settings.database_url is not None
                migrations.upgrade(spec.name, settings.database_url)
            return _supervise(spec, settings, workers, received)
        setup_telemetry(spec.name)
        engine = None
        if spec.needs_database:
            assert settings.database_url is not None
            if spec.has_migrations and _migrate_on_start():
                migrations.upgrade(spec.name, settings.database_url)
            engine = create_engine(settings.database_url)
            check_connection(engine)
            instrument_engine(engine)
        running = start_server(spec, settings, engine=engine)
        if settings.metrics_port:
            try:
                serve_metrics(settings.host, settings.metrics_port)
            except OSError:
                running.stop(0)
                raise PortInUse(
                    f"cannot serve metrics on {settings.host}:{settings.metrics_port}: the port is in use"
                ) from None
    except (ConfigError, DatabaseUnreachable, PortInUse) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line at start, not a traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "could not connect" in reason or "connection" in reason.lower():
            print(f"{prog}: cannot reach the database: {reason}", file=sys.stderr)
        else:
            print(f"{prog}: failed to start: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1

    log.info("%s listening on port %d (metrics: %s)", prog, running.port, settings.metrics_port or "off")
    while not received:
        time.sleep(SIGNAL_POLL_SECONDS)
    log.info(
        "received %s, shutting down (grace %gs)", signal.Signals(received[0]).name, settings.grace_seconds
    )
    running.stop(settings.grace_seconds)
    log.info("%s stopped", prog)
    _exit_at_once(0)


def _workers() -> int:
    raw = os.environ.get("NEXAFI_WORKERS", "1").strip() or "1"
    try:
        workers = int(raw)
    except ValueError:
        raise ConfigError(f"NEXAFI_WORKERS must be a whole number, got {raw!r}") from None
    if not 1 <= workers <= 64:
        raise ConfigError(f"NEXAFI_WORKERS must be between 1 and 64, got {workers}")
    return workers


def _reserve_port(host: str, port: int) -> socket.socket:
    """The port the workers share, held (bound with SO_REUSEPORT, not listening) by the supervisor."""
    if port:
        _check_port_free(host, port)  # no other process may already listen there, reuseport or not
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reserved = socket.socket(family, socket.SOCK_STREAM)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reserved.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        reserved.bind((host.strip("[]"), port))
    except OSError:
        reserved.close()
        raise PortInUse(f"cannot listen on {host}:{port}: the port is in use or not available") from None
    return reserved


def _supervise(spec: ServiceSpec, settings: Settings, workers: int, received: list[int]) -> int:
    """Run ``workers`` worker processes on one port until a stop signal or a worker's exit."""
    prog = f"nexafi-{spec.name}"
    reserved = _reserve_port(settings.host, settings.port)
    port = int(reserved.getsockname()[1])
    prefix = spec.name.upper()
    # The same command line again (``python -m services.<name>``), as a worker.
    argv = dying_with_parent([sys.executable, *sys.orig_argv[1:]])
    children: list[subprocess.Popen[bytes]] = []
    for index in range(workers):
        env = {
            **os.environ,
            WORKER_INDEX_ENV: str(index),
            f"{prefix}_PORT": str(port),
            "MIGRATE_ON_START": "false",
        }
        if settings.metrics_port:
            env[f"{prefix}_METRICS_PORT"] = str(settings.metrics_port + index)
        children.append(subprocess.Popen(argv, env=env))
    log.info("%s: %d workers on port %d", prog, workers, port)
    while not received and all(child.poll() is None for child in children):
        time.sleep(SIGNAL_POLL_SECONDS)
    code = 0
    if not received:
        ended = next(child for child in children if child.poll() is not None)
        log.error(
            "%s: a worker (pid %d) exited with %s; stopping the others", prog, ended.pid, ended.returncode
        )
        code = 1
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + settings.grace_seconds + 10
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    reserved.close()
    log.info("%s stopped", prog)
    logging.shutdown()
    return code


def _exit_at_once(code: int) -> NoReturn:
    """Leave without tearing down the interpreter; what must not be lost is flushed first."""
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if callable(shutdown):
        shutdown()  # exports the spans still batched
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _migrate_on_start() -> bool:
    import os

    return os.environ.get("MIGRATE_ON_START", "true").lower() not in ("0", "false", "no")
