"""ListDocumentsInReview over real gRPC against the real document server (the session's PostgreSQL
and S3-protocol server): the compliance queue holds the latest version of every undeleted document
awaiting review, oldest first, filtered by type and paged with tokens bound to the filter; a
reviewed or deleted document leaves it; only compliance officers and admins may read it."""

from __future__ import annotations

import functools
import uuid
from typing import Any

import grpc
from nexafi.document.v1 import document_pb2

from tests.integration.document.document_support import STATEMENT, DocumentClient, new_user, pdf
from tests.support.grpc_errors import failure

D = document_pb2
OFFICER = "usr_QUEUECOMPLIANCE000000000001"


def queue(
    docs: DocumentClient, *, roles: list[str] | None = None, **fields: object
) -> D.ListDocumentsInReviewResponse:
    request = D.ListDocumentsInReviewRequest(**fields)  # type: ignore[arg-type]
    return docs.stub.ListDocumentsInReview(
        request, metadata=docs.meta(OFFICER, roles or ["compliance"]), timeout=10
    )


def all_statements(docs: DocumentClient) -> list[D.Document]:
    found: list[D.Document] = []
    token = ""
    while True:
        page = queue(docs, document_type=STATEMENT, page_size=2, page_token=token)
        found.extend(page.documents)
        token = page.next_page_token
        if not token:
            return found


def test_the_queue_holds_documents_awaiting_review_oldest_first(docs: DocumentClient) -> None:
    owner = new_user()
    kept, reviewed, deleted = (
        docs.upload(
            pdf(marker=uuid.uuid4().bytes),
            user_id=owner,
            document_type=STATEMENT,
            request_id=uuid.uuid4().hex,
        )
        for _ in range(3)
    )
    # A second version: the queue shows the latest one, once.
    kept = docs.upload(
        pdf(marker=uuid.uuid4().bytes),
        user_id=owner,
        document_type=STATEMENT,
        document_id=kept.id,
        request_id=uuid.uuid4().hex,
    )
    docs.stub.ReviewDocument(
        D.ReviewDocumentRequest(
            document_id=reviewed.id,
            decision=D.REVIEW_DECISION_REJECT,
            reason="unreadable",
            request_id=uuid.uuid4().hex,
        ),
        metadata=docs.meta(OFFICER, ["compliance"]),
        timeout=10,
    )
    docs.stub.DeleteDocument(
        D.DeleteDocumentRequest(document_id=deleted.id), metadata=docs.meta(owner), timeout=10
    )

    listed = all_statements(docs)
    ids = [d.id for d in listed]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    mine = [d for d in listed if d.user_id == owner]
    assert [(d.id, d.version) for d in mine] == [(kept.id, 2)]
    assert all(d.document_type == STATEMENT for d in listed)
    assert all(d.status in (D.DOCUMENT_STATUS_UPLOADED, D.DOCUMENT_STATUS_PROCESSING) for d in listed)
    # Admins read it too; the other types are filtered out.
    passports = queue(docs, roles=["admin"], document_type=D.DOCUMENT_TYPE_PASSPORT, page_size=200)
    assert kept.id not in {d.id for d in passports.documents}


def test_bad_requests_and_callers_are_refused(docs: DocumentClient) -> None:
    first = queue(docs, document_type=STATEMENT, page_size=1)
    if first.next_page_token:
        # A token is bound to its filter.
        other = failure(lambda: queue(docs, page_token=first.next_page_token))
        assert other.code == grpc.StatusCode.INVALID_ARGUMENT and other.fields == ["page_token"]
    bad: list[tuple[dict[str, Any], str]] = [
        ({"document_type": 99}, "document_type"),
        ({"page_size": -1}, "page_size"),
        ({"page_token": "nope"}, "page_token"),
    ]
    for fields, field in bad:
        refused = failure(functools.partial(queue, docs, **fields))
        assert refused.code == grpc.StatusCode.INVALID_ARGUMENT and refused.fields == [field], fields
    for roles in (["customer"], ["support"], ["underwriter"]):
        denied = failure(functools.partial(queue, docs, roles=roles))
        assert denied.code == grpc.StatusCode.PERMISSION_DENIED, roles
