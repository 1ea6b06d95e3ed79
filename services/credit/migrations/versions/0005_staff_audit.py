"""The audit trail of staff actions on loans and credit lines is append-only.

The applications' status history (decisions, cancellations, disbursements, with actor and
reason) and the credit line changes may no longer be updated, deleted or truncated.
"""

from alembic import op

revision = "0005"
down_revision = "0004"

APPEND_ONLY = """
CREATE FUNCTION credit_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER loan_status_changes_append_only BEFORE UPDATE OR DELETE ON loan_status_changes
    FOR EACH ROW EXECUTE FUNCTION credit_audit_refuse_change();
CREATE TRIGGER loan_status_changes_no_truncate BEFORE TRUNCATE ON loan_status_changes
    FOR EACH STATEMENT EXECUTE FUNCTION credit_audit_refuse_change();
CREATE TRIGGER credit_line_changes_append_only BEFORE UPDATE OR DELETE ON credit_line_changes
    FOR EACH ROW EXECUTE FUNCTION credit_audit_refuse_change();
CREATE TRIGGER credit_line_changes_no_truncate BEFORE TRUNCATE ON credit_line_changes
    FOR EACH STATEMENT EXECUTE FUNCTION credit_audit_refuse_change();
"""

TABLES = ("loan_status_changes", "credit_line_changes")


def upgrade() -> None:
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    for table in TABLES:
        op.execute(
            f"DROP TRIGGER {table}_no_truncate ON {table}; DROP TRIGGER {table}_append_only ON {table};"
        )
    op.execute("DROP FUNCTION credit_audit_refuse_change();")
