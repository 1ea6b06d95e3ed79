"""Migration 0002 of the document service on a database of its own (the session's PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime import migrations

VERSION_ROW = (
    "INSERT INTO document_versions (document_id, version, filename, content_type, size_bytes, "
    "sha256, status, extraction_status, object_key, master_key_id, wrapped_key, uploaded_by) "
    "VALUES (:d, 1, 'f', 'application/pdf', 1, repeat('0', 64), 1, 1, :d, 'dev', '\\x00', 'u')"
)


def test_0002_ends_forever_pending_types_and_downgrades(pg: EmbeddedPostgres):
    url = pg.url("nexafi_document_migration_check")
    migrations.upgrade("document", url, "0001")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for document_id, document_type in (("doc_passport", 2), ("doc_statement", 4), ("doc_card", 1)):
                connection.execute(
                    sa.text(
                        "INSERT INTO documents (id, user_id, document_type, latest_version) "
                        "VALUES (:d, 'u', :t, 1)"
                    ),
                    {"d": document_id, "t": document_type},
                )
                connection.execute(sa.text(VERSION_ROW), {"d": document_id})
        migrations.upgrade("document", url, "0002")
        with engine.connect() as connection:
            rows = dict(
                connection.execute(sa.text("SELECT document_id, extraction_status FROM document_versions"))
                .tuples()
                .all()
            )
            attempts = (
                connection.execute(sa.text("SELECT DISTINCT extraction_attempts FROM document_versions"))
                .scalars()
                .all()
            )
        # Passports stay queued for the worker; the other types had no extractor.
        assert rows == {"doc_passport": 1, "doc_statement": 5, "doc_card": 5}
        assert attempts == [0]
        migrations.downgrade("document", url, "0001")
        with engine.connect() as connection:
            columns = (
                connection.execute(
                    sa.text(
                        "SELECT column_name FROM information_schema.columns WHERE table_name = "
                        "'document_versions' "
                        "AND column_name LIKE 'extraction_%'"
                    )
                )
                .scalars()
                .all()
            )
        assert sorted(columns) == ["extraction_error", "extraction_status"]
    finally:
        engine.dispose()
