"""Asynchronous passport extraction: the running service's worker OCRs uploads and verifies the MRZ.

Real parts only: the session's PostgreSQL and S3-protocol server, the document server over gRPC
with its background worker and the real OCR engine (loaded once per process). OCR costs a few
seconds per image on 2 cores, so only three images are read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from nexafi.document.v1 import document_pb2, document_pb2_grpc
from sqlalchemy.engine import Engine

from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.embedded_s3 import EmbeddedS3
from services.document.spec import SPEC
from services.runtime.server import RunningServer
from tests.integration.document.document_support import (
    PASSPORT,
    SPECIMEN_MRZ,
    STATEMENT,
    DocumentClient,
    new_user,
    passport_png,
    pdf,
    png,
    td3_mrz,
)
from tests.support.harness import ServiceRunner, TokenFactory

D = document_pb2
ADMIN = "usr_ADMIN0000000000000000000001"
# Generous: the first image also waits for the OCR models to load; polling ends at the result.
EXTRACTION_DEADLINE_SECONDS = 120.0
PRINTED = ["PASSPORT / PASSEPORT", "Utopia", "Surname / Nom", "Date of birth"]
# A second person with check digits computed by the test helper; one-letter country code.
OKAFOR = td3_mrz(
    country="UTO",
    surname="OKAFOR",
    given="CHIDI EMEKA",
    number="X7R20M415",
    nationality="NGA",
    birth="061130",
    sex="M",
    expiry="330228",
    personal="K9L2",
)


@pytest.fixture(scope="module")
def extraction_server(s3: EmbeddedS3, services: ServiceRunner) -> RunningServer:
    return services.start(SPEC)


@pytest.fixture(scope="module")
def client(extraction_server: RunningServer, tokens: TokenFactory) -> Iterator[DocumentClient]:
    with grpc.insecure_channel(extraction_server.address) as channel:
        yield DocumentClient(document_pb2_grpc.DocumentServiceStub(channel), tokens)


@pytest.fixture(scope="module")
def extraction_db(pg: EmbeddedPostgres, extraction_server: RunningServer) -> Iterator[Engine]:
    engine = sa.create_engine(pg.url("nexafi_document"))
    yield engine
    engine.dispose()


def settled(client: DocumentClient, document_id: str, owner: str) -> document_pb2.Document:
    """The document once its extraction left PENDING/RUNNING (bounded wait for the worker)."""
    deadline = time.monotonic() + EXTRACTION_DEADLINE_SECONDS
    while True:
        document = client.get(document_id, owner)
        if document.extraction_status not in (D.EXTRACTION_STATUS_PENDING, D.EXTRACTION_STATUS_RUNNING):
            return document
        if time.monotonic() > deadline:
            raise AssertionError(
                f"extraction of {document_id} still {document.extraction_status} after "
                f"{EXTRACTION_DEADLINE_SECONDS}s"
            )
        time.sleep(0.2)


def upload_passport(
    client: DocumentClient,
    content: bytes,
    owner: str,
    content_type: str = "image/png",
    filename: str = "passport.png",
) -> document_pb2.Document:
    uploaded = client.upload(
        content, user_id=owner, content_type=content_type, filename=filename, document_type=PASSPORT
    )
    assert uploaded.extraction_status == D.EXTRACTION_STATUS_PENDING
    return uploaded


def test_passport_images_are_extracted_and_verified(client: DocumentClient, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    owner = new_user()
    specimen = upload_passport(client, passport_png(SPECIMEN_MRZ, PRINTED), owner)
    second = upload_passport(client, passport_png(OKAFOR, PRINTED), owner, content_type="image/png")

    done = settled(client, specimen.id, owner)
    assert done.extraction_status == D.EXTRACTION_STATUS_SUCCEEDED, done.extraction_error
    assert dict(done.extracted_fields) == {
        "document_type": "P",
        "issuing_country": "UTO",
        "surname": "ERIKSSON",
        "given_names": "ANNA MARIA",
        "document_number": "L898902C3",
        "nationality": "UTO",
        "birth_date": "1974-08-12",
        "sex": "F",
        "expiry_date": "2012-04-15",
        "personal_number": "ZE184226B",
        "mrz_check_digits_valid": "true",
    }
    assert done.extraction_error == "" and done.status == D.DOCUMENT_STATUS_PROCESSING

    other = settled(client, second.id, owner)
    assert other.extraction_status == D.EXTRACTION_STATUS_SUCCEEDED, other.extraction_error
    assert dict(other.extracted_fields) == {
        "document_type": "P",
        "issuing_country": "UTO",
        "surname": "OKAFOR",
        "given_names": "CHIDI EMEKA",
        "document_number": "X7R20M415",
        "nationality": "NGA",
        "birth_date": "2006-11-30",
        "sex": "M",
        "expiry_date": "2033-02-28",
        "personal_number": "K9L2",
        "mrz_check_digits_valid": "true",
    }

    # The extraction's read of the content is in the access audit log, by the service itself.
    # Every page: each poll of settled() is a logged metadata read, more than a page on a busy machine.
    events: list[D.DocumentAccessEvent] = []
    token = ""
    while True:
        page = client.stub.ListDocumentAccessEvents(
            D.ListDocumentAccessEventsRequest(document_id=specimen.id, page_token=token),
            metadata=client.meta(ADMIN, ["admin"]),
        )
        events.extend(page.events)
        if not (token := page.next_page_token):
            break
    reads = [e for e in events if e.action == D.DOCUMENT_ACCESS_ACTION_DOWNLOAD]
    assert [e.actor_id for e in reads] == ["document"]

    # Neither the MRZ nor the extracted personal data reach the service's logs.
    logs = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert f"{specimen.id} v1: SUCCEEDED" in logs  # the worker did log, without the data
    for secret in (
        *SPECIMEN_MRZ,
        *OKAFOR,
        "ERIKSSON",
        "L898902C3",
        "ZE184226B",
        "OKAFOR",
        "X7R20M415",
        "1974-08-12",
        "2006-11-30",
    ):
        assert secret not in logs


def test_a_wrong_check_digit_fails_extraction(client: DocumentClient):
    owner = new_user()
    forged = td3_mrz(
        country="UTO",
        surname="MARTIN",
        given="CLAIRE SOPHIE",
        number="21AB80934",
        nationality="FRA",
        birth="790704",
        sex="F",
        expiry="280319",
        break_field="birth_date",
    )
    uploaded = upload_passport(client, passport_png(forged, PRINTED), owner)
    done = settled(client, uploaded.id, owner)
    assert done.extraction_status == D.EXTRACTION_STATUS_FAILED
    assert done.extraction_error == "CHECK_DIGIT_MISMATCH:birth_date"
    assert dict(done.extracted_fields) == {}


def test_contents_that_cannot_be_read(client: DocumentClient):
    owner = new_user()
    # No PDF rasterizer: a PDF passport is stored but cannot be extracted.
    as_pdf = upload_passport(client, pdf(), owner, content_type="application/pdf", filename="passport.pdf")
    # PNG signature, random body.
    broken = upload_passport(client, png(5000), owner)
    done_pdf = settled(client, as_pdf.id, owner)
    assert done_pdf.extraction_status == D.EXTRACTION_STATUS_FAILED
    assert done_pdf.extraction_error == "UNSUPPORTED_CONTENT"
    done_broken = settled(client, broken.id, owner)
    assert done_broken.extraction_status == D.EXTRACTION_STATUS_FAILED
    assert done_broken.extraction_error == "UNREADABLE_IMAGE"


def test_types_without_an_extractor_are_not_applicable(client: DocumentClient, extraction_db: Engine):
    owner = new_user()
    statement = client.upload(pdf(), user_id=owner, document_type=STATEMENT, filename="statement.pdf")
    assert statement.extraction_status == D.EXTRACTION_STATUS_NOT_APPLICABLE
    card = client.upload(pdf(), user_id=owner, document_type=D.DOCUMENT_TYPE_ID_CARD, filename="id.pdf")
    assert card.extraction_status == D.EXTRACTION_STATUS_NOT_APPLICABLE
    assert client.get(statement.id, owner).extraction_status == D.EXTRACTION_STATUS_NOT_APPLICABLE
    with extraction_db.connect() as connection:
        attempts = (
            connection.execute(
                sa.text("SELECT extraction_attempts FROM document_versions WHERE document_id IN (:a, :b)"),
                {"a": statement.id, "b": card.id},
            )
            .scalars()
            .all()
        )
    assert attempts == [0, 0]  # never claimed by the worker


def test_a_stale_running_extraction_is_claimed_again(client: DocumentClient, extraction_db: Engine):
    owner = new_user()
    uploaded = upload_passport(client, pdf(), owner, content_type="application/pdf", filename="passport.pdf")
    assert settled(client, uploaded.id, owner).extraction_error == "UNSUPPORTED_CONTENT"
    # As if a worker had claimed it an hour ago and died: RUNNING, older than the timeout.
    with extraction_db.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE document_versions SET extraction_status = 2, extraction_error = '', "
                "extraction_claim_time = clock_timestamp() - interval '1 hour' WHERE document_id = :d"
            ),
            {"d": uploaded.id},
        )
    done = settled(client, uploaded.id, owner)
    assert done.extraction_status == D.EXTRACTION_STATUS_FAILED
    assert done.extraction_error == "UNSUPPORTED_CONTENT"
    with extraction_db.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT extraction_attempts, extraction_claim_time FROM document_versions "
                "WHERE document_id = :d"
            ),
            {"d": uploaded.id},
        ).one()
    assert row.extraction_attempts == 2 and row.extraction_claim_time is None
