"""Commits per card top-up, counted on the real PostgreSQL, and the crash window of the combined step.

A top-up used to commit ten times in the payment database (the key's claim, the creation, the
fraud result, the hold id, PROCESSING, the connector attempt, the gateway's reference, SUCCEEDED,
the lease's release, the key's response), each a flush of the WAL. It now writes five times: the
payment with its key's claim; the fraud result, hold id and PROCESSING after the reservation; the
connector attempt; SUCCEEDED with the gateway's reference and the lease's release; the key's
response. A second payment server runs on the session's database; every transaction its engine
commits is asked, just before its COMMIT, whether PostgreSQL gave it a transaction id (only a
transaction that wrote has one).

The combined step opens a window: the ledger holds the reservation, the payment row still says
nothing (not even the fraud answer). Losing the reservation's reply after the ledger committed
leaves exactly the rows a process killed in that window leaves; recovery must converge from them
with one hold, one charge and one booking.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2
from nexafi.payment.v1 import payment_pb2 as S
from nexafi.payment.v1 import payment_pb2_grpc
from sqlalchemy.engine import Engine

from services.payment import spec as payment_spec
from services.payment.config import Config
from services.payment.connectors.base import Connector
from services.payment.service import PaymentService
from services.runtime.server import RunningServer
from tests.integration.payment.payment_support import PaymentApi, payment_config, start_payment_instance
from tests.support.faults import LostLedgerReplies
from tests.support.harness import ServiceRunner

pytestmark = pytest.mark.usefixtures("payment_server")


@dataclass
class Commits:
    """The COMMITs an engine sends, and how many of them close a transaction that wrote."""

    counting: bool = False
    all: int = 0
    wrote: int = 0

    def on_commit(self, connection: Any) -> None:
        if not self.counting:
            return
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")
            wrote = bool(cursor.fetchone()[0])
        finally:
            cursor.close()
        self.all += 1
        self.wrote += int(wrote)


@dataclass
class Instance:
    server: RunningServer
    channel: grpc.Channel
    api: PaymentApi
    engine: Engine
    commits: Commits
    replies: LostLedgerReplies


@pytest.fixture(scope="module")
def instance(services: ServiceRunner, api: PaymentApi) -> Iterator[Instance]:
    built: list[list[PaymentService]] = []

    def connectors(service_ref: list[PaymentService], config: Config) -> dict[str, Connector]:
        built.append(service_ref)
        return payment_spec.build_connectors(service_ref, config)

    server = start_payment_instance(services, payment_config(), connectors)
    service = built[0][0]
    engine = service.initiation.store.engine
    commits = Commits()
    sa.event.listen(engine, "commit", commits.on_commit)
    replies = LostLedgerReplies(service.clients.ledger.stub)
    channel = grpc.insecure_channel(server.address)
    other = PaymentApi(
        payment_pb2_grpc.PaymentServiceStub(channel), api.ledger, api.users, api.tokens, api.clock
    )
    yield Instance(server, channel, other, engine, commits, replies)
    sa.event.remove(engine, "commit", commits.on_commit)
    channel.close()
    server.stop(0)


def test_a_card_top_up_writes_five_times_in_the_payment_database(instance: Instance) -> None:
    """Five writes when the fraud model approves; three when it holds the top-up for review (the
    payment with its key, the fraud result with the hold id and REQUIRES_REVIEW, the key's response)."""
    api = instance.api
    user = api.register()
    card = api.add_card(user)
    # The first payment opens the wallet's ledger account (and keeps its id): not counted.
    first = api.top_up(user, 200, card=card.id)
    if first.status == S.PAYMENT_STATUS_REQUIRES_REVIEW:
        api.set_status(first.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "verified by phone")
    seen: list[tuple[int, int]] = []
    approved: S.Payment | None = None
    # The real model decides; a customer with little history may still be held for review.
    for amount in (300, 400, 500, 600, 700):
        instance.commits.all = instance.commits.wrote = 0
        instance.commits.counting = True
        try:
            payment = api.top_up(user, amount, card=card.id)
        finally:
            instance.commits.counting = False
        seen.append((payment.status, instance.commits.wrote))
        if payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW:
            api.set_status(payment.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "verified by phone")
        else:
            approved = payment
            break
    assert all(wrote == 3 for status, wrote in seen if status == S.PAYMENT_STATUS_REQUIRES_REVIEW), seen
    assert approved is not None, seen
    assert approved.status == S.PAYMENT_STATUS_SUCCEEDED, approved
    assert approved.fraud_decision == S.FRAUD_DECISION_APPROVE
    assert approved.external_reference  # persisted with SUCCEEDED
    assert seen[-1][1] == 5, seen
    assert api.wallet_balance(user).posted.amount_minor == 200 + sum((300, 400, 500, 600, 700)[: len(seen)])
    # Every step is still in the history, in order, and the lease and the key are released.
    assert [h.to_status for h in approved.status_history] == [
        S.PAYMENT_STATUS_PENDING,
        S.PAYMENT_STATUS_PROCESSING,
        S.PAYMENT_STATUS_SUCCEEDED,
    ]
    with instance.engine.connect() as connection:
        lease = connection.execute(
            sa.text("SELECT lease_token, lease_until FROM payments WHERE id = :id"), {"id": approved.id}
        ).one()
        key = connection.execute(
            sa.text("SELECT state, lock_until FROM idempotency_keys WHERE resource_id = :id"),
            {"id": approved.id},
        ).one()
    assert lease.lease_token == "" and lease.lease_until is None
    assert key.state == "done" and key.lock_until is None


def _row(engine: Engine, payment_id: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT status, fraud_checked, fraud_decision, pending_transfer_id FROM payments "
                "WHERE id = :id"
            ),
            {"id": payment_id},
        ).one()


def _attempts(engine: Engine, payment_id: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM connector_attempts WHERE payment_id = :id AND operation = 'charge'"
                ),
                {"id": payment_id},
            ).scalar_one()
        )


def test_a_driver_lost_after_the_reservation_converges_on_recovery_with_one_hold(instance: Instance) -> None:
    api = instance.api
    user = api.register()
    card = api.add_card(user)
    instance.replies.lose("CreatePendingTransfer", grpc.StatusCode.INTERNAL)
    with pytest.raises(grpc.RpcError) as lost:
        api.top_up(user, 900, card=card.id)
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE, lost.value
    listed = api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.md(user)).payments
    [pending] = listed
    # The ledger holds the reservation; the payment row is as created: the window's state.
    held = api.ledger.BatchGetRelatedEntries(
        ledger_pb2.BatchGetRelatedEntriesRequest(related_entity_ids=[pending.id]), metadata=api.admin()
    )
    assert len(held.pending_transfers) == 1
    row = _row(instance.engine, pending.id)
    assert row.status == S.PAYMENT_STATUS_PENDING and not row.fraud_checked and row.pending_transfer_id == ""
    assert _attempts(instance.engine, pending.id) == 0

    deadline = time.monotonic() + 10
    while api.get(pending.id, api.admin()).status == S.PAYMENT_STATUS_PENDING and time.monotonic() < deadline:
        time.sleep(1.1)  # recovery takes payments untouched for at least a second
        api.recover(stale_after=1)
    payment = api.get(pending.id, api.admin())
    # The fraud check was asked again under its key and answered (the real model decides: a first
    # top-up may be held for review, then approved by support); the reservation replayed (same hold).
    assert payment.fraud_decision in (S.FRAUD_DECISION_APPROVE, S.FRAUD_DECISION_REVIEW), payment
    if payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW:
        payment = api.set_status(payment.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "verified by phone")
    assert payment.status == S.PAYMENT_STATUS_SUCCEEDED, payment
    entries = api.ledger.BatchGetRelatedEntries(
        ledger_pb2.BatchGetRelatedEntriesRequest(related_entity_ids=[pending.id]), metadata=api.admin()
    )
    assert [p.id for p in entries.pending_transfers] == [p.id for p in held.pending_transfers]
    assert _row(instance.engine, pending.id).pending_transfer_id == held.pending_transfers[0].id
    assert len(entries.transactions) == 1
    assert _attempts(instance.engine, pending.id) == 1  # charged once
    assert api.wallet_balance(user).posted.amount_minor == 900
