"""Document rules without I/O: sniffing, envelope encryption, request validation, settings."""

from __future__ import annotations

import base64
import os

import grpc
import pytest
from google.api import httpbody_pb2
from nexafi.document.v1 import document_pb2

from services.document import crypto
from services.document.domain import (
    JPEG,
    PDF,
    PNG,
    ContentTypeProblem,
    DocumentType,
    check_content_type,
    content_disposition,
    filename_problem,
    may_read,
    may_review,
    may_upload_for,
    normalize_filename,
    normalize_media_type,
    sniff,
)
from services.document.servicer import upload_chunks, upload_meta
from services.document.settings import ExtractionSettings
from services.document.spec import (
    DEV_MASTER_KEY_ID,
    extraction_settings_from_env,
    load_master_keys,
    storage_settings_from_env,
)
from services.document.storage import Storage
from services.runtime.auth import Principal
from services.runtime.config import ConfigError
from services.runtime.errors import InvalidArgument

PDF_HEAD = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG_HEAD = b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00"


# -- sniffing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF_HEAD, PDF),
        (PNG_HEAD, PNG),
        (JPEG_HEAD, JPEG),
        (b"GIF89a\x01\x00", None),
        (b"MZ\x90\x00", None),
        (b"", None),
        (b"%PD", None),
        (b"<html>%PDF-", None),
    ],
)
def test_sniff(head: bytes, expected: str | None):
    assert sniff(head) == expected


def test_declared_type_must_match_the_bytes_and_the_document_type():
    assert check_content_type(DocumentType.PASSPORT, "image/png", PNG_HEAD) == PNG
    assert check_content_type(DocumentType.PASSPORT, "Image/JPG", JPEG_HEAD) == JPEG
    assert check_content_type(DocumentType.TAX_RETURN, "application/pdf; version=1.4", PDF_HEAD) == PDF
    mistyped = check_content_type(DocumentType.PASSPORT, "application/pdf", PNG_HEAD)
    assert isinstance(mistyped, ContentTypeProblem)
    assert isinstance(check_content_type(DocumentType.PASSPORT, "", PNG_HEAD), ContentTypeProblem)
    unknown = check_content_type(DocumentType.OTHER, "text/plain", b"hello world")
    assert isinstance(unknown, ContentTypeProblem)
    # Genuine, correctly declared, but not accepted for this document type.
    problem = check_content_type(DocumentType.BANK_STATEMENT, "image/png", PNG_HEAD)
    assert isinstance(problem, ContentTypeProblem) and "BANK_STATEMENT" in problem.message
    assert normalize_media_type(" IMAGE/PJPEG ;q=1") == JPEG


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("passport.pdf", True),
        ("scan 2024 (1).JPG", True),
        ("a" * 255, True),
        ("a" * 256, False),
        ("", False),
        ("../etc/passwd", False),
        ("C:\\docs\\x.pdf", False),
        ("..", False),
        ("bad\nname", False),
        ("invoice_\u202efdp.exe", False),
        ("a\u2066b\u2069.pdf", False),
        ("   ", False),
        ("\u3000\u200b", False),
        ("\u05d3\u05d5\u05d7.pdf", True),
        ("Zo\u00eb.pdf", True),
    ],
)
def test_filenames(name: str, ok: bool):
    assert (filename_problem(name) is None) is ok


def test_names_are_normalized_and_dispositions_carry_them_for_every_client():
    assert normalize_filename("Zoe\u0308.pdf") == "Zo\u00eb.pdf"
    assert content_disposition('Zo\u00eb "x";.pdf') == (
        "attachment; filename=\"Zo_ _x__.pdf\"; filename*=UTF-8''Zo%C3%AB%20%22x%22%3B.pdf"
    )
    assert content_disposition("\u05d3.pdf").startswith('attachment; filename="_.pdf"; ')


def test_roles():
    owner = Principal("usr_A", frozenset({"customer"}))
    other = Principal("usr_B", frozenset({"customer"}))
    compliance_owner = Principal("usr_A", frozenset({"compliance"}))
    service = Principal("credit", frozenset({"service"}))
    assert may_read(owner, "usr_A") and not may_read(other, "usr_A") and may_read(service, "usr_A")
    assert may_upload_for(service, "usr_A") and not may_upload_for(other, "usr_A")
    assert not may_upload_for(Principal("usr_S", frozenset({"support"})), "usr_A")
    assert not may_review(owner, "usr_A") and not may_review(compliance_owner, "usr_A")
    assert may_review(compliance_owner, "usr_B")


# -- envelope encryption ----------------------------------------------------------------------------


def test_round_trip_in_any_piece_sizes():
    key = crypto.new_data_key()
    for size in (1, 15, 16, 17, 32, 33, 1000):
        plaintext = os.urandom(size)
        sealed = crypto.encrypt(key, b"obj-1", plaintext, segment_size=16)
        if size >= 16:
            # A short random plaintext occurs in random ciphertext by chance (1 byte: ~1 run in 8).
            assert plaintext not in sealed
        decryptor = crypto.SegmentDecryptor(key, b"obj-1")
        out = b"".join(b"".join(decryptor.update(sealed[i : i + 7])) for i in range(0, len(sealed), 7))
        assert out + decryptor.finish() == plaintext


def test_every_kind_of_tampering_is_detected():
    key = crypto.new_data_key()
    plaintext = os.urandom(100)
    sealed = crypto.encrypt(key, b"obj-1", plaintext, segment_size=32)
    segment = 32 + crypto.TAG_SIZE
    header = crypto.HEADER_SIZE
    flipped = bytearray(sealed)
    flipped[header + 5] ^= 1
    first, second = sealed[header : header + segment], sealed[header + segment : header + 2 * segment]
    swapped = sealed[:header] + second + first + sealed[header + 2 * segment :]
    cases = {
        "flipped bit": bytes(flipped),
        "reordered segments": swapped,
        "truncated at a segment boundary": sealed[: header + 2 * segment],
        "truncated mid-segment": sealed[:-3],
        "appended data": sealed + b"x" * 10,
        "header only": sealed[:header],
        "not our format": b"%PDF-" + sealed[5:],
    }
    for name, data in cases.items():
        with pytest.raises(crypto.IntegrityError):
            crypto.decrypt(key, b"obj-1", data)
            pytest.fail(name)
    with pytest.raises(crypto.IntegrityError):
        crypto.decrypt(key, b"obj-2", sealed)  # moved to another object
    with pytest.raises(crypto.IntegrityError):
        crypto.decrypt(crypto.new_data_key(), b"obj-1", sealed)


def test_bad_segment_is_refused_before_its_plaintext_is_released():
    key = crypto.new_data_key()
    plaintext = os.urandom(100)
    sealed = bytearray(crypto.encrypt(key, b"o", plaintext, segment_size=32))
    sealed[crypto.HEADER_SIZE + 2 * (32 + crypto.TAG_SIZE) + 1] ^= 1  # third segment
    decryptor = crypto.SegmentDecryptor(key, b"o")
    released: list[bytes] = []
    with pytest.raises(crypto.IntegrityError):
        for piece in decryptor.update(bytes(sealed)):
            released.append(piece)
    assert b"".join(released) == plaintext[:64]


def test_data_keys_are_wrapped_by_the_current_master_key_and_unwrapped_after_rotation():
    old = crypto.MasterKeys("k1", {"k1": os.urandom(32)})
    data_key = crypto.new_data_key()
    key_id, wrapped = old.wrap(data_key, b"obj")
    assert key_id == "k1" and data_key not in wrapped
    rotated = crypto.MasterKeys("k2", {"k2": os.urandom(32), **old.keys})
    assert rotated.unwrap(key_id, wrapped, b"obj") == data_key
    assert rotated.wrap(data_key, b"obj")[0] == "k2"
    with pytest.raises(crypto.IntegrityError):
        rotated.unwrap(key_id, wrapped, b"other-object")
    with pytest.raises(crypto.IntegrityError):
        crypto.MasterKeys("k2", {"k2": os.urandom(32)}).unwrap(key_id, wrapped, b"obj")


# -- settings ---------------------------------------------------------------------------------------


def test_master_keys_from_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DOCUMENT_MASTER_KEYS", raising=False)
    monkeypatch.setenv("NEXAFI_ENV", "development")
    assert load_master_keys().current == DEV_MASTER_KEY_ID
    monkeypatch.setenv("NEXAFI_ENV", "production")
    with pytest.raises(ConfigError, match="DOCUMENT_MASTER_KEYS is not set"):
        load_master_keys()
    k2, k1 = base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("DOCUMENT_MASTER_KEYS", f"k2:{k2}, k1:{k1}")
    keys = load_master_keys()
    assert keys.current == "k2" and set(keys.keys) == {"k1", "k2"}
    for bad in ("k2", f"k2:{base64.b64encode(b'short').decode()}", "k2:not base64!", f"k1:{k1},k1:{k1}"):
        monkeypatch.setenv("DOCUMENT_MASTER_KEYS", bad)
        with pytest.raises(ConfigError):
            load_master_keys()


def test_extraction_and_limit_settings(monkeypatch: pytest.MonkeyPatch):
    for name in ("DOCUMENT_EXTRACTION_ENABLED", "DOCUMENT_EXTRACTION_POLL_MS", "DOCUMENT_MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)
    defaults = extraction_settings_from_env()
    assert defaults == ExtractionSettings() and defaults.enabled and defaults.poll_seconds == 2.0
    monkeypatch.setenv("DOCUMENT_EXTRACTION_ENABLED", "no")
    monkeypatch.setenv("DOCUMENT_EXTRACTION_POLL_MS", "250")
    assert extraction_settings_from_env() == ExtractionSettings(enabled=False, poll_seconds=0.25)
    monkeypatch.setenv("DOCUMENT_EXTRACTION_ENABLED", "maybe")
    with pytest.raises(ConfigError, match="DOCUMENT_EXTRACTION_ENABLED must be true or false"):
        extraction_settings_from_env()


def test_storage_settings(monkeypatch: pytest.MonkeyPatch):
    required = ("DOCUMENT_S3_ENDPOINT", "DOCUMENT_S3_ACCESS_KEY", "DOCUMENT_S3_SECRET_KEY")
    for name in (*required, "DOCUMENT_S3_SECURE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=", ".join(required)):
        storage_settings_from_env()
    monkeypatch.setenv("DOCUMENT_S3_ENDPOINT", "http://localhost:9000")
    monkeypatch.setenv("DOCUMENT_S3_ACCESS_KEY", "a")
    monkeypatch.setenv("DOCUMENT_S3_SECRET_KEY", "b")
    with pytest.raises(ConfigError, match="host:port"):
        storage_settings_from_env()
    # Nothing listens on the port: one ConfigError line, quickly.
    from services.devtools.embedded_s3 import free_port

    monkeypatch.setenv("DOCUMENT_S3_ENDPOINT", f"127.0.0.1:{free_port()}")
    settings = storage_settings_from_env()
    assert settings.bucket == "nexafi-documents" and not settings.secure
    with pytest.raises(ConfigError, match="cannot reach document storage") as raised:
        Storage.connect(settings)
    assert "\n" not in str(raised.value)


# -- request validation -----------------------------------------------------------------------------


def _first(**fields: object) -> document_pb2.UploadDocumentRequest:
    values: dict[str, object] = {
        "request_id": "r1",
        "user_id": "usr_A",
        "filename": "p.pdf",
        "document_type": document_pb2.DOCUMENT_TYPE_PASSPORT,
        "http_body": httpbody_pb2.HttpBody(content_type="application/pdf", data=b"%PDF"),
    }
    values.update(fields)
    return document_pb2.UploadDocumentRequest(**values)  # type: ignore[arg-type]


def test_upload_metadata_is_checked_all_at_once():
    meta = upload_meta(_first())
    assert meta.user_id == "usr_A" and meta.declared_type == "application/pdf"
    assert upload_meta(_first(request_id=""), "from-header").request_id == "from-header"
    with pytest.raises(InvalidArgument) as raised:
        upload_meta(
            _first(
                request_id="",
                user_id="",
                filename="a/b",
                document_type=0,
                sha256="xyz",
                http_body=httpbody_pb2.HttpBody(),
            )
        )
    fields = {v.field for v in raised.value.violations}
    assert fields == {
        "request_id",
        "user_id",
        "filename",
        "document_type",
        "sha256",
        "http_body.content_type",
    }
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_metadata_after_the_first_message_is_refused():
    later = [
        document_pb2.UploadDocumentRequest(http_body=httpbody_pb2.HttpBody(data=b"more")),
        document_pb2.UploadDocumentRequest(filename="x.pdf", http_body=httpbody_pb2.HttpBody(data=b"!")),
    ]
    chunks = upload_chunks(_first(), iter(later))
    assert next(chunks) == b"%PDF" and next(chunks) == b"more"
    with pytest.raises(InvalidArgument) as raised:
        next(chunks)
    assert [v.field for v in raised.value.violations] == ["filename"]
