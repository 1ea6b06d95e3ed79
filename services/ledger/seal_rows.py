"""The sealer's rows and statements: what a sealing pass reads and inserts, and its metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.ledger.domain.model import Direction, Entry, PostingLine, TransactionType
from services.runtime import metrics

# Counted where each committed entry is sealed: exactly once whichever replica seals it.
ENTRIES = metrics.counter("nexafi_ledger_entries", "Ledger entries committed and sealed, by type.", ("type",))
SEAL_LAG = metrics.histogram(
    "nexafi_ledger_seal_lag_seconds",
    "Time from an entry's insert to its seal (sequence and hash), i.e. until the change feed "
    "can deliver it. Measured with this host's clock against the database's create_time.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
LAST_SEQUENCE = metrics.gauge("nexafi_ledger_last_sequence", "The sequence of the last entry sealed here.")

LOCK_HEAD_SQL = (
    "SELECT last_sequence, last_hash, seal_xmin::text FROM ledger_head WHERE id = 1 FOR UPDATE SKIP LOCKED"
)

# One statement, so the snapshot that finds the entries is the one whose xmin becomes the watermark.
UNSEALED_SQL = """
SELECT x.snapshot_xmin, c.id, c.insert_id, c.user_id, c.type, c.description, c.related_entity_id,
       c.amount_minor, c.currency, c.metadata, c.request_id, c.reverses_id, c.pending_transfer_id,
       c.create_time, c.postings
FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS snapshot_xmin) x
LEFT JOIN LATERAL (
    SELECT e.insert_id, e.id, e.user_id, e.type, e.description, e.related_entity_id, e.amount_minor,
           e.currency, e.metadata, e.request_id, e.reverses_id, e.pending_transfer_id, e.create_time,
           (SELECT json_agg(json_build_array(p.account_id, p.direction, p.amount_minor, p.currency)
                            ORDER BY p.idx) FROM postings p WHERE p.entry_id = e.id) AS postings
    FROM entries e
    WHERE e.xid >= %(xmin)s::xid8 AND (SELECT s.sequence FROM entry_seals s WHERE s.entry_id = e.id) IS NULL
    ORDER BY e.insert_id LIMIT %(n)s
) c ON true
"""


# Read-only, without the head's lock: idle polls neither write nor take a transaction id.
ANY_UNSEALED_SQL = """
SELECT EXISTS (SELECT 1 FROM entries e WHERE e.xid >= h.seal_xmin
               AND (SELECT s.sequence FROM entry_seals s WHERE s.entry_id = e.id) IS NULL)
FROM ledger_head h WHERE h.id = 1
"""

# The sealer's queries must probe indexes (entries by xid, seals by entry id), never scan
# the whole history, even before the planner has statistics on a growing table: the
# seal check is a per-row subplan, and sequential scans are off in its transactions.
NO_SEQSCAN = "SET LOCAL enable_seqscan = off; "


@dataclass(frozen=True)
class Seal:
    entry_id: str
    sequence: int
    previous_hash: str
    hash: str


@dataclass(frozen=True)
class SealedPass:
    """What one sealing pass inserted: its seals, the entries they seal, whether more wait past its batch."""

    seals: list[Seal]
    entries: list[Entry]
    more: bool


def record_sealed(sealed: Sequence[Entry]) -> None:
    now = time.time()
    for entry in sealed:
        ENTRIES.labels(entry.type.name).inc()
        SEAL_LAG.observe(max(0.0, now - entry.create_time.timestamp()))
    LAST_SEQUENCE.set(sealed[-1].sequence)


def unsealed_entry(row: Sequence[Any], sequence: int) -> Entry:
    """An entry from a row of UNSEALED_SQL (snapshot_xmin first, then the columns in their order)."""
    (
        _,
        entry_id,
        insert_id,
        user_id,
        type_,
        description,
        related_entity_id,
        amount_minor,
        currency,
        metadata,
        request_id,
        reverses_id,
        pending_transfer_id,
        create_time,
        postings,
    ) = row
    return Entry(
        id=entry_id,
        sequence=sequence,
        user_id=user_id,
        type=TransactionType(type_),
        description=description,
        related_entity_id=related_entity_id,
        amount_minor=amount_minor,
        currency=currency,
        metadata=dict(metadata),
        request_id=request_id,
        reverses_id=reverses_id,
        pending_transfer_id=pending_transfer_id,
        create_time=create_time,
        previous_hash="",
        hash="",
        postings=tuple(PostingLine(p[0], Direction(p[1]), int(p[2]), p[3]) for p in postings),
        insert_id=insert_id,
    )
