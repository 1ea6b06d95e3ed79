"""JSON log lines: an ISO 8601 UTC time, the service, the request id and, inside a span, the trace."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

from opentelemetry.sdk.trace import TracerProvider

from services.runtime import logs


def capture(service: str) -> tuple[io.StringIO, logging.Handler]:
    logs.setup_logging(service, "INFO", as_json=True)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    return stream, handler


def test_a_json_line_carries_service_time_request_and_trace():
    stream, _ = capture("payment")
    tracer = TracerProvider().get_tracer("test")
    token = logs.request_id_var.set("req-42")
    try:
        with tracer.start_as_current_span("rpc") as span:
            logging.getLogger("nexafi.test").info("inside %s", "a span")
            context = span.get_span_context()
        logging.getLogger("nexafi.test").warning("outside")
    finally:
        logs.request_id_var.reset(token)
        logging.getLogger().handlers.clear()
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["service"] == "payment" and inside["message"] == "inside a span"
    assert inside["request_id"] == "req-42" and inside["level"] == "INFO"
    assert inside["trace_id"] == format(context.trace_id, "032x")
    assert inside["span_id"] == format(context.span_id, "016x")
    assert inside["time"].endswith("Z")
    parsed = datetime.fromisoformat(inside["time"].replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 0
    assert "trace_id" not in outside and outside["service"] == "payment"
