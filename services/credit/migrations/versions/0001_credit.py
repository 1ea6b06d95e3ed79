"""Credit scores, loan applications with their history and repayments, credit lines, idempotency keys.

Amounts are bigint minor units with a char(3) currency; rates are integer basis points.
"""

from alembic import op

revision = "0001"
down_revision = None

UPGRADE = """
CREATE TABLE credit_scores (
    id                      text PRIMARY KEY,
    user_id                 text NOT NULL,
    score                   smallint NOT NULL CHECK (score BETWEEN 300 AND 850),
    default_probability_bps integer NOT NULL CHECK (default_probability_bps BETWEEN 0 AND 10000),
    reasons                 jsonb NOT NULL DEFAULT '[]'::jsonb,
    model_version           text NOT NULL,
    application_id          text NOT NULL DEFAULT '',
    create_time             timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX credit_scores_user_idx ON credit_scores (user_id, create_time DESC, id DESC);

CREATE TABLE loan_applications (
    id                          text PRIMARY KEY,
    user_id                     text NOT NULL,
    status                      smallint NOT NULL CHECK (status BETWEEN 1 AND 7),
    amount_minor                bigint NOT NULL CHECK (amount_minor > 0),
    currency                    char(3) NOT NULL,
    term_months                 smallint NOT NULL CHECK (term_months BETWEEN 3 AND 60),
    purpose                     smallint NOT NULL,
    purpose_description         text NOT NULL DEFAULT '',
    financials                  jsonb NOT NULL,
    credit_score                smallint NOT NULL DEFAULT 0,
    credit_score_id             text NOT NULL DEFAULT '',
    debt_to_income_bps          integer NOT NULL DEFAULT 0,
    decision_reasons            jsonb NOT NULL DEFAULT '[]'::jsonb,
    decided_by                  text NOT NULL DEFAULT '',
    decision_time               timestamptz,
    approved_amount_minor       bigint NOT NULL DEFAULT 0 CHECK (approved_amount_minor >= 0),
    priced_apr_bps              integer NOT NULL DEFAULT 0,
    apr_bps                     integer NOT NULL DEFAULT 0 CHECK (apr_bps BETWEEN 0 AND 3600),
    installment_minor           bigint NOT NULL DEFAULT 0,
    -- The amortization schedule: [{number, due_date, principal, interest, remaining, paid}], integers only.
    schedule                    jsonb NOT NULL DEFAULT '[]'::jsonb,
    loan_account_id             text NOT NULL DEFAULT '',
    disbursement_transaction_id text NOT NULL DEFAULT '',
    disburse_time               timestamptz,
    request_id                  text NOT NULL,
    create_time                 timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time                 timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- At most one open application per user, even under concurrent submissions.
CREATE UNIQUE INDEX loan_applications_open_idx ON loan_applications (user_id) WHERE status IN (1, 2, 3);
CREATE INDEX loan_applications_user_idx ON loan_applications (user_id, id DESC);
CREATE INDEX loan_applications_status_idx ON loan_applications (status, id DESC);

CREATE TABLE loan_status_changes (
    application_id text NOT NULL REFERENCES loan_applications (id),
    seq            integer NOT NULL,
    from_status    smallint,
    to_status      smallint NOT NULL,
    reason         text NOT NULL,
    actor          text NOT NULL,
    change_time    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (application_id, seq)
);

CREATE TABLE loan_repayments (
    id              text PRIMARY KEY,
    application_id  text NOT NULL REFERENCES loan_applications (id),
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    principal_minor bigint NOT NULL CHECK (principal_minor >= 0),
    interest_minor  bigint NOT NULL CHECK (interest_minor >= 0),
    transaction_id  text NOT NULL,
    request_id      text NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (principal_minor + interest_minor = amount_minor)
);
CREATE INDEX loan_repayments_application_idx ON loan_repayments (application_id, id);

CREATE TABLE credit_lines (
    id                text PRIMARY KEY,
    user_id           text NOT NULL UNIQUE,
    currency          char(3) NOT NULL,
    limit_minor       bigint NOT NULL CHECK (limit_minor >= 0),
    status            smallint NOT NULL CHECK (status BETWEEN 1 AND 3),
    apr_bps           integer NOT NULL CHECK (apr_bps BETWEEN 0 AND 3600),
    ledger_account_id text NOT NULL,
    create_time       timestamptz NOT NULL DEFAULT clock_timestamp(),
    update_time       timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- The audit trail of every credit line change, with who and why.
CREATE TABLE credit_line_changes (
    id             bigserial PRIMARY KEY,
    credit_line_id text NOT NULL REFERENCES credit_lines (id),
    limit_minor    bigint NOT NULL,
    status         smallint NOT NULL,
    apr_bps        integer NOT NULL,
    reason         text NOT NULL,
    actor          text NOT NULL,
    request_id     text NOT NULL,
    change_time    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Ledger accounts this service opened, by (owner, purpose, currency).
CREATE TABLE ledger_accounts (
    owner_id    text NOT NULL,
    purpose     text NOT NULL,
    currency    char(3) NOT NULL,
    account_id  text NOT NULL UNIQUE,
    PRIMARY KEY (owner_id, purpose, currency)
);

-- Idempotency keys per caller, written in the transaction of the effect they guard.
CREATE TABLE idempotency_keys (
    scope       text NOT NULL,
    key         text NOT NULL,
    operation   text NOT NULL,
    fingerprint text NOT NULL,
    response    bytea NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
"""

DOWNGRADE = """
DROP TABLE idempotency_keys;
DROP TABLE ledger_accounts;
DROP TABLE credit_line_changes;
DROP TABLE credit_lines;
DROP TABLE loan_repayments;
DROP TABLE loan_status_changes;
DROP TABLE loan_applications;
DROP TABLE credit_scores;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
