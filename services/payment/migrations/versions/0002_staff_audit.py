"""The audit trail of staff actions on payments is append-only.

The status history (every transition with its actor and reason) may no longer be updated,
deleted or truncated; a refund request keeps who asked, for what and why (its state and the
ledger and gateway references still advance as the refund completes), and is never deleted.
"""

from alembic import op

revision = "0002"
down_revision = "0001"

HISTORY = """
CREATE FUNCTION payment_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER payment_status_history_append_only BEFORE UPDATE OR DELETE ON payment_status_history
    FOR EACH ROW EXECUTE FUNCTION payment_audit_refuse_change();
CREATE TRIGGER payment_status_history_no_truncate BEFORE TRUNCATE ON payment_status_history
    FOR EACH STATEMENT EXECUTE FUNCTION payment_audit_refuse_change();
"""

REFUND_FACTS = """
CREATE FUNCTION payment_refund_facts_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'refund requests are append-only: % on refunds is refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.id, NEW.payment_id, NEW.amount_minor, NEW.currency, NEW.reason, NEW.actor, NEW.request_id)
       IS DISTINCT FROM
       (OLD.id, OLD.payment_id, OLD.amount_minor, OLD.currency, OLD.reason, OLD.actor, OLD.request_id) THEN
        RAISE EXCEPTION 'who asked for a refund, for what and why never changes'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER refunds_facts_fixed BEFORE UPDATE OR DELETE ON refunds
    FOR EACH ROW EXECUTE FUNCTION payment_refund_facts_fixed();
CREATE TRIGGER refunds_no_truncate BEFORE TRUNCATE ON refunds
    FOR EACH STATEMENT EXECUTE FUNCTION payment_refund_facts_fixed();
"""


def upgrade() -> None:
    op.execute(HISTORY)
    op.execute(REFUND_FACTS)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER refunds_no_truncate ON refunds; DROP TRIGGER refunds_facts_fixed ON refunds; "
        "DROP FUNCTION payment_refund_facts_fixed();"
    )
    op.execute(
        "DROP TRIGGER payment_status_history_no_truncate ON payment_status_history; "
        "DROP TRIGGER payment_status_history_append_only ON payment_status_history; "
        "DROP FUNCTION payment_audit_refuse_change();"
    )
