"""Idempotency keys move to the one contract of every service (services/runtime/idempotency.py).

The runtime's table stores errors too (replayed like successes once validation has passed),
locks a key while its request runs (a concurrent duplicate is ABORTED at once) and expires
keys after their retention. Old keys are not carried over: their fingerprints were made
another way, so a replay could never match them.
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("DROP TABLE idempotency_keys")
    op.execute(create_table_sql("idempotency_keys"))


def downgrade() -> None:
    op.execute("""
    DROP TABLE idempotency_keys;
    CREATE TABLE idempotency_keys (
        scope       text NOT NULL,
        key         text NOT NULL,
        operation   text NOT NULL,
        fingerprint text NOT NULL,
        response    bytea NOT NULL,
        create_time timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (scope, key)
    );
    """)
