"""ExportRelatedEntries: the entries naming one type of record over a period, streamed in chunks."""

from __future__ import annotations

import grpc
from google.protobuf import timestamp_pb2
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.ids import new_id
from tests.integration.ledger.ledger_support import Failure, LedgerClient, failure


def _related(
    ledger: LedgerClient, debit: str, credit: str, amount: int, related: str
) -> ledger_pb2.Transaction:
    request = ledger.transfer_request(debit, credit, amount)
    request.related_entity_id = related
    return ledger.stub.CreateTransaction(request, metadata=ledger.ops, timeout=10).transaction


def _around(first: ledger_pb2.Transaction, last: ledger_pb2.Transaction) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(
        start_time=timestamp_pb2.Timestamp(seconds=first.timestamp.seconds - 1),
        end_time=timestamp_pb2.Timestamp(seconds=last.timestamp.seconds + 2),
    )


def test_entries_of_a_type_stream_in_chunks_each_once_oldest_first(ledger: LedgerClient) -> None:
    payer, payee = ledger.wallet(), ledger.wallet()
    ledger.fund(payer.id, 1_000)
    kind = f"exp{new_id('x')[-10:].lower()}"
    made = [_related(ledger, payer.id, payee.id, 10 + i, f"{kind}_{i}") for i in range(5)]
    # Another type, even one sharing the prefix's letters, is not part of the export.
    _related(ledger, payer.id, payee.id, 1, f"{kind}x_1")
    period = _around(made[0], made[-1])
    chunks = list(
        ledger.stub.ExportRelatedEntries(
            ledger_pb2.ExportRelatedEntriesRequest(related_entity_type=kind, time_range=period, chunk_size=2),
            metadata=ledger.ops,
            timeout=10,
        )
    )
    assert [len(c.records) for c in chunks] == [2, 2, 1]
    records = [r for c in chunks for r in c.records]
    assert [r.transaction_id for r in records] == [t.id for t in made]
    assert [(r.related_entity_id, r.type, r.amount.amount_minor, r.amount.currency) for r in records] == [
        (f"{kind}_{i}", ledger_pb2.TRANSACTION_TYPE_TRANSFER, 10 + i, "USD") for i in range(5)
    ]

    # The default chunk holds them all; a range that ends before them holds none.
    whole = list(
        ledger.stub.ExportRelatedEntries(
            ledger_pb2.ExportRelatedEntriesRequest(related_entity_type=kind, time_range=period),
            metadata=ledger.ops,
            timeout=10,
        )
    )
    assert [[r.transaction_id for r in c.records] for c in whole] == [[t.id for t in made]]
    before = common_pb2.TimeRange(
        start_time=timestamp_pb2.Timestamp(seconds=made[0].timestamp.seconds - 60),
        end_time=timestamp_pb2.Timestamp(seconds=made[0].timestamp.seconds - 30),
    )
    assert (
        list(
            ledger.stub.ExportRelatedEntries(
                ledger_pb2.ExportRelatedEntriesRequest(related_entity_type=kind, time_range=before),
                metadata=ledger.ops,
                timeout=10,
            )
        )
        == []
    )


def test_export_checks_its_input_and_caller(ledger: LedgerClient) -> None:
    day = common_pb2.TimeRange(
        start_time=timestamp_pb2.Timestamp(seconds=1_700_000_000),
        end_time=timestamp_pb2.Timestamp(seconds=1_700_086_400),
    )

    def export(request: ledger_pb2.ExportRelatedEntriesRequest, metadata: object = None) -> Failure:
        return failure(
            lambda: list(
                ledger.stub.ExportRelatedEntries(request, metadata=metadata or ledger.ops, timeout=10)
            )
        )

    for bad in ("", "pay_"):
        wrong = export(ledger_pb2.ExportRelatedEntriesRequest(related_entity_type=bad, time_range=day))
        assert wrong.code == grpc.StatusCode.INVALID_ARGUMENT and wrong.fields == ["related_entity_type"]
    open_ended = export(
        ledger_pb2.ExportRelatedEntriesRequest(
            related_entity_type="pay", time_range=common_pb2.TimeRange(start_time=day.start_time)
        )
    )
    assert open_ended.code == grpc.StatusCode.INVALID_ARGUMENT and open_ended.fields == ["time_range"]
    backwards = export(
        ledger_pb2.ExportRelatedEntriesRequest(
            related_entity_type="pay",
            time_range=common_pb2.TimeRange(start_time=day.end_time, end_time=day.start_time),
        )
    )
    assert backwards.code == grpc.StatusCode.INVALID_ARGUMENT and backwards.fields == ["time_range.end_time"]
    negative = export(
        ledger_pb2.ExportRelatedEntriesRequest(related_entity_type="pay", time_range=day, chunk_size=-1)
    )
    assert negative.code == grpc.StatusCode.INVALID_ARGUMENT and negative.fields == ["chunk_size"]
    customer = export(
        ledger_pb2.ExportRelatedEntriesRequest(related_entity_type="pay", time_range=day),
        ledger.customer("usr_someone"),
    )
    assert customer.code == grpc.StatusCode.PERMISSION_DENIED
