"""The document service's integration fixtures: one server per session (the runner keeps it),
its client, its bucket and its database."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import sqlalchemy as sa
from minio import Minio
from nexafi.document.v1 import document_pb2_grpc
from sqlalchemy.engine import Engine

from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.embedded_s3 import EmbeddedS3
from services.document.spec import SPEC
from services.runtime.server import RunningServer
from tests.integration.document.document_support import DocumentClient
from tests.support.harness import ServiceRunner, TokenFactory


@pytest.fixture(scope="module")
def document_server(s3: EmbeddedS3, services: ServiceRunner) -> RunningServer:
    return services.start(SPEC)


@pytest.fixture(scope="module")
def docs(document_server: RunningServer, tokens: TokenFactory) -> Iterator[DocumentClient]:
    with grpc.insecure_channel(document_server.address) as channel:
        yield DocumentClient(document_pb2_grpc.DocumentServiceStub(channel), tokens)


@pytest.fixture(scope="module")
def bucket(s3: EmbeddedS3, document_server: RunningServer) -> tuple[Minio, str]:
    client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False)
    return client, s3.env()["DOCUMENT_S3_BUCKET"]


@pytest.fixture(scope="module")
def document_db(pg: EmbeddedPostgres, document_server: RunningServer) -> Iterator[Engine]:
    engine = sa.create_engine(pg.url("nexafi_document"))
    yield engine
    engine.dispose()
