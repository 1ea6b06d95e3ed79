"""The document service's use cases: plain Python over the repository, the bucket and the keys.

Each use case returns domain objects (``Version``, ``AccessEvent``); the servicer renders them.
Who may do what is decided in ``domain`` and applied here, where every access, allowed or
denied, is written to the append-only access log.

* ``uploads`` (uploads.py): receive and check the content, then store it;
* ``content`` (content.py): decryption and verification of stored content;
* here: reads, downloads, deletion and purge, review, the access log.

Idempotency (UploadDocument, ReviewDocument) is the servicer's edge: the one contract of
services/runtime/idempotency.py, with keys scoped to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.document import repository as repo
from services.document.access import ACCESS
from services.document.access_log import denied, trace_id
from services.document.content import ContentReader
from services.document.domain import (
    REVIEWABLE,
    AccessAction,
    AccessEvent,
    DocumentStatus,
    ReviewDecision,
    Version,
    is_admin,
)
from services.document.settings import DocumentSettings
from services.document.storage import Storage
from services.document.uploads import Uploads, parse_version_resource, version_resource
from services.runtime.auth import Principal
from services.runtime.db import run_in_transaction
from services.runtime.errors import FailedPrecondition, NotFound, PermissionDenied
from services.runtime.idempotency import Claim, IdempotencyStore

log = logging.getLogger("nexafi.document")


def _no_document(document_id: str) -> NotFound:
    return NotFound(f"no document {document_id}", "DOCUMENT_NOT_FOUND")


class DocumentService:
    def __init__(self, engine: Engine, storage: Storage, settings: DocumentSettings) -> None:
        self.engine = engine
        self.idempotency = IdempotencyStore(engine, table="idempotency_keys")
        self.content = ContentReader(engine, storage, settings.keys)
        self.uploads = Uploads(
            engine,
            self.content,
            self.idempotency,
            max_bytes=settings.max_bytes,
            segment_size=settings.segment_size,
        )

    # -- reads ---------------------------------------------------------------------------------
    def _readable(
        self, session: Session, principal: Principal, document_id: str, version: int, *, hide_deleted: bool
    ) -> Version:
        document = repo.get_document(session, document_id)
        if document is None:
            raise _no_document(document_id)
        # The one rule of every read of a document (GetDocument, DownloadDocument, ListDocumentVersions).
        refusal = ACCESS.refusal("GetDocument", principal, document.user_id)
        if refusal is not None:
            raise denied(self.engine, principal, document_id, version, refusal.message)
        if document.delete_time is not None and hide_deleted:
            raise _no_document(document_id)
        found = repo.get_version(session, document_id, version)
        if found is None:
            raise NotFound(f"document {document_id} has no version {version}", "VERSION_NOT_FOUND")
        return found

    def get(self, principal: Principal, document_id: str, version: int) -> Version:
        def work(session: Session) -> Version:
            found = self._readable(
                session, principal, document_id, version, hide_deleted=not is_admin(principal)
            )
            repo.add_event(
                session, document_id, found.version, AccessAction.READ_METADATA, principal.subject, trace_id()
            )
            return found

        return run_in_transaction(self.engine, work)

    def list_versions(
        self, principal: Principal, document_id: str, before: int | None, limit: int
    ) -> list[Version]:
        def work(session: Session) -> list[Version]:
            self._readable(session, principal, document_id, 0, hide_deleted=not is_admin(principal))
            repo.add_event(session, document_id, 0, AccessAction.READ_METADATA, principal.subject, trace_id())
            return repo.list_versions(session, document_id, before=before, limit=limit)

        return run_in_transaction(self.engine, work)

    def list_user_documents(
        self, where: repo.DocumentFilter, *, after: str | None, limit: int
    ) -> list[Version]:
        return run_in_transaction(
            self.engine, lambda s: repo.list_user_documents(s, where, after=after, limit=limit)
        )

    def download(
        self, principal: Principal, document_id: str, version: int
    ) -> tuple[Version, Iterator[bytes]]:
        """The version and its verified plaintext in chunks; the access is logged before any byte."""

        def work(session: Session) -> Version:
            found = self._readable(session, principal, document_id, version, hide_deleted=True)
            repo.add_event(
                session, document_id, found.version, AccessAction.DOWNLOAD, principal.subject, trace_id()
            )
            return found

        found = run_in_transaction(self.engine, work)
        return found, self.content.plaintext(found)

    def check_storage(
        self, *, after: tuple[str, int] | None, limit: int, verify_checksums: bool
    ) -> tuple[list[Version], list[tuple[Version, str]]]:
        """The versions checked and those whose content is missing or fails verification."""
        return self.content.check(after=after, limit=limit, verify_checksums=verify_checksums)

    def extraction_content(self, found: Version, actor: str) -> bytes:
        """The verified plaintext of ``found`` for extraction by ``actor`` (content.py)."""
        return self.content.for_extraction(found, actor)

    # -- deletion ------------------------------------------------------------------------------
    def delete(self, principal: Principal, document_id: str, *, purge: bool, reason: str) -> Version:
        def work(session: Session) -> tuple[Version, list[str]]:
            document = repo.get_document(session, document_id, for_update=True)
            if document is None:
                raise _no_document(document_id)
            refusal = ACCESS.refusal("DeleteDocument", principal, document.user_id, case="delete")
            if refusal is not None:
                raise denied(self.engine, principal, document_id, 0, refusal.message)
            if purge:
                ACCESS.check("DeleteDocument", principal, case="purge")
            if document.delete_time is not None and not is_admin(principal):
                raise _no_document(document_id)
            erase: list[str] = []
            if document.delete_time is None:
                repo.mark_deleted(session, document_id, principal.subject, reason)
                repo.add_event(
                    session, document_id, 0, AccessAction.DELETE, principal.subject, trace_id(), reason
                )
            if purge and document.purge_time is None:
                erase = repo.mark_purged(session, document_id)
                repo.add_event(
                    session, document_id, 0, AccessAction.PURGE, principal.subject, trace_id(), reason
                )
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
            self.content.remove_quietly(object_key)
        return latest

    # -- review --------------------------------------------------------------------------------
    def review(
        self,
        principal: Principal,
        document_id: str,
        decision: ReviewDecision,
        reason: str,
        version: int,
        claim: Claim | None = None,
    ) -> Version:
        """Record the decision on the latest version; the reviewed version."""

        def work(session: Session) -> Version:
            document = repo.get_document(session, document_id, for_update=True)
            if document is None:
                raise _no_document(document_id)
            ACCESS.check("ReviewDocument", principal)
            if principal.subject == document.user_id:
                # Separation of duties (domain.may_review), answered as payment and credit answer it.
                raise PermissionDenied("a reviewer may not decide on their own document", "SELF_DECISION")
            if claim is not None and claim.resource_id:
                # An earlier attempt with this key committed the review and died before answering.
                reviewed_id, reviewed_version = parse_version_resource(claim.resource_id)
                done = repo.get_version(session, reviewed_id, reviewed_version)
                assert done is not None
                return done
            latest = repo.get_version(session, document_id)
            assert latest is not None
            if latest.deleted or latest.status not in REVIEWABLE:
                raise FailedPrecondition(
                    f"the document is {latest.effective_status.name}, not awaiting review",
                    "INVALID_STATE_TRANSITION",
                )
            if version and version != latest.version:
                raise FailedPrecondition(
                    f"version {version} is not the latest ({latest.version})", "VERSION_MISMATCH"
                )
            approved = decision == ReviewDecision.APPROVE
            status = DocumentStatus.VERIFIED if approved else DocumentStatus.REJECTED
            repo.record_review(
                session,
                document_id,
                latest.version,
                status,
                principal.subject,
                reason if status == DocumentStatus.REJECTED else "",
            )
            repo.add_event(
                session,
                document_id,
                latest.version,
                AccessAction.REVIEW,
                principal.subject,
                trace_id(),
                f"{decision.name}: {reason}",
            )
            reviewed = repo.get_version(session, document_id)
            assert reviewed is not None
            if claim is not None:
                self.idempotency.attach(session, claim, version_resource(reviewed))
            return reviewed

        try:
            return run_in_transaction(self.engine, work)
        except PermissionDenied:
            denied(self.engine, principal, document_id, version, "")
            raise

    # -- audit log -----------------------------------------------------------------------------
    def access_events(
        self, principal: Principal, document_id: str, before: str | None, limit: int
    ) -> list[AccessEvent]:
        def work(session: Session) -> list[AccessEvent]:
            document = repo.get_document(session, document_id)
            if document is None:
                raise _no_document(document_id)
            refusal = ACCESS.refusal("ListDocumentAccessEvents", principal, document.user_id)
            if refusal is not None:
                raise denied(self.engine, principal, document_id, 0, refusal.message)
            return repo.list_events(session, document_id, before=before, limit=limit)

        return run_in_transaction(self.engine, work)
