"""Uploads in two steps: ``receive`` checks and spools the content, ``store`` commits it.

``receive`` reads the whole stream before anything is stored: the content is hashed, sniffed
and encrypted segment by segment into a spooled temporary file (memory up to a few MiB, disk
beyond). Its errors (too large, wrong type, bad checksum, client gone) are validation: they
leave neither object nor row behind and do not consume the idempotency key. ``store`` runs
under the key (the servicer's edge, services/runtime/idempotency.py): it writes the object,
then commits the version, the access event and the key's resource in one transaction; a
failed commit removes the object it wrote, unless the row may exist after all.

A stream that was cut is never stored. grpcio ends the request iterator the same way for a
client's half-close and for a reset (RST_STREAM: a client that gave up, or Envoy answering 413
past the gateway's upload limit): the reset's cancellation is delivered just after the last
message, so the content read may be a prefix that looks whole. ``receive`` and ``store`` take
``still_wanted`` (the RPC's ``context.is_active``) and check it once the stream has ended, before
the object is written and, last, inside the committing transaction: a cancelled upload rolls
back, its object is removed, and its key is released (UploadCancelled is ABORTED, transient).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO, cast

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.document import crypto
from services.document import repository as repo
from services.document.access_log import trace_id
from services.document.content import ContentReader
from services.document.domain import (
    SNIFF_BYTES,
    AccessAction,
    ContentTypeProblem,
    DocumentType,
    ExtractionStatus,
    Version,
    check_content_type,
    initial_extraction_status,
    may_upload_for,
)
from services.runtime.auth import Principal
from services.runtime.db import run_in_transaction
from services.runtime.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.runtime.idempotency import Claim, IdempotencyStore
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.document")

# Ciphertext stays in memory up to this size, then spills to a temporary file.
SPOOL_MEMORY_BYTES = 4 * 1024 * 1024


class UploadCancelled(Aborted):
    """The upload's RPC ended (cancelled, reset, past its deadline) before it was committed.

    ABORTED is transient under the idempotency contract: the key is released, not stored."""

    default_reason = "UPLOAD_CANCELLED"


def _always() -> bool:
    return True


def _check_wanted(still_wanted: Callable[[], bool], when: str) -> None:
    if not still_wanted():
        raise UploadCancelled(f"the upload was cancelled {when}; nothing is stored")


@dataclass(frozen=True)
class UploadMeta:
    request_id: str
    user_id: str
    filename: str
    document_type: DocumentType
    document_id: str
    sha256: str
    declared_type: str


@dataclass
class ReceivedUpload:
    """Content that passed every check, encrypted in ``spool`` under a fresh data key."""

    document_id: str
    object_key: str
    data_key: bytes
    content_type: str
    sha256: str
    size: int
    spool: tempfile.SpooledTemporaryFile[bytes] = field(repr=False)

    def __enter__(self) -> ReceivedUpload:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.spool.close()


def version_resource(version: Version) -> str:
    """The idempotency resource of a version (``Claim.resource_id``)."""
    return f"{version.document_id}@{version.version}"


def parse_version_resource(resource_id: str) -> tuple[str, int]:
    document_id, _, version = resource_id.rpartition("@")
    return document_id, int(version)


class Uploads:
    def __init__(
        self,
        engine: Engine,
        content: ContentReader,
        idempotency: IdempotencyStore,
        *,
        max_bytes: int,
        segment_size: int,
    ) -> None:
        self.engine = engine
        self.content = content
        self.idempotency = idempotency
        self.max_bytes = max_bytes
        self.segment_size = segment_size
        # Called after a version awaiting extraction is committed (wakes this process's worker).
        self.on_pending: Callable[[], None] | None = None

    def receive(
        self,
        principal: Principal,
        meta: UploadMeta,
        chunks: Iterable[bytes],
        still_wanted: Callable[[], bool] = _always,
    ) -> ReceivedUpload:
        """The checked, encrypted content of an upload; close it (``with``) when done.

        ``still_wanted`` is false once the stream was cancelled (module docstring)."""
        if not may_upload_for(principal, meta.user_id):
            raise PermissionDenied("not allowed to upload documents for another user")
        if meta.document_id:
            self._check_target(meta)
        document_id = meta.document_id or new_id("doc")
        object_key = f"{meta.user_id}/{document_id}/{new_id('obj')}"
        data_key = crypto.new_data_key()
        # Closed by the ReceivedUpload that owns it, or here when receiving fails.
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
        try:
            content_type, digest, size = self._encrypt(meta, chunks, data_key, object_key, spool)
            _check_wanted(still_wanted, "as its stream ended")
        except BaseException:
            spool.close()
            raise
        return ReceivedUpload(
            document_id=document_id,
            object_key=object_key,
            data_key=data_key,
            content_type=content_type,
            sha256=digest,
            size=size,
            spool=spool,
        )

    def store(
        self,
        principal: Principal,
        meta: UploadMeta,
        received: ReceivedUpload,
        claim: Claim,
        still_wanted: Callable[[], bool] = _always,
    ) -> Version:
        """Write the object and commit the version; the version (the same one when resuming).

        Nothing is committed once ``still_wanted`` turns false (module docstring)."""
        if claim.resource_id:
            # An earlier attempt with this key committed the version and died before answering.
            document_id, number = parse_version_resource(claim.resource_id)
            found = run_in_transaction(self.engine, lambda s: repo.get_version(s, document_id, number))
            if found is not None:
                return found
        _check_wanted(still_wanted, "before it was stored")
        spool = received.spool
        length = spool.tell()
        spool.seek(0)
        object_key = received.object_key
        self.content.storage.put(object_key, cast(BinaryIO, spool), length)
        key_id, wrapped = self.content.keys.wrap(received.data_key, object_key.encode())
        document_id = received.document_id

        def work(session: Session) -> Version:
            if meta.document_id:
                document = repo.get_document(session, meta.document_id, for_update=True)
                self._check_target(meta, document)
                assert document is not None
                number = document.latest_version + 1
                repo.bump_latest_version(session, document_id, number)
            else:
                number = 1
                repo.insert_document(session, document_id, meta.user_id, meta.document_type)
            repo.insert_version(
                session,
                repo.NewVersion(
                    document_id=document_id,
                    version=number,
                    filename=meta.filename,
                    content_type=received.content_type,
                    size_bytes=received.size,
                    sha256=received.sha256,
                    extraction_status=initial_extraction_status(meta.document_type),
                    object_key=object_key,
                    master_key_id=key_id,
                    wrapped_key=wrapped,
                    uploaded_by=principal.subject,
                ),
            )
            repo.add_event(session, document_id, number, AccessAction.UPLOAD, principal.subject, trace_id())
            created = repo.get_version(session, document_id, number)
            assert created is not None
            self.idempotency.attach(session, claim, version_resource(created))
            # Last, as late as the commit allows: the cancellation of a reset stream may have
            # arrived while the object was written.
            _check_wanted(still_wanted, "while it was stored")
            return created

        try:
            created = run_in_transaction(self.engine, work)
        except BaseException:
            self._remove_unless_recorded(object_key)
            raise
        if self.on_pending is not None and created.extraction_status == ExtractionStatus.PENDING:
            self.on_pending()
        return created

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
                "DOCUMENT_TYPE_MISMATCH",
            )

    def _encrypt(
        self,
        meta: UploadMeta,
        chunks: Iterable[bytes],
        data_key: bytes,
        object_key: str,
        spool: tempfile.SpooledTemporaryFile[bytes],
    ) -> tuple[str, str, int]:
        """Hash, sniff, size-check and encrypt the content into ``spool``: (content type, sha256, size)."""
        encryptor = crypto.SegmentEncryptor(data_key, object_key.encode(), self.segment_size)
        spool.write(encryptor.header())
        hasher = hashlib.sha256()
        size = 0
        head = b""
        content_type = ""
        for chunk in chunks:
            size += len(chunk)
            if size > self.max_bytes:
                # Stop reading at once: the rest of the stream is never consumed or stored.
                raise InvalidArgument(
                    f"the document is larger than the limit of {self.max_bytes} bytes",
                    field="http_body.data",
                    description=f"must be at most {self.max_bytes} bytes in all",
                    reason="DOCUMENT_TOO_LARGE",
                    metadata={"max_bytes": str(self.max_bytes)},
                )
            hasher.update(chunk)
            if not content_type:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    content_type = self._content_type(meta, head)
            for sealed in encryptor.update(chunk):
                spool.write(sealed)
        if size == 0:
            raise InvalidArgument(
                "the document is empty",
                field="http_body.data",
                description="must not be empty",
                reason="EMPTY_CONTENT",
            )
        if not content_type:
            content_type = self._content_type(meta, head)
        spool.write(encryptor.finish())
        digest = hasher.hexdigest()
        if meta.sha256 and meta.sha256.lower() != digest:
            raise InvalidArgument(
                "the content does not match the given sha256",
                field="sha256",
                description="must be the SHA-256 of the uploaded content",
                reason="CHECKSUM_MISMATCH",
            )
        return content_type, digest, size

    @staticmethod
    def _content_type(meta: UploadMeta, head: bytes) -> str:
        checked = check_content_type(meta.document_type, meta.declared_type, head)
        if isinstance(checked, ContentTypeProblem):
            raise InvalidArgument(
                checked.message,
                field="http_body.content_type",
                description=checked.message,
                reason="CONTENT_TYPE_MISMATCH",
            )
        return checked

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
            self.content.remove_quietly(object_key)
