"""The audit log is append-only: the database refuses to update, delete or truncate its events.

Events hold ids and actions only (no personal data), so erasure has nothing to remove from them.
"""

from alembic import op

revision = "0003"
down_revision = "0002"

APPEND_ONLY = """
CREATE FUNCTION user_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION user_audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION user_audit_refuse_change();
"""


def upgrade() -> None:
    op.execute(APPEND_ONLY)


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER audit_events_no_truncate ON audit_events; "
        "DROP TRIGGER audit_events_append_only ON audit_events; "
        "DROP FUNCTION user_audit_refuse_change();"
    )
