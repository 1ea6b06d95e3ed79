"""Content samples and a small client for the document service's tests."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from google.api import httpbody_pb2
from nexafi.document.v1 import document_pb2, document_pb2_grpc

from tests.support.harness import TokenFactory

PASSPORT = document_pb2.DOCUMENT_TYPE_PASSPORT
STATEMENT = document_pb2.DOCUMENT_TYPE_BANK_STATEMENT
OTHER = document_pb2.DOCUMENT_TYPE_OTHER
CHUNK = 64 * 1024


def pdf(size: int = 3000, marker: bytes = b"") -> bytes:
    """A PDF-signed byte string of ``size`` bytes containing ``marker`` (to look for in storage)."""
    head = b"%PDF-1.7\n" + marker
    return head + os.urandom(max(0, size - len(head)))


def png(size: int = 2000) -> bytes:
    head = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    return head + os.urandom(max(0, size - len(head)))


def jpeg(size: int = 2000) -> bytes:
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    return head + os.urandom(max(0, size - len(head)))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_user() -> str:
    return "usr_" + uuid.uuid4().hex[:26].upper()


def upload_messages(
    content: bytes,
    *,
    user_id: str,
    content_type: str,
    document_type: int = PASSPORT,
    filename: str = "passport.pdf",
    request_id: str | None = None,
    document_id: str = "",
    sha: str = "",
    chunk: int = CHUNK,
) -> Iterator[document_pb2.UploadDocumentRequest]:
    """The stream a gRPC client sends: metadata in the first message, then the chunks."""
    yield document_pb2.UploadDocumentRequest(
        request_id=uuid.uuid4().hex if request_id is None else request_id,
        user_id=user_id,
        filename=filename,
        document_type=document_type,
        document_id=document_id,
        sha256=sha,
        http_body=httpbody_pb2.HttpBody(content_type=content_type, data=content[:chunk]),
    )
    for start in range(chunk, len(content), chunk):
        yield document_pb2.UploadDocumentRequest(
            http_body=httpbody_pb2.HttpBody(data=content[start : start + chunk])
        )


@dataclass
class Downloaded:
    content: bytes
    content_type: str
    document: document_pb2.Document
    messages: int


class DocumentClient:
    def __init__(self, stub: document_pb2_grpc.DocumentServiceStub, tokens: TokenFactory) -> None:
        self.stub = stub
        self.tokens = tokens

    def meta(self, subject: str, roles: list[str] | None = None) -> tuple[tuple[str, str], ...]:
        return self.tokens.metadata(subject, roles or ["customer"])

    def upload(
        self,
        content: bytes,
        *,
        user_id: str,
        caller: str | None = None,
        roles: list[str] | None = None,
        content_type: str = "application/pdf",
        **fields: object,
    ) -> document_pb2.Document:
        stream = upload_messages(content, user_id=user_id, content_type=content_type, **fields)  # type: ignore[arg-type]
        reply = self.stub.UploadDocument(stream, metadata=self.meta(caller or user_id, roles), timeout=30)
        return reply.document

    def download(
        self, document_id: str, caller: str, roles: list[str] | None = None, version: int = 0
    ) -> Downloaded:
        stream = self.stub.DownloadDocument(
            document_pb2.DownloadDocumentRequest(document_id=document_id, version=version),
            metadata=self.meta(caller, roles),
            timeout=30,
        )
        parts, content_type, document, count = [], "", document_pb2.Document(), 0
        for message in stream:
            if count == 0:
                content_type, document = message.http_body.content_type, message.document
            parts.append(message.http_body.data)
            count += 1
        return Downloaded(b"".join(parts), content_type, document, count)

    def get(
        self, document_id: str, caller: str, roles: list[str] | None = None, version: int = 0
    ) -> document_pb2.Document:
        request = document_pb2.GetDocumentRequest(document_id=document_id, version=version)
        return self.stub.GetDocument(request, metadata=self.meta(caller, roles), timeout=10).document


# -- passport images for the extraction tests ---------------------------------------------------

SPECIMEN_MRZ = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
)


def icao_check_digit(value: str) -> str:
    """ICAO 9303 check digit (weights 7, 3, 1), written here independently of the service."""
    values = {**{str(d): d for d in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}, "<": 0}
    return str(sum(values[c] * (7, 3, 1)[i % 3] for i, c in enumerate(value)) % 10)


def td3_mrz(
    *,
    country: str,
    surname: str,
    given: str,
    number: str,
    nationality: str,
    birth: str,
    sex: str,
    expiry: str,
    personal: str = "",
    break_field: str = "",
) -> tuple[str, str]:
    """A TD3 MRZ with correct check digits, except ``break_field``'s (off by one) when given."""

    def digit(field: str, value: str) -> str:
        good = icao_check_digit(value)
        return str((int(good) + 1) % 10) if field == break_field else good

    name = (surname.replace(" ", "<") + "<<" + given.replace(" ", "<")).ljust(39, "<")[:39]
    line1 = f"P<{country}{name}"
    number_field, personal_field = number.ljust(9, "<"), personal.ljust(14, "<")
    head = number_field + digit("document_number", number_field)
    birth_part = birth + digit("birth_date", birth)
    expiry_part = expiry + digit("expiry_date", expiry)
    personal_part = personal_field + digit("personal_number", personal_field)
    composite = digit("composite", head + birth_part + expiry_part + personal_part)
    line2 = f"{head}{nationality}{birth_part}{sex}{expiry_part}{personal_part}{composite}"
    assert len(line1) == len(line2) == 44
    return line1, line2


def passport_png(mrz: tuple[str, str], printed: list[str]) -> bytes:
    """A photo-less passport data page: some printed text above the MRZ in an OCR-B-like mono font."""
    import io as _io

    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font_dir = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data/fonts/ttf")
    mono = ImageFont.truetype(os.path.join(font_dir, "DejaVuSansMono.ttf"), 28)
    sans = ImageFont.truetype(os.path.join(font_dir, "DejaVuSans.ttf"), 24)
    image = Image.new("RGB", (840, 560), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 230, 290), outline="black", width=2)  # where the photo would be
    for index, line in enumerate(printed):
        draw.text((260, 40 + index * 40), line, fill="black", font=sans)
    draw.text((30, 430), mrz[0], fill="black", font=mono)
    draw.text((30, 480), mrz[1], fill="black", font=mono)
    buffer = _io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
