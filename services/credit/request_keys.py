"""The credit API's idempotency at the edge: each write runs under its caller's request_id in the
runtime's one contract (services/runtime/idempotency.py); servicers render the answer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from google.protobuf.message import Message

from services.runtime.idempotency import Claim, IdempotencyStore


def fingerprint(request: Message) -> str:
    """A digest of the request without its idempotency key, to tell a replay from a reuse."""
    body = type(request)()
    body.CopyFrom(request)
    body.ClearField("request_id")
    return hashlib.sha256(body.SerializeToString(deterministic=True)).hexdigest()


def idempotent(
    store: IdempotencyStore,
    scope: str,
    operation: str,
    request: Message,
    execute: Callable[[Claim], Message],
) -> bytes:
    """The response of ``execute``, run once per caller (``scope``) and request_id: its response,
    or its error once validation has passed, is stored and replayed; a concurrent duplicate is
    ABORTED (REQUEST_IN_PROGRESS) at once."""
    return store.run(
        scope,
        request.request_id,
        operation,
        fingerprint(request),
        lambda claim: execute(claim).SerializeToString(),
    )
