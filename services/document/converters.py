"""The document API's messages from the domain's objects (domain -> protobuf), for the servicer."""

from __future__ import annotations

from nexafi.document.v1 import document_pb2

from services.document.domain import AccessEvent, Version, is_admin
from services.runtime import api
from services.runtime.api import to_timestamp
from services.runtime.auth import Principal


def document_pb(version: Version, principal: Principal) -> document_pb2.Document:
    message = document_pb2.Document(
        id=version.document_id,
        user_id=version.user_id,
        filename=version.filename,
        content_type=version.content_type,
        document_type=api.to_enum(document_pb2.DocumentType, version.document_type),
        storage_path=version.object_key if is_admin(principal) else "",
        size_bytes=version.size_bytes,
        sha256=version.sha256,
        version=version.version,
        status=api.to_enum(document_pb2.DocumentStatus, version.effective_status),
        extraction_status=api.to_enum(document_pb2.ExtractionStatus, version.extraction_status),
        extracted_fields=version.extracted_fields,
        extraction_error=version.extraction_error,
        encryption_key_id=version.master_key_id,
        reviewer_id=version.reviewer_id,
        rejection_reason=version.rejection_reason,
        uploaded_by=version.uploaded_by,
        create_time=to_timestamp(version.create_time),
        update_time=to_timestamp(version.update_time),
    )
    if version.review_time is not None:
        message.review_time.CopyFrom(to_timestamp(version.review_time))
    if version.delete_time is not None:
        message.delete_time.CopyFrom(to_timestamp(version.delete_time))
    if version.purge_time is not None:
        message.purge_time.CopyFrom(to_timestamp(version.purge_time))
    return message


def event_pb(event: AccessEvent) -> document_pb2.DocumentAccessEvent:
    return document_pb2.DocumentAccessEvent(
        id=event.id,
        document_id=event.document_id,
        version=event.version,
        action=api.to_enum(document_pb2.DocumentAccessAction, event.action),
        actor_id=event.actor_id,
        trace_id=event.trace_id,
        create_time=to_timestamp(event.create_time),
    )
