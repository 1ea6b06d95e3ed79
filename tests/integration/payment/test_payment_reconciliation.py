"""Reconciliation counts each ledger entry once: transfers between customers are no duplicates.

Payments are made on a second payment server whose AI service is unreachable (policy
``review``): each is reserved, held, and approved by a support agent, whatever the fraud model
would say, so the runs do not depend on the model's decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2
from nexafi.payment.v1 import payment_pb2 as S
from nexafi.payment.v1 import payment_pb2_grpc

from services.payment import reconciliation
from services.runtime.api import to_timestamp
from services.runtime.clock import system_clock
from services.runtime.server import RunningServer
from tests.integration.payment.payment_support import (
    PaymentApi,
    dead_address,
    key,
    payment_config,
    start_payment_instance,
)
from tests.support.harness import ServiceRunner

pytestmark = pytest.mark.usefixtures("payment_server")


@pytest.fixture(scope="module")
def held(services: ServiceRunner, api: PaymentApi) -> Iterator[PaymentApi]:
    # No fraud model is asked (the AI service is unreachable), so nothing here depends on the day:
    # the system clock keeps the payments' stamps and the ledger's on one timeline, as the
    # reconciliation's time ranges need.
    server: RunningServer = start_payment_instance(
        services,
        payment_config(fraud_unavailable_policy="review"),
        clock=system_clock,
        ai_address=dead_address(),
    )
    channel = grpc.insecure_channel(server.address)
    yield PaymentApi(
        payment_pb2_grpc.PaymentServiceStub(channel), api.ledger, api.users, api.tokens, system_clock
    )
    channel.close()
    server.stop(0)


def approved(api: PaymentApi, payment: S.Payment) -> S.Payment:
    assert payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW, payment
    done = api.set_status(payment.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "verified")
    assert done.status == S.PAYMENT_STATUS_SUCCEEDED, done
    return done


def report(api: PaymentApi, start: datetime, end: datetime) -> S.ReconciliationReport:
    request = S.GetReconciliationReportRequest(
        time_range=common_pb2.TimeRange(start_time=to_timestamp(start), end_time=to_timestamp(end)),
        page_size=1000,
    )
    return api.payments.GetReconciliationReport(request, metadata=api.admin(), timeout=60).report


def test_a_transfer_between_two_customers_is_not_a_duplicate(held: PaymentApi) -> None:
    start = datetime.now(UTC)  # payments are stamped by this process's clock: only ours follow
    payer, payee = held.register(), held.register()
    approved(held, held.top_up(payer, 1_000))
    transfer = approved(held, held.initiate(payer, S.PAYMENT_KIND_TRANSFER, 250, payee=payee))
    found = report(held, start, datetime.now(UTC) + timedelta(seconds=1))
    assert found.payments_checked == 2
    assert found.ledger_transactions_checked == 2
    assert list(found.mismatches) == []

    # A real second posting for the transfer is one duplicate, named once.
    request = ledger_pb2.CreateTransactionRequest(
        type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        related_entity_id=transfer.id,
        request_id=key(),
        postings=[
            ledger_pb2.Posting(account_id=p.account_id, direction=p.direction, amount=p.amount)
            for p in held.ledger_entries(payer, transfer.id)[0].postings
        ],
    )
    extra = held.ledger.CreateTransaction(request, metadata=held.service()).transaction
    # And an entry naming a payment that does not exist is an orphan.
    orphan = ledger_pb2.CreateTransactionRequest(
        type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        related_entity_id="pay_00000000000000000000000000",
        request_id=key(),
        postings=request.postings,
    )
    lost = held.ledger.CreateTransaction(orphan, metadata=held.service()).transaction
    found = report(held, start, datetime.now(UTC) + timedelta(seconds=1))
    kinds = sorted((m.kind, m.payment_id, m.transaction_id) for m in found.mismatches)
    assert len(kinds) == 2, kinds
    assert (S.RECONCILIATION_MISMATCH_KIND_ORPHAN_LEDGER_ENTRY, "", lost.id) in kinds
    [duplicate] = [
        m for m in found.mismatches if m.kind == S.RECONCILIATION_MISMATCH_KIND_DUPLICATE_LEDGER_ENTRY
    ]
    assert duplicate.payment_id == transfer.id and extra.id in duplicate.detail
    # Undo the extra money movements, so the session's books stay whole.
    for entry in (extra, lost):
        held.ledger.ReverseTransaction(
            ledger_pb2.ReverseTransactionRequest(transaction_id=entry.id, reason="test", request_id=key()),
            metadata=held.service(),
        )


@pytest.mark.slow
def test_five_hundred_transfers_reconcile_without_false_mismatches(held: PaymentApi) -> None:
    # From now exactly: the previous test's deliberate orphan lies just before.
    start = datetime.now(UTC)
    customers = [held.register() for _ in range(20)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda user: approved(held, held.top_up(user, 10_000)), customers))

        def transfer(i: int) -> S.Payment:
            payer, payee = customers[i % 20], customers[(i * 7 + 3) % 20]
            if payee == payer:
                payee = customers[(i + 1) % 20]
            return approved(held, held.initiate(payer, S.PAYMENT_KIND_TRANSFER, 1 + i % 9, payee=payee))

        transfers = list(pool.map(transfer, range(500)))
    assert len({t.id for t in transfers}) == 500
    found = report(held, start, datetime.now(UTC) + timedelta(seconds=1))
    assert found.payments_checked == 520
    assert found.ledger_transactions_checked == 520
    assert found.mismatch_count == 0, list(found.mismatches)[:5]


def test_a_reconciliation_across_many_ledger_chunks_is_exact(
    held: PaymentApi, payment_db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two ledger records per streamed message, so five payments span three messages.
    monkeypatch.setattr(reconciliation, "LEDGER_CHUNK", 2)
    start = datetime.now(UTC)
    paid = [approved(held, held.top_up(held.register(), 100 + i)) for i in range(5)]
    end = datetime.now(UTC) + timedelta(seconds=1)
    clean = report(held, start, end)
    assert (clean.payments_checked, clean.ledger_transactions_checked, clean.mismatch_count) == (5, 5, 0)

    # The first payment of the second message says another amount; the one in the last message
    # points at an entry the ledger does not have. Both are found, and nothing else.
    tampered, absent = paid[2], paid[4]
    with payment_db.begin() as c:
        c.execute(sa.text("UPDATE payments SET amount_minor = 999 WHERE id = :id"), {"id": tampered.id})
        c.execute(
            sa.text("UPDATE payments SET transaction_id = :t WHERE id = :id"),
            {"t": "txn_00000000000000000000000000", "id": absent.id},
        )
    try:
        found = report(held, start, end)
    finally:
        with payment_db.begin() as c:
            c.execute(
                sa.text("UPDATE payments SET amount_minor = :a WHERE id = :id"),
                {"a": tampered.amount.amount_minor, "id": tampered.id},
            )
            c.execute(
                sa.text("UPDATE payments SET transaction_id = :t WHERE id = :id"),
                {"t": absent.transaction_id, "id": absent.id},
            )
    assert (found.payments_checked, found.ledger_transactions_checked) == (5, 5)
    kinds = sorted((m.kind, m.payment_id) for m in found.mismatches)
    assert kinds == sorted(
        [
            (S.RECONCILIATION_MISMATCH_KIND_AMOUNT_MISMATCH, tampered.id),
            (S.RECONCILIATION_MISMATCH_KIND_MISSING_LEDGER_ENTRY, absent.id),
        ]
    )
    [amount] = [m for m in found.mismatches if m.payment_id == tampered.id]
    assert amount.actual_amount.amount_minor == 102 and amount.expected_amount.amount_minor == 999
    assert report(held, start, end).mismatch_count == 0
