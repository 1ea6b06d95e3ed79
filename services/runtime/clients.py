"""Typed clients of other services: the caller's service identity, deadlines and retries.

A service calls another with its own token (role ``service``), obtained from the
user service's ``IssueServiceToken`` with its client id (its name) and secret
(``<SERVICE>_CLIENT_SECRET``, or ``NEXAFI_CLIENT_SECRET``) and renewed before it
expires. Every call gets a deadline; only reads (``Get*``/``List*``) are retried,
and only on UNAVAILABLE, through gRPC's own retry policy. The request id of the
RPC being served travels along in metadata. Failed calls made through :func:`call`
raise :class:`RemoteError` with the callee's ``ErrorInfo`` reason, so callers decide on
reasons (``INSUFFICIENT_FUNDS``), never on message text.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from nexafi.user.v1 import user_pb2, user_pb2_grpc

from services.runtime.call_graph import CALLS
from services.runtime.config import ConfigError, env_str, service_addr
from services.runtime.logs import request_id_var

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 5.0
# The callee may not have run the call at all: safe to treat as "not done" only with an
# idempotency key that a retry reuses.
_UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# Answers that say for certain the callee did not perform the call and will not on a replay with
# the same key: our services replay a known idempotency key before they validate or check a rule,
# so these never hide a committed effect. Anything else (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
# UNKNOWN, ABORTED, a reset connection, even PERMISSION_DENIED from a misconfigured caller) leaves
# the outcome in doubt until the call is replayed with its key or its result is read.
_REFUSALS = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.OUT_OF_RANGE,
)
# The waits before replaying a call answered ABORTED REQUEST_IN_PROGRESS (services/runtime/
# idempotency.py): the callee ran nothing for it, and the key, replayed once the first request
# with it has finished, returns that request's result. Concurrent first uses of a derived key
# ("open the account on first use") meet this; about 1.6 s in all.
IN_PROGRESS_RETRY_DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)
# Renew this long before expiry so a token never expires mid-call.
RENEW_MARGIN_SECONDS = 60.0


class ServiceTokenProvider:
    """This service's access token, fetched from the user service and cached."""

    def __init__(self, client_id: str, client_secret: str, user_channel: grpc.Channel) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._stub = user_pb2_grpc.UserServiceStub(user_channel)
        self._token = ""
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, service: str) -> ServiceTokenProvider:
        secret = env_str(f"{service.upper()}_CLIENT_SECRET") or env_str("NEXAFI_CLIENT_SECRET")
        if not secret:
            raise ConfigError(f"{service.upper()}_CLIENT_SECRET (or NEXAFI_CLIENT_SECRET) is not set")
        return cls(service, secret, grpc.insecure_channel(service_addr("user")))

    def token(self) -> str:
        with self._lock:
            if time.monotonic() >= self._expires_at - RENEW_MARGIN_SECONDS:
                reply = self._stub.IssueServiceToken(
                    user_pb2.IssueServiceTokenRequest(client_id=self.client_id, client_secret=self._secret),
                    timeout=DEFAULT_TIMEOUT_SECONDS,
                )
                self._token = reply.access_token
                self._expires_at = time.monotonic() + reply.expires_in
            return self._token


class _CallDetails(grpc.ClientCallDetails):
    def __init__(
        self,
        method: str,
        timeout: float | None,
        metadata: Sequence[tuple[str, str]],
        credentials: Any,
        wait_for_ready: bool | None,
        compression: Any,
    ) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


class _IdentityInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the service token, the request id and a default deadline to every call."""

    def __init__(self, token: Callable[[], str], default_timeout: float) -> None:
        self._token = token
        self._default_timeout = default_timeout

    def _details(self, details: grpc.ClientCallDetails, streaming: bool) -> grpc.ClientCallDetails:
        metadata = [(k, v) for k, v in (details.metadata or []) if k != "authorization"]
        metadata.append(("authorization", f"Bearer {self._token()}"))
        request_id = request_id_var.get()
        if request_id != "-":
            metadata.append(("x-request-id", request_id))
        # Streams (the change feed) are long-lived by design: no default deadline.
        timeout = details.timeout if details.timeout is not None or streaming else self._default_timeout
        return _CallDetails(
            details.method,
            timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(client_call_details, streaming=False), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(client_call_details, streaming=True), request)


def read_retry_service_config(service_full_name: str, read_methods: Sequence[str]) -> str:
    """A gRPC service config retrying only the given read methods on UNAVAILABLE."""
    return json.dumps(
        {
            "methodConfig": [
                {
                    "name": [{"service": service_full_name, "method": m} for m in read_methods],
                    "retryPolicy": {
                        "maxAttempts": 3,
                        "initialBackoff": "0.05s",
                        "maxBackoff": "0.5s",
                        "backoffMultiplier": 2,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ]
        }
    )


def service_channel(
    service: str,
    service_descriptor: Any,
    token: Callable[[], str],
    *,
    address: str | None = None,
    default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> grpc.Channel:
    """A channel to ``service`` that authenticates as this service.

    ``service_descriptor`` is the callee's ServiceDescriptor (e.g.
    ``ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"]``); its Get*/List*
    methods are the reads that may be retried.
    """
    reads = [m.name for m in service_descriptor.methods if m.name.startswith(("Get", "List"))]
    channel = grpc.insecure_channel(
        address or service_addr(service),
        options=[
            # Per-call balancing over every address the name resolves to (all ready pods of a
            # headless Kubernetes Service); with one address it behaves like pick_first.
            ("grpc.lb_policy_name", "round_robin"),
            ("grpc.enable_retries", 1),
            ("grpc.service_config", read_retry_service_config(service_descriptor.full_name, reads)),
        ],
    )
    return grpc.intercept_channel(channel, _IdentityInterceptor(token, default_timeout))


def grpc_service(service: str) -> Any:
    """The ServiceDescriptor of ``service``'s contract: ``nexafi.<service>.v1.<Service>Service``."""
    module = importlib.import_module(f"nexafi.{service}.v1.{service}_pb2")
    return module.DESCRIPTOR.services_by_name[f"{service.capitalize()}Service"]


class ServiceChannels:
    """The channels one service opens to others with its own identity, closed together.

    Only to the services the caller is declared to call (``services.runtime.call_graph``): the
    network policies of the cluster open exactly those paths, so an undeclared call would work
    on one machine and time out in the cluster; it fails at start instead."""

    def __init__(self, caller: str) -> None:
        if caller not in CALLS:
            raise ConfigError(
                f"{caller!r} is not a service of the call graph (services/runtime/call_graph.py)"
            )
        self.caller = caller
        self.tokens = ServiceTokenProvider.from_env(caller)
        self._channels: list[grpc.Channel] = []

    def open(self, service: str) -> grpc.Channel:
        """A channel to ``service`` (``ledger``, ``ai``, ...), found by its contract's name."""
        if service not in CALLS[self.caller]:
            raise ConfigError(
                f"{self.caller} is not declared to call {service} (services/runtime/call_graph.py)"
            )
        channel = service_channel(service, grpc_service(service), self.tokens.token)
        self._channels.append(channel)
        return channel

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        self._channels.clear()


class RemoteError(Exception):
    """A call to another service failed; ``unreachable`` when it may not have been executed at all."""

    def __init__(
        self,
        service: str,
        code: grpc.StatusCode,
        reason: str,
        message: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{service}: {code.name} {reason}: {message}")
        self.service = service
        self.code = code
        self.reason = reason
        self.message = message
        self.metadata = metadata or {}

    @property
    def unreachable(self) -> bool:
        return self.code in _UNREACHABLE

    @property
    def refused(self) -> bool:
        """The callee definitely refused: nothing happened, and a replay would be refused again."""
        return self.code in _REFUSALS


def call(service: str, fn: Callable[..., T], request: Any, timeout: float | None = None) -> T:
    """``fn(request)`` on a stub of ``service``; a gRPC failure becomes :class:`RemoteError`.

    A call answered ABORTED REQUEST_IN_PROGRESS (its idempotency key is held by a request still
    executing) is replayed after a short wait, a few times, as the idempotency contract asks.
    """
    for delay in IN_PROGRESS_RETRY_DELAYS:
        try:
            return _call_once(service, fn, request, timeout)
        except RemoteError as exc:
            if exc.code != grpc.StatusCode.ABORTED or exc.reason != "REQUEST_IN_PROGRESS":
                raise
        time.sleep(delay)
    return _call_once(service, fn, request, timeout)


def _call_once(service: str, fn: Callable[..., T], request: Any, timeout: float | None) -> T:
    try:
        return fn(request, timeout=timeout) if timeout else fn(request)
    except grpc.RpcError as exc:
        code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
        reason, metadata = "", {}
        status = rpc_status.from_call(exc) if hasattr(exc, "trailing_metadata") else None
        if status is not None:
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason, metadata = info.reason, dict(info.metadata)
        message = exc.details() if hasattr(exc, "details") else str(exc)
        raise RemoteError(service, code, reason, message or "", metadata) from None


def all_pages(fetch: Callable[[str], tuple[Sequence[T], str]]) -> Iterator[T]:
    """Every item of a paginated list RPC, one call per page: ``fetch(page_token)`` makes the call
    and returns the page's items and its ``next_page_token`` ("" on the last page)."""
    token = ""
    while True:
        items, token = fetch(token)
        yield from items
        if not token:
            return


class UserClient:
    """What other services ask the user service about a user."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = user_pb2_grpc.UserServiceStub(channel)

    def exists(self, user_id: str) -> bool:
        try:
            call("user", self.stub.GetUser, user_pb2.GetUserRequest(user_id=user_id))
        except RemoteError as exc:
            if exc.code == grpc.StatusCode.NOT_FOUND:
                return False
            raise
        return True
