"""The document service over real gRPC, on the session's PostgreSQL and S3-protocol server."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from minio import Minio
from nexafi.document.v1 import document_pb2
from sqlalchemy.engine import Engine

from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.embedded_s3 import EmbeddedS3
from services.document.crypto import MasterKeys
from services.document.service import DocumentService
from services.document.settings import DocumentSettings
from services.document.spec import DEV_MASTER_KEY
from services.document.storage import Storage
from services.runtime.server import RunningServer
from tests.integration.document.document_support import (
    OTHER,
    STATEMENT,
    DocumentClient,
    jpeg,
    new_user,
    pdf,
    png,
    sha256,
    upload_messages,
)
from tests.support.grpc_errors import describe, failure
from tests.support.harness import storage_settings_of

D = document_pb2
ADMIN = "usr_ADMIN0000000000000000000001"
COMPLIANCE = "usr_COMPLIANCE00000000000000001"
SUPPORT = "usr_SUPPORT000000000000000000001"
ROOT = Path(__file__).resolve().parents[3]


def objects(bucket: tuple[Minio, str], prefix: str) -> list[str]:
    client, name = bucket
    return [str(o.object_name) for o in client.list_objects(name, prefix=prefix, recursive=True)]


def read_object(bucket: tuple[Minio, str], key: str) -> bytes:
    client, name = bucket
    response = client.get_object(name, key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def write_object(bucket: tuple[Minio, str], key: str, data: bytes) -> None:
    client, name = bucket
    client.put_object(name, key, io.BytesIO(data), len(data))


def test_upload_get_list_download_delete(docs: DocumentClient, bucket: tuple[Minio, str]):
    user = new_user()
    content = pdf(700_000, marker=b"PLAINTEXT-MARKER-7Q")
    uploaded = docs.upload(content, user_id=user, filename="passport.pdf", sha=sha256(content))
    assert uploaded.id.startswith("doc_") and uploaded.user_id == user
    assert uploaded.version == 1 and uploaded.status == D.DOCUMENT_STATUS_UPLOADED
    assert uploaded.content_type == "application/pdf" and uploaded.size_bytes == len(content)
    assert uploaded.sha256 == sha256(content) and uploaded.uploaded_by == user
    assert uploaded.extraction_status == D.EXTRACTION_STATUS_PENDING
    assert uploaded.encryption_key_id == "dev" and uploaded.storage_path == ""

    got = docs.get(uploaded.id, user)
    assert got.id == uploaded.id and got.sha256 == uploaded.sha256 and got.filename == "passport.pdf"
    listed = docs.stub.ListUserDocuments(D.ListUserDocumentsRequest(user_id=user), metadata=docs.meta(user))
    assert [d.id for d in listed.documents] == [uploaded.id] and listed.next_page_token == ""

    downloaded = docs.download(uploaded.id, user)
    assert downloaded.content == content and downloaded.content_type == "application/pdf"
    assert downloaded.document.id == uploaded.id and downloaded.messages >= 1

    # At rest the object is ciphertext: neither the marker nor the file signature are in it.
    keys = objects(bucket, f"{user}/")
    assert len(keys) == 1
    stored = read_object(bucket, keys[0])
    assert b"PLAINTEXT-MARKER-7Q" not in stored and b"%PDF" not in stored
    assert len(stored) > len(content)

    deleted = docs.stub.DeleteDocument(
        D.DeleteDocumentRequest(document_id=uploaded.id), metadata=docs.meta(user)
    ).document
    assert deleted.status == D.DOCUMENT_STATUS_DELETED and deleted.HasField("delete_time")
    # Soft delete: hidden from the owner, content kept, visible to admins.
    assert failure(lambda: docs.get(uploaded.id, user)).code == grpc.StatusCode.NOT_FOUND
    assert failure(lambda: docs.download(uploaded.id, user)).code == grpc.StatusCode.NOT_FOUND
    assert objects(bucket, f"{user}/") == keys
    as_admin = docs.get(uploaded.id, ADMIN, ["admin"])
    assert as_admin.status == D.DOCUMENT_STATUS_DELETED and as_admin.storage_path == keys[0]
    listed = docs.stub.ListUserDocuments(D.ListUserDocumentsRequest(user_id=user), metadata=docs.meta(user))
    assert list(listed.documents) == []
    with_deleted = docs.stub.ListUserDocuments(
        D.ListUserDocumentsRequest(user_id=user, show_deleted=True), metadata=docs.meta(ADMIN, ["admin"])
    )
    assert [d.id for d in with_deleted.documents] == [uploaded.id]

    events = docs.stub.ListDocumentAccessEvents(
        D.ListDocumentAccessEventsRequest(document_id=uploaded.id), metadata=docs.meta(user)
    ).events
    actions = [e.action for e in events]
    assert actions == [
        D.DOCUMENT_ACCESS_ACTION_READ_METADATA,
        D.DOCUMENT_ACCESS_ACTION_DELETE,
        D.DOCUMENT_ACCESS_ACTION_DOWNLOAD,
        D.DOCUMENT_ACCESS_ACTION_READ_METADATA,
        D.DOCUMENT_ACCESS_ACTION_UPLOAD,
    ]
    assert events[0].actor_id == ADMIN and events[-1].actor_id == user and events[-1].version == 1


def test_versions_list_and_pagination(docs: DocumentClient):
    user = new_user()
    first = docs.upload(png(), user_id=user, content_type="image/png", filename="front.png")
    second = docs.upload(
        jpeg(), user_id=user, content_type="image/jpeg", filename="front.jpg", document_id=first.id
    )
    assert second.id == first.id and second.version == 2 and second.content_type == "image/jpeg"
    assert docs.get(first.id, user).version == 2
    assert docs.get(first.id, user, version=1).filename == "front.png"
    assert failure(lambda: docs.get(first.id, user, version=3)).code == grpc.StatusCode.NOT_FOUND
    old = docs.download(first.id, user, version=1)
    assert old.content_type == "image/png" and old.document.version == 1

    page = docs.stub.ListDocumentVersions(
        D.ListDocumentVersionsRequest(document_id=first.id, page_size=1), metadata=docs.meta(user)
    )
    assert [v.version for v in page.versions] == [2] and page.next_page_token
    rest = docs.stub.ListDocumentVersions(
        D.ListDocumentVersionsRequest(document_id=first.id, page_size=1, page_token=page.next_page_token),
        metadata=docs.meta(user),
    )
    assert [v.version for v in rest.versions] == [1] and rest.next_page_token == ""

    others = [docs.upload(pdf(), user_id=user, document_type=OTHER, filename=f"f{i}.pdf") for i in range(2)]
    newest_first = [others[1].id, others[0].id, first.id]
    page = docs.stub.ListUserDocuments(
        D.ListUserDocumentsRequest(user_id=user, page_size=2), metadata=docs.meta(user)
    )
    assert [d.id for d in page.documents] == newest_first[:2] and page.next_page_token
    rest = docs.stub.ListUserDocuments(
        D.ListUserDocumentsRequest(user_id=user, page_size=2, page_token=page.next_page_token),
        metadata=docs.meta(user),
    )
    assert [d.id for d in rest.documents] == newest_first[2:] and rest.next_page_token == ""
    assert others[0].extraction_status == D.EXTRACTION_STATUS_NOT_APPLICABLE
    only_other = docs.stub.ListUserDocuments(
        D.ListUserDocumentsRequest(user_id=user, document_type=OTHER), metadata=docs.meta(user)
    )
    assert {d.id for d in only_other.documents} == {others[0].id, others[1].id}
    # A token is bound to its filters.
    foreign = failure(
        lambda: docs.stub.ListUserDocuments(
            D.ListUserDocumentsRequest(
                user_id=user, page_size=2, page_token=page.next_page_token, document_type=OTHER
            ),
            metadata=docs.meta(user),
        )
    )
    assert foreign.code == grpc.StatusCode.INVALID_ARGUMENT and foreign.fields == ["page_token"]

    # A new version must be of the same type and belong to the same user.
    wrong_type = failure(lambda: docs.upload(pdf(), user_id=user, document_type=OTHER, document_id=first.id))
    assert wrong_type.code == grpc.StatusCode.FAILED_PRECONDITION
    stranger = new_user()
    foreign_doc = failure(
        lambda: docs.upload(png(), user_id=stranger, content_type="image/png", document_id=first.id)
    )
    assert foreign_doc.code == grpc.StatusCode.NOT_FOUND


def test_size_limit_aborts_cleanly(docs: DocumentClient, bucket: tuple[Minio, str], document_db: Engine):
    user = new_user()
    limit = 10 * 1024 * 1024
    too_big = pdf(limit + 1)
    result = failure(lambda: docs.upload(too_big, user_id=user, chunk=1024 * 1024))
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT and result.reason == "DOCUMENT_TOO_LARGE"
    assert objects(bucket, f"{user}/") == []
    with document_db.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT count(*) FROM documents WHERE user_id = :u"), {"u": user}
        ).scalar()
    assert rows == 0
    # Exactly at the limit is accepted.
    accepted = docs.upload(too_big[:limit], user_id=user, chunk=1024 * 1024)
    assert accepted.size_bytes == limit


def test_content_checks(docs: DocumentClient, bucket: tuple[Minio, str]):
    user = new_user()
    mismatch = failure(lambda: docs.upload(png(), user_id=user, content_type="application/pdf"))
    assert mismatch.code == grpc.StatusCode.INVALID_ARGUMENT and mismatch.reason == "CONTENT_TYPE_MISMATCH"
    assert mismatch.fields == ["http_body.content_type"]
    unknown = failure(
        lambda: docs.upload(b"MZ\x90\x00 an executable" * 10, user_id=user, content_type="application/pdf")
    )
    assert unknown.reason == "CONTENT_TYPE_MISMATCH"
    # A bank statement must be a PDF, even a genuine image declared as one.
    image_statement = failure(
        lambda: docs.upload(png(), user_id=user, content_type="image/png", document_type=STATEMENT)
    )
    assert image_statement.reason == "CONTENT_TYPE_MISMATCH"
    bad_sum = failure(lambda: docs.upload(pdf(), user_id=user, sha="0" * 64))
    assert bad_sum.code == grpc.StatusCode.INVALID_ARGUMENT and bad_sum.reason == "CHECKSUM_MISMATCH"
    empty = failure(lambda: docs.upload(b"", user_id=user))
    assert empty.code == grpc.StatusCode.INVALID_ARGUMENT and empty.reason == "EMPTY_CONTENT"
    invalid = failure(
        lambda: docs.upload(
            pdf(),
            user_id=user,
            filename="../../etc/passwd",
            document_type=D.DOCUMENT_TYPE_UNSPECIFIED,
            request_id="",
        )
    )
    assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(invalid.fields) == {"filename", "document_type", "request_id"}
    # Metadata in a later message is refused.
    messages = list(upload_messages(pdf(200_000), user_id=user, content_type="application/pdf"))
    messages[1].user_id = user
    late = failure(lambda: docs.stub.UploadDocument(iter(messages), metadata=docs.meta(user)))
    assert late.code == grpc.StatusCode.INVALID_ARGUMENT and late.fields == ["user_id"]
    assert objects(bucket, f"{user}/") == []
    # Declared types are compared without parameters and with common aliases.
    assert docs.upload(jpeg(), user_id=user, content_type="image/jpg").content_type == "image/jpeg"


def test_access_control(docs: DocumentClient):
    owner, stranger = new_user(), new_user()
    document = docs.upload(pdf(), user_id=owner)
    for call in (
        lambda: docs.get(document.id, stranger),
        lambda: docs.download(document.id, stranger),
        lambda: docs.stub.DeleteDocument(
            D.DeleteDocumentRequest(document_id=document.id), metadata=docs.meta(stranger)
        ),
        lambda: docs.stub.ListUserDocuments(
            D.ListUserDocumentsRequest(user_id=owner), metadata=docs.meta(stranger)
        ),
        lambda: docs.upload(pdf(), user_id=owner, caller=stranger),
    ):
        assert failure(call).code == grpc.StatusCode.PERMISSION_DENIED
    # Staff read; support may not delete; no service identity reads or writes documents.
    assert docs.get(document.id, SUPPORT, ["support"]).id == document.id
    assert docs.download(document.id, COMPLIANCE, ["compliance"]).document.id == document.id
    assert (
        failure(
            lambda: docs.stub.DeleteDocument(
                D.DeleteDocumentRequest(document_id=document.id), metadata=docs.meta(SUPPORT, ["support"])
            )
        ).code
        == grpc.StatusCode.PERMISSION_DENIED
    )
    for service in ("credit", "analytics", "ai", "payment"):
        by_service = failure(
            lambda s=service: docs.upload(pdf(), user_id=owner, caller=f"svc_{s}", roles=["service"])
        )
        read = failure(lambda s=service: docs.download(document.id, f"svc_{s}", ["service"]))
        for refused in (by_service, read):
            assert (refused.code.name, refused.reason) == ("PERMISSION_DENIED", "SERVICE_NOT_ALLOWED")
    # Only admins purge or see deleted documents.
    purge = failure(
        lambda: docs.stub.DeleteDocument(
            D.DeleteDocumentRequest(document_id=document.id, purge=True, reason="gdpr"),
            metadata=docs.meta(owner),
        )
    )
    assert purge.code == grpc.StatusCode.PERMISSION_DENIED
    show_deleted = failure(
        lambda: docs.stub.ListUserDocuments(
            D.ListUserDocumentsRequest(user_id=owner, show_deleted=True), metadata=docs.meta(owner)
        )
    )
    assert show_deleted.code == grpc.StatusCode.PERMISSION_DENIED
    # Refusals are in the audit log, which support may not read.
    events = docs.stub.ListDocumentAccessEvents(
        D.ListDocumentAccessEventsRequest(document_id=document.id),
        metadata=docs.meta(COMPLIANCE, ["compliance"]),
    ).events
    denied = [e for e in events if e.action == D.DOCUMENT_ACCESS_ACTION_DENIED]
    assert len(denied) == 4 and {e.actor_id for e in denied} == {stranger, SUPPORT}
    assert (
        failure(
            lambda: docs.stub.ListDocumentAccessEvents(
                D.ListDocumentAccessEventsRequest(document_id=document.id),
                metadata=docs.meta(SUPPORT, ["support"]),
            )
        ).code
        == grpc.StatusCode.PERMISSION_DENIED
    )


def test_not_found_and_invalid(docs: DocumentClient):
    user = new_user()
    missing = "doc_01JD3ZZZZZZZZZZZZZZZZZZZZZ"
    for call in (
        lambda: docs.get(missing, user),
        lambda: docs.download(missing, user),
        lambda: docs.stub.DeleteDocument(
            D.DeleteDocumentRequest(document_id=missing), metadata=docs.meta(user)
        ),
        lambda: docs.stub.ListDocumentAccessEvents(
            D.ListDocumentAccessEventsRequest(document_id=missing), metadata=docs.meta(user)
        ),
    ):
        assert failure(call).code == grpc.StatusCode.NOT_FOUND
    assert (
        failure(lambda: docs.upload(pdf(), user_id=user, document_id=missing)).code
        == grpc.StatusCode.NOT_FOUND
    )
    negative = failure(lambda: docs.get("", user, version=-1))
    assert negative.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(negative.fields) == {"document_id", "version"}
    purge_without_reason = failure(
        lambda: docs.stub.DeleteDocument(
            D.DeleteDocumentRequest(document_id=missing, purge=True), metadata=docs.meta(ADMIN, ["admin"])
        )
    )
    assert purge_without_reason.fields == ["reason"]


def test_tampered_content_is_refused(docs: DocumentClient, bucket: tuple[Minio, str]):
    user = new_user()
    content = pdf(600_000)
    document = docs.upload(content, user_id=user)
    key = docs.get(document.id, ADMIN, ["admin"]).storage_path
    original = read_object(bucket, key)

    # One flipped bit in the last segment: everything before it may be sent, never the bad part.
    flipped = bytearray(original)
    flipped[-40] ^= 0x01
    write_object(bucket, key, bytes(flipped))
    parts: list[bytes] = []

    def drain() -> None:
        for message in docs.stub.DownloadDocument(
            D.DownloadDocumentRequest(document_id=document.id), metadata=docs.meta(user)
        ):
            parts.append(message.http_body.data)

    tampered = failure(drain)
    assert tampered.code == grpc.StatusCode.DATA_LOSS and tampered.reason == "CHECKSUM_MISMATCH"
    assert content.startswith(b"".join(parts)) and len(b"".join(parts)) < len(content)

    # Replaced by the plaintext, or truncated: refused as well.
    write_object(bucket, key, content)
    assert failure(lambda: docs.download(document.id, user)).reason == "CHECKSUM_MISMATCH"
    write_object(bucket, key, original[:-1000])
    assert failure(lambda: docs.download(document.id, user)).reason == "CHECKSUM_MISMATCH"
    write_object(bucket, key, original)
    assert docs.download(document.id, user).content == content


def test_idempotent_upload(docs: DocumentClient, bucket: tuple[Minio, str]):
    user = new_user()
    key = uuid.uuid4().hex
    content = pdf()
    first = docs.upload(content, user_id=user, request_id=key)
    again = docs.upload(content, user_id=user, request_id=key)
    assert again == first
    assert len(objects(bucket, f"{user}/")) == 1
    other_content = failure(lambda: docs.upload(pdf(), user_id=user, request_id=key))
    assert other_content.code == grpc.StatusCode.ALREADY_EXISTS
    assert other_content.reason == "IDEMPOTENCY_KEY_REUSED"
    other_name = failure(lambda: docs.upload(content, user_id=user, request_id=key, filename="x.pdf"))
    assert other_name.reason == "IDEMPOTENCY_KEY_REUSED"
    assert len(objects(bucket, f"{user}/")) == 1
    # The Idempotency-Key header (as Envoy forwards it) stands in for an empty request_id.
    header_key = uuid.uuid4().hex
    meta = (*docs.meta(user), ("idempotency-key", header_key))

    def without_request_id() -> Iterator[D.UploadDocumentRequest]:
        return upload_messages(content, user_id=user, content_type="application/pdf", request_id="")

    by_header = docs.stub.UploadDocument(without_request_id(), metadata=meta)
    replayed = docs.stub.UploadDocument(without_request_id(), metadata=meta)
    assert by_header.document.id == replayed.document.id != first.id


def test_review_and_purge(docs: DocumentClient, bucket: tuple[Minio, str]):
    owner = new_user()
    document = docs.upload(pdf(), user_id=owner)

    def review(
        caller: str, roles: list[str], decision: int, reason: str = "", request_id: str = "", version: int = 0
    ) -> D.ReviewDocumentResponse:
        return docs.stub.ReviewDocument(
            D.ReviewDocumentRequest(
                document_id=document.id,
                request_id=request_id or uuid.uuid4().hex,
                decision=decision,
                reason=reason,
                version=version,
            ),
            metadata=docs.meta(caller, roles),
        )

    not_a_reviewer = failure(lambda: review(owner, ["customer"], D.REVIEW_DECISION_APPROVE))
    assert (not_a_reviewer.code, not_a_reviewer.reason) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "PERMISSION_DENIED",
    )
    # A compliance officer deciding on their own document: separation of duties, named as
    # payment and credit name it.
    own = failure(lambda: review(owner, ["customer", "compliance"], D.REVIEW_DECISION_APPROVE))
    assert (own.code, own.reason) == (grpc.StatusCode.PERMISSION_DENIED, "SELF_DECISION")
    assert failure(lambda: review(COMPLIANCE, ["compliance"], D.REVIEW_DECISION_REJECT)).fields == ["reason"]
    assert (
        failure(lambda: review(COMPLIANCE, ["compliance"], D.REVIEW_DECISION_APPROVE, version=2)).reason
        == "VERSION_MISMATCH"
    )
    key = uuid.uuid4().hex
    rejected = review(COMPLIANCE, ["compliance"], D.REVIEW_DECISION_REJECT, "blurred photo", key).document
    assert rejected.status == D.DOCUMENT_STATUS_REJECTED and rejected.rejection_reason == "blurred photo"
    assert rejected.reviewer_id == COMPLIANCE and rejected.HasField("review_time")
    replay = review(COMPLIANCE, ["compliance"], D.REVIEW_DECISION_REJECT, "blurred photo", key)
    assert replay.document == rejected
    assert (
        failure(lambda: review(COMPLIANCE, ["compliance"], D.REVIEW_DECISION_APPROVE, "", key)).reason
        == "IDEMPOTENCY_KEY_REUSED"
    )
    assert (
        failure(lambda: review(ADMIN, ["admin"], D.REVIEW_DECISION_APPROVE)).reason
        == "INVALID_STATE_TRANSITION"
    )
    # A new version restarts the lifecycle and can be approved.
    newer = docs.upload(pdf(), user_id=owner, document_id=document.id)
    assert newer.status == D.DOCUMENT_STATUS_UPLOADED
    approved = review(ADMIN, ["admin"], D.REVIEW_DECISION_APPROVE).document
    assert approved.status == D.DOCUMENT_STATUS_VERIFIED and approved.version == 2

    # Purge: content erased, data keys destroyed, tombstone and audit log kept.
    assert len(objects(bucket, f"{owner}/")) == 2
    purged = docs.stub.DeleteDocument(
        D.DeleteDocumentRequest(document_id=document.id, purge=True, reason="retention period over"),
        metadata=docs.meta(ADMIN, ["admin"]),
    ).document
    assert purged.status == D.DOCUMENT_STATUS_DELETED and purged.HasField("purge_time")
    assert objects(bucket, f"{owner}/") == []
    assert failure(lambda: docs.download(document.id, ADMIN, ["admin"])).code == grpc.StatusCode.NOT_FOUND
    events = docs.stub.ListDocumentAccessEvents(
        D.ListDocumentAccessEventsRequest(document_id=document.id), metadata=docs.meta(ADMIN, ["admin"])
    ).events
    assert (
        events[0].action == D.DOCUMENT_ACCESS_ACTION_PURGE
        and events[1].action == D.DOCUMENT_ACCESS_ACTION_DELETE
    )
    # Deleting again: owner gets NOT_FOUND; an admin gets the tombstone unchanged.
    delete_request = D.DeleteDocumentRequest(document_id=document.id)
    again_by_owner = failure(lambda: docs.stub.DeleteDocument(delete_request, metadata=docs.meta(owner)))
    assert again_by_owner.code == grpc.StatusCode.NOT_FOUND
    again = docs.stub.DeleteDocument(
        D.DeleteDocumentRequest(document_id=document.id), metadata=docs.meta(ADMIN, ["admin"])
    ).document
    assert again.delete_time == purged.delete_time


def test_audit_log_is_append_only(docs: DocumentClient, document_db: Engine):
    user = new_user()
    document = docs.upload(pdf(), user_id=user)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), document_db.begin() as connection:
        connection.execute(sa.text("DELETE FROM access_events WHERE document_id = :d"), {"d": document.id})


@pytest.mark.parametrize(
    ("storage_env", "expected"),
    [
        ({}, "DOCUMENT_S3_ENDPOINT, DOCUMENT_S3_ACCESS_KEY, DOCUMENT_S3_SECRET_KEY are not set"),
        (
            {
                "DOCUMENT_S3_ENDPOINT": "127.0.0.1:1",
                "DOCUMENT_S3_ACCESS_KEY": "a",
                "DOCUMENT_S3_SECRET_KEY": "b",
            },
            "cannot reach document storage at 127.0.0.1:1",
        ),
    ],
)
def test_start_fails_in_one_line_without_storage(
    pg: EmbeddedPostgres, document_server: RunningServer, storage_env: dict[str, str], expected: str
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCUMENT_")}
    env.update(
        storage_env,
        DATABASE_URL=pg.url("nexafi_document"),
        MIGRATE_ON_START="false",
        DOCUMENT_PORT="0",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "gen")]),
    )
    result = subprocess.run(
        [sys.executable, "-m", "services.document"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    # One line that says what is wrong (after the log line about the development master key).
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"nexafi-document: {expected}"), result.stderr


def test_concurrent_uploads_with_one_key_store_one_document(docs: DocumentClient, bucket: tuple[Minio, str]):
    user = new_user()
    key = uuid.uuid4().hex
    content = pdf(300_000)

    def attempt(_: int) -> object:
        try:
            return docs.upload(content, user_id=user, request_id=key)
        except grpc.RpcError as error:
            return describe(error)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(attempt, range(4)))
    # Each got the first result, or was told at once that it is still executing (never a second one).
    stored = [r for r in results if isinstance(r, D.Document)]
    refused = [r for r in results if not isinstance(r, D.Document)]
    assert stored and all(r == stored[0] for r in stored)
    assert all((r.code, r.reason) == (grpc.StatusCode.ABORTED, "REQUEST_IN_PROGRESS") for r in refused)
    assert docs.upload(content, user_id=user, request_id=key) == stored[0]
    assert len(objects(bucket, f"{user}/")) == 1


def object_key_of(engine: Engine, document_id: str) -> str:
    query = sa.text("SELECT object_key FROM document_versions WHERE document_id = :d")
    with engine.connect() as connection:
        return str(connection.execute(query, {"d": document_id}).scalar_one())


def test_a_failed_upload_removes_its_object_only_when_no_row_names_it(
    docs: DocumentClient, bucket: tuple[Minio, str], document_db: Engine, s3: EmbeddedS3
) -> None:
    # The clean-up after a failed upload, on the real database and store: a commit that failed on
    # the way back may have committed, so a recorded object is kept and an unrecorded one removed.
    storage = storage_settings_of(s3)
    keys = MasterKeys("dev", {"dev": DEV_MASTER_KEY})
    settings = DocumentSettings(storage=storage, keys=keys)
    service = DocumentService(document_db, Storage.connect(storage), settings)
    owner = new_user()
    document = docs.upload(pdf(), user_id=owner)
    recorded_key = object_key_of(document_db, document.id)
    orphan_key = f"{owner}/doc_orphan/obj_orphan"
    client, name = bucket
    client.put_object(name, orphan_key, io.BytesIO(b"ciphertext"), 10)
    service.uploads._remove_unless_recorded(recorded_key)
    service.uploads._remove_unless_recorded(orphan_key)
    assert objects(bucket, f"{owner}/") == [recorded_key]
    assert docs.download(document.id, owner).content  # still readable


def test_purging_again_erases_an_object_a_failed_removal_left(
    docs: DocumentClient, bucket: tuple[Minio, str], document_db: Engine
) -> None:
    owner = new_user()
    document = docs.upload(pdf(), user_id=owner)
    key = object_key_of(document_db, document.id)
    request = D.DeleteDocumentRequest(document_id=document.id, purge=True, reason="erasure request")
    docs.stub.DeleteDocument(request, metadata=docs.meta(ADMIN, ["admin"]))
    assert objects(bucket, f"{owner}/") == []
    client, name = bucket
    client.put_object(name, key, io.BytesIO(b"left behind"), 11)  # as if its removal had failed
    docs.stub.DeleteDocument(request, metadata=docs.meta(ADMIN, ["admin"]))
    assert objects(bucket, f"{owner}/") == []


def _storage_problems(docs: DocumentClient, *, verify: bool) -> dict[tuple[str, int], int]:
    """Every problem the consistency check reports, paging through all versions five at a time."""
    found: dict[tuple[str, int], int] = {}
    token = ""
    while True:
        page = docs.stub.CheckStorageConsistency(
            D.CheckStorageConsistencyRequest(page_size=5, page_token=token, verify_checksums=verify),
            metadata=docs.meta(ADMIN, ["admin"]),
            timeout=60,
        )
        assert page.versions_checked <= 5
        found.update({(p.document_id, p.version): p.problem for p in page.problems})
        if not page.next_page_token:
            return found
        token = page.next_page_token


def test_missing_content_is_data_loss_and_listed_by_the_consistency_check(
    docs: DocumentClient, bucket: tuple[Minio, str]
):
    user = new_user()
    lost = docs.upload(pdf(), user_id=user)
    tampered = docs.upload(pdf(5000), user_id=user)
    intact = docs.upload(pdf(4000), user_id=user)
    lost_key = docs.get(lost.id, ADMIN, ["admin"]).storage_path
    tampered_key = docs.get(tampered.id, ADMIN, ["admin"]).storage_path
    client, name = bucket
    client.remove_object(name, lost_key)  # behind the service's back, as a restarted in-memory store did
    original = read_object(bucket, tampered_key)
    write_object(bucket, tampered_key, original[:-100])

    missing = failure(lambda: docs.download(lost.id, user))
    assert missing.code == grpc.StatusCode.DATA_LOSS and missing.reason == "CONTENT_MISSING"
    assert lost.id in missing.message and missing.metadata == {"document_id": lost.id, "version": "1"}
    assert docs.get(lost.id, user).id == lost.id  # the row is still there

    quick = _storage_problems(docs, verify=False)
    assert quick[(lost.id, 1)] == D.STORAGE_PROBLEM_CONTENT_MISSING
    assert (tampered.id, 1) not in quick and (intact.id, 1) not in quick
    thorough = _storage_problems(docs, verify=True)
    assert thorough[(lost.id, 1)] == D.STORAGE_PROBLEM_CONTENT_MISSING
    assert thorough[(tampered.id, 1)] == D.STORAGE_PROBLEM_CHECKSUM_MISMATCH
    assert (intact.id, 1) not in thorough

    denied = failure(
        lambda: docs.stub.CheckStorageConsistency(
            D.CheckStorageConsistencyRequest(), metadata=docs.meta(COMPLIANCE, ["compliance"])
        )
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    foreign = docs.stub.CheckStorageConsistency(
        D.CheckStorageConsistencyRequest(page_size=1), metadata=docs.meta(ADMIN, ["admin"])
    ).next_page_token
    wrong_query = failure(
        lambda: docs.stub.CheckStorageConsistency(
            D.CheckStorageConsistencyRequest(page_token=foreign, verify_checksums=True),
            metadata=docs.meta(ADMIN, ["admin"]),
        )
    )
    assert wrong_query.code == grpc.StatusCode.INVALID_ARGUMENT and wrong_query.fields == ["page_token"]
    write_object(bucket, tampered_key, original)
