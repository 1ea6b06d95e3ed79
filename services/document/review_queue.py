"""The compliance review queue: documents whose latest version awaits a decision, oldest first.

Kept apart from the upload/read/review use cases (``service.py``): it is a read model over every
user's documents for staff (its query, ``repository.documents_in_review``, shares the keyset page of
the user's own listing), and the servicer only adapts it. Who may read it
is the same set that may decide (its rule in ``access.py``): listing other people's identity documents is
part of reviewing them, not of reading one's own. The listing returns metadata only (no content
is read), so no access event is written; opening the page image goes through DownloadDocument,
which is audited, and the decision through ReviewDocument, which keeps separation of duties.

Order and paging: by document id ascending. Ids are time-ordered, so this is oldest document
first, and a page token holds the last id seen; a document reviewed between two pages simply
drops out, a new one appears at the end.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from services.document import repository as repo
from services.document.access import ACCESS
from services.document.domain import DocumentType, Version
from services.runtime import api
from services.runtime.api import FieldChecks
from services.runtime.auth import Principal
from services.runtime.db import run_in_transaction

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


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
            engine,
            lambda s: repo.documents_in_review(s, document_type=document_type, after=after, limit=limit),
        ),
        page_token=page_token,
        query=api.query_key("review-queue", document_type),
        size=size,
        position=lambda version: version.document_id,
        parse=api.as_str,
    )
