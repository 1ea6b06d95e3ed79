"""The document service's use cases: plain Python over the repository, the bucket and the keys.

Uploads are received whole before anything is stored: the content is hashed, sniffed and
encrypted segment by segment into a spooled temporary file (memory up to a few MiB, disk
beyond), and only when every check has passed is the object written to the bucket and the
metadata committed. An aborted upload (too large, wrong type, bad checksum, client gone)
therefore leaves neither object nor row behind; a failed commit removes the object it wrote.

Idempotency: the key (``request_id``) is scoped to the caller and stored with a fingerprint of
the metadata and content in the transaction that creates the version, with the first response.
Only successes are stored; a failed upload does not consume its key.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import grpc
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from services.document import crypto
from services.document import repository as repo
from services.document.domain import (
    REVIEWABLE,
    SNIFF_BYTES,
    AccessAction,
    AccessEvent,
    ContentTypeProblem,
    DocumentStatus,
    DocumentType,
    ExtractionStatus,
    ReviewDecision,
    Version,
    check_content_type,
    initial_extraction_status,
    is_admin,
    may_delete,
    may_read,
    may_read_audit,
    may_review,
    may_upload_for,
)
from services.document.storage import ObjectMissing, Storage
from services.runtime.auth import Principal
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from services.runtime.ids import new_id
from services.runtime.logs import request_id_var

log = logging.getLogger("nexafi.document")

# Ciphertext stays in memory up to this size, then spills to a temporary file.
SPOOL_MEMORY_BYTES = 4 * 1024 * 1024


class DataLoss(DomainError):
    """Stored content is missing or no longer matches its checksum."""

    code = grpc.StatusCode.DATA_LOSS
    default_reason = "DATA_LOSS"


@dataclass(frozen=True)
class Config:
    max_bytes: int
    keys: crypto.MasterKeys
    segment_size: int = crypto.DEFAULT_SEGMENT_SIZE


@dataclass(frozen=True)
class UploadMeta:
    request_id: str
    user_id: str
    filename: str
    document_type: DocumentType
    document_id: str
    sha256: str
    declared_type: str


def trace_id() -> str:
    """The current trace id when tracing is on, else the request id (both are in the logs)."""
    try:
        from opentelemetry import trace

        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            return format(context.trace_id, "032x")
    except Exception:  # telemetry must never break an RPC
        log.debug("no trace context", exc_info=True)
    request_id = request_id_var.get()
    return "" if request_id == "-" else request_id


class _ReplayInstead(Exception):
    """The idempotency key was stored by a concurrent request: replay it instead."""


class DocumentService:
    def __init__(self, engine: Engine, storage: Storage, config: Config) -> None:
        self.engine = engine
        self.storage = storage
        self.config = config
        # Called after a version awaiting extraction is committed (wakes this process's worker).
        self.on_pending: Callable[[], None] | None = None

    # -- audit ---------------------------------------------------------------------------------
    def _deny(self, principal: Principal, document_id: str, version: int, message: str) -> PermissionDenied:
        def work(session: Session) -> None:
            repo.add_event(session, document_id, version, AccessAction.DENIED, principal.subject, trace_id())

        try:
            run_in_transaction(self.engine, work)
        except Exception:
            log.exception("could not record a denied access to %s", document_id)
        return PermissionDenied(message)

    # -- upload --------------------------------------------------------------------------------
    def upload(self, principal: Principal, meta: UploadMeta, chunks: Iterable[bytes],
               render: Callable[[Version], bytes]) -> bytes:
        """Store a new document or version from ``chunks``; the rendered response (first result on replay)."""
        if not may_upload_for(principal, meta.user_id):
            raise PermissionDenied("not allowed to upload documents for another user")
        if meta.document_id:
            self._check_target(meta)
        document_id = meta.document_id or new_id("doc")
        object_key = f"{meta.user_id}/{document_id}/{new_id('obj')}"
        data_key = crypto.new_data_key()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            content_type, digest, size = self._receive(meta, chunks, data_key, object_key, spool)
            fingerprint = repo.fingerprint("upload", meta.user_id, meta.filename, int(meta.document_type),
                                           meta.document_id, content_type, digest)
            stored = self._stored(principal, meta.request_id, "upload", fingerprint)
            if stored is not None:
                return stored
            length = spool.tell()
            spool.seek(0)
            self.storage.put(object_key, cast(BinaryIO, spool), length)
        key_id, wrapped = self.config.keys.wrap(data_key, object_key.encode())

        def work(session: Session) -> bytes:
            if repo.find_idempotency_key(session, principal.subject, meta.request_id) is not None:
                raise _ReplayInstead
            if meta.document_id:
                document = repo.get_document(session, meta.document_id, for_update=True)
                self._check_target(meta, document)
                assert document is not None
                version = document.latest_version + 1
                repo.bump_latest_version(session, document_id, version)
            else:
                version = 1
                repo.insert_document(session, document_id, meta.user_id, meta.document_type)
            repo.insert_version(session, repo.NewVersion(
                document_id=document_id, version=version, filename=meta.filename,
                content_type=content_type, size_bytes=size, sha256=digest,
                extraction_status=initial_extraction_status(meta.document_type), object_key=object_key,
                master_key_id=key_id, wrapped_key=wrapped, uploaded_by=principal.subject))
            repo.add_event(session, document_id, version, AccessAction.UPLOAD, principal.subject, trace_id())
            created = repo.get_version(session, document_id, version)
            assert created is not None
            response = render(created)
            repo.store_idempotency_key(session, principal.subject, meta.request_id, "upload", fingerprint,
                                       response)
            return response

        try:
            response = run_in_transaction(self.engine, work)
        except (_ReplayInstead, DbIntegrityError):
            self._remove_quietly(object_key)
            # A concurrent request with the same key committed first: replay it (or refuse it).
            stored = self._stored(principal, meta.request_id, "upload", fingerprint)
            if stored is None:
                raise
            return stored
        except BaseException:
            self._remove_unless_recorded(object_key)
            raise
        if self.on_pending is not None and initial_extraction_status(meta.document_type) == \
                ExtractionStatus.PENDING:
            self.on_pending()
        return response

    def _check_target(self, meta: UploadMeta, document: repo.DocumentRow | None = None) -> None:
        if document is None:
            document = run_in_transaction(self.engine, lambda s: repo.get_document(s, meta.document_id))
        if document is None or document.user_id != meta.user_id:
            raise NotFound(f"user {meta.user_id} has no document {meta.document_id}", "DOCUMENT_NOT_FOUND")
        if document.delete_time is not None:
            raise FailedPrecondition("the document is deleted", "DOCUMENT_DELETED")
        if document.document_type != meta.document_type:
            raise FailedPrecondition(
                f"the document is a {document.document_type.name}, not a {meta.document_type.name}",
                "DOCUMENT_TYPE_MISMATCH")

    def _receive(self, meta: UploadMeta, chunks: Iterable[bytes], data_key: bytes, object_key: str,
                 spool: tempfile.SpooledTemporaryFile[bytes]) -> tuple[str, str, int]:
        """Hash, sniff, size-check and encrypt the content into ``spool``: (content type, sha256, size)."""
        encryptor = crypto.SegmentEncryptor(data_key, object_key.encode(), self.config.segment_size)
        spool.write(encryptor.header())
        hasher = hashlib.sha256()
        size = 0
        head = b""
        content_type = ""
        for chunk in chunks:
            size += len(chunk)
            if size > self.config.max_bytes:
                # Stop reading at once: the rest of the stream is never consumed or stored.
                raise InvalidArgument(
                    f"the document is larger than the limit of {self.config.max_bytes} bytes",
                    field="http_body.data",
                    description=f"must be at most {self.config.max_bytes} bytes in all",
                    reason="DOCUMENT_TOO_LARGE", metadata={"max_bytes": str(self.config.max_bytes)})
            hasher.update(chunk)
            if not content_type:
                head += chunk[:SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    content_type = self._content_type(meta, head)
            for sealed in encryptor.update(chunk):
                spool.write(sealed)
        if size == 0:
            raise InvalidArgument("the document is empty", field="http_body.data",
                                  description="must not be empty", reason="EMPTY_CONTENT")
        if not content_type:
            content_type = self._content_type(meta, head)
        spool.write(encryptor.finish())
        digest = hasher.hexdigest()
        if meta.sha256 and meta.sha256.lower() != digest:
            raise InvalidArgument("the content does not match the given sha256", field="sha256",
                                  description="must be the SHA-256 of the uploaded content",
                                  reason="CHECKSUM_MISMATCH")
        return content_type, digest, size

    @staticmethod
    def _content_type(meta: UploadMeta, head: bytes) -> str:
        checked = check_content_type(meta.document_type, meta.declared_type, head)
        if isinstance(checked, ContentTypeProblem):
            raise InvalidArgument(checked.message, field="http_body.content_type",
                                  description=checked.message, reason="CONTENT_TYPE_MISMATCH")
        return checked

    def _stored(self, principal: Principal, key: str, operation: str, fingerprint: str) -> bytes | None:
        stored = run_in_transaction(self.engine,
                                    lambda s: repo.find_idempotency_key(s, principal.subject, key))
        if stored is None:
            return None
        if stored.operation != operation or stored.fingerprint != fingerprint:
            raise AlreadyExists(f"request_id {key!r} was already used with a different request",
                                "IDEMPOTENCY_KEY_REUSED", {"request_id": key})
        return stored.response

    def _remove_unless_recorded(self, object_key: str) -> None:
        """Remove the object of an upload that failed, unless its row was committed after all.

        A commit can fail after the server committed (the connection broke on the way back), so
        the failure alone does not prove the row is absent. When that cannot be told either, the
        object stays: an orphan object costs storage, a row without its object loses a document."""
        try:
            recorded = run_in_transaction(self.engine, lambda s: repo.object_recorded(s, object_key))
        except Exception:
            log.exception("kept object %s of a failed upload: its row may exist", object_key)
            return
        if not recorded:
            self._remove_quietly(object_key)

    def _remove_quietly(self, object_key: str) -> None:
        try:
            self.storage.remove(object_key)
        except Exception:
            log.exception("could not remove object %s of a failed upload", object_key)

    # -- reads ---------------------------------------------------------------------------------
    def _readable(self, session: Session, principal: Principal, document_id: str, version: int,
                  *, hide_deleted: bool) -> Version:
        document = repo.get_document(session, document_id)
        if document is None:
            raise NotFound(f"no document {document_id}", "DOCUMENT_NOT_FOUND")
        if not may_read(principal, document.user_id):
            raise self._deny(principal, document_id, version, "not allowed to read another user's documents")
        if document.delete_time is not None and hide_deleted:
            raise NotFound(f"no document {document_id}", "DOCUMENT_NOT_FOUND")
        found = repo.get_version(session, document_id, version)
        if found is None:
            raise NotFound(f"document {document_id} has no version {version}", "VERSION_NOT_FOUND")
        return found

    def get(self, principal: Principal, document_id: str, version: int) -> Version:
        def work(session: Session) -> Version:
            found = self._readable(session, principal, document_id, version,
                                   hide_deleted=not is_admin(principal))
            repo.add_event(session, document_id, found.version, AccessAction.READ_METADATA,
                           principal.subject, trace_id())
            return found

        return run_in_transaction(self.engine, work)

    def list_versions(self, principal: Principal, document_id: str, before: int | None,
                      limit: int) -> list[Version]:
        def work(session: Session) -> list[Version]:
            self._readable(session, principal, document_id, 0, hide_deleted=not is_admin(principal))
            repo.add_event(session, document_id, 0, AccessAction.READ_METADATA, principal.subject, trace_id())
            return repo.list_versions(session, document_id, before=before, limit=limit)

        return run_in_transaction(self.engine, work)

    def list_user_documents(self, principal: Principal, user_id: str, *, document_type: int, status: int,
                            show_deleted: bool, after: str | None, limit: int) -> list[Version]:
        if not may_read(principal, user_id):
            raise PermissionDenied("not allowed to list another user's documents")
        if show_deleted and not is_admin(principal):
            raise PermissionDenied("only admins may see deleted documents")
        return run_in_transaction(self.engine, lambda s: repo.list_user_documents(
            s, user_id, document_type=document_type, status=status, show_deleted=show_deleted,
            after=after, limit=limit))

    def download(self, principal: Principal, document_id: str,
                 version: int) -> tuple[Version, Iterator[bytes]]:
        """The version and its verified plaintext in chunks; the access is logged before any byte."""
        def work(session: Session) -> Version:
            found = self._readable(session, principal, document_id, version, hide_deleted=True)
            repo.add_event(session, document_id, found.version, AccessAction.DOWNLOAD, principal.subject,
                           trace_id())
            return found

        found = run_in_transaction(self.engine, work)
        if found.wrapped_key is None:
            raise NotFound(f"the content of document {document_id} was purged", "DOCUMENT_PURGED")
        return found, self._plaintext(found, found.wrapped_key)

    def _plaintext(self, found: Version, wrapped_key: bytes) -> Iterator[bytes]:
        context = found.object_key.encode()
        hasher = hashlib.sha256()
        size = 0
        try:
            decryptor = crypto.SegmentDecryptor(
                self.config.keys.unwrap(found.master_key_id, wrapped_key, context), context)
            for piece in self.storage.read(found.object_key):
                for plain in decryptor.update(piece):
                    hasher.update(plain)
                    size += len(plain)
                    yield plain
            last = decryptor.finish()
        except crypto.IntegrityError as exc:
            log.error("document %s v%d failed verification: %s", found.document_id, found.version, exc)
            raise self._loss(found, "no longer matches its checksum", "CHECKSUM_MISMATCH") from None
        except ObjectMissing:
            log.error("document %s v%d: object %s is missing", found.document_id, found.version,
                      found.object_key)
            raise self._loss(found, "is missing from storage", "CONTENT_MISSING") from None
        hasher.update(last)
        size += len(last)
        # The last segment is held back until the whole content is verified against its checksum.
        if hasher.hexdigest() != found.sha256 or size != found.size_bytes:
            log.error("document %s v%d: checksum mismatch", found.document_id, found.version)
            raise self._loss(found, "no longer matches its checksum", "CHECKSUM_MISMATCH")
        if last:
            yield last

    @staticmethod
    def _loss(found: Version, what: str, reason: str) -> DataLoss:
        return DataLoss(f"the stored content of document {found.document_id} version {found.version} {what}",
                        reason, {"document_id": found.document_id, "version": str(found.version)})

    def check_storage(self, principal: Principal, *, after: tuple[str, int] | None, limit: int,
                      verify_checksums: bool) -> tuple[list[Version], list[tuple[Version, str]]]:
        """The versions checked and those whose content is missing or fails verification (admins only)."""
        if not is_admin(principal):
            raise PermissionDenied("only admins check storage consistency")
        versions = run_in_transaction(self.engine,
                                      lambda s: repo.stored_versions(s, after=after, limit=limit))
        problems: list[tuple[Version, str]] = []
        for found in versions:
            if found.wrapped_key is None:
                continue
            if not verify_checksums:
                if not self.storage.exists(found.object_key):
                    problems.append((found, "CONTENT_MISSING"))
                continue
            try:
                for _ in self._plaintext(found, found.wrapped_key):
                    pass
            except DataLoss as exc:
                problems.append((found, exc.reason))
        return versions, problems

    def extraction_content(self, found: Version, actor: str) -> bytes:
        """The verified plaintext of ``found`` for extraction by ``actor``; the read is logged first.

        NotFound (DOCUMENT_PURGED) when the data key is destroyed, DataLoss when the stored
        content is missing or fails verification, exactly as a download would.
        """
        run_in_transaction(self.engine, lambda s: repo.add_event(
            s, found.document_id, found.version, AccessAction.DOWNLOAD, actor, trace_id(), "KYC extraction"))
        if found.wrapped_key is None:
            raise NotFound(f"the content of document {found.document_id} was purged", "DOCUMENT_PURGED")
        return b"".join(self._plaintext(found, found.wrapped_key))

    # -- deletion ------------------------------------------------------------------------------
    def delete(self, principal: Principal, document_id: str, *, purge: bool, reason: str) -> Version:
        def work(session: Session) -> tuple[Version, list[str]]:
            document = repo.get_document(session, document_id, for_update=True)
            if document is None:
                raise NotFound(f"no document {document_id}", "DOCUMENT_NOT_FOUND")
            if not may_delete(principal, document.user_id):
                raise self._deny(principal, document_id, 0, "not allowed to delete another user's documents")
            if purge and not is_admin(principal):
                raise PermissionDenied("only admins may purge documents")
            if document.delete_time is not None and not is_admin(principal):
                raise NotFound(f"no document {document_id}", "DOCUMENT_NOT_FOUND")
            erase: list[str] = []
            if document.delete_time is None:
                repo.mark_deleted(session, document_id, principal.subject, reason)
                repo.add_event(session, document_id, 0, AccessAction.DELETE, principal.subject, trace_id(),
                               reason)
            if purge and document.purge_time is None:
                erase = repo.mark_purged(session, document_id)
                repo.add_event(session, document_id, 0, AccessAction.PURGE, principal.subject, trace_id(),
                               reason)
            elif purge:
                # Purged before: the keys are gone; erase any object a failed removal left behind.
                erase = repo.object_keys(session, document_id)
            latest = repo.get_version(session, document_id)
            assert latest is not None
            return latest, erase

        latest, erase = run_in_transaction(self.engine, work)
        # The data keys are gone with the commit, so the content is unreadable already;
        # erasing the objects is clean-up and may be retried by purging again.
        for object_key in erase:
            self._remove_quietly(object_key)
        return latest

    # -- review --------------------------------------------------------------------------------
    def review(self, principal: Principal, document_id: str, request_id: str, decision: ReviewDecision,
               reason: str, version: int, render: Callable[[Version], bytes]) -> bytes:
        fingerprint = repo.fingerprint("review", document_id, int(decision), reason, version)

        def work(session: Session) -> bytes:
            document = repo.get_document(session, document_id, for_update=True)
            if document is None:
                raise NotFound(f"no document {document_id}", "DOCUMENT_NOT_FOUND")
            if not may_review(principal, document.user_id):
                raise PermissionDenied("only compliance officers and admins review, never their own")
            stored = repo.find_idempotency_key(session, principal.subject, request_id)
            if stored is not None:
                if stored.operation != "review" or stored.fingerprint != fingerprint:
                    raise AlreadyExists(
                        f"request_id {request_id!r} was already used with a different request",
                        "IDEMPOTENCY_KEY_REUSED", {"request_id": request_id})
                return stored.response
            latest = repo.get_version(session, document_id)
            assert latest is not None
            if latest.deleted or latest.status not in REVIEWABLE:
                raise FailedPrecondition(
                    f"the document is {latest.effective_status.name}, not awaiting review",
                    "INVALID_STATE_TRANSITION")
            if version and version != latest.version:
                raise FailedPrecondition(f"version {version} is not the latest ({latest.version})",
                                         "VERSION_MISMATCH")
            approved = decision == ReviewDecision.APPROVE
            status = DocumentStatus.VERIFIED if approved else DocumentStatus.REJECTED
            repo.record_review(session, document_id, latest.version, status, principal.subject,
                               reason if status == DocumentStatus.REJECTED else "")
            repo.add_event(session, document_id, latest.version, AccessAction.REVIEW, principal.subject,
                           trace_id(), f"{decision.name}: {reason}")
            reviewed = repo.get_version(session, document_id)
            assert reviewed is not None
            response = render(reviewed)
            repo.store_idempotency_key(session, principal.subject, request_id, "review", fingerprint,
                                       response)
            return response

        try:
            return run_in_transaction(self.engine, work)
        except PermissionDenied:
            self._deny(principal, document_id, version, "")
            raise

    # -- audit log -----------------------------------------------------------------------------
    def access_events(self, principal: Principal, document_id: str, before: str | None,
                      limit: int) -> list[AccessEvent]:
        def work(session: Session) -> list[AccessEvent]:
            document = repo.get_document(session, document_id)
            if document is None:
                raise NotFound(f"no document {document_id}", "DOCUMENT_NOT_FOUND")
            if not may_read_audit(principal, document.user_id):
                raise self._deny(principal, document_id, 0, "not allowed to read this document's access log")
            return repo.list_events(session, document_id, before=before, limit=limit)

        return run_in_transaction(self.engine, work)
