"""The server interceptor: request id, authentication, hostile text, error mapping, access log,
metrics.

It wraps each handler's behaviour, so the work happens in the thread that runs
the RPC: the principal is a context variable visible to the servicer, and
domain errors raised anywhere in the handler (streaming ones included) become
a status with google.rpc details in one place. Every request message (each one of a
stream) is checked for control characters and invalid UTF-8 before the servicer sees it
(``services/runtime/text.py``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor
from grpc_status import rpc_status

from services.runtime.api import set_page_token_key
from services.runtime.auth import JwtVerifier, Principal, reset_principal, set_principal
from services.runtime.errors import DomainError, as_domain_error, internal_status, to_rpc_status
from services.runtime.logs import request_id_var
from services.runtime.metrics import RpcMetrics
from services.runtime.service_access import ServiceCallers, check_service_call
from services.runtime.text import Undecodable, check_text, refuse_undecodable

log = logging.getLogger("nexafi.rpc")

# Methods any caller may use without a token.
ALWAYS_PUBLIC_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


# Per kind of RPC: the handler's attribute, grpcio's constructor, the metrics label, and whether
# requests and responses stream.
_HANDLER_KINDS: tuple[tuple[str, Callable[..., Any], str, bool, bool], ...] = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, "unary", False, False),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, "server_stream", False, True),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, "client_stream", True, False),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, "bidi_stream", True, True),
)


def _metadata(context: grpc.ServicerContext) -> dict[str, str]:
    return {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}


def _trace_id() -> str | None:
    try:
        from opentelemetry import trace

        span_context = trace.get_current_span().get_span_context()
        return format(span_context.trace_id, "032x") if span_context.is_valid else None
    except Exception:  # noqa: BLE001 - telemetry must never break an RPC
        return None


class ServerInterceptor(grpc.ServerInterceptor):
    """Authenticates callers and maps errors for every RPC of one server."""

    def __init__(
        self,
        verifier: JwtVerifier,
        public_methods: frozenset[str],
        page_token_key: bytes | None = None,
        *,
        service_callers: ServiceCallers | None = None,
    ) -> None:
        self.verifier = verifier
        self.public_methods = public_methods
        # The service's key for signing and verifying page tokens (services/runtime/api.py).
        self.page_token_key = page_token_key
        # Which service identity may call which RPC (services.runtime.service_access).
        self.service_callers: ServiceCallers = service_callers or {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        public = method in self.public_methods or method.startswith(ALWAYS_PUBLIC_PREFIXES)
        deserializer = _tolerant(handler.request_deserializer)
        request_type = _request_type(method)
        for kind, make_handler, metric, request_streaming, response_streaming in _HANDLER_KINDS:
            behavior = getattr(handler, kind)
            if behavior is None:
                continue
            return make_handler(
                self._wrap(
                    behavior,
                    method,
                    public,
                    RpcMetrics.of(method, metric),
                    request_type,
                    request_streaming=request_streaming,
                    response_streaming=response_streaming,
                ),
                deserializer,
                handler.response_serializer,
            )
        return None

    def _authenticate(self, context: grpc.ServicerContext, public: bool) -> Principal | None:
        header = _metadata(context).get("authorization")
        if public and not header:
            return None
        try:
            return self.verifier.verify_authorization(header)
        except DomainError:
            if public:
                # A bad token on a public RPC is ignored, as if none were sent.
                return None
            raise

    def _authorize(self, context: grpc.ServicerContext, method: str, public: bool) -> Principal | None:
        principal = self._authenticate(context, public)
        if not public:
            check_service_call(principal, method, self.service_callers)
        return principal

    def _begin(self, context: grpc.ServicerContext) -> str:
        request_id = _metadata(context).get("x-request-id") or uuid.uuid4().hex
        request_id_var.set(request_id)
        if self.page_token_key is not None:
            set_page_token_key(self.page_token_key)
        return request_id

    def _fail(self, context: grpc.ServicerContext, method: str, exc: BaseException) -> None:
        error = as_domain_error(exc)
        if error is not None:
            if error is exc:
                log.info("rpc %s failed: %s %s: %s", method, error.code.name, error.reason, error.message)
            else:
                log.warning(
                    "rpc %s failed: %s %s: %s: %s",
                    method,
                    error.code.name,
                    error.reason,
                    type(exc).__name__,
                    _first_line(exc),
                )
            context.abort_with_status(rpc_status.to_status(to_rpc_status(error)))
        trace_id = _trace_id()
        log.exception("rpc %s failed unexpectedly (trace %s)", method, trace_id)
        context.abort_with_status(rpc_status.to_status(internal_status(trace_id)))

    @contextlib.contextmanager
    def _serving(
        self, context: grpc.ServicerContext, method: str, public: bool, metrics: RpcMetrics
    ) -> Iterator[None]:
        """What surrounds every RPC, unary or streaming: the request id, the caller's principal,
        one error mapping, the metrics and the access log."""
        self._begin(context)
        metrics.started.inc()
        started = time.perf_counter()
        token = None
        failed: BaseException | None = None
        try:
            token = set_principal(self._authorize(context, method, public))
            yield
        except Exception as exc:
            failed = exc
            if _aborted(context):
                raise
            self._fail(context, method, exc)
        except GeneratorExit:
            # The client went away (or the server stops) before the stream ended.
            failed = GeneratorExit()
            raise
        finally:
            if token is not None:
                reset_principal(token)
            elapsed = time.perf_counter() - started
            metrics.handled(_status_name(context, failed), elapsed)
            log.debug("rpc %s took %.1f ms", method, elapsed * 1000)

    def _wrap(
        self,
        behavior: Callable[..., Any],
        method: str,
        public: bool,
        metrics: RpcMetrics,
        request_type: Descriptor | None,
        *,
        request_streaming: bool,
        response_streaming: bool,
    ) -> Callable[..., Any]:
        def checked(request: Any, context: grpc.ServicerContext) -> Any:
            if request_streaming:
                return _checked_stream(request, request_type)
            # The header fills request_id first, so what it brings is checked too.
            if not response_streaming and not isinstance(request, Undecodable):
                _apply_idempotency_header(request, context)
            _check_request(request, request_type)
            return request

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            with self._serving(context, method, public, metrics):
                return behavior(checked(request, context), context)

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            with self._serving(context, method, public, metrics):
                yield from behavior(checked(request, context), context)

        return stream if response_streaming else unary


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    # grpcio answers INTERNAL when a request does not parse (invalid UTF-8 in a string field
    # does not): hand the bytes on, so the RPC is refused as INVALID_ARGUMENT naming the field.
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # noqa: BLE001 - DecodeError and whatever a custom deserializer raises
            return Undecodable(data)

    return deserialize


@functools.lru_cache(maxsize=1024)
def _request_type(method: str) -> Descriptor | None:
    # "/pkg.Service/Method" -> the request message's descriptor, for naming an undecodable field.
    try:
        return descriptor_pool.Default().FindMethodByName(method.lstrip("/").replace("/", ".")).input_type
    except KeyError:
        return None


def _check_request(request: Any, request_type: Descriptor | None) -> None:
    if isinstance(request, Undecodable):
        raise refuse_undecodable(request_type, request.data)
    if hasattr(request, "ListFields"):
        check_text(request)


def _checked_stream(requests: Iterator[Any], request_type: Descriptor | None) -> Iterator[Any]:
    for request in requests:
        _check_request(request, request_type)
        yield request


def _apply_idempotency_header(request: Any, context: grpc.ServicerContext) -> None:
    # REST clients send the idempotency key as an Idempotency-Key header, which Envoy
    # forwards as metadata; it fills the request_id field of creating RPCs when empty.
    descriptor = getattr(request, "DESCRIPTOR", None)
    if descriptor is None or "request_id" not in descriptor.fields_by_name or request.request_id:
        return
    key = _metadata(context).get("idempotency-key")
    if key:
        request.request_id = key


def _status_name(context: grpc.ServicerContext, failed: BaseException | None) -> str:
    """The status the RPC ends with, for the metrics: what the handler or _fail set, else
    what an exception stands for."""
    try:
        code = context.code()
    except Exception:  # noqa: BLE001 - older or foreign contexts have no accessor
        code = None
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if failed is None:
        return "OK"
    if isinstance(failed, GeneratorExit):
        return "CANCELLED"
    mapped = as_domain_error(failed)
    if mapped is not None:
        return str(mapped.code.name)
    return "INTERNAL"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else ""


def _aborted(context: grpc.ServicerContext) -> bool:
    # context.abort() raises a bare Exception after recording the status; mapping it
    # again would overwrite that status, so let it through. grpcio has no public flag.
    state = getattr(context, "_state", None)
    return bool(getattr(state, "aborted", False))
