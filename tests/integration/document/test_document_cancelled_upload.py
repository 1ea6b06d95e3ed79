"""An upload whose stream is cut is never stored, over real gRPC, PostgreSQL and S3.

grpcio ends a handler's request iterator the same way for a client's half-close and for a reset
(a client cancelling, Envoy answering 413 past the gateway's upload limit); the cancellation
arrives just after. Every round here cancels an upload mid-stream, waits until the service has
finished handling it (its own grpc_server_handled_total), and checks that no document is listed,
no object is left in the bucket and the idempotency key recorded nothing: the same key then
uploads the whole content once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import grpc
import pytest
import sqlalchemy as sa
from minio import Minio
from nexafi.document.v1 import document_pb2
from prometheus_client import REGISTRY
from sqlalchemy.engine import Engine

from tests.integration.document.document_support import DocumentClient, new_user, pdf, upload_messages

D = document_pb2
CHUNK = 64 * 1024
# Each round races the reset against the end of the stream afresh; the outcome must never vary.
ROUNDS = 40
UPLOAD_LABELS = {
    "grpc_type": "client_stream",
    "grpc_service": "nexafi.document.v1.DocumentService",
    "grpc_method": "UploadDocument",
}


def _uploads(kind: str) -> float:
    """UploadDocument RPCs the in-process service has ``started`` or ``handled`` (every status)."""
    total = 0.0
    for metric in REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == f"grpc_server_{kind}_total" and all(
                sample.labels.get(name) == value for name, value in UPLOAD_LABELS.items()
            ):
                total += sample.value
    return total


def _wait_for(condition: Callable[[], bool], what: str, limit_seconds: float = 30.0) -> None:
    """Poll until ``condition`` holds (a state of the service, not a duration, is awaited)."""
    deadline = time.monotonic() + limit_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def _objects(bucket: tuple[Minio, str], prefix: str) -> list[str]:
    client, name = bucket
    return [str(o.object_name) for o in client.list_objects(name, prefix=prefix, recursive=True)]


def _listed(docs: DocumentClient, user: str) -> list[D.Document]:
    reply = docs.stub.ListUserDocuments(
        D.ListUserDocumentsRequest(user_id=user, page_size=50), metadata=docs.meta(user), timeout=10
    )
    return list(reply.documents)


def _key_rows(engine: Engine, key: str) -> int:
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM idempotency_keys WHERE key = :k"), {"k": key}
        ).scalar()
    return int(count or 0)


def _cancel_mid_stream(docs: DocumentClient, content: bytes, user: str, key: str, sent_chunks: int) -> None:
    """Start an upload, send ``sent_chunks`` messages of it, cancel once the service handles it,
    and return when the service has finished handling the cancelled RPC."""
    started, handled = _uploads("started"), _uploads("handled")
    sent, release = threading.Event(), threading.Event()
    messages = list(upload_messages(content, user_id=user, content_type="application/pdf", request_id=key))
    assert len(messages) > sent_chunks

    def stream() -> Iterator[D.UploadDocumentRequest]:
        yield from messages[:sent_chunks]
        sent.set()
        # Holds the rest back: the call is cancelled mid-way, never half-closed.
        release.wait()
        yield from messages[sent_chunks:]

    call = docs.stub.UploadDocument.future(stream(), metadata=docs.meta(user), timeout=30)
    try:
        assert sent.wait(10), "the client never sent the first part"
        _wait_for(lambda: _uploads("started") > started, "the service to start the upload")
        call.cancel()
    finally:
        release.set()
    with pytest.raises(grpc.FutureCancelledError):
        call.result()
    _wait_for(lambda: _uploads("handled") > handled, "the service to finish the cancelled upload")


def test_an_upload_cancelled_mid_stream_stores_nothing(
    docs: DocumentClient, bucket: tuple[Minio, str], document_db: Engine
) -> None:
    user = new_user()
    content = pdf(8 * CHUNK)
    for round_ in range(ROUNDS):
        key = uuid.uuid4().hex
        _cancel_mid_stream(docs, content, user, key, sent_chunks=1 + round_ % 4)
        assert _listed(docs, user) == [], f"round {round_}: a cancelled upload is listed"
        assert _objects(bucket, f"{user}/") == [], f"round {round_}: a cancelled upload left an object"
        assert _key_rows(document_db, key) == 0, f"round {round_}: the cancelled upload recorded its key"
    # The key of a cancelled upload is free: the whole content under it is stored, once.
    whole = docs.upload(content, user_id=user, request_id=key)
    assert whole.size_bytes == len(content)
    assert [d.id for d in _listed(docs, user)] == [whole.id]
    assert len(_objects(bucket, f"{user}/")) == 1
    assert docs.upload(content, user_id=user, request_id=key) == whole
