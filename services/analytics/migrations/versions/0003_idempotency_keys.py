"""Idempotency keys of the one contract (services/runtime/idempotency.py) for CreateReportDefinition.

Until this revision a replay was found through ``UNIQUE (user_id, request_id)`` on
``report_definitions`` and answered with the definition as it then was (errors
were not kept). The keys now live in ``idempotency_keys``: scoped to the caller,
kept at least 24 hours, the first response (or error) replayed, a concurrent
duplicate ABORTED at once. ``request_id`` stays on the row as the request that
created it. Keys used before this revision are not carried over: the store binds
each key to a keyed request fingerprint and the rendered response, which the old
rows do not hold.
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0003"
down_revision = "0002"

TABLE = "idempotency_keys"

UPGRADE = (
    create_table_sql(TABLE)
    + """
ALTER TABLE report_definitions DROP CONSTRAINT report_definitions_user_id_request_id_key;
"""
)

DOWNGRADE = f"""
ALTER TABLE report_definitions ADD CONSTRAINT report_definitions_user_id_request_id_key
    UNIQUE (user_id, request_id);
DROP TABLE {TABLE};
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
