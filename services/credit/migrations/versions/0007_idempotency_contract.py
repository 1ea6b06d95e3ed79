"""Idempotency keys under the runtime's one contract (services/runtime/idempotency.py).

The runtime's table stores errors too (replayed like successes once validation has passed),
locks a key while its request runs (a concurrent duplicate is ABORTED at once) and expires keys
after their retention. The old keys are carried over as finished keys, kept for the retention
from now: their fingerprints were made another way (an unkeyed digest), so a retry of an old
request gets ALREADY_EXISTS (IDEMPOTENCY_KEY_REUSED) instead of running a second time (a repeated
repayment could otherwise be recorded twice against one replayed ledger entry). Intents no longer
carry the request's operation and fingerprint: the key's table checks those, and recovery no
longer answers keys.
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0007"
down_revision = "0006"

UPGRADE_BEFORE = """
ALTER TABLE idempotency_keys RENAME TO idempotency_keys_0006;
ALTER INDEX idempotency_keys_pkey RENAME TO idempotency_keys_0006_pkey;
"""

UPGRADE_AFTER = """
INSERT INTO idempotency_keys (scope, key, operation, fingerprint, state, response, create_time, expire_time)
SELECT scope, key, operation, fingerprint, 'done', response, create_time, now() + interval '24 hours'
  FROM idempotency_keys_0006;
DROP TABLE idempotency_keys_0006;
ALTER TABLE repayment_intents DROP COLUMN operation, DROP COLUMN fingerprint;
ALTER TABLE disbursement_intents DROP COLUMN operation, DROP COLUMN fingerprint;
"""

DOWNGRADE = """
ALTER TABLE repayment_intents ADD COLUMN operation text NOT NULL DEFAULT '',
    ADD COLUMN fingerprint text NOT NULL DEFAULT '';
ALTER TABLE disbursement_intents ADD COLUMN operation text NOT NULL DEFAULT '',
    ADD COLUMN fingerprint text NOT NULL DEFAULT '';
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    operation   text NOT NULL,
    fingerprint text NOT NULL,
    response    bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
"""


def upgrade() -> None:
    op.execute(UPGRADE_BEFORE)
    op.execute(create_table_sql("idempotency_keys"))
    op.execute(UPGRADE_AFTER)


def downgrade() -> None:
    op.execute(DOWNGRADE)
