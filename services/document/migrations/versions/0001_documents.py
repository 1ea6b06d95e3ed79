"""Documents, their versions, the access audit log and idempotency keys.

The access log is append-only: triggers refuse UPDATE, DELETE and TRUNCATE, so the
trail survives even a purge or a buggy service.
"""

from alembic import op

revision = "0001"
down_revision = None

UPGRADE = """
CREATE TABLE documents (
    id             text PRIMARY KEY,
    user_id        text NOT NULL,
    document_type  smallint NOT NULL CHECK (document_type BETWEEN 1 AND 6),
    latest_version integer NOT NULL CHECK (latest_version >= 1),
    create_time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    delete_time    timestamptz,
    deleted_by     text,
    delete_reason  text,
    purge_time     timestamptz,
    CHECK (purge_time IS NULL OR delete_time IS NOT NULL)
);
CREATE INDEX documents_user_idx ON documents (user_id, id DESC);

CREATE TABLE document_versions (
    document_id       text NOT NULL REFERENCES documents (id),
    version           integer NOT NULL CHECK (version >= 1),
    filename          text NOT NULL,
    content_type      text NOT NULL,
    size_bytes        bigint NOT NULL CHECK (size_bytes > 0),
    sha256            char(64) NOT NULL,
    status            smallint NOT NULL CHECK (status BETWEEN 1 AND 4),
    extraction_status smallint NOT NULL CHECK (extraction_status BETWEEN 1 AND 5),
    extracted_fields  jsonb NOT NULL DEFAULT '{}'::jsonb,
    extraction_error  text NOT NULL DEFAULT '',
    object_key        text NOT NULL UNIQUE,
    master_key_id     text NOT NULL,
    -- NULL once purged: the data key is destroyed with the content (crypto-shredding).
    wrapped_key       bytea,
    uploaded_by       text NOT NULL,
    reviewer_id       text NOT NULL DEFAULT '',
    rejection_reason  text NOT NULL DEFAULT '',
    review_time       timestamptz,
    create_time       timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (document_id, version)
);

CREATE TABLE access_events (
    id          text PRIMARY KEY,
    document_id text NOT NULL REFERENCES documents (id),
    version     integer NOT NULL DEFAULT 0,
    action      smallint NOT NULL CHECK (action BETWEEN 1 AND 7),
    actor_id    text NOT NULL,
    trace_id    text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX access_events_document_idx ON access_events (document_id, id DESC);

CREATE FUNCTION access_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_events is append-only';
END;
$$;
CREATE TRIGGER access_events_no_update BEFORE UPDATE OR DELETE ON access_events
    FOR EACH ROW EXECUTE FUNCTION access_events_append_only();
CREATE TRIGGER access_events_no_truncate BEFORE TRUNCATE ON access_events
    FOR EACH STATEMENT EXECUTE FUNCTION access_events_append_only();

-- The first result of a creating request, replayed for the same key (scope: the caller).
CREATE TABLE idempotency_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    operation   text NOT NULL,
    fingerprint text NOT NULL,
    response    bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (scope, key)
);
"""

DOWNGRADE = """
DROP TABLE idempotency_keys;
DROP TABLE access_events;
DROP FUNCTION access_events_append_only();
DROP TABLE document_versions;
DROP TABLE documents;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
