"""Create the probe table."""

from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE TABLE probe_items (id text PRIMARY KEY, amount_minor bigint NOT NULL)")


def downgrade() -> None:
    op.execute("DROP TABLE probe_items")
