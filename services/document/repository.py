"""SQL of the document service, used only inside a unit of work (a Session in a transaction)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.document.domain import (
    REVIEWABLE,
    AccessAction,
    AccessEvent,
    DocumentStatus,
    DocumentType,
    ExtractionStatus,
    Version,
)
from services.runtime.ids import new_id

_VERSION_COLUMNS = """
    d.id AS document_id, d.user_id, d.document_type, d.delete_time, d.purge_time,
    v.version, v.filename, v.content_type, v.size_bytes, v.sha256, v.status, v.extraction_status,
    v.extracted_fields, v.extraction_error, v.object_key, v.master_key_id, v.wrapped_key,
    v.uploaded_by, v.reviewer_id, v.rejection_reason, v.review_time, v.create_time, v.update_time
"""


@dataclass(frozen=True)
class DocumentRow:
    id: str
    user_id: str
    document_type: DocumentType
    latest_version: int
    delete_time: datetime | None
    purge_time: datetime | None


def _version(row: Any) -> Version:
    return Version(
        document_id=row.document_id,
        user_id=row.user_id,
        document_type=DocumentType(row.document_type),
        version=row.version,
        filename=row.filename,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        sha256=row.sha256,
        status=DocumentStatus(row.status),
        extraction_status=ExtractionStatus(row.extraction_status),
        extracted_fields=dict(row.extracted_fields or {}),
        extraction_error=row.extraction_error,
        object_key=row.object_key,
        master_key_id=row.master_key_id,
        wrapped_key=bytes(row.wrapped_key) if row.wrapped_key is not None else None,
        uploaded_by=row.uploaded_by,
        reviewer_id=row.reviewer_id,
        rejection_reason=row.rejection_reason,
        review_time=row.review_time,
        create_time=row.create_time,
        update_time=row.update_time,
        delete_time=row.delete_time,
        purge_time=row.purge_time,
    )


def get_document(session: Session, document_id: str, *, for_update: bool = False) -> DocumentRow | None:
    # NO KEY UPDATE, not UPDATE: audit events referencing the row may still be inserted meanwhile
    # (a denial is recorded in its own transaction while this one holds the lock).
    row = session.execute(
        sa.text(
            "SELECT id, user_id, document_type, latest_version, delete_time, purge_time FROM documents "
            "WHERE id = :id" + (" FOR NO KEY UPDATE" if for_update else "")
        ),
        {"id": document_id},
    ).first()
    if row is None:
        return None
    return DocumentRow(
        row.id,
        row.user_id,
        DocumentType(row.document_type),
        row.latest_version,
        row.delete_time,
        row.purge_time,
    )


def get_version(session: Session, document_id: str, version: int = 0) -> Version | None:
    """The version asked for, or the latest when ``version`` is 0."""
    condition = "v.version = :v" if version else "v.version = d.latest_version"
    row = session.execute(
        sa.text(
            f"SELECT {_VERSION_COLUMNS} FROM documents d JOIN document_versions v ON v.document_id = d.id "
            f"WHERE d.id = :id AND {condition}"
        ),
        {"id": document_id, "v": version},
    ).first()
    return _version(row) if row is not None else None


def insert_document(session: Session, document_id: str, user_id: str, document_type: DocumentType) -> None:
    session.execute(
        sa.text("INSERT INTO documents (id, user_id, document_type, latest_version) VALUES (:id, :u, :t, 1)"),
        {"id": document_id, "u": user_id, "t": int(document_type)},
    )


def bump_latest_version(session: Session, document_id: str, version: int) -> None:
    session.execute(
        sa.text("UPDATE documents SET latest_version = :v WHERE id = :id"), {"v": version, "id": document_id}
    )


@dataclass(frozen=True)
class NewVersion:
    document_id: str
    version: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    extraction_status: ExtractionStatus
    object_key: str
    master_key_id: str
    wrapped_key: bytes
    uploaded_by: str


def insert_version(session: Session, new: NewVersion) -> None:
    session.execute(
        sa.text(
            "INSERT INTO document_versions (document_id, version, filename, content_type, size_bytes, "
            "sha256, "
            "status, extraction_status, object_key, master_key_id, wrapped_key, uploaded_by) VALUES "
            "(:d, :v, :f, :ct, :size, :sha, :status, :es, :key, :mk, :wk, :by)"
        ),
        {
            "d": new.document_id,
            "v": new.version,
            "f": new.filename,
            "ct": new.content_type,
            "size": new.size_bytes,
            "sha": new.sha256,
            "status": int(DocumentStatus.UPLOADED),
            "es": int(new.extraction_status),
            "key": new.object_key,
            "mk": new.master_key_id,
            "wk": new.wrapped_key,
            "by": new.uploaded_by,
        },
    )


def mark_deleted(session: Session, document_id: str, actor: str, reason: str) -> None:
    session.execute(
        sa.text(
            "UPDATE documents SET delete_time = clock_timestamp(), deleted_by = :a, delete_reason = :r "
            "WHERE id = :id AND delete_time IS NULL"
        ),
        {"id": document_id, "a": actor, "r": reason},
    )
    session.execute(
        sa.text("UPDATE document_versions SET update_time = clock_timestamp() WHERE document_id = :id"),
        {"id": document_id},
    )


def mark_purged(session: Session, document_id: str) -> list[str]:
    """Destroy every version's data key; the object keys to erase."""
    session.execute(
        sa.text("UPDATE documents SET purge_time = clock_timestamp() WHERE id = :id"), {"id": document_id}
    )
    rows = session.execute(
        sa.text(
            "UPDATE document_versions SET wrapped_key = NULL, update_time = clock_timestamp() "
            "WHERE document_id = :id RETURNING object_key"
        ),
        {"id": document_id},
    ).all()
    return [row.object_key for row in rows]


def object_keys(session: Session, document_id: str) -> list[str]:
    """Every version's object key (to erase the objects of a purged document again)."""
    rows = session.execute(
        sa.text("SELECT object_key FROM document_versions WHERE document_id = :id"), {"id": document_id}
    ).all()
    return [row.object_key for row in rows]


def stored_versions(session: Session, *, after: tuple[str, int] | None, limit: int) -> list[Version]:
    """Versions whose content is not purged, in (document_id, version) order, after ``after``."""
    doc, ver = after if after is not None else ("", 0)
    rows = session.execute(
        sa.text(
            f"SELECT {_VERSION_COLUMNS} FROM documents d JOIN document_versions v ON v.document_id = d.id "
            "WHERE v.wrapped_key IS NOT NULL AND (d.id, v.version) > (:doc, :ver) "
            "ORDER BY d.id, v.version LIMIT :limit"
        ),
        {"doc": doc, "ver": ver, "limit": limit},
    ).all()
    return [_version(row) for row in rows]


def object_recorded(session: Session, object_key: str) -> bool:
    """A version row names ``object_key``."""
    return (
        session.execute(
            sa.text("SELECT EXISTS (SELECT 1 FROM document_versions WHERE object_key = :k)"),
            {"k": object_key},
        ).scalar_one()
        is True
    )


def record_review(
    session: Session, document_id: str, version: int, status: DocumentStatus, reviewer: str, reason: str
) -> None:
    session.execute(
        sa.text(
            "UPDATE document_versions SET status = :s, reviewer_id = :r, rejection_reason = :reason, "
            "review_time = clock_timestamp(), update_time = clock_timestamp() "
            "WHERE document_id = :d AND version = :v"
        ),
        {"s": int(status), "r": reviewer, "reason": reason, "d": document_id, "v": version},
    )


@dataclass(frozen=True)
class DocumentFilter:
    """Which of a user's documents a listing returns (by their latest version); None does not filter."""

    user_id: str
    document_type: DocumentType | None = None
    status: DocumentStatus | None = None
    show_deleted: bool = False


def list_user_documents(
    session: Session, where: DocumentFilter, *, after: str | None, limit: int
) -> list[Version]:
    conditions = ["d.user_id = :u"]
    params: dict[str, Any] = {"u": where.user_id}
    if where.document_type is not None:
        conditions.append("d.document_type = :t")
        params["t"] = int(where.document_type)
    if where.status == DocumentStatus.DELETED:
        # Deleted is the document's state (delete_time), never a version's stored status.
        conditions.append("d.delete_time IS NOT NULL" if where.show_deleted else "false")
    elif where.status is not None:
        conditions.append("v.status = :s")
        params["s"] = int(where.status)
        if not where.show_deleted:
            conditions.append("d.delete_time IS NULL")
    elif not where.show_deleted:
        conditions.append("d.delete_time IS NULL")
    return _latest_versions(session, conditions, params, after=after, newest_first=True, limit=limit)


def documents_in_review(
    session: Session, *, document_type: int, after: str | None, limit: int
) -> list[Version]:
    """The documents whose latest version awaits a decision (the review queue), oldest first."""
    conditions = ["d.delete_time IS NULL", "v.status = ANY(:reviewable)"]
    params: dict[str, Any] = {"reviewable": sorted(int(s) for s in REVIEWABLE)}
    if document_type:
        conditions.append("d.document_type = :t")
        params["t"] = document_type
    return _latest_versions(session, conditions, params, after=after, newest_first=False, limit=limit)


def _latest_versions(
    session: Session,
    conditions: list[str],
    params: dict[str, Any],
    *,
    after: str | None,
    newest_first: bool,
    limit: int,
) -> list[Version]:
    """The latest version of each document meeting ``conditions``, one page in document id order
    (ids are time-ordered) starting after the id ``after``: the keyset page of every document list."""
    params = {**params, "limit": limit}
    if after is not None:
        conditions = [*conditions, "d.id < :after" if newest_first else "d.id > :after"]
        params["after"] = after
    rows = session.execute(
        sa.text(
            f"SELECT {_VERSION_COLUMNS} FROM documents d JOIN document_versions v "
            f"ON v.document_id = d.id AND v.version = d.latest_version WHERE {' AND '.join(conditions)} "
            f"ORDER BY d.id {'DESC' if newest_first else 'ASC'} LIMIT :limit"
        ),
        params,
    ).all()
    return [_version(row) for row in rows]


def list_versions(session: Session, document_id: str, *, before: int | None, limit: int) -> list[Version]:
    rows = session.execute(
        sa.text(
            f"SELECT {_VERSION_COLUMNS} FROM documents d JOIN document_versions v ON v.document_id = d.id "
            "WHERE d.id = :id AND (CAST(:before AS integer) IS NULL OR v.version < :before) "
            "ORDER BY v.version DESC LIMIT :limit"
        ),
        {"id": document_id, "before": before, "limit": limit},
    ).all()
    return [_version(row) for row in rows]


def add_event(
    session: Session,
    document_id: str,
    version: int,
    action: AccessAction,
    actor: str,
    trace_id: str,
    detail: str = "",
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO access_events (id, document_id, version, action, actor_id, trace_id, detail) "
            "VALUES (:id, :d, :v, :a, :actor, :trace, :detail)"
        ),
        {
            "id": new_id("dae"),
            "d": document_id,
            "v": version,
            "a": int(action),
            "actor": actor,
            "trace": trace_id,
            "detail": detail,
        },
    )


def list_events(session: Session, document_id: str, *, before: str | None, limit: int) -> list[AccessEvent]:
    rows = session.execute(
        sa.text(
            "SELECT id, document_id, version, action, actor_id, trace_id, create_time FROM access_events "
            "WHERE document_id = :d AND (CAST(:before AS text) IS NULL OR id < :before) "
            "ORDER BY id DESC LIMIT :limit"
        ),
        {"d": document_id, "before": before, "limit": limit},
    ).all()
    return [
        AccessEvent(
            row.id,
            row.document_id,
            row.version,
            AccessAction(row.action),
            row.actor_id,
            row.trace_id,
            row.create_time,
        )
        for row in rows
    ]


# -- extraction queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractionClaim:
    version: Version
    # The attempt number doubles as the claim's token: a re-claim after a timeout increments it.
    attempt: int


def claim_extraction(session: Session, stale_after_seconds: int) -> ExtractionClaim | None:
    """Claim the oldest PENDING version, or a RUNNING one whose claim is stale; None when idle.

    SKIP LOCKED: replicas polling at once each take a different version instead of waiting.
    The document moves to PROCESSING (extraction running or done, awaiting review).
    """
    row = session.execute(
        sa.text(
            "WITH next AS (SELECT document_id, version FROM document_versions "
            "  WHERE extraction_status = :pending OR (extraction_status = :running AND "
            "        extraction_claim_time < clock_timestamp() - make_interval(secs => :stale)) "
            "  ORDER BY create_time LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "UPDATE document_versions v SET extraction_status = :running, "
            "  extraction_claim_time = clock_timestamp(), extraction_attempts = v.extraction_attempts + 1, "
            "  status = CASE WHEN v.status = :uploaded THEN :processing ELSE v.status END, "
            "  update_time = clock_timestamp() "
            "FROM next WHERE v.document_id = next.document_id AND v.version = next.version "
            "RETURNING v.document_id, v.version, v.extraction_attempts"
        ),
        {
            "pending": int(ExtractionStatus.PENDING),
            "running": int(ExtractionStatus.RUNNING),
            "stale": stale_after_seconds,
            "uploaded": int(DocumentStatus.UPLOADED),
            "processing": int(DocumentStatus.PROCESSING),
        },
    ).first()
    if row is None:
        return None
    found = get_version(session, row.document_id, row.version)
    assert found is not None
    return ExtractionClaim(found, row.extraction_attempts)


def extraction_queue(session: Session) -> dict[ExtractionStatus, int]:
    """How many versions wait for extraction (PENDING) and are being extracted (RUNNING).

    Counted on the partial index of unfinished extractions, so it costs the queue's length."""
    rows = session.execute(
        sa.text(
            "SELECT extraction_status, count(*) AS n FROM document_versions "
            "WHERE extraction_status IN (:pending, :running) GROUP BY extraction_status"
        ),
        {"pending": int(ExtractionStatus.PENDING), "running": int(ExtractionStatus.RUNNING)},
    ).all()
    counts = {ExtractionStatus.PENDING: 0, ExtractionStatus.RUNNING: 0}
    counts.update({ExtractionStatus(row.extraction_status): int(row.n) for row in rows})
    return counts


def finish_extraction(
    session: Session, claim: ExtractionClaim, status: ExtractionStatus, fields: dict[str, str], error: str
) -> bool:
    """Record the result if the claim still holds (no other worker re-claimed it meanwhile)."""
    result = session.execute(
        sa.text(
            "UPDATE document_versions SET extraction_status = :s, extracted_fields = CAST(:f AS jsonb), "
            "extraction_error = :e, extraction_claim_time = NULL, update_time = clock_timestamp() "
            "WHERE document_id = :d AND version = :v AND extraction_status = :running "
            "AND extraction_attempts = :a"
        ),
        {
            "s": int(status),
            "f": json.dumps(fields),
            "e": error,
            "d": claim.version.document_id,
            "v": claim.version.version,
            "running": int(ExtractionStatus.RUNNING),
            "a": claim.attempt,
        },
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
