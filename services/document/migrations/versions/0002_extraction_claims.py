"""Extraction claims: who is extracting a version since when, and how often it was tried.

The extraction worker claims a PENDING version (or a RUNNING one whose claim is older than the
timeout: its worker died) with FOR UPDATE SKIP LOCKED, so replicas never work on the same
version; the attempt counter is the claim's token and caps retries of content that crashes
the worker. Versions of types that have no extractor were left PENDING by 0001's service:
they become NOT_APPLICABLE (only passports, document_type 2, are extracted).
"""

from alembic import op

revision = "0002"
down_revision = "0001"

UPGRADE = """
ALTER TABLE document_versions
    ADD COLUMN extraction_claim_time timestamptz,
    ADD COLUMN extraction_attempts smallint NOT NULL DEFAULT 0 CHECK (extraction_attempts >= 0);
CREATE INDEX document_versions_extraction_queue_idx ON document_versions (create_time)
    WHERE extraction_status IN (1, 2);
UPDATE document_versions v SET extraction_status = 5, update_time = clock_timestamp()
    FROM documents d
    WHERE d.id = v.document_id AND v.extraction_status = 1 AND d.document_type <> 2;
"""

DOWNGRADE = """
DROP INDEX document_versions_extraction_queue_idx;
ALTER TABLE document_versions DROP COLUMN extraction_attempts, DROP COLUMN extraction_claim_time;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
