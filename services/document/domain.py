"""Document rules as plain Python: content types, file names, lifecycle and who may do what."""

from __future__ import annotations

import enum
import re
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime

from services.document.access import ACCESS
from services.runtime.auth import ROLE_ADMIN, Principal

MAX_FILENAME = 255
# Enough bytes for every signature sniffed here.
SNIFF_BYTES = 16

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"

# Declared types that name the same media type.
_ALIASES = {"image/jpg": JPEG, "image/pjpeg": JPEG, "application/x-pdf": PDF}


class DocumentType(enum.IntEnum):
    ID_CARD = 1
    PASSPORT = 2
    PROOF_OF_ADDRESS = 3
    BANK_STATEMENT = 4
    TAX_RETURN = 5
    OTHER = 6


class DocumentStatus(enum.IntEnum):
    UPLOADED = 1
    PROCESSING = 2
    VERIFIED = 3
    REJECTED = 4
    DELETED = 5


class ExtractionStatus(enum.IntEnum):
    PENDING = 1
    RUNNING = 2
    SUCCEEDED = 3
    FAILED = 4
    NOT_APPLICABLE = 5


class AccessAction(enum.IntEnum):
    UPLOAD = 1
    READ_METADATA = 2
    DOWNLOAD = 3
    REVIEW = 4
    DELETE = 5
    PURGE = 6
    DENIED = 7


class ReviewDecision(enum.IntEnum):
    APPROVE = 1
    REJECT = 2


_IMAGES_AND_PDF = frozenset({PDF, PNG, JPEG})
# Statements and tax returns are issued as PDFs; identity and address proofs are often photos.
ACCEPTED_TYPES: dict[DocumentType, frozenset[str]] = {
    DocumentType.ID_CARD: _IMAGES_AND_PDF,
    DocumentType.PASSPORT: _IMAGES_AND_PDF,
    DocumentType.PROOF_OF_ADDRESS: _IMAGES_AND_PDF,
    DocumentType.BANK_STATEMENT: frozenset({PDF}),
    DocumentType.TAX_RETURN: frozenset({PDF}),
    DocumentType.OTHER: _IMAGES_AND_PDF,
}


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file show, or None when unrecognised."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def normalize_media_type(declared: str) -> str:
    """``declared`` without parameters, lower-cased, aliases resolved ("image/jpg" -> "image/jpeg")."""
    media = declared.split(";", 1)[0].strip().lower()
    return _ALIASES.get(media, media)


@dataclass(frozen=True)
class ContentTypeProblem:
    message: str


def check_content_type(document_type: DocumentType, declared: str, head: bytes) -> str | ContentTypeProblem:
    """The sniffed media type when it matches the declared one and the document type accepts it."""
    sniffed = sniff(head)
    media = normalize_media_type(declared)
    if sniffed is None:
        return ContentTypeProblem("the content is not of a recognised type (PDF, PNG or JPEG)")
    if sniffed != media:
        return ContentTypeProblem(f"the content is {sniffed} but was declared as {media or 'nothing'}")
    if sniffed not in ACCEPTED_TYPES[document_type]:
        accepted = ", ".join(sorted(ACCEPTED_TYPES[document_type]))
        return ContentTypeProblem(f"{sniffed} is not accepted for {document_type.name}; accepted: {accepted}")
    return sniffed


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they make
# "invoice_\u202efdp.exe" display as "invoice_exe.pdf".
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def normalize_filename(name: str) -> str:
    """The file name as stored and checked: Unicode NFC, so one name has one spelling."""
    return unicodedata.normalize("NFC", name)


def filename_problem(name: str) -> str | None:
    """Why ``name`` (normalized) is not an acceptable file name, or None."""
    if not name:
        return "is required"
    if all(c.isspace() or unicodedata.category(c) == "Cf" for c in name):
        return "must not be blank"
    if _BIDI_CONTROLS.search(name):
        return "must not contain bidirectional override or isolate characters"
    if len(name) > MAX_FILENAME:
        return f"must be at most {MAX_FILENAME} characters"
    if "/" in name or "\\" in name:
        return "must not contain a directory part"
    if name in (".", ".."):
        return "must name a file"
    if _CONTROL.search(name):
        return "must not contain control characters"
    return None


def content_disposition(filename: str) -> str:
    """``attachment`` with the name for every client: an ASCII fallback and the UTF-8 original (RFC 6266)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\;' else "_" for c in filename) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def is_sha256_hex(value: str) -> bool:
    return bool(_SHA256.match(value))


# The types an extractor exists for (services/document/extraction/): the passport MRZ (TD3).
# ID cards (TD1 MRZ) and address proofs have none yet, so they are NOT_APPLICABLE at upload
# rather than PENDING forever.
EXTRACTED_TYPES = frozenset({DocumentType.PASSPORT})
# The media types the passport extractor reads (no PDF rasterizer is in the project).
EXTRACTABLE_MEDIA = frozenset({PNG, JPEG})


def initial_extraction_status(document_type: DocumentType) -> ExtractionStatus:
    if document_type in EXTRACTED_TYPES:
        return ExtractionStatus.PENDING
    return ExtractionStatus.NOT_APPLICABLE


REVIEWABLE = frozenset({DocumentStatus.UPLOADED, DocumentStatus.PROCESSING})


# -- the records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    """One version of a document, with its document's deletion state."""

    document_id: str
    user_id: str
    document_type: DocumentType
    version: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: DocumentStatus
    extraction_status: ExtractionStatus
    object_key: str
    master_key_id: str
    wrapped_key: bytes | None
    uploaded_by: str
    create_time: datetime
    update_time: datetime
    extracted_fields: dict[str, str] = field(default_factory=dict)
    extraction_error: str = ""
    reviewer_id: str = ""
    rejection_reason: str = ""
    review_time: datetime | None = None
    delete_time: datetime | None = None
    purge_time: datetime | None = None

    @property
    def deleted(self) -> bool:
        return self.delete_time is not None

    @property
    def effective_status(self) -> DocumentStatus:
        return DocumentStatus.DELETED if self.deleted else self.status


@dataclass(frozen=True)
class AccessEvent:
    id: str
    document_id: str
    version: int
    action: AccessAction
    actor_id: str
    trace_id: str
    create_time: datetime


# -- who may do what: the rules are the table of access.py, asked here by the service ---------------


def is_admin(principal: Principal) -> bool:
    """Admins also see deleted documents and where content is stored."""
    return principal.has_role(ROLE_ADMIN)


def may_read(principal: Principal, owner_id: str) -> bool:
    return ACCESS.allows("GetDocument", principal, owner_id)


def may_upload_for(principal: Principal, user_id: str) -> bool:
    return ACCESS.allows("UploadDocument", principal, user_id)


def may_delete(principal: Principal, owner_id: str) -> bool:
    return ACCESS.allows("DeleteDocument", principal, owner_id, case="delete")


def may_review(principal: Principal, owner_id: str) -> bool:
    # Nobody reviews their own documents, whatever their roles (separation of duties).
    return ACCESS.allows("ReviewDocument", principal) and principal.subject != owner_id


def may_read_audit(principal: Principal, owner_id: str) -> bool:
    return ACCESS.allows("ListDocumentAccessEvents", principal, owner_id)
