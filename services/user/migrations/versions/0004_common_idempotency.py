"""Register's idempotency keys move to the one contract of every service (services/runtime/idempotency.py).

``idempotency_keys`` (the runtime's table: the stored response or error, a lock for a
request in progress, an expiry) replaces ``register_requests``. Old keys are not carried
over: their fingerprints were made another way, so a replay could never match them; a
client retrying a registration from before the upgrade gets USERNAME_TAKEN instead of its
first answer, at most for the keys' retention (24 h).
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(create_table_sql("idempotency_keys"))
    op.execute("DROP TABLE register_requests")


def downgrade() -> None:
    op.execute("""
    CREATE TABLE register_requests (
        request_id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        fingerprint text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    DROP TABLE idempotency_keys;
    """)
