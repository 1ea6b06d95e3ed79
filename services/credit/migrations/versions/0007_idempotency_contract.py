"""Idempotency keys under the runtime's one contract (services/runtime/idempotency.py).

The runtime's table stores errors too (replayed like successes once validation has passed),
locks a key while its request runs (a concurrent duplicate is ABORTED at once) and expires keys
after their retention. Old keys are not carried over: their fingerprints were made another way
(an unkeyed digest), so a replay could never match them. Money stays safe for a request retried
across the upgrade: its ledger keys derive from the application, not from the old key table.
Intents no longer carry the request's operation and fingerprint: the key's table checks those,
and recovery no longer answers keys.
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0007"
down_revision = "0006"

UPGRADE = """
DROP TABLE idempotency_keys;
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
    op.execute(UPGRADE)
    op.execute(create_table_sql("idempotency_keys"))


def downgrade() -> None:
    op.execute(DOWNGRADE)
