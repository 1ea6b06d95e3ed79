"""Upload and review under the one idempotency contract (services/runtime/idempotency.py), over gRPC.

A stored error is replayed even when the request would now succeed; a concurrent duplicate is
ABORTED (REQUEST_IN_PROGRESS) at once instead of waiting or storing a second version.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import grpc
import sqlalchemy as sa
from nexafi.document.v1 import document_pb2
from sqlalchemy.engine import Engine

from tests.integration.document.document_support import DocumentClient, new_user, pdf
from tests.support.grpc_errors import failure

D = document_pb2
COMPLIANCE = "usr_COMPLIANCE00000000000000001"


def _wait_for(condition: Callable[[], bool], what: str, limit_seconds: float = 30.0) -> None:
    """Poll until ``condition`` holds (a state of the database, not a duration, is what is awaited)."""
    deadline = time.monotonic() + limit_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _key_state(engine: Engine, key: str) -> str | None:
    with engine.connect() as connection:
        state = connection.execute(
            sa.text("SELECT state FROM idempotency_keys WHERE key = :k"), {"k": key}
        ).scalar()
    return state if isinstance(state, str) else None


def test_a_stored_review_error_is_replayed_after_the_document_changed(docs: DocumentClient) -> None:
    owner = new_user()
    document = docs.upload(pdf(), user_id=owner)
    key = uuid.uuid4().hex
    request = D.ReviewDocumentRequest(
        document_id=document.id, request_id=key, decision=D.REVIEW_DECISION_APPROVE, version=2
    )

    def review() -> D.ReviewDocumentResponse:
        return docs.stub.ReviewDocument(request, metadata=docs.meta(COMPLIANCE, ["compliance"]), timeout=10)

    first = failure(review)
    assert (first.code, first.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "VERSION_MISMATCH")
    # Version 2 exists now: the same request would succeed, the key answers as it did.
    docs.upload(pdf(), user_id=owner, document_id=document.id)
    again = failure(review)
    assert (again.code, again.reason, again.message) == (first.code, first.reason, first.message)
    fresh = docs.stub.ReviewDocument(
        D.ReviewDocumentRequest(
            document_id=document.id,
            request_id=uuid.uuid4().hex,
            decision=D.REVIEW_DECISION_APPROVE,
            version=2,
        ),
        metadata=docs.meta(COMPLIANCE, ["compliance"]),
        timeout=10,
    ).document
    assert fresh.status == D.DOCUMENT_STATUS_VERIFIED and fresh.version == 2


def test_an_upload_refused_by_validation_does_not_consume_its_key(docs: DocumentClient) -> None:
    owner, key = new_user(), uuid.uuid4().hex
    content = pdf()
    wrong_type = failure(
        lambda: docs.upload(content, user_id=owner, request_id=key, content_type="image/png")
    )
    assert wrong_type.reason == "CONTENT_TYPE_MISMATCH"
    stored = docs.upload(content, user_id=owner, request_id=key)
    assert docs.upload(content, user_id=owner, request_id=key) == stored


def test_a_concurrent_duplicate_upload_is_aborted_at_once(docs: DocumentClient, document_db: Engine) -> None:
    owner, key = new_user(), uuid.uuid4().hex
    document = docs.upload(pdf(), user_id=owner)
    content = pdf(5000)
    outcome: dict[str, object] = {}

    def upload() -> D.Document:
        return docs.upload(content, user_id=owner, request_id=key, document_id=document.id)

    # Holding the document's row makes the first upload of a new version wait after claiming its key.
    with document_db.connect() as blocker:
        blocker.execute(sa.text("SELECT 1 FROM documents WHERE id = :d FOR UPDATE"), {"d": document.id})

        def first() -> None:
            try:
                outcome["document"] = upload()
            except grpc.RpcError as error:
                outcome["error"] = error

        thread = threading.Thread(target=first)
        thread.start()
        try:
            _wait_for(lambda: _key_state(document_db, key) == "running", "the first upload to claim its key")
            duplicate = failure(upload)
            assert (duplicate.code, duplicate.reason) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS")
        finally:
            blocker.rollback()
            thread.join(60)
    assert "error" not in outcome, outcome
    created = outcome["document"]
    assert isinstance(created, D.Document) and created.version == 2
    assert upload() == created and _key_state(document_db, key) == "done"
    assert docs.get(document.id, owner).version == 2
