"""Custom reports: saved report definitions, and the accounts and counterparties of each flow.

Flows recorded before this revision keep empty account and counterparty lists (the
feed is not replayed), so account and counterparty filters never match them.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

UPGRADE = """
ALTER TABLE flows ADD COLUMN account_ids text[] NOT NULL DEFAULT '{}',
                  ADD COLUMN counterparties text[] NOT NULL DEFAULT '{}';

-- One row per saved definition; the definition itself is the contract's message as JSON.
CREATE TABLE report_definitions (
    id          text PRIMARY KEY,
    user_id     text NOT NULL,
    request_id  text NOT NULL,
    fingerprint text NOT NULL,
    definition  jsonb NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, request_id)
);
CREATE INDEX report_definitions_user_idx ON report_definitions (user_id, create_time DESC, id DESC);
"""

DOWNGRADE = """
DROP TABLE report_definitions;
ALTER TABLE flows DROP COLUMN counterparties, DROP COLUMN account_ids;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
