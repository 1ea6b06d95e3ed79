"""ExportRelatedEntries: the entries naming one type of record over a period, streamed in bulk.

Payment reconciliation compares every payment of a period with the ledger. Reading the entries
page by page (ListRelatedEntries) made the report cost a round trip, a page token, a fresh plan
and a full Transaction per thousand entries; this read costs the entries alone: one read-only
snapshot, one scan of the (type, create_time, insert_id) index through a server-side cursor, and
only the columns a comparison needs, sent in chunks while the next ones are fetched.

Layers, top down: ``export_related_entries`` (the gRPC adapter: authorization, validation, the
records), ``related_records`` (one snapshot of the ledger's database), ``scan_related`` (the SQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import grpc
import sqlalchemy as sa
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.engine import Connection, Engine

from services.ledger.access import ACCESS
from services.runtime.api import FieldChecks, time_range
from services.runtime.auth import current_principal

# Records per streamed message at most (and by default): about 350 kB, well under gRPC's 4 MB
# message limit, and large enough that a message's own cost is lost in its records'.
EXPORT_CHUNK = 5000

# (transaction id, related record id, type, amount in minor units, currency)
Record = tuple[str, str, int, int, str]


def scan_related(
    connection: Connection, related_type: str, start: datetime, end: datetime, chunk: int
) -> Iterator[list[Record]]:
    """The entries naming a record of ``related_type`` recorded in [start, end), oldest first.

    The predicate is the leading expression of entries_related_type_idx, so this is one index
    range scan in the index's order (no sort); the planner is told to keep it so, since stale
    statistics after a bulk load make it pick a bitmap scan and a sort (see
    repository.entries_of_type). The rows come through a server-side cursor, ``chunk`` at a time,
    so memory holds one chunk whatever the period's size."""
    connection.execute(
        sa.text(
            "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"
        )
    )
    result = connection.execution_options(stream_results=True, max_row_buffer=chunk).execute(
        sa.text(
            "SELECT e.id, e.related_entity_id, e.type, e.amount_minor, e.currency FROM entries e "
            "WHERE split_part(e.related_entity_id, '_', 1) = :type "
            "AND e.create_time >= :start AND e.create_time < :end "
            "ORDER BY split_part(e.related_entity_id, '_', 1), e.create_time, e.insert_id"
        ),
        {"type": related_type, "start": start, "end": end},
    )
    try:
        while rows := result.fetchmany(chunk):
            yield [tuple(row) for row in rows]
    finally:
        result.close()


def related_records(
    engine: Engine, related_type: str, start: datetime, end: datetime, chunk: int = EXPORT_CHUNK
) -> Iterator[list[Record]]:
    """``scan_related`` in one REPEATABLE READ, READ ONLY transaction: every chunk of one export
    sees the same committed state, so an entry committed while the stream runs is either in
    it or not, never half-seen across chunks."""
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.execute(sa.text("SET TRANSACTION READ ONLY"))
            yield from scan_related(connection, related_type, start, end, chunk)


def export_related_entries(
    engine: Engine, request: ledger_pb2.ExportRelatedEntriesRequest, context: grpc.ServicerContext
) -> Iterator[ledger_pb2.ExportRelatedEntriesResponse]:
    """The gRPC method (who may call it: access.py)."""
    ACCESS.check("ExportRelatedEntries", current_principal())
    checks = FieldChecks()
    checks.text(request.related_entity_type, "related_entity_type", max_length=32, required=True)
    if request.related_entity_type and not request.related_entity_type.isalnum():
        checks.add("related_entity_type", "must be letters and digits, the part of an id before '_'")
    bounds = request.time_range
    if not (bounds.HasField("start_time") and bounds.HasField("end_time")):
        checks.add("time_range", "both start_time and end_time are required")
    if request.chunk_size < 0:
        checks.add("chunk_size", "must not be negative")
    checks.done()
    start, end = time_range(request)  # INVALID_ARGUMENT when the end is not after the start
    assert start is not None and end is not None
    record, money = ledger_pb2.RelatedEntryRecord, common_pb2.Money
    chunk = min(request.chunk_size or EXPORT_CHUNK, EXPORT_CHUNK)
    for rows in related_records(engine, request.related_entity_type, start, end, chunk):
        if not context.is_active():
            return  # the caller went away: stop reading
        yield ledger_pb2.ExportRelatedEntriesResponse(
            records=[
                record(
                    transaction_id=txn,
                    related_entity_id=related,
                    type=kind,  # type: ignore[arg-type]
                    amount=money(amount_minor=amount, currency=currency),
                )
                for txn, related, kind, amount, currency in rows
            ]
        )
