"""Repayment intents: a repayment's ledger entry, written down before it is sent to the ledger.

An intent is committed on its own before the ledger call and deleted in the transaction that
records the repayment, so a crash or a lost reply in between leaves it behind to be completed.
No foreign key to loan_applications: the key's KEY SHARE lock would wait on the application row
that the repaying transaction holds FOR UPDATE while the intent is written from another one.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

UPGRADE = """
CREATE TABLE repayment_intents (
    seq             bigserial PRIMARY KEY,
    application_id  text NOT NULL,
    scope           text NOT NULL,
    request_id      text NOT NULL,
    operation       text NOT NULL,
    fingerprint     text NOT NULL,
    actor           text NOT NULL,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    principal_minor bigint NOT NULL CHECK (principal_minor >= 0),
    interest_minor  bigint NOT NULL CHECK (interest_minor >= 0),
    wallet_account_id text NOT NULL,
    income_account_id text NOT NULL,
    ledger_key      text NOT NULL UNIQUE,
    create_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (principal_minor + interest_minor = amount_minor)
);
CREATE INDEX repayment_intents_application_idx ON repayment_intents (application_id, seq);
"""

DOWNGRADE = """
DROP TABLE repayment_intents;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
