import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DocumentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_TYPE_UNSPECIFIED: _ClassVar[DocumentType]
    DOCUMENT_TYPE_ID_CARD: _ClassVar[DocumentType]
    DOCUMENT_TYPE_PASSPORT: _ClassVar[DocumentType]
    DOCUMENT_TYPE_PROOF_OF_ADDRESS: _ClassVar[DocumentType]
    DOCUMENT_TYPE_BANK_STATEMENT: _ClassVar[DocumentType]
    DOCUMENT_TYPE_TAX_RETURN: _ClassVar[DocumentType]
    DOCUMENT_TYPE_OTHER: _ClassVar[DocumentType]

class DocumentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_STATUS_UNSPECIFIED: _ClassVar[DocumentStatus]
    DOCUMENT_STATUS_UPLOADED: _ClassVar[DocumentStatus]
    DOCUMENT_STATUS_PROCESSING: _ClassVar[DocumentStatus]
    DOCUMENT_STATUS_VERIFIED: _ClassVar[DocumentStatus]
    DOCUMENT_STATUS_REJECTED: _ClassVar[DocumentStatus]
    DOCUMENT_STATUS_DELETED: _ClassVar[DocumentStatus]

class ExtractionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXTRACTION_STATUS_UNSPECIFIED: _ClassVar[ExtractionStatus]
    EXTRACTION_STATUS_PENDING: _ClassVar[ExtractionStatus]
    EXTRACTION_STATUS_RUNNING: _ClassVar[ExtractionStatus]
    EXTRACTION_STATUS_SUCCEEDED: _ClassVar[ExtractionStatus]
    EXTRACTION_STATUS_FAILED: _ClassVar[ExtractionStatus]
    EXTRACTION_STATUS_NOT_APPLICABLE: _ClassVar[ExtractionStatus]

class ReviewDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_DECISION_UNSPECIFIED: _ClassVar[ReviewDecision]
    REVIEW_DECISION_APPROVE: _ClassVar[ReviewDecision]
    REVIEW_DECISION_REJECT: _ClassVar[ReviewDecision]

class DocumentAccessAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_ACCESS_ACTION_UNSPECIFIED: _ClassVar[DocumentAccessAction]
    DOCUMENT_ACCESS_ACTION_UPLOAD: _ClassVar[DocumentAccessAction]
    DOCUMENT_ACCESS_ACTION_READ_METADATA: _ClassVar[DocumentAccessAction]
    DOCUMENT_ACCESS_ACTION_DOWNLOAD: _ClassVar[DocumentAccessAction]
    DOCUMENT_ACCESS_ACTION_REVIEW: _ClassVar[DocumentAccessAction]
    DOCUMENT_ACCESS_ACTION_DELETE: _ClassVar[DocumentAccessAction]
    DOCUMENT_ACCESS_ACTION_PURGE: _ClassVar[DocumentAccessAction]
    DOCUMENT_ACCESS_ACTION_DENIED: _ClassVar[DocumentAccessAction]

class StorageProblem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STORAGE_PROBLEM_UNSPECIFIED: _ClassVar[StorageProblem]
    STORAGE_PROBLEM_CONTENT_MISSING: _ClassVar[StorageProblem]
    STORAGE_PROBLEM_CHECKSUM_MISMATCH: _ClassVar[StorageProblem]
DOCUMENT_TYPE_UNSPECIFIED: DocumentType
DOCUMENT_TYPE_ID_CARD: DocumentType
DOCUMENT_TYPE_PASSPORT: DocumentType
DOCUMENT_TYPE_PROOF_OF_ADDRESS: DocumentType
DOCUMENT_TYPE_BANK_STATEMENT: DocumentType
DOCUMENT_TYPE_TAX_RETURN: DocumentType
DOCUMENT_TYPE_OTHER: DocumentType
DOCUMENT_STATUS_UNSPECIFIED: DocumentStatus
DOCUMENT_STATUS_UPLOADED: DocumentStatus
DOCUMENT_STATUS_PROCESSING: DocumentStatus
DOCUMENT_STATUS_VERIFIED: DocumentStatus
DOCUMENT_STATUS_REJECTED: DocumentStatus
DOCUMENT_STATUS_DELETED: DocumentStatus
EXTRACTION_STATUS_UNSPECIFIED: ExtractionStatus
EXTRACTION_STATUS_PENDING: ExtractionStatus
EXTRACTION_STATUS_RUNNING: ExtractionStatus
EXTRACTION_STATUS_SUCCEEDED: ExtractionStatus
EXTRACTION_STATUS_FAILED: ExtractionStatus
EXTRACTION_STATUS_NOT_APPLICABLE: ExtractionStatus
REVIEW_DECISION_UNSPECIFIED: ReviewDecision
REVIEW_DECISION_APPROVE: ReviewDecision
REVIEW_DECISION_REJECT: ReviewDecision
DOCUMENT_ACCESS_ACTION_UNSPECIFIED: DocumentAccessAction
DOCUMENT_ACCESS_ACTION_UPLOAD: DocumentAccessAction
DOCUMENT_ACCESS_ACTION_READ_METADATA: DocumentAccessAction
DOCUMENT_ACCESS_ACTION_DOWNLOAD: DocumentAccessAction
DOCUMENT_ACCESS_ACTION_REVIEW: DocumentAccessAction
DOCUMENT_ACCESS_ACTION_DELETE: DocumentAccessAction
DOCUMENT_ACCESS_ACTION_PURGE: DocumentAccessAction
DOCUMENT_ACCESS_ACTION_DENIED: DocumentAccessAction
STORAGE_PROBLEM_UNSPECIFIED: StorageProblem
STORAGE_PROBLEM_CONTENT_MISSING: StorageProblem
STORAGE_PROBLEM_CHECKSUM_MISMATCH: StorageProblem

class Document(_message.Message):
    __slots__ = ("id", "user_id", "filename", "content_type", "document_type", "storage_path", "size_bytes", "sha256", "version", "status", "extraction_status", "extracted_fields", "extraction_error", "encryption_key_id", "reviewer_id", "rejection_reason", "review_time", "uploaded_by", "create_time", "update_time", "delete_time", "purge_time")
    class ExtractedFieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STORAGE_PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTION_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    EXTRACTION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ENCRYPTION_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TIME_FIELD_NUMBER: _ClassVar[int]
    UPLOADED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETE_TIME_FIELD_NUMBER: _ClassVar[int]
    PURGE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    filename: str
    content_type: str
    document_type: DocumentType
    storage_path: str
    size_bytes: int
    sha256: str
    version: int
    status: DocumentStatus
    extraction_status: ExtractionStatus
    extracted_fields: _containers.ScalarMap[str, str]
    extraction_error: str
    encryption_key_id: str
    reviewer_id: str
    rejection_reason: str
    review_time: _timestamp_pb2.Timestamp
    uploaded_by: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    purge_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., filename: _Optional[str] = ..., content_type: _Optional[str] = ..., document_type: _Optional[_Union[DocumentType, str]] = ..., storage_path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[_Union[DocumentStatus, str]] = ..., extraction_status: _Optional[_Union[ExtractionStatus, str]] = ..., extracted_fields: _Optional[_Mapping[str, str]] = ..., extraction_error: _Optional[str] = ..., encryption_key_id: _Optional[str] = ..., reviewer_id: _Optional[str] = ..., rejection_reason: _Optional[str] = ..., review_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., uploaded_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purge_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UploadDocumentRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "filename", "document_type", "document_id", "sha256", "http_body")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    HTTP_BODY_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    filename: str
    document_type: DocumentType
    document_id: str
    sha256: str
    http_body: _httpbody_pb2.HttpBody
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., filename: _Optional[str] = ..., document_type: _Optional[_Union[DocumentType, str]] = ..., document_id: _Optional[str] = ..., sha256: _Optional[str] = ..., http_body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...

class UploadDocumentResponse(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class GetDocumentRequest(_message.Message):
    __slots__ = ("document_id", "version")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    version: int
    def __init__(self, document_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetDocumentResponse(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class DownloadDocumentRequest(_message.Message):
    __slots__ = ("document_id", "version")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    version: int
    def __init__(self, document_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class DownloadDocumentResponse(_message.Message):
    __slots__ = ("http_body", "document")
    HTTP_BODY_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    http_body: _httpbody_pb2.HttpBody
    document: Document
    def __init__(self, http_body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ..., document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class DeleteDocumentRequest(_message.Message):
    __slots__ = ("document_id", "purge", "reason")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PURGE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    purge: bool
    reason: str
    def __init__(self, document_id: _Optional[str] = ..., purge: bool = ..., reason: _Optional[str] = ...) -> None: ...

class DeleteDocumentResponse(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class ListUserDocumentsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token", "document_type", "status", "show_deleted")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SHOW_DELETED_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    page_token: str
    document_type: DocumentType
    status: DocumentStatus
    show_deleted: bool
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., document_type: _Optional[_Union[DocumentType, str]] = ..., status: _Optional[_Union[DocumentStatus, str]] = ..., show_deleted: bool = ...) -> None: ...

class ListUserDocumentsResponse(_message.Message):
    __slots__ = ("documents", "next_page_token")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    next_page_token: str
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListDocumentVersionsRequest(_message.Message):
    __slots__ = ("document_id", "page_size", "page_token")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    page_size: int
    page_token: str
    def __init__(self, document_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDocumentVersionsResponse(_message.Message):
    __slots__ = ("versions", "next_page_token")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[Document]
    next_page_token: str
    def __init__(self, versions: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReviewDocumentRequest(_message.Message):
    __slots__ = ("document_id", "request_id", "decision", "reason", "version")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    request_id: str
    decision: ReviewDecision
    reason: str
    version: int
    def __init__(self, document_id: _Optional[str] = ..., request_id: _Optional[str] = ..., decision: _Optional[_Union[ReviewDecision, str]] = ..., reason: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ReviewDocumentResponse(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class DocumentAccessEvent(_message.Message):
    __slots__ = ("id", "document_id", "version", "action", "actor_id", "trace_id", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    document_id: str
    version: int
    action: DocumentAccessAction
    actor_id: str
    trace_id: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., document_id: _Optional[str] = ..., version: _Optional[int] = ..., action: _Optional[_Union[DocumentAccessAction, str]] = ..., actor_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDocumentAccessEventsRequest(_message.Message):
    __slots__ = ("document_id", "page_size", "page_token")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    page_size: int
    page_token: str
    def __init__(self, document_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDocumentAccessEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[DocumentAccessEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[DocumentAccessEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListDocumentsInReviewRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "document_type")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    document_type: DocumentType
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., document_type: _Optional[_Union[DocumentType, str]] = ...) -> None: ...

class ListDocumentsInReviewResponse(_message.Message):
    __slots__ = ("documents", "next_page_token")
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    next_page_token: str
    def __init__(self, documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CheckStorageConsistencyRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "verify_checksums")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VERIFY_CHECKSUMS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    verify_checksums: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., verify_checksums: bool = ...) -> None: ...

class InconsistentVersion(_message.Message):
    __slots__ = ("document_id", "version", "user_id", "storage_path", "problem")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    STORAGE_PATH_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    version: int
    user_id: str
    storage_path: str
    problem: StorageProblem
    def __init__(self, document_id: _Optional[str] = ..., version: _Optional[int] = ..., user_id: _Optional[str] = ..., storage_path: _Optional[str] = ..., problem: _Optional[_Union[StorageProblem, str]] = ...) -> None: ...

class CheckStorageConsistencyResponse(_message.Message):
    __slots__ = ("problems", "versions_checked", "next_page_token")
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    problems: _containers.RepeatedCompositeFieldContainer[InconsistentVersion]
    versions_checked: int
    next_page_token: str
    def __init__(self, problems: _Optional[_Iterable[_Union[InconsistentVersion, _Mapping]]] = ..., versions_checked: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...
