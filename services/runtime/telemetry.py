"""OpenTelemetry set-up: off by default, exporter chosen by the environment.

``OTEL_TRACES_EXPORTER``: ``none`` (default), ``console``, or ``otlp`` (gRPC, to
``OTEL_EXPORTER_OTLP_ENDPOINT``). When on, gRPC server and client calls and
SQLAlchemy queries become spans of one trace.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

_configured = False
# Long-lived streams get no client span: a span of a feed followed for hours says nothing, and the
# client instrumentation returns such a call as a plain generator without cancel(), which the
# consumer needs to end it (the analytics feed consumer cancels it on shutdown and on errors).
UNTRACED_CLIENT_METHODS = ("StreamTransactions",)


def exporter_from_env() -> SpanExporter | None:
    kind = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if kind in ("", "none"):
        return None
    if kind == "console":
        return ConsoleSpanExporter()
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from services.runtime.config import ConfigError

    raise ConfigError(f"OTEL_TRACES_EXPORTER must be none, console or otlp, got {kind!r}")


def setup_telemetry(service: str, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Install a tracer provider and the gRPC server/client instrumentation, once per process.

    Returns the provider, or None when tracing is off.
    """
    global _configured
    exporter = exporter or exporter_from_env()
    if exporter is None or _configured:
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"nexafi-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient, GrpcInstrumentorServer, filters

    # Health checks (Envoy's every few seconds, the kubelet's) would be most of the spans.
    GrpcInstrumentorServer(filter_=filters.negate(filters.health_check())).instrument()
    GrpcInstrumentorClient(
        filter_=filters.negate(
            filters.any_of(filters.health_check(), *(filters.method_name(m) for m in UNTRACED_CLIENT_METHODS))
        )
    ).instrument()
    _configured = True
    return provider


def instrument_engine(engine: Any) -> None:
    """Record the engine's queries as spans, when tracing is on."""
    if not _configured:
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    SQLAlchemyInstrumentor().instrument(engine=engine)
