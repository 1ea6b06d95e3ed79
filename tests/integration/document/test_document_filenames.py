"""File names and downloads over real gRPC: names are stored in NFC, bidi controls and blank
names are refused naming the field, and a download declares itself an attachment that must
not be sniffed."""

from __future__ import annotations

import unicodedata
import urllib.parse

import grpc
import pytest
from nexafi.document.v1 import document_pb2

from tests.integration.document.document_support import DocumentClient, new_user, pdf
from tests.support.grpc_errors import failure


@pytest.mark.parametrize(
    "name", ["invoice_\u202efdp.exe", "a\u2066b.pdf", "\u202bx.pdf", "   ", "\u3000\u200b"]
)
def test_bidi_controls_and_blank_names_are_refused(docs: DocumentClient, name: str):
    user = new_user()
    failed = failure(lambda: docs.upload(pdf(), user_id=user, filename=name))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT, failed
    assert failed.fields == ["filename"], failed


def test_names_are_stored_in_nfc_and_downloads_are_attachments(docs: DocumentClient):
    user = new_user()
    decomposed = 'Zoe\u0308 "report".pdf'
    document = docs.upload(pdf(), user_id=user, filename=decomposed)
    assert document.filename == unicodedata.normalize("NFC", decomposed) == 'Zo\u00eb "report".pdf'
    stream = docs.stub.DownloadDocument(
        document_pb2.DownloadDocumentRequest(document_id=document.id), metadata=docs.meta(user), timeout=30
    )
    headers = dict(stream.initial_metadata())
    content = b"".join(message.http_body.data for message in stream)
    assert content.startswith(b"%PDF")
    assert headers["x-content-type-options"] == "nosniff"
    disposition = headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Zo_ _report_.pdf"; ')
    assert urllib.parse.unquote(disposition.split("filename*=UTF-8''", 1)[1]) == document.filename
