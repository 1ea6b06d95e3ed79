"""The access audit log's shared parts: the trace id every event carries, and recorded denials."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.document import repository as repo
from services.document.domain import AccessAction
from services.runtime.auth import Principal
from services.runtime.db import run_in_transaction
from services.runtime.errors import PermissionDenied
from services.runtime.logs import request_id_var

log = logging.getLogger("nexafi.document")


def trace_id() -> str:
    """The current trace id when tracing is on, else the request id (both are in the logs)."""
    try:
        from opentelemetry import trace

        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            return format(context.trace_id, "032x")
    except Exception:  # telemetry must never break an RPC
        log.debug("no trace context", exc_info=True)
    request_id = request_id_var.get()
    return "" if request_id == "-" else request_id


def denied(
    engine: Engine, principal: Principal, document_id: str, version: int, message: str
) -> PermissionDenied:
    """PERMISSION_DENIED, recorded in the access log in a transaction of its own (it must survive
    the refused request's rollback)."""

    def work(session: Session) -> None:
        repo.add_event(session, document_id, version, AccessAction.DENIED, principal.subject, trace_id())

    try:
        run_in_transaction(engine, work)
    except Exception:
        log.exception("could not record a denied access to %s", document_id)
    return PermissionDenied(message)
