"""Seal entries after commit instead of chaining them under a global lock.

Before: every writer locked the single ledger_head row to take the next
sequence number and hash, and held it across its commit, so all writes were
serialized. After: writers insert entries with an ``insert_id`` (a plain
sequence, no global lock) and the transaction id that inserted them; a sealer
(one at a time, serialized by the ledger_head row lock) assigns the gap-free
``sequence`` and the hash chain after commit, in ``entry_seals``, which is
append-only like the rest of history. The change feed and chain verification
read the seals.

Existing entries keep their numbers: the old ``sequence`` becomes ``insert_id``
(same values), and their sequence and hashes move verbatim into entry_seals, so
an existing chain still verifies. Nothing in history is updated or deleted:
columns are renamed, copied and then dropped by DDL.

``ledger_post_entries`` is the write path of plain journal entries (single and
batched): one call takes the idempotency keys' advisory locks, locks the balance
rows in account-id order, and for each item replays, refuses (returning 'check'
for the service to produce the exact error) or records it.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

UPGRADE = r"""
ALTER TABLE entries RENAME COLUMN sequence TO insert_id;
CREATE SEQUENCE entries_insert_id_seq OWNED BY entries.insert_id;
SELECT setval('entries_insert_id_seq', COALESCE((SELECT max(insert_id) FROM entries), 0) + 1, false);
ALTER TABLE entries ALTER COLUMN insert_id SET DEFAULT nextval('entries_insert_id_seq');
-- The inserting transaction: the sealer looks for unsealed entries only among
-- transactions that had not finished at its previous pass. NULL for the entries
-- sealed by this migration.
ALTER TABLE entries ADD COLUMN xid xid8;
ALTER TABLE entries ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX entries_xid_idx ON entries (xid);
ALTER TABLE postings RENAME COLUMN sequence TO insert_id;

-- The hash chain: sequence is gap-free and assigned by one sealer at a time, in
-- an order consistent with commits (an entry is sealed only once committed, and
-- an entry that could see another is sealed after it).
CREATE TABLE entry_seals (
    sequence      bigint PRIMARY KEY CHECK (sequence > 0),
    entry_id      text NOT NULL UNIQUE REFERENCES entries (id),
    previous_hash text NOT NULL,
    hash          text NOT NULL,
    seal_time     timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO entry_seals (sequence, entry_id, previous_hash, hash)
    SELECT insert_id, id, previous_hash, hash FROM entries ORDER BY insert_id;
ALTER TABLE entries DROP COLUMN previous_hash, DROP COLUMN hash;

-- The head is now the sealer's: the last seal and the sealing watermark (every
-- committed entry whose xid is below seal_xmin is sealed).
ALTER TABLE ledger_head DROP COLUMN last_time;
ALTER TABLE ledger_head ADD COLUMN seal_xmin xid8 NOT NULL DEFAULT '0';

CREATE TRIGGER entry_seals_append_only BEFORE UPDATE OR DELETE ON entry_seals
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER entry_seals_no_truncate BEFORE TRUNCATE ON entry_seals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Insert one entry and its postings; the item is the JSON the service builds:
-- id, u(ser), ty(pe), de(scription), re(lated), am(ount), cu(rrency), md (metadata),
-- rid, rv (reverses), pt (pending transfer), p: [[account, direction, amount, currency], ...].
CREATE FUNCTION ledger_insert_entry(p_item jsonb, OUT o_insert_id bigint, OUT o_create_time timestamptz)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO entries (id, user_id, type, description, related_entity_id, amount_minor, currency,
                         metadata, request_id, reverses_id, pending_transfer_id, create_time)
    VALUES (p_item->>'id', p_item->>'u', (p_item->>'ty')::smallint, p_item->>'de', p_item->>'re',
            (p_item->>'am')::bigint, p_item->>'cu', p_item->'md', p_item->>'rid',
            NULLIF(p_item->>'rv', ''), NULLIF(p_item->>'pt', ''), clock_timestamp())
    RETURNING insert_id, create_time INTO o_insert_id, o_create_time;
    INSERT INTO postings (entry_id, idx, account_id, direction, amount_minor, currency, insert_id,
                          create_time)
    SELECT p_item->>'id', (x.o - 1)::smallint, x.p->>0, (x.p->>1)::smallint, (x.p->>2)::bigint,
           x.p->>3, o_insert_id, o_create_time
    FROM jsonb_array_elements(p_item->'p') WITH ORDINALITY AS x(p, o);
END;
$$;

CREATE FUNCTION ledger_post_entries(p_scope text, p_operation text, p_items jsonb)
RETURNS TABLE (o_item int, o_outcome text, o_operation text, o_request_hash text, o_result_id text,
               o_insert_id bigint, o_create_time timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_key bigint;
    v_item jsonb;
    v_index bigint;
    v_bad bigint;
    v_earlier record;
BEGIN
    -- 1. the idempotency keys (an advisory lock per key, in one global order), so
    --    that a concurrent use of the same key waits here, before any balance lock.
    FOR v_key IN
        SELECT DISTINCT hashtextextended(p_scope || '/' || (j->>'rid'), 0)
        FROM jsonb_array_elements(p_items) j WHERE j->>'rid' <> '' ORDER BY 1
    LOOP
        PERFORM pg_advisory_xact_lock(v_key);
    END LOOP;
    -- 2. every balance row involved, in account-id order (ORDER BY is applied before locking).
    PERFORM 1 FROM balances b
    WHERE b.account_id IN (SELECT p->>0 FROM jsonb_array_elements(p_items) j,
                                             jsonb_array_elements(j->'p') p)
    ORDER BY b.account_id FOR UPDATE;
    -- 3. each item on its own: replay, refuse (nothing written) or record.
    FOR v_item, v_index IN SELECT value, ordinality FROM jsonb_array_elements(p_items) WITH ORDINALITY LOOP
        o_item := v_index;
        o_operation := NULL; o_request_hash := NULL; o_result_id := NULL;
        o_insert_id := NULL; o_create_time := NULL;
        IF v_item->>'rid' <> '' THEN
            SELECT k.operation, k.request_hash, k.result_id INTO v_earlier
            FROM idempotency_keys k WHERE k.scope = p_scope AND k.request_id = v_item->>'rid';
            IF FOUND THEN
                o_outcome := 'replay';
                o_operation := v_earlier.operation;
                o_request_hash := v_earlier.request_hash;
                o_result_id := v_earlier.result_id;
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
        IF v_item->>'rid' <> '' THEN
            INSERT INTO idempotency_keys (scope, request_id, operation, request_hash, result_id)
            VALUES (p_scope, v_item->>'rid', p_operation, v_item->>'rh', v_item->>'id');
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
        o_outcome := 'ok';
        RETURN NEXT;
    END LOOP;
END;
$$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    raise NotImplementedError(
        "0002 moved the hash chain into entry_seals and dropped the entries' hash columns; "
        "restore from a backup to go back to 0001"
    )
