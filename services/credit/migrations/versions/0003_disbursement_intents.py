"""Disbursement intents: who asked for a payout, written down before it is sent to the ledger.

A disbursement's ledger entry has one key per application, so a retry (with any request key)
never pays a loan twice. What a lost reply loses is the record here, and the client's key with
its response. The intent is committed on its own before the ledger call and deleted in the
transaction that records the disbursement; the recovery job completes one left behind: it reads
the loan's ledger account, and if the ledger paid it out, replays the entry (same key and body),
records the disbursement and stores the response under the client's key.
"""

from alembic import op

revision = "0003"
down_revision = "0002"

UPGRADE = """
CREATE TABLE disbursement_intents (
    application_id  text PRIMARY KEY,
    scope           text NOT NULL,
    request_id      text NOT NULL,
    operation       text NOT NULL,
    fingerprint     text NOT NULL,
    actor           text NOT NULL,
    wallet_account_id text NOT NULL,
    loan_account_id text NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""

DOWNGRADE = """
DROP TABLE disbursement_intents;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
