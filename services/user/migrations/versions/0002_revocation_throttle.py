"""Token versions and the revocation feed; grace-window successors; login throttling.

- ``users.token_version``: the ``ver`` claim of the user's access tokens; bumped on
  deactivation, erasure, role changes, password reset and "log out everywhere".
- ``revocations``: the feed every service's verifier polls (``ListRevocations``).
  Writers take one advisory lock until commit before drawing a sequence, so sequences
  become visible in commit order and a reader resuming after the last one it saw
  misses nothing.
- ``refresh_tokens.successor_sealed``: the successor of a rotated refresh token,
  encrypted under a key derived from the rotated token itself, so that a replay
  within the grace window gets that same successor (never a second chain) while the
  database alone reveals nothing.
- ``login_throttle``: failed-login counters per login and per (login, address), keyed
  by digests (no clear logins of unknown accounts are stored); ``login_known_addresses``:
  addresses an account has logged in from, exempt from the per-account throttle.
  The old lockout columns of ``users`` are no longer used.
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("""
    ALTER TABLE users ADD COLUMN token_version bigint NOT NULL DEFAULT 0;

    CREATE TABLE revocations (
        sequence bigserial PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id),
        -- Tokens of the user with a lower version are refused; 0 for a session revocation.
        min_token_version bigint NOT NULL DEFAULT 0,
        -- The refresh-token family (sid claim) whose tokens are refused, or NULL.
        session_id text,
        created_at timestamptz NOT NULL,
        -- Every token it refuses has expired by then.
        expires_at timestamptz NOT NULL,
        CHECK (min_token_version > 0 OR session_id IS NOT NULL)
    );
    CREATE INDEX revocations_expires_idx ON revocations (expires_at);

    ALTER TABLE refresh_tokens ADD COLUMN successor_sealed bytea;

    CREATE TABLE login_throttle (
        -- hex SHA-256 of the normalized login.
        login_digest text NOT NULL,
        -- '' for the login from every address, else hex SHA-256 of the address.
        address_digest text NOT NULL,
        failures integer NOT NULL DEFAULT 0,
        last_failure_at timestamptz,
        blocked_until timestamptz,
        PRIMARY KEY (login_digest, address_digest)
    );

    CREATE TABLE login_known_addresses (
        user_id text NOT NULL REFERENCES users (id),
        address_digest text NOT NULL,
        last_success_at timestamptz NOT NULL,
        PRIMARY KEY (user_id, address_digest)
    );
    """)


def downgrade() -> None:
    op.execute("""
    DROP TABLE login_known_addresses;
    DROP TABLE login_throttle;
    ALTER TABLE refresh_tokens DROP COLUMN successor_sealed;
    DROP TABLE revocations;
    ALTER TABLE users DROP COLUMN token_version;
    """)
