"""Payments, status history, refunds, payment methods, idempotency keys, connector attempts and events.

No table has a column for a card number or a CVC: only the connector's token,
brand, last four digits, expiry and a keyed fingerprint are stored.
"""

from alembic import op

revision = "0001"
down_revision = None

UPGRADE = """
CREATE TABLE ledger_accounts (
    owner_id    text NOT NULL,
    purpose     text NOT NULL,
    currency    char(3) NOT NULL,
    account_id  text NOT NULL UNIQUE,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, purpose, currency)
);

CREATE TABLE payment_methods (
    id                text PRIMARY KEY,
    user_id           text NOT NULL,
    type              smallint NOT NULL CHECK (type BETWEEN 1 AND 3),
    state             smallint NOT NULL CHECK (state IN (1, 2)),
    fingerprint       text NOT NULL DEFAULT '',
    -- What duplicates are found by: the fingerprint, or "wallet:<currency>" for wallets.
    dedup_key         text NOT NULL,
    connector         text NOT NULL DEFAULT '',
    connector_token   text NOT NULL DEFAULT '',
    brand             smallint NOT NULL DEFAULT 0,
    last4             text NOT NULL DEFAULT '' CHECK (length(last4) <= 4),
    exp_month         smallint NOT NULL DEFAULT 0,
    exp_year          smallint NOT NULL DEFAULT 0,
    holder_name       text NOT NULL DEFAULT '',
    bank_format       smallint NOT NULL DEFAULT 0,
    masked_number     text NOT NULL DEFAULT '',
    country_code      text NOT NULL DEFAULT '',
    currency          text NOT NULL DEFAULT '',
    ledger_account_id text NOT NULL DEFAULT '',
    create_time       timestamptz NOT NULL DEFAULT now(),
    update_time       timestamptz NOT NULL DEFAULT now()
);
-- One active method per instrument and user, even under concurrent adds.
CREATE UNIQUE INDEX payment_methods_dedup_idx ON payment_methods (user_id, dedup_key) WHERE state = 1;
CREATE INDEX payment_methods_user_idx ON payment_methods (user_id, id DESC);

CREATE TABLE payments (
    id                  text PRIMARY KEY,
    user_id             text NOT NULL,
    kind                smallint NOT NULL CHECK (kind BETWEEN 1 AND 3),
    amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
    currency            char(3) NOT NULL,
    status              smallint NOT NULL CHECK (status BETWEEN 1 AND 8),
    payment_method_id   text NOT NULL DEFAULT '',
    method_type         smallint NOT NULL DEFAULT 0,
    payee_user_id       text NOT NULL DEFAULT '',
    description         text NOT NULL DEFAULT '',
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    request_id          text NOT NULL,
    failure_code        text NOT NULL DEFAULT '',
    failure_message     text NOT NULL DEFAULT '',
    fraud_checked       boolean NOT NULL DEFAULT false,
    fraud_score_bps     integer NOT NULL DEFAULT 0,
    fraud_decision      smallint NOT NULL DEFAULT 0,
    connector           text NOT NULL DEFAULT '',
    external_reference  text NOT NULL DEFAULT '',
    debit_account_id    text NOT NULL DEFAULT '',
    credit_account_id   text NOT NULL DEFAULT '',
    pending_transfer_id text NOT NULL DEFAULT '',
    transaction_id      text NOT NULL DEFAULT '',
    refunded_minor      bigint NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    -- A lease: whoever holds it drives the payment (the request, a callback, recovery).
    lease_token         text NOT NULL DEFAULT '',
    lease_until         timestamptz,
    create_time         timestamptz NOT NULL DEFAULT now(),
    update_time         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_user_idx ON payments (user_id, create_time DESC, id DESC);
CREATE INDEX payments_payee_idx ON payments (payee_user_id, create_time DESC, id DESC) WHERE payee_user_id <> '';
CREATE INDEX payments_stale_idx ON payments (update_time) WHERE status IN (1, 3);
CREATE INDEX payments_time_idx ON payments (create_time, id);
CREATE INDEX payments_method_idx ON payments (payment_method_id) WHERE status IN (1, 2, 3);

CREATE TABLE payment_status_history (
    id           bigserial PRIMARY KEY,
    payment_id   text NOT NULL REFERENCES payments (id),
    from_status  smallint NOT NULL,
    to_status    smallint NOT NULL,
    reason       text NOT NULL,
    actor        text NOT NULL,
    change_time  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX payment_status_history_payment_idx ON payment_status_history (payment_id, id);

CREATE TABLE refunds (
    id                 text PRIMARY KEY,
    payment_id         text NOT NULL REFERENCES payments (id),
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    currency           char(3) NOT NULL,
    reason             text NOT NULL,
    state              text NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    transaction_id     text NOT NULL DEFAULT '',
    external_reference text NOT NULL DEFAULT '',
    request_id         text NOT NULL,
    actor              text NOT NULL,
    create_time        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, create_time);
-- Recovery resumes refunds left pending (a dead request, a gateway failure after the ledger entry).
CREATE INDEX refunds_pending_idx ON refunds (create_time) WHERE state = 'pending';

-- Idempotency keys, scoped per caller. state 'running' with a live lock_until
-- means a request is executing under the key; 'done' holds the first response
-- (or error) to replay. Kept at least PAYMENT_IDEMPOTENCY_RETENTION_HOURS.
CREATE TABLE idempotency_keys (
    scope         text NOT NULL,
    key           text NOT NULL,
    operation     text NOT NULL,
    fingerprint   text NOT NULL,
    state         text NOT NULL CHECK (state IN ('running', 'done')),
    resource_id   text NOT NULL DEFAULT '',
    response      bytea,
    error_code    integer,
    error_reason  text,
    error_message text,
    error_metadata jsonb,
    lock_token    text NOT NULL DEFAULT '',
    lock_until    timestamptz,
    create_time   timestamptz NOT NULL DEFAULT now(),
    expire_time   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expire_idx ON idempotency_keys (expire_time);

-- Every call to a gateway, with our own reference, so a timed-out call can be looked up.
CREATE TABLE connector_attempts (
    id                 bigserial PRIMARY KEY,
    payment_id         text NOT NULL,
    connector          text NOT NULL,
    operation          text NOT NULL,
    reference          text NOT NULL,
    outcome            text NOT NULL,
    external_reference text NOT NULL DEFAULT '',
    detail             text NOT NULL DEFAULT '',
    create_time        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX connector_attempts_payment_idx ON connector_attempts (payment_id, id);

-- Gateway events already handled: a redelivered event is acknowledged, not applied again.
CREATE TABLE connector_events (
    connector     text NOT NULL,
    event_id      text NOT NULL,
    payment_id    text NOT NULL,
    outcome       text NOT NULL,
    disposition   smallint NOT NULL,
    status_after  smallint NOT NULL,
    receive_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connector, event_id)
);
"""

DOWNGRADE = """
DROP TABLE connector_events;
DROP TABLE connector_attempts;
DROP TABLE idempotency_keys;
DROP TABLE refunds;
DROP TABLE payment_status_history;
DROP TABLE payments;
DROP TABLE payment_methods;
DROP TABLE ledger_accounts;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
