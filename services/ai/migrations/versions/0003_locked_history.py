"""A fraud check's user lock and history read in one round trip: ``ai_locked_history``.

A check takes its user's transaction-scoped advisory lock, then reads the user's checked
history. Two statements would put two round trips inside the window in which other checks
of that user wait; one CTE would not do, because a statement's snapshot is taken when it
starts, before the lock is granted, so it would miss the row of the check it waited for.
A VOLATILE PL/pgSQL function takes a fresh snapshot for each query it runs (READ COMMITTED),
so its ``RETURN QUERY`` runs after the lock and sees every check of the user committed before
the lock was granted. Same lock key as before (``hashtext('ai-user:' || user)``), so checks
served by code of the previous revision during a rolling deploy still exclude each other.
"""

from alembic import op

revision = "0003"
down_revision = "0002"

UPGRADE = """
CREATE FUNCTION ai_locked_history(p_user text, p_since timestamptz, p_until timestamptz)
RETURNS TABLE (user_id text, inference_id text, txn_time timestamptz, amount_minor bigint,
               currency char(3), merchant_id text, category text, country text, device_id text,
               channel smallint, decision text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('ai-user:' || p_user));
    RETURN QUERY
        SELECT c.user_id, c.inference_id, c.txn_time, c.amount_minor, c.currency, c.merchant_id,
               c.category, c.country, c.device_id, c.channel, c.decision
        FROM checked_transactions c
        WHERE c.user_id = p_user AND c.txn_time > p_since AND c.txn_time <= p_until
        ORDER BY c.txn_time, c.id;
END $$;
"""

DOWNGRADE = "DROP FUNCTION ai_locked_history(text, timestamptz, timestamptz);"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
