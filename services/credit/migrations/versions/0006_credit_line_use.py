"""Credit lines in use: draws, daily interest, repayments, monthly statements.

``credit_line_state`` is what a line owes now (kept with the line's row locked);
``credit_line_intents`` are draws and repayments written down before their ledger call;
draws, repayments, interest days and statements are append-only records. Keys of the new
RPCs live in their own ``credit_line_idempotency_keys`` (services/runtime/idempotency.py).
"""

from alembic import op

from services.runtime.idempotency import create_table_sql

revision = "0006"
down_revision = "0005"

TABLES = ("credit_line_draws", "credit_line_repayments", "credit_line_interest", "credit_line_statements")

SCHEMA = """
CREATE TABLE credit_line_state (
    line_id            text PRIMARY KEY REFERENCES credit_lines (id),
    principal_minor    bigint NOT NULL CHECK (principal_minor >= 0),
    interest_due_minor bigint NOT NULL CHECK (interest_due_minor >= 0),
    carry              bigint NOT NULL CHECK (carry >= 0),
    accrued_through    date NOT NULL,
    update_time        timestamptz NOT NULL
);
CREATE TABLE credit_line_intents (
    seq               bigserial PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('draw', 'repayment')),
    op_id             text NOT NULL UNIQUE,
    line_id           text NOT NULL,
    scope             text NOT NULL,
    request_id        text NOT NULL,
    actor             text NOT NULL,
    day               date NOT NULL,
    amount_minor      bigint NOT NULL CHECK (amount_minor > 0),
    interest_minor    bigint NOT NULL CHECK (interest_minor >= 0),
    principal_minor   bigint NOT NULL CHECK (principal_minor >= 0),
    wallet_account_id text NOT NULL,
    ledger_key        text NOT NULL UNIQUE,
    create_time       timestamptz NOT NULL
);
CREATE INDEX credit_line_intents_line_idx ON credit_line_intents (line_id, seq);
CREATE TABLE credit_line_draws (
    id             text PRIMARY KEY,
    line_id        text NOT NULL REFERENCES credit_lines (id),
    user_id        text NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    currency       text NOT NULL,
    day            date NOT NULL,
    transaction_id text NOT NULL UNIQUE,
    request_id     text NOT NULL,
    actor          text NOT NULL,
    create_time    timestamptz NOT NULL
);
CREATE INDEX credit_line_draws_line_day_idx ON credit_line_draws (line_id, day);
CREATE TABLE credit_line_repayments (
    id              text PRIMARY KEY,
    line_id         text NOT NULL REFERENCES credit_lines (id),
    user_id         text NOT NULL,
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    interest_minor  bigint NOT NULL CHECK (interest_minor >= 0),
    principal_minor bigint NOT NULL CHECK (principal_minor >= 0),
    currency        text NOT NULL,
    day             date NOT NULL,
    transaction_id  text NOT NULL UNIQUE,
    request_id      text NOT NULL,
    actor           text NOT NULL,
    create_time     timestamptz NOT NULL,
    CHECK (interest_minor + principal_minor = amount_minor)
);
CREATE INDEX credit_line_repayments_line_day_idx ON credit_line_repayments (line_id, day);
CREATE TABLE credit_line_interest (
    line_id         text NOT NULL REFERENCES credit_lines (id),
    day             date NOT NULL,
    principal_minor bigint NOT NULL,
    apr_bps         integer NOT NULL,
    interest_minor  bigint NOT NULL CHECK (interest_minor >= 0),
    carry           bigint NOT NULL,
    transaction_id  text NOT NULL,  -- '' when the day's interest was below one minor unit
    create_time     timestamptz NOT NULL,
    PRIMARY KEY (line_id, day)
);
CREATE TABLE credit_line_statements (
    id                    text PRIMARY KEY,
    line_id               text NOT NULL REFERENCES credit_lines (id),
    user_id               text NOT NULL,
    currency              text NOT NULL,
    period_start          date NOT NULL,
    period_end            date NOT NULL,
    opening_minor         bigint NOT NULL,
    draws_minor           bigint NOT NULL,
    repayments_minor      bigint NOT NULL,
    interest_minor        bigint NOT NULL,
    closing_minor         bigint NOT NULL,
    minimum_payment_minor bigint NOT NULL,
    due_date              date NOT NULL,
    apr_bps               integer NOT NULL,
    create_time           timestamptz NOT NULL,
    UNIQUE (line_id, period_start),
    CHECK (closing_minor = opening_minor + draws_minor + interest_minor - repayments_minor)
);
CREATE INDEX credit_line_statements_user_idx ON credit_line_statements (user_id, period_start DESC);
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    op.execute(create_table_sql("credit_line_idempotency_keys"))
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION credit_audit_refuse_change();"
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION credit_audit_refuse_change();"
        )


def downgrade() -> None:
    op.execute(
        "DROP TABLE credit_line_idempotency_keys, credit_line_statements, credit_line_interest, "
        "credit_line_repayments, credit_line_draws, credit_line_intents, credit_line_state"
    )
