"""The ledger: accounts, balances, hash-chained entries and postings, pending transfers.

Entries, postings and idempotency keys are append-only: triggers refuse UPDATE,
DELETE and TRUNCATE, so history cannot be altered even by a buggy service.
Balances and pending transfers are mutable state derived from them.
"""

from alembic import op

revision = "0001"
down_revision = None

GENESIS_HASH = "0" * 64

UPGRADE = f"""
CREATE TABLE accounts (
    id                 text PRIMARY KEY,
    owner_id           text NOT NULL,
    name               text NOT NULL,
    type               smallint NOT NULL CHECK (type BETWEEN 1 AND 5),
    currency           char(3) NOT NULL,
    balance_rule       smallint NOT NULL CHECK (balance_rule BETWEEN 1 AND 3),
    credit_limit_minor bigint NOT NULL DEFAULT 0 CHECK (credit_limit_minor >= 0),
    metadata           jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    request_id         text NOT NULL,
    create_time        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX accounts_owner_idx ON accounts (owner_id, id);

-- Derived, mutable state: one row per account, updated in the same transaction
-- as the postings. normal_side and floor are copied from the account so that the
-- limit can be a CHECK constraint (a CHECK cannot read another table).
CREATE TABLE balances (
    account_id      text PRIMARY KEY REFERENCES accounts (id),
    currency        char(3) NOT NULL,
    normal_side     smallint NOT NULL CHECK (normal_side IN (1, 2)),
    floor_minor     bigint,
    posted          bigint NOT NULL DEFAULT 0,
    pending_debits  bigint NOT NULL DEFAULT 0 CHECK (pending_debits >= 0),
    pending_credits bigint NOT NULL DEFAULT 0 CHECK (pending_credits >= 0),
    CONSTRAINT balances_within_limit CHECK (
        floor_minor IS NULL OR
        posted - CASE WHEN normal_side = 2 THEN pending_debits ELSE pending_credits END >= floor_minor)
);

-- The single row that serializes sequence and hash assignment; locked just before
-- commit, so sequences are gap-free and in commit order.
CREATE TABLE ledger_head (
    id            smallint PRIMARY KEY CHECK (id = 1),
    last_sequence bigint NOT NULL,
    last_hash     text NOT NULL,
    last_time     timestamptz NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, '{GENESIS_HASH}', '-infinity');

CREATE TABLE entries (
    id                  text PRIMARY KEY,
    sequence            bigint NOT NULL UNIQUE CHECK (sequence > 0),
    user_id             text NOT NULL,
    type                smallint NOT NULL CHECK (type BETWEEN 1 AND 10),
    description         text NOT NULL,
    related_entity_id   text NOT NULL,
    amount_minor        bigint NOT NULL,
    currency            char(3) NOT NULL,
    metadata            jsonb NOT NULL,
    request_id          text NOT NULL,
    -- UNIQUE: an entry is reversed at most once, even under concurrent reversals.
    reverses_id         text UNIQUE REFERENCES entries (id),
    pending_transfer_id text UNIQUE,
    create_time         timestamptz NOT NULL,
    previous_hash       text NOT NULL,
    hash                text NOT NULL
);
CREATE INDEX entries_user_idx ON entries (user_id, sequence);
CREATE INDEX entries_time_idx ON entries (create_time);

CREATE TABLE postings (
    entry_id     text NOT NULL REFERENCES entries (id),
    idx          smallint NOT NULL,
    account_id   text NOT NULL REFERENCES accounts (id),
    direction    smallint NOT NULL CHECK (direction IN (1, 2)),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency     char(3) NOT NULL,
    sequence     bigint NOT NULL,
    create_time  timestamptz NOT NULL,
    PRIMARY KEY (entry_id, idx)
);
CREATE INDEX postings_account_idx ON postings (account_id, sequence);

-- Idempotency keys, written in the same transaction as the effect they guard.
CREATE TABLE idempotency_keys (
    scope        text NOT NULL,
    request_id   text NOT NULL,
    operation    text NOT NULL,
    request_hash text NOT NULL,
    result_id    text NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (scope, request_id)
);

CREATE TABLE pending_transfers (
    id                text PRIMARY KEY,
    debit_account_id  text NOT NULL REFERENCES accounts (id),
    credit_account_id text NOT NULL REFERENCES accounts (id),
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    currency          char(3) NOT NULL,
    posted_minor      bigint NOT NULL DEFAULT 0 CHECK (posted_minor >= 0 AND posted_minor <= amount_minor),
    status            smallint NOT NULL CHECK (status BETWEEN 1 AND 4),
    user_id           text NOT NULL,
    type              smallint NOT NULL,
    description       text NOT NULL,
    related_entity_id text NOT NULL,
    expire_time       timestamptz NOT NULL,
    transaction_id    text REFERENCES entries (id),
    request_id        text NOT NULL,
    create_time       timestamptz NOT NULL,
    update_time       timestamptz NOT NULL
);
CREATE INDEX pending_open_idx ON pending_transfers (expire_time) WHERE status = 1;
CREATE INDEX pending_debit_open_idx ON pending_transfers (debit_account_id) WHERE status = 1;
CREATE INDEX pending_credit_open_idx ON pending_transfers (credit_account_id) WHERE status = 1;

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger history is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'record a reversal entry instead';
END;
$$;
"""

APPEND_ONLY_TABLES = ("entries", "postings", "idempotency_keys")


def upgrade() -> None:
    op.execute(UPGRADE)
    for table in APPEND_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )


def downgrade() -> None:
    op.execute(
        "DROP TABLE pending_transfers, idempotency_keys, postings, entries, ledger_head, balances, accounts"
    )
    op.execute("DROP FUNCTION ledger_refuse_change()")
