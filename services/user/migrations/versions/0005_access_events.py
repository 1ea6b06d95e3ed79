"""Access events: sign-ins, refreshes and logouts of a user's sessions, append-only.

Account changes (role grants, deactivation, revoked sessions, password resets) stay in
audit_events; these rows add the session traffic, with the client's address and user agent.
Those two are personal data (erasure already forgets the addresses a user logged in from), so
the one change the database allows is erasure's: setting both to NULL, nothing else touched.
Any other UPDATE, every DELETE and TRUNCATE are refused, as for audit_events.
"""

from alembic import op

revision = "0005"
down_revision = "0004"

UPGRADE = """
CREATE TABLE access_events (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL,
    kind text NOT NULL,
    session_id text,
    detail text,
    client_address text,
    user_agent text,
    created_at timestamptz NOT NULL
);
-- The access log of one user, newest first.
CREATE INDEX access_events_user_idx ON access_events (user_id, created_at DESC, id DESC);

CREATE FUNCTION user_access_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.client_address IS NULL AND NEW.user_agent IS NULL
       AND (NEW.id, NEW.user_id, NEW.kind, NEW.session_id, NEW.detail, NEW.created_at)
           IS NOT DISTINCT FROM (OLD.id, OLD.user_id, OLD.kind, OLD.session_id, OLD.detail, OLD.created_at)
    THEN
        RETURN NEW;  -- Erasure forgetting where the user came from.
    END IF;
    RAISE EXCEPTION 'the access log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER access_events_append_only BEFORE UPDATE OR DELETE ON access_events
    FOR EACH ROW EXECUTE FUNCTION user_access_events_guard();
CREATE TRIGGER access_events_no_truncate BEFORE TRUNCATE ON access_events
    FOR EACH STATEMENT EXECUTE FUNCTION user_access_events_guard();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE access_events; DROP FUNCTION user_access_events_guard();")
