"""Prometheus metrics: the per-RPC figures of every server and the domain figures of each service.

One registry per process (prometheus_client's default, which also carries the process's CPU,
memory and file descriptors), exposed in Prometheus text format on the service's metrics
port (``serve_metrics``, started by ``serve``; ``<SERVICE>_METRICS_PORT`` or ``METRICS_PORT``).

Domain code declares its figures through ``counter``, ``gauge`` and ``histogram`` here and
never imports prometheus_client itself: one place decides names, buckets and the library.
Declaring the same name twice returns the first metric (tests start a service's server more
than once in one process), so a module may declare its metrics at import time.

Per-RPC figures (the ``grpc_server_*`` names of go-grpc-prometheus, which dashboards know):
``grpc_server_started_total``, ``grpc_server_handled_total`` (by status code: the error rate)
and ``grpc_server_handling_seconds`` (a histogram: the duration), recorded by the runtime's
server interceptor through ``RpcMetrics``. Label children are cached per method, so an RPC
costs a dictionary lookup and three lock-protected additions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

# Milliseconds to tens of seconds: an RPC spans a cache hit to a slow OCR or a timeout.
RPC_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_lock = threading.Lock()
_metrics: dict[str, Any] = {}


def _declare(kind: type, name: str, documentation: str, labels: Sequence[str], **extra: Any) -> Any:
    with _lock:
        existing = _metrics.get(name)
        if existing is not None:
            if not isinstance(existing, kind):
                raise ValueError(f"metric {name} is already declared as a {type(existing).__name__}")
            return existing
        metric = kind(name, documentation, list(labels), registry=REGISTRY, **extra)
        _metrics[name] = metric
        return metric


def counter(name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
    """A monotonically increasing count (exposed as ``<name>_total``)."""
    metric: Counter = _declare(Counter, name, documentation, labels)
    return metric


def gauge(name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
    """A value that goes up and down (a lag, a queue's length)."""
    metric: Gauge = _declare(Gauge, name, documentation, labels)
    return metric


def gauge_function(name: str, documentation: str, read: Callable[[], float]) -> Gauge:
    """A gauge read at scrape time (a cheap in-memory figure, never a database query).

    A later declaration replaces the function: the newest server of the process reports."""
    metric = gauge(name, documentation)
    metric.set_function(read)
    return metric


def histogram(
    name: str, documentation: str, labels: Sequence[str] = (), buckets: Sequence[float] = RPC_BUCKETS
) -> Histogram:
    """A distribution (durations, sizes) in cumulative buckets."""
    metric: Histogram = _declare(Histogram, name, documentation, labels, buckets=tuple(buckets))
    return metric


def serve_metrics(host: str, port: int) -> WSGIServer:
    """Serve the registry over HTTP (any path answers; scrapers use /metrics) on a daemon thread.

    Port 0 picks a free port (``server.server_port``). Raises OSError when the port is taken."""
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    return server


_STARTED = counter(
    "grpc_server_started", "RPCs started on the server.", ("grpc_type", "grpc_service", "grpc_method")
)
_HANDLED = counter(
    "grpc_server_handled",
    "RPCs completed on the server, by gRPC status code.",
    ("grpc_type", "grpc_service", "grpc_method", "grpc_code"),
)
_DURATION = histogram(
    "grpc_server_handling_seconds",
    "Time from the start of an RPC to its status, in seconds.",
    ("grpc_type", "grpc_service", "grpc_method"),
)


class RpcMetrics:
    """The three per-RPC figures of one method, with the label lookups done once."""

    _cache: dict[tuple[str, str], RpcMetrics] = {}

    def __init__(self, full_method: str, rpc_type: str) -> None:
        service, _, method = full_method.lstrip("/").rpartition("/")
        self._labels = (rpc_type, service, method)
        self.started = _STARTED.labels(*self._labels)
        self.duration = _DURATION.labels(*self._labels)
        self._handled: dict[str, Any] = {}

    @classmethod
    def of(cls, full_method: str, rpc_type: str) -> RpcMetrics:
        key = (full_method, rpc_type)
        found = cls._cache.get(key)
        if found is None:
            found = cls._cache.setdefault(key, cls(full_method, rpc_type))
        return found

    def handled(self, code: str, seconds: float) -> None:
        child = self._handled.get(code)
        if child is None:
            child = self._handled.setdefault(code, _HANDLED.labels(*self._labels, code))
        child.inc()
        self.duration.observe(seconds)
