"""Index entries and pending transfers by the record of another service they name.

Reconciliation reads, per batch of payment or loan ids, every entry and pending
transfer that names one of them (``BatchGetRelatedEntries``), and scans a time
range for the entries whose ``related_entity_id`` is of one type, its prefix
before the first underscore (``ListRelatedEntries``). Without these indexes each
batch would scan the whole history, and the report's time would grow with the
ledger rather than with the records it checks.

The scan pages by (type, create_time, insert_id), an index in exactly that order:
each page is one range scan stopped by its LIMIT, never a sort of every entry after
the page's position. (With a filter the planner cannot estimate, a prefix compared
with substr over a (create_time, insert_id) index, it chose that sort, and a
100,000-entry scan took half a minute.)
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("CREATE INDEX entries_related_idx ON entries (related_entity_id)")
    op.execute(
        "CREATE INDEX entries_related_type_idx ON entries "
        "((split_part(related_entity_id, '_', 1)), create_time, insert_id)"
    )
    op.execute("CREATE INDEX pending_related_idx ON pending_transfers (related_entity_id)")


def downgrade() -> None:
    op.execute("DROP INDEX pending_related_idx")
    op.execute("DROP INDEX entries_related_type_idx")
    op.execute("DROP INDEX entries_related_idx")
