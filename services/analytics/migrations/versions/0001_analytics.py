"""Feed checkpoints, the ledger accounts seen on the feed, per-entry flows, daily summaries and volumes.

Everything here is derived from the ledger's change feed and could be rebuilt by
replaying it from sequence 0 into empty tables.
"""

from alembic import op

revision = "0001"
down_revision = None

UPGRADE = """
-- One row per consumer; updated in the same transaction as the summaries it covers.
CREATE TABLE feed_checkpoints (
    consumer        text PRIMARY KEY,
    last_sequence   bigint NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
    last_entry_time timestamptz,
    applied_count   bigint NOT NULL DEFAULT 0 CHECK (applied_count >= 0),
    update_time     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO feed_checkpoints (consumer) VALUES ('analytics-summaries');

-- Owner, class and currency of every account an entry posted to: immutable in the ledger.
CREATE TABLE ledger_accounts (
    account_id  text PRIMARY KEY,
    owner_id    text NOT NULL,
    type        smallint NOT NULL,
    currency    char(3) NOT NULL
);

-- What one entry did to one user's money in one currency (direction 1 spending, 2 income).
CREATE TABLE flows (
    transaction_id text NOT NULL,
    user_id        text NOT NULL,
    currency       char(3) NOT NULL,
    direction      smallint NOT NULL CHECK (direction IN (1, 2)),
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    category       text NOT NULL,
    type           smallint NOT NULL,
    description    text NOT NULL DEFAULT '',
    occurred_at    timestamptz NOT NULL,
    sequence       bigint NOT NULL,
    PRIMARY KEY (transaction_id, user_id, currency)
);
CREATE INDEX flows_user_time_idx ON flows (user_id, occurred_at, sequence);

-- The flows summed per user, currency, direction, UTC day and category.
CREATE TABLE daily_summaries (
    user_id      text NOT NULL,
    currency     char(3) NOT NULL,
    direction    smallint NOT NULL CHECK (direction IN (1, 2)),
    day          date NOT NULL,
    category     text NOT NULL,
    total_minor  bigint NOT NULL CHECK (total_minor >= 0),
    entry_count  bigint NOT NULL CHECK (entry_count >= 0),
    PRIMARY KEY (user_id, currency, day, direction, category)
);

-- Platform-wide entry counts and headline amounts per UTC day, currency and transaction type.
CREATE TABLE daily_volumes (
    day          date NOT NULL,
    currency     char(3) NOT NULL,
    type         smallint NOT NULL,
    entry_count  bigint NOT NULL CHECK (entry_count >= 0),
    volume_minor bigint NOT NULL CHECK (volume_minor >= 0),
    PRIMARY KEY (day, currency, type)
);
"""

DOWNGRADE = """
DROP TABLE daily_volumes;
DROP TABLE daily_summaries;
DROP TABLE flows;
DROP TABLE ledger_accounts;
DROP TABLE feed_checkpoints;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
