"""Idempotency keys of the one contract (services/runtime/idempotency.py) replace the unique index of
the inference log.

Until this revision a CheckFraud or ScoreCredit replay was found through the unique
index on ``inferences (kind, caller, request_id)``. The keys now live in
``idempotency_keys`` (kept at least 24 hours, concurrent duplicates answered
ABORTED, errors stored). The inference log keeps ``request_id`` as an audit
column; the index becomes an ordinary one, so a key reused after its retention
can run again. Keys used before this revision are not carried over: the
store binds each key to a keyed request fingerprint and the response the
servicer rendered, neither of which the old rows hold; their inferences stay
in the audit log.
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0002"
down_revision = "0001"

TABLE = "idempotency_keys"

UPGRADE = (
    create_table_sql(TABLE)
    + """
DROP INDEX inferences_idempotency_idx;
CREATE INDEX inferences_request_idx ON inferences (caller, request_id) WHERE request_id IS NOT NULL;
"""
)

DOWNGRADE = f"""
DROP INDEX inferences_request_idx;
CREATE UNIQUE INDEX inferences_idempotency_idx ON inferences (kind, caller, request_id)
    WHERE request_id IS NOT NULL;
DROP TABLE {TABLE};
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
