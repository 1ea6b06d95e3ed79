"""Index entries and pending transfers by the record of another service they name.

Reconciliation reads, per batch of payment or loan ids, every entry and pending
transfer that names one of them (``BatchGetRelatedEntries``), and scans a time
range for entries whose ``related_entity_id`` has a prefix (``ListRelatedEntries``).
Without these indexes each batch would scan the whole history, and the report's
time would grow with the ledger rather than with the records it checks.
The prefix scan pages by (create_time, insert_id): with an index in exactly that order, each
page is an index range scan stopped by its LIMIT, never a sort of every entry after the
page's position (which the planner picks with a one-column index when the range is wide).
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("CREATE INDEX entries_related_idx ON entries (related_entity_id)")
    op.execute("CREATE INDEX entries_time_insert_idx ON entries (create_time, insert_id)")
    op.execute("CREATE INDEX pending_related_idx ON pending_transfers (related_entity_id)")


def downgrade() -> None:
    op.execute("DROP INDEX pending_related_idx")
    op.execute("DROP INDEX entries_time_insert_idx")
    op.execute("DROP INDEX entries_related_idx")
