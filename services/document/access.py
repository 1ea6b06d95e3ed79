"""Who may call each RPC of the document service (services.runtime.access_rules).

Reads, deletions, reviews and the access log of one document are checked inside the service's
transaction, against the document's owner as locked there, and a refusal is recorded in the access
log (access_log.py); the service asks this table through the predicates of ``domain``. That a
reviewer never decides on their own document is separation of duties, a rule of the domain."""

from __future__ import annotations

from services.runtime.access_rules import AccessTable, Cases, owner_or, roles
from services.runtime.auth import ROLE_ADMIN, ROLE_COMPLIANCE, ROLE_SERVICE, ROLE_SUPPORT

READ_ROLES = (ROLE_ADMIN, ROLE_SUPPORT, ROLE_COMPLIANCE, ROLE_SERVICE)
UPLOAD_ROLES = (ROLE_ADMIN, ROLE_SERVICE)
REVIEW_ROLES = (ROLE_ADMIN, ROLE_COMPLIANCE)
AUDIT_ROLES = (ROLE_ADMIN, ROLE_COMPLIANCE)

READ = owner_or(*READ_ROLES, message="not allowed to read another user's documents")

ACCESS = AccessTable(
    "nexafi.document.v1.DocumentService",
    {
        "UploadDocument": owner_or(*UPLOAD_ROLES, message="not allowed to upload documents for another user"),
        "GetDocument": READ,
        "DownloadDocument": READ,
        # Purging is deleting for good: the owner may delete, only an admin purges.
        "DeleteDocument": Cases(
            {
                "delete": owner_or(ROLE_ADMIN, message="not allowed to delete another user's documents"),
                "purge": roles(ROLE_ADMIN, message="only admins may purge documents"),
            }
        ),
        "ListUserDocuments": Cases(
            {
                "list": owner_or(*READ_ROLES, message="not allowed to list another user's documents"),
                "deleted": roles(ROLE_ADMIN, message="only admins may see deleted documents"),
            }
        ),
        "ListDocumentVersions": READ,
        "ReviewDocument": roles(
            *REVIEW_ROLES, message="only compliance officers and admins review documents"
        ),
        "ListDocumentAccessEvents": owner_or(
            *AUDIT_ROLES, message="not allowed to read this document's access log"
        ),
        "CheckStorageConsistency": roles(ROLE_ADMIN, message="only admins check storage consistency"),
        "ListDocumentsInReview": roles(
            *REVIEW_ROLES, message="only compliance officers and admins may read the review queue"
        ),
    },
)
