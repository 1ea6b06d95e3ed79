"""Users, profiles, refresh-token families, password-reset tokens, register idempotency, audit."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("""
    CREATE TABLE users (
        id text PRIMARY KEY,
        username text NOT NULL,
        email text NOT NULL,
        -- NULL once the account is erased: nothing can log in as it again.
        password_hash text,
        roles text[] NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated', 'erased')),
        failed_login_count integer NOT NULL DEFAULT 0,
        failed_login_window_start timestamptz,
        locked_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deactivated_at timestamptz,
        erased_at timestamptz
    );
    -- Case-insensitive uniqueness is enforced by the database, not by a racy check.
    CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
    CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

    CREATE TABLE profiles (
        user_id text PRIMARY KEY REFERENCES users (id),
        first_name text,
        last_name text,
        phone_number text,
        address_line1 text,
        address_line2 text,
        address_city text,
        address_postal_code text,
        address_region text,
        address_country text,
        updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE refresh_token_families (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz,
        revoked_reason text
    );
    CREATE INDEX refresh_token_families_live_idx ON refresh_token_families (user_id) WHERE revoked_at IS NULL;

    CREATE TABLE refresh_tokens (
        id text PRIMARY KEY,
        family_id text NOT NULL REFERENCES refresh_token_families (id),
        -- hex SHA-256 of the token; the token itself is never stored.
        token_hash text NOT NULL UNIQUE,
        parent_id text REFERENCES refresh_tokens (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        rotated_at timestamptz
    );
    CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

    CREATE TABLE password_reset_tokens (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
    );
    CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id, created_at);

    CREATE TABLE register_requests (
        request_id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        -- SHA-256 over username, email and profile (never the password).
        fingerprint text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );

    -- Security-relevant events; ids and actions only, no personal data, so
    -- erasure keeps them.
    CREATE TABLE audit_events (
        id bigserial PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        actor text NOT NULL,
        action text NOT NULL,
        detail text,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_events_user_idx ON audit_events (user_id, created_at);
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE audit_events;
    DROP TABLE register_requests;
    DROP TABLE password_reset_tokens;
    DROP TABLE refresh_tokens;
    DROP TABLE refresh_token_families;
    DROP TABLE profiles;
    DROP TABLE users;
    """)
