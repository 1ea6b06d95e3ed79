"""The compliance review queue: documents whose latest version awaits a decision, oldest first.

Kept apart from the upload/read/review use cases (``service.py``): it is a read model over every
user's documents for staff, with its own query, and the servicer only adapts it. Who may read it
is the same set that may decide (``REVIEW_ROLES``): listing other people's identity documents is
part of reviewing them, not of reading one's own. The listing returns metadata only (no content
is read), so no access event is written; opening the page image goes through DownloadDocument,
which is audited, and the decision through ReviewDocument, which keeps separation of duties.

Order and paging: by document id ascending. Ids are time-ordered, so this is oldest document
first, and a page token holds the last id seen; a document reviewed between two pages simply
drops out, a new one appears at the end.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.document import repository as repo
from services.document.access import ACCESS
from services.document.domain import REVIEWABLE, DocumentType, Version
from services.runtime import api
from services.runtime.api import FieldChecks
from services.runtime.auth import Principal
from services.runtime.db import run_in_transaction

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def documents_in_review(
    session: Session, *, document_type: int, after: str | None, limit: int
) -> list[Version]:
    conditions = ["d.delete_time IS NULL", "v.status = ANY(:reviewable)"]
    params: dict[str, Any] = {"reviewable": sorted(int(s) for s in REVIEWABLE), "limit": limit}
    if document_type:
        conditions.append("d.document_type = :t")
        params["t"] = document_type
    if after is not None:
        conditions.append("d.id > :after")
        params["after"] = after
    rows = session.execute(
        sa.text(
            f"SELECT {repo._VERSION_COLUMNS} FROM documents d JOIN document_versions v "
            f"ON v.document_id = d.id AND v.version = d.latest_version WHERE {' AND '.join(conditions)} "
            "ORDER BY d.id LIMIT :limit"
        ),
        params,
    ).all()
    return [repo._version(row) for row in rows]


def page(
    engine: Engine, principal: Principal, *, document_type: int, page_size: int, page_token: str
) -> api.Page[Version]:
    """One page of the queue, for a compliance officer or an admin."""
    checks = FieldChecks()
    if document_type:
        checks.enum(document_type, DocumentType, "document_type")
    checks.done()
    size = api.page_size(page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
    ACCESS.check("ListDocumentsInReview", principal)
    return api.paginate(
        lambda after, limit: run_in_transaction(
            engine, lambda s: documents_in_review(s, document_type=document_type, after=after, limit=limit)
        ),
        page_token=page_token,
        query=api.query_key("review-queue", document_type),
        size=size,
        position=lambda version: version.document_id,
        parse=api.as_str,
    )
