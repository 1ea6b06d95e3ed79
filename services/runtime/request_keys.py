"""The idempotency contract at a servicer's edge: a write request's key and fingerprint, the use
case run once under them, and the response's bytes answered again to every replay."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from google.protobuf.message import Message

from services.runtime.fingerprints import message_fields, request_fingerprint
from services.runtime.idempotency import Claim, IdempotencyStore

M = TypeVar("M", bound=Message)


@runtime_checkable
class _Keyed(Protocol):
    """A write request: it carries its caller's idempotency key."""

    @property
    def request_id(self) -> str: ...


@dataclass(frozen=True)
class RequestKeys:
    """A servicer's writes under the contract, at the edge: a key store and the key of its request
    fingerprints (the same on every replica). The use case ``execute`` runs once per caller
    (``scope``) and key; the bytes of the response it renders (or its error, once validation has
    passed) are stored and answered again, unchanged, to every replay; a concurrent duplicate is
    ABORTED (REQUEST_IN_PROGRESS) at once."""

    store: IdempotencyStore
    fingerprint_key: bytes

    def stored(
        self,
        scope: str,
        key: str,
        operation: str,
        body: Mapping[str, object],
        execute: Callable[[Claim], Message],
        *,
        claim_with_resource: bool = False,
    ) -> bytes:
        """The response's bytes; ``body`` is what a replay must repeat (the request without its key).
        ``claim_with_resource``: see :meth:`IdempotencyStore.run`."""
        fingerprint = request_fingerprint(self.fingerprint_key, operation, body)
        return self.store.run(
            scope,
            key,
            operation,
            fingerprint,
            lambda claim: execute(claim).SerializeToString(),
            claim_with_resource=claim_with_resource,
        )

    def respond(
        self,
        scope: str,
        key: str,
        operation: str,
        body: Mapping[str, object],
        response: type[M],
        execute: Callable[[Claim], M],
        *,
        claim_with_resource: bool = False,
    ) -> M:
        """The ``response`` message (the first one's, on a replay)."""
        return response.FromString(
            self.stored(scope, key, operation, body, execute, claim_with_resource=claim_with_resource)
        )

    def run(self, scope: str, operation: str, request: Message, execute: Callable[[Claim], Message]) -> bytes:
        """:meth:`stored` for a request message carrying its key in ``request_id``, fingerprinted
        whole but for that key."""
        if not isinstance(request, _Keyed):
            raise TypeError(f"{type(request).__name__} has no request_id to run under")
        return self.stored(scope, request.request_id, operation, message_fields(request), execute)

    def respond_to(
        self, scope: str, operation: str, request: Message, response: type[M], execute: Callable[[Claim], M]
    ) -> M:
        """:meth:`run`, answering the ``response`` message (the first one's, on a replay)."""
        return response.FromString(self.run(scope, operation, request, execute))
