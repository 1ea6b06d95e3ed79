"""The credit API's idempotency at the edge: each write runs under its caller's request_id in the
runtime's one contract (services/runtime/idempotency.py, fingerprints.py); servicers render the
answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from google.protobuf import json_format
from google.protobuf.message import Message

from services.runtime.fingerprints import request_fingerprint
from services.runtime.idempotency import Claim, IdempotencyStore


def fingerprint(key: bytes, operation: str, request: Message) -> str:
    """The keyed fingerprint of the request without its idempotency key, to tell a replay from a
    reuse; keyed, since a request may carry a national id."""
    body = type(request)()
    body.CopyFrom(request)
    body.ClearField("request_id")
    fields = json_format.MessageToDict(body, preserving_proto_field_name=True)
    return request_fingerprint(key, operation, fields)


@runtime_checkable
class _Keyed(Protocol):
    """A write request: it carries its caller's idempotency key."""

    @property
    def request_id(self) -> str: ...


@dataclass(frozen=True)
class RequestKeys:
    """A key store and the key of its request fingerprints (the same on every replica)."""

    store: IdempotencyStore
    fingerprint_key: bytes

    def run(self, scope: str, operation: str, request: Message, execute: Callable[[Claim], Message]) -> bytes:
        """The response of ``execute``, run once per caller (``scope``) and request_id: its
        response, or its error once validation has passed, is stored and replayed; a concurrent
        duplicate is ABORTED (REQUEST_IN_PROGRESS) at once."""
        if not isinstance(request, _Keyed):
            raise TypeError(f"{type(request).__name__} has no request_id to run under")
        return self.store.run(
            scope,
            request.request_id,
            operation,
            fingerprint(self.fingerprint_key, operation, request),
            lambda claim: execute(claim).SerializeToString(),
        )
