"""The AI service: model registry, active versions, activation log, inference audit log, checked transactions.

The inference log and the activation log are append-only: triggers refuse
UPDATE, DELETE and TRUNCATE, so the audit trail cannot be rewritten even by a
buggy service. Only ``active_models`` (one row per model) is mutable state.
"""

from alembic import op

revision = "0001"
down_revision = None

UPGRADE = """
CREATE TABLE model_versions (
    name           text NOT NULL,
    version        text NOT NULL,
    sha256         char(64) NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    path           text NOT NULL,
    training_time  timestamptz NOT NULL,
    metrics        jsonb NOT NULL,
    parameters     jsonb NOT NULL,
    feature_names  jsonb NOT NULL,
    description    text NOT NULL,
    -- metadata.json as registered: serving reads thresholds and explanations from here, so an
    -- edited file on disk cannot change how a registered version behaves.
    metadata       jsonb NOT NULL,
    create_time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (name, version)
);

-- The version serving each model. Replicas poll this table and swap their sessions.
CREATE TABLE active_models (
    name           text PRIMARY KEY,
    version        text NOT NULL,
    activate_time  timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
);

CREATE TABLE model_activations (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL,
    version           text NOT NULL,
    previous_version  text,
    reason            text NOT NULL,
    caller            text NOT NULL,
    create_time       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX model_activations_version_idx ON model_activations (name, version, create_time DESC);

-- One row per inference. input_sha256 is a hash of the canonical inputs: the
-- inputs themselves are never stored here. request_id is set for the RPCs that
-- take an idempotency key; the unique index makes a replay find the first result.
CREATE TABLE inferences (
    id              text PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('FRAUD_CHECK', 'CREDIT_SCORE', 'TREND_FORECAST', 'RECOMMENDATIONS')),
    model_name      text NOT NULL,
    model_version   text NOT NULL,
    caller          text NOT NULL,
    request_id      text,
    input_sha256    char(64) NOT NULL CHECK (input_sha256 ~ '^[0-9a-f]{64}$'),
    output          jsonb NOT NULL,
    latency_micros  bigint NOT NULL CHECK (latency_micros >= 0),
    create_time     timestamptz NOT NULL
);
CREATE UNIQUE INDEX inferences_idempotency_idx ON inferences (kind, caller, request_id)
    WHERE request_id IS NOT NULL;
CREATE INDEX inferences_time_idx ON inferences (create_time);

-- The transactions submitted to CheckFraud: the per-customer history that the
-- velocity features, the spending profile and the spending series are computed from.
CREATE TABLE checked_transactions (
    id            bigserial PRIMARY KEY,
    user_id       text NOT NULL,
    inference_id  text NOT NULL REFERENCES inferences (id),
    txn_time      timestamptz NOT NULL,
    amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
    currency      char(3) NOT NULL,
    merchant_id   text NOT NULL,
    category      text NOT NULL,
    country       text NOT NULL,
    device_id     text NOT NULL,
    channel       smallint NOT NULL,
    decision      text NOT NULL CHECK (decision IN ('approve', 'review', 'decline'))
);
CREATE INDEX checked_transactions_user_idx ON checked_transactions (user_id, txn_time);

CREATE FUNCTION ai_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER inferences_append_only BEFORE UPDATE OR DELETE ON inferences
    FOR EACH ROW EXECUTE FUNCTION ai_refuse_change();
CREATE TRIGGER inferences_no_truncate BEFORE TRUNCATE ON inferences
    FOR EACH STATEMENT EXECUTE FUNCTION ai_refuse_change();
CREATE TRIGGER model_activations_append_only BEFORE UPDATE OR DELETE ON model_activations
    FOR EACH ROW EXECUTE FUNCTION ai_refuse_change();
CREATE TRIGGER model_activations_no_truncate BEFORE TRUNCATE ON model_activations
    FOR EACH STATEMENT EXECUTE FUNCTION ai_refuse_change();
"""

DOWNGRADE = """
DROP TABLE checked_transactions;
DROP TABLE inferences;
DROP TABLE model_activations;
DROP TABLE active_models;
DROP TABLE model_versions;
DROP FUNCTION ai_refuse_change();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
