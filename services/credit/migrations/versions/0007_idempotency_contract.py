"""Idempotency keys under the runtime's one contract (services/runtime/idempotency.py).

The old table kept successes only, with no state: its rows become finished keys of the new
table, kept for the contract's retention from now. Intents no longer carry the request's
operation and fingerprint: the key's table checks those, and recovery no longer answers keys.
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0007"
down_revision = "0006"

UPGRADE_BEFORE = """
ALTER TABLE idempotency_keys RENAME TO idempotency_keys_0005;
ALTER INDEX idempotency_keys_pkey RENAME TO idempotency_keys_0005_pkey;
"""

UPGRADE_AFTER = """
INSERT INTO idempotency_keys (scope, key, operation, fingerprint, state, response, create_time, expire_time)
SELECT scope, key, operation, fingerprint, 'done', response, create_time, now() + interval '24 hours'
  FROM idempotency_keys_0005;
DROP TABLE idempotency_keys_0005;
ALTER TABLE repayment_intents DROP COLUMN operation, DROP COLUMN fingerprint;
ALTER TABLE disbursement_intents DROP COLUMN operation, DROP COLUMN fingerprint;
"""

DOWNGRADE = """
ALTER TABLE repayment_intents ADD COLUMN operation text NOT NULL DEFAULT '',
    ADD COLUMN fingerprint text NOT NULL DEFAULT '';
ALTER TABLE disbursement_intents ADD COLUMN operation text NOT NULL DEFAULT '',
    ADD COLUMN fingerprint text NOT NULL DEFAULT '';
CREATE TABLE idempotency_keys_0005 (
    scope       text NOT NULL,
    key         text NOT NULL,
    operation   text NOT NULL,
    fingerprint text NOT NULL,
    response    bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
INSERT INTO idempotency_keys_0005 (scope, key, operation, fingerprint, response, create_time)
SELECT scope, key, operation, fingerprint, response, create_time
  FROM idempotency_keys WHERE state = 'done' AND response IS NOT NULL;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_0005 RENAME TO idempotency_keys;
ALTER INDEX idempotency_keys_0005_pkey RENAME TO idempotency_keys_pkey;
"""


def upgrade() -> None:
    op.execute(UPGRADE_BEFORE)
    op.execute(create_table_sql("idempotency_keys"))
    op.execute(UPGRADE_AFTER)


def downgrade() -> None:
    op.execute(DOWNGRADE)
