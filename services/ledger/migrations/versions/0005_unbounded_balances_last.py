"""Unbounded accounts' balance rows are added to at the end of a write instead of locked at its start.

A clearing account (or any system account without a floor) is in every deposit and card
top-up: each writer locked its balance row FOR UPDATE first and held it through the whole
transaction and its commit, so writers queued on that one row (31.7 ms mean for the lock
under 16 top-up clients, against 0.075 ms for the same read without it). An unbounded
account has no limit to check, so it needs no read-check-write under a lock: its change is
applied as ``posted = posted + delta`` as the last statement before the commit, so the row
is locked only from there to the commit. Bounded accounts (non-negative, credit limit) keep
the lock from the start, so they still never go below their floor under concurrency.

The lock order every writer follows becomes: idempotency keys, the pending transfer, the
bounded balance rows in account-id order, then the unbounded ones in account-id order
(services/ledger/core.py). Whether an account is bounded never changes (``floor_minor`` is
NULL exactly for the UNBOUNDED rule, which an account keeps for life).

``ledger_post_entries`` (the one-round-trip write path) follows it: it locks only the bounded
rows up front, and adds every recorded item's change to the unbounded rows at its end.
"""

from alembic import op

revision = "0005"
down_revision = "0004"

UPGRADE = r"""
CREATE OR REPLACE FUNCTION ledger_post_entries(p_scope text, p_operation text, p_items jsonb,
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
    v_deferred jsonb := '[]';
    v_account text;
    v_net bigint;
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
    -- 2. every bounded balance row involved, in account-id order (ORDER BY is applied before
    --    locking); unbounded ones are added to at the end (5).
    PERFORM 1 FROM balances b
    WHERE b.account_id IN (SELECT p->>0 FROM jsonb_array_elements(p_items) j,
                                             jsonb_array_elements(j->'p') p
                           WHERE NOT (j->>'rid' = ANY(v_busy)))
      AND b.floor_minor IS NOT NULL
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
        WHERE b.account_id = n.account_id AND n.debit_net <> 0 AND b.floor_minor IS NOT NULL;
        v_deferred := v_deferred || (v_item->'p');
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
    -- 5. the unbounded accounts' increments, last, one row at a time in account-id order.
    FOR v_account, v_net IN
        SELECT n.account_id, n.debit_net
        FROM (SELECT l.p->>0 AS account_id,
                     sum(CASE (l.p->>1)::smallint WHEN 1 THEN (l.p->>2)::bigint
                                                  ELSE -(l.p->>2)::bigint END) AS debit_net
              FROM jsonb_array_elements(v_deferred) l(p) GROUP BY 1) n
        JOIN balances b ON b.account_id = n.account_id
        WHERE b.floor_minor IS NULL AND n.debit_net <> 0
        ORDER BY n.account_id
    LOOP
        UPDATE balances b
        SET posted = b.posted + CASE WHEN b.normal_side = 1 THEN v_net ELSE -v_net END
        WHERE b.account_id = v_account;
    END LOOP;
END;
$$;
"""

# 0004's function, restored by the downgrade.
DOWNGRADE = r"""
CREATE OR REPLACE FUNCTION ledger_post_entries(p_scope text, p_operation text, p_items jsonb,
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


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
