"""Idempotency keys under the runtime's one contract (services/runtime/idempotency.py).

The ledger kept ``(scope, request_id) -> result id`` forever, append-only, and replayed the
entity's current state. Keys now live in the runtime's table shape (``create_table_sql``, frozen
below), with the first response stored beside the effect in the same transaction and replayed
as it was, for a retention period (``LEDGER_IDEMPOTENCY_RETENTION_HOURS``). The table is no longer
append-only history: expired keys are purged.

Old keys carry no response to replay. They move over bound to an operation no request names
(``legacy:<operation>``), for one day from the upgrade: a retry under an old key is refused
with ALREADY_EXISTS (IDEMPOTENCY_KEY_REUSED) rather than executed a second time.

``ledger_post_entries`` (the one-round-trip write path of journal entries) claims keys the way
``IdempotencyStore.claim_in_transaction`` does: ``pg_try_advisory_xact_lock`` on
``hashtextextended('idempotency_keys/' || scope || '/' || key, 0)``; a key held by another
transaction is reported 'busy' (ABORTED REQUEST_IN_PROGRESS) at once instead of waited for, and
a recorded item stores its response: the item's JSON with its insert id and create time.
"""

from alembic import op

revision = "0004"
down_revision = "0003"

# services/runtime/idempotency.py create_table_sql("idempotency_keys") at this revision.
KEYS_TABLE = """
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
"""

UPGRADE = (
    r"""
ALTER TABLE idempotency_keys RENAME TO idempotency_keys_old;
"""
    + KEYS_TABLE
    + r"""
INSERT INTO idempotency_keys (scope, key, operation, fingerprint, state, resource_id, create_time,
                              expire_time)
    SELECT scope, request_id, 'legacy:' || operation, request_hash, 'done', result_id, create_time,
           now() + interval '1 day'
    FROM idempotency_keys_old;
DROP TABLE idempotency_keys_old;

DROP FUNCTION ledger_post_entries(text, text, jsonb);

-- Items are ledger_insert_entry's JSON plus rh (the request's fingerprint). Outcomes per item:
-- 'ok' (recorded, key and response stored), 'replay' (the key's stored operation, fingerprint
-- and response), 'busy' (another transaction holds the key) or 'check' (refused, nothing
-- written: the service finds out why). Directions: 1 debit, 2 credit (Direction in the domain).
CREATE FUNCTION ledger_post_entries(p_scope text, p_operation text, p_items jsonb,
                                    p_keep_hours int DEFAULT 720)
RETURNS TABLE (o_item int, o_outcome text, o_operation text, o_fingerprint text, o_response bytea,
               o_insert_id bigint, o_create_time timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_rid text;
    v_busy text[] := '{}';
    v_item jsonb;
    v_index bigint;
    v_bad bigint;
    v_earlier record;
BEGIN
    -- 1. the idempotency keys: try, never wait (a key held elsewhere is a request in progress).
    FOR v_rid IN
        SELECT DISTINCT j->>'rid' FROM jsonb_array_elements(p_items) j WHERE j->>'rid' <> ''
    LOOP
        IF NOT pg_try_advisory_xact_lock(
                hashtextextended('idempotency_keys' || '/' || p_scope || '/' || v_rid, 0)) THEN
            v_busy := v_busy || v_rid;
        END IF;
    END LOOP;
    -- 2. every balance row involved, in account-id order (ORDER BY is applied before locking).
    PERFORM 1 FROM balances b
    WHERE b.account_id IN (SELECT p->>0 FROM jsonb_array_elements(p_items) j,
                                             jsonb_array_elements(j->'p') p
                           WHERE NOT (j->>'rid' = ANY(v_busy)))
    ORDER BY b.account_id FOR UPDATE;
    -- 3. each item on its own: busy, replay, refuse (nothing written) or record.
    FOR v_item, v_index IN SELECT value, ordinality FROM jsonb_array_elements(p_items) WITH ORDINALITY LOOP
        o_item := v_index;
        o_operation := NULL; o_fingerprint := NULL; o_response := NULL;
        o_insert_id := NULL; o_create_time := NULL;
        v_rid := v_item->>'rid';
        IF v_rid = ANY(v_busy) THEN
            o_outcome := 'busy';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF v_rid <> '' THEN
            SELECT k.operation, k.fingerprint, k.state, k.response INTO v_earlier
            FROM idempotency_keys k
            WHERE k.scope = p_scope AND k.key = v_rid
              AND NOT (k.state = 'done' AND k.expire_time < now());
            IF FOUND THEN
                o_outcome := CASE WHEN v_earlier.state = 'done' THEN 'replay' ELSE 'busy' END;
                o_operation := v_earlier.operation;
                o_fingerprint := v_earlier.fingerprint;
                o_response := v_earlier.response;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        -- Unknown accounts, currency mismatches and balances lowered below their floor
        -- are left to the service, which reports them exactly.
        SELECT count(*) INTO v_bad
        FROM (SELECT l.p->>0 AS account_id,
                     bool_and(b.account_id IS NOT NULL AND l.p->>3 = b.currency) AS ok,
                     sum(CASE (l.p->>1)::smallint WHEN 1 THEN (l.p->>2)::bigint
                                                  ELSE -(l.p->>2)::bigint END) AS debit_net
              FROM jsonb_array_elements(v_item->'p') l(p)
              LEFT JOIN balances b ON b.account_id = l.p->>0
              GROUP BY 1) n
        LEFT JOIN balances b ON b.account_id = n.account_id
        WHERE NOT n.ok
           OR (b.floor_minor IS NOT NULL
               AND CASE WHEN b.normal_side = 1 THEN n.debit_net ELSE -n.debit_net END < 0
               AND b.posted + CASE WHEN b.normal_side = 1 THEN n.debit_net ELSE -n.debit_net END
                   - CASE WHEN b.normal_side = 2 THEN b.pending_debits ELSE b.pending_credits END
                   < b.floor_minor);
        IF v_bad > 0 THEN
            o_outcome := 'check';
            RETURN NEXT;
            CONTINUE;
        END IF;
        UPDATE balances b
        SET posted = b.posted + CASE WHEN b.normal_side = 1 THEN n.debit_net ELSE -n.debit_net END
        FROM (SELECT l.p->>0 AS account_id,
                     sum(CASE (l.p->>1)::smallint WHEN 1 THEN (l.p->>2)::bigint
                                                  ELSE -(l.p->>2)::bigint END) AS debit_net
              FROM jsonb_array_elements(v_item->'p') l(p) GROUP BY 1) n
        WHERE b.account_id = n.account_id AND n.debit_net <> 0;
        SELECT e.o_insert_id, e.o_create_time INTO o_insert_id, o_create_time
        FROM ledger_insert_entry(v_item) e;
        IF v_rid <> '' THEN
            INSERT INTO idempotency_keys AS k (scope, key, operation, fingerprint, state, resource_id,
                                               response, expire_time)
            VALUES (p_scope, v_rid, p_operation, v_item->>'rh', 'done', v_item->>'id',
                    convert_to(((v_item - 'rh') || jsonb_build_object('ii', o_insert_id,
                                                                      'ct', o_create_time))::text, 'UTF8'),
                    now() + make_interval(hours => p_keep_hours))
            ON CONFLICT (scope, key) DO UPDATE SET operation = EXCLUDED.operation,
                fingerprint = EXCLUDED.fingerprint, state = 'done', resource_id = EXCLUDED.resource_id,
                response = EXCLUDED.response, error_code = NULL, error_reason = NULL,
                error_message = NULL, error_metadata = NULL, lock_token = '', lock_until = NULL,
                create_time = now(), expire_time = EXCLUDED.expire_time;
        END IF;
        o_outcome := 'ok';
        RETURN NEXT;
    END LOOP;
END;
$$;
"""
)


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    raise NotImplementedError(
        "0004 replaced the ledger's append-only idempotency keys by the runtime's table; "
        "restore from a backup to go back to 0003"
    )
