"""The gRPC adapter of the document service: proto <-> domain, syntactic validation, the principal.

Who may do what is the table of access.py: checked here where the RPC needs nothing of a
document, and inside the service's transaction (which also writes the access audit log) where it
does. Idempotency keys are handled here, at the edge, by the one contract of
services/runtime/idempotency.py around a service call that returns a domain object: the first
response is rendered, stored and replayed as it was.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.api import httpbody_pb2
from nexafi.document.v1 import document_pb2, document_pb2_grpc

from services.document import review_queue
from services.document.access import ACCESS
from services.document.converters import document_pb, event_pb
from services.document.domain import (
    DocumentStatus,
    DocumentType,
    ReviewDecision,
    Version,
    content_disposition,
    filename_problem,
    is_sha256_hex,
    normalize_filename,
)
from services.document.repository import DocumentFilter
from services.document.service import DocumentService
from services.document.uploads import ReceivedUpload, UploadCancelled, UploadMeta
from services.runtime import api
from services.runtime.api import FieldChecks
from services.runtime.auth import Principal, current_principal
from services.runtime.errors import InvalidArgument
from services.runtime.idempotency import Claim
from services.runtime.request_keys import RequestKeys

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# Download messages carry at most this much content (the proto promises at most 1 MiB).
MAX_CHUNK = 1024 * 1024
MAX_REASON = 1000
DEFAULT_CHECK_PAGE_SIZE = 100
MAX_CHECK_PAGE_SIZE = 1000
_PROBLEMS = {
    "CONTENT_MISSING": document_pb2.STORAGE_PROBLEM_CONTENT_MISSING,
    "CHECKSUM_MISMATCH": document_pb2.STORAGE_PROBLEM_CHECKSUM_MISMATCH,
}
_METADATA_FIELDS = ("request_id", "user_id", "filename", "document_type", "document_id", "sha256")


def _document_id(value: str, checks: FieldChecks) -> str:
    return checks.identifier(value, "document_id")


def _version(value: int, checks: FieldChecks) -> int:
    if value < 0:
        checks.add("version", "must not be negative (0 means the latest)")
    return value


def upload_meta(first: document_pb2.UploadDocumentRequest, idempotency_header: str = "") -> UploadMeta:
    """The metadata of an upload's first message, checked."""
    checks = FieldChecks()
    request_id = checks.request_id(first.request_id or idempotency_header)
    user_id = checks.identifier(first.user_id, "user_id")
    filename = normalize_filename(first.filename)
    problem = filename_problem(filename)
    if problem:
        checks.add("filename", problem)
    checks.enum(first.document_type, DocumentType, "document_type")
    if first.document_id:
        checks.identifier(first.document_id, "document_id")
    if first.sha256 and not is_sha256_hex(first.sha256):
        checks.add("sha256", "must be 64 hexadecimal digits")
    declared = checks.text(
        first.http_body.content_type, "http_body.content_type", max_length=255, required=True
    )
    checks.done("invalid upload")
    return UploadMeta(
        request_id=request_id,
        user_id=user_id,
        filename=filename,
        document_type=DocumentType(first.document_type),
        document_id=first.document_id,
        sha256=first.sha256,
        declared_type=declared,
    )


def upload_chunks(
    first: document_pb2.UploadDocumentRequest, rest: Iterator[document_pb2.UploadDocumentRequest]
) -> Iterator[bytes]:
    """The content chunks of an upload stream; metadata after the first message is refused."""
    if first.http_body.data:
        yield first.http_body.data
    for index, message in enumerate(rest, start=1):
        late = [name for name in _METADATA_FIELDS if getattr(message, name)]
        if message.http_body.content_type:
            late.append("http_body.content_type")
        if late:
            raise InvalidArgument(
                f"message {index} of the upload stream carries metadata; only the first message may",
                field=late[0],
                description="may only be set in the first message",
            )
        if message.http_body.data:
            yield message.http_body.data


def _until_reset(
    requests: Iterator[document_pb2.UploadDocumentRequest], context: grpc.ServicerContext
) -> Iterator[document_pb2.UploadDocumentRequest]:
    """The request stream; a reset noticed while reading is an UploadCancelled, not an INTERNAL."""
    try:
        yield from requests
    except grpc.RpcError:
        if context.is_active():
            raise
        raise UploadCancelled("the upload was cancelled while it was received") from None


def upload_fingerprint_body(meta: UploadMeta, received: ReceivedUpload) -> dict[str, object]:
    """What a replay of an upload must repeat: its metadata and its content (by digest)."""
    return {
        "user_id": meta.user_id,
        "filename": meta.filename,
        "document_type": int(meta.document_type),
        "document_id": meta.document_id,
        "content_type": received.content_type,
        "sha256": received.sha256,
    }


class DocumentServicer(document_pb2_grpc.DocumentServiceServicer):
    def __init__(self, service: DocumentService, fingerprint_key: bytes) -> None:
        self.service = service
        # Keys the request fingerprints of idempotency keys (services/runtime/fingerprints.py).
        self.keys = RequestKeys(service.idempotency, fingerprint_key)

    def UploadDocument(
        self, request_iterator: Iterator[document_pb2.UploadDocumentRequest], context: grpc.ServicerContext
    ) -> document_pb2.UploadDocumentResponse:
        principal = current_principal()
        request_iterator = _until_reset(request_iterator, context)
        first = next(request_iterator, None)
        if first is None:
            raise InvalidArgument(
                "the upload stream is empty",
                field="http_body.data",
                description="must not be empty",
                reason="EMPTY_CONTENT",
            )
        header = dict(context.invocation_metadata()).get("idempotency-key", "")
        meta = upload_meta(first, header if isinstance(header, str) else "")
        uploads = self.service.uploads
        # Receiving is validation (size, type, checksum): its errors do not consume the key.
        # The end of the request iterator does not tell a half-close from a reset: the RPC's
        # state, checked before anything is committed, does (uploads.py).
        still_wanted = context.is_active
        chunks = upload_chunks(first, request_iterator)
        with uploads.receive(principal, meta, chunks, still_wanted) as received:

            def execute(claim: Claim) -> document_pb2.UploadDocumentResponse:
                version = uploads.store(principal, meta, received, claim, still_wanted)
                return document_pb2.UploadDocumentResponse(document=document_pb(version, principal))

            return self.keys.respond(
                principal.subject,
                meta.request_id,
                "upload",
                upload_fingerprint_body(meta, received),
                document_pb2.UploadDocumentResponse,
                execute,
            )

    def GetDocument(
        self, request: document_pb2.GetDocumentRequest, context: grpc.ServicerContext
    ) -> document_pb2.GetDocumentResponse:
        principal = current_principal()
        checks = FieldChecks()
        document_id, version = _document_id(request.document_id, checks), _version(request.version, checks)
        checks.done()
        found = self.service.get(principal, document_id, version)
        return document_pb2.GetDocumentResponse(document=document_pb(found, principal))

    def DownloadDocument(
        self, request: document_pb2.DownloadDocumentRequest, context: grpc.ServicerContext
    ) -> Iterator[document_pb2.DownloadDocumentResponse]:
        principal = current_principal()
        checks = FieldChecks()
        document_id, version = _document_id(request.document_id, checks), _version(request.version, checks)
        checks.done()
        found, content = self.service.download(principal, document_id, version)
        # Through Envoy these become the response's headers: the browser saves the file under its
        # name and never renders it as another type than the one declared.
        context.send_initial_metadata(
            (
                ("content-disposition", content_disposition(found.filename)),
                ("x-content-type-options", "nosniff"),
            )
        )
        first = True
        pending = b""
        for piece in content:
            pending += piece
            while len(pending) >= MAX_CHUNK:
                yield self._chunk(found, principal, pending[:MAX_CHUNK], first)
                pending, first = pending[MAX_CHUNK:], False
            if pending:
                yield self._chunk(found, principal, pending, first)
                pending, first = b"", False

    @staticmethod
    def _chunk(
        found: Version, principal: Principal, data: bytes, first: bool
    ) -> document_pb2.DownloadDocumentResponse:
        if not first:
            return document_pb2.DownloadDocumentResponse(http_body=httpbody_pb2.HttpBody(data=data))
        return document_pb2.DownloadDocumentResponse(
            http_body=httpbody_pb2.HttpBody(content_type=found.content_type, data=data),
            document=document_pb(found, principal),
        )

    def DeleteDocument(
        self, request: document_pb2.DeleteDocumentRequest, context: grpc.ServicerContext
    ) -> document_pb2.DeleteDocumentResponse:
        principal = current_principal()
        checks = FieldChecks()
        document_id = _document_id(request.document_id, checks)
        reason = checks.text(request.reason, "reason", max_length=MAX_REASON, required=request.purge)
        checks.done()
        deleted = self.service.delete(principal, document_id, purge=request.purge, reason=reason)
        return document_pb2.DeleteDocumentResponse(document=document_pb(deleted, principal))

    def ListUserDocuments(
        self, request: document_pb2.ListUserDocumentsRequest, context: grpc.ServicerContext
    ) -> document_pb2.ListUserDocumentsResponse:
        principal = current_principal()
        checks = FieldChecks()
        user_id = checks.identifier(request.user_id, "user_id")
        if request.document_type:
            checks.enum(request.document_type, DocumentType, "document_type")
        if request.status:
            checks.enum(request.status, DocumentStatus, "status")
        checks.done()
        size = api.page_size(request.page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        query = api.query_key(
            "documents", user_id, request.document_type, request.status, request.show_deleted
        )
        document_type = DocumentType(request.document_type) if request.document_type else None
        status = DocumentStatus(request.status) if request.status else None
        ACCESS.check("ListUserDocuments", principal, user_id, case="list")
        if request.show_deleted:
            ACCESS.check("ListUserDocuments", principal, case="deleted")
        where = DocumentFilter(user_id, document_type, status, request.show_deleted)
        page = api.paginate(
            lambda after, limit: self.service.list_user_documents(where, after=after, limit=limit),
            page_token=request.page_token,
            query=query,
            size=size,
            position=lambda version: version.document_id,
            parse=api.as_str,
        )
        return document_pb2.ListUserDocumentsResponse(
            documents=[document_pb(v, principal) for v in page.items], next_page_token=page.next_page_token
        )

    def ListDocumentVersions(
        self, request: document_pb2.ListDocumentVersionsRequest, context: grpc.ServicerContext
    ) -> document_pb2.ListDocumentVersionsResponse:
        principal = current_principal()
        checks = FieldChecks()
        document_id = _document_id(request.document_id, checks)
        checks.done()
        size = api.page_size(request.page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        query = api.query_key("versions", document_id)
        page = api.paginate(
            lambda before, limit: self.service.list_versions(principal, document_id, before, limit),
            page_token=request.page_token,
            query=query,
            size=size,
            position=lambda version: version.version,
            parse=api.as_int,
        )
        return document_pb2.ListDocumentVersionsResponse(
            versions=[document_pb(v, principal) for v in page.items], next_page_token=page.next_page_token
        )

    def ReviewDocument(
        self, request: document_pb2.ReviewDocumentRequest, context: grpc.ServicerContext
    ) -> document_pb2.ReviewDocumentResponse:
        principal = current_principal()
        checks = FieldChecks()
        document_id = _document_id(request.document_id, checks)
        request_id = checks.request_id(request.request_id)
        checks.enum(request.decision, ReviewDecision, "decision")
        reason = checks.text(
            request.reason,
            "reason",
            max_length=MAX_REASON,
            required=request.decision == ReviewDecision.REJECT,
        )
        version = _version(request.version, checks)
        checks.done()
        decision = ReviewDecision(request.decision)

        def execute(claim: Claim) -> document_pb2.ReviewDocumentResponse:
            reviewed = self.service.review(principal, document_id, decision, reason, version, claim)
            return document_pb2.ReviewDocumentResponse(document=document_pb(reviewed, principal))

        body = {"document_id": document_id, "decision": int(decision), "reason": reason, "version": version}
        return self.keys.respond(
            principal.subject, request_id, "review", body, document_pb2.ReviewDocumentResponse, execute
        )

    def ListDocumentAccessEvents(
        self, request: document_pb2.ListDocumentAccessEventsRequest, context: grpc.ServicerContext
    ) -> document_pb2.ListDocumentAccessEventsResponse:
        principal = current_principal()
        checks = FieldChecks()
        document_id = _document_id(request.document_id, checks)
        checks.done()
        size = api.page_size(request.page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        query = api.query_key("events", document_id)
        page = api.paginate(
            lambda before, limit: self.service.access_events(principal, document_id, before, limit),
            page_token=request.page_token,
            query=query,
            size=size,
            position=lambda event: event.id,
            parse=api.as_str,
        )
        return document_pb2.ListDocumentAccessEventsResponse(
            events=[event_pb(e) for e in page.items], next_page_token=page.next_page_token
        )

    def CheckStorageConsistency(
        self, request: document_pb2.CheckStorageConsistencyRequest, context: grpc.ServicerContext
    ) -> document_pb2.CheckStorageConsistencyResponse:
        principal = current_principal()
        size = api.page_size(request.page_size, default=DEFAULT_CHECK_PAGE_SIZE, maximum=MAX_CHECK_PAGE_SIZE)
        query = api.query_key("storage-consistency", request.verify_checksums)
        after = api.decode_page_token(request.page_token, query)
        if after is not None and not (
            isinstance(after, list)
            and len(after) == 2
            and isinstance(after[0], str)
            and isinstance(after[1], int)
            and not isinstance(after[1], bool)
        ):
            raise InvalidArgument(
                "malformed page_token",
                field="page_token",
                description="must be a next_page_token returned by this method",
            )
        ACCESS.check("CheckStorageConsistency", principal)
        checked, problems = self.service.check_storage(
            after=(after[0], after[1]) if after is not None else None,
            limit=size,
            verify_checksums=request.verify_checksums,
        )
        last = checked[-1] if len(checked) == size else None
        token = api.encode_page_token([last.document_id, last.version], query) if last is not None else ""
        return document_pb2.CheckStorageConsistencyResponse(
            problems=[
                document_pb2.InconsistentVersion(
                    document_id=v.document_id,
                    version=v.version,
                    user_id=v.user_id,
                    storage_path=v.object_key,
                    problem=_PROBLEMS[reason],
                )
                for v, reason in problems
            ],
            versions_checked=len(checked),
            next_page_token=token,
        )

    def ListDocumentsInReview(
        self, request: document_pb2.ListDocumentsInReviewRequest, context: grpc.ServicerContext
    ) -> document_pb2.ListDocumentsInReviewResponse:
        principal = current_principal()
        page = review_queue.page(
            self.service.engine,
            principal,
            document_type=request.document_type,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return document_pb2.ListDocumentsInReviewResponse(
            documents=[document_pb(v, principal) for v in page.items], next_page_token=page.next_page_token
        )
