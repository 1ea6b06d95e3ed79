"""Two-phase transfers over real gRPC: reserve, post in full or in part, void, expire."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from sqlalchemy.engine import Engine

from services.ledger.settings import LedgerSettings
from services.ledger.spec import spec_with
from services.runtime import migrations
from services.runtime.server import start_server
from tests.integration.ledger.ledger_support import (
    LedgerClient,
    assert_ledger_invariants,
    failure,
    money,
    rid,
)
from tests.support.harness import ServiceRunner, TokenFactory, service_settings

PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


def post(ledger: LedgerClient, transfer_id: str, amount: int | None = None, key: str | None = None):
    request = ledger_pb2.PostPendingTransferRequest(pending_transfer_id=transfer_id, request_id=key or rid())
    if amount is not None:
        request.amount.CopyFrom(money(amount))
    return ledger.stub.PostPendingTransfer(request, metadata=ledger.ops, timeout=10)


def void(ledger: LedgerClient, transfer_id: str) -> ledger_pb2.PendingTransfer:
    return ledger.stub.VoidPendingTransfer(
        ledger_pb2.VoidPendingTransferRequest(pending_transfer_id=transfer_id, reason="cancelled"),
        metadata=ledger.ops,
        timeout=10,
    ).pending_transfer


def get(ledger: LedgerClient, transfer_id: str) -> ledger_pb2.PendingTransfer:
    return ledger.stub.GetPendingTransfer(
        ledger_pb2.GetPendingTransferRequest(pending_transfer_id=transfer_id),
        metadata=ledger.ops,
        timeout=10,
    ).pending_transfer


def funded_pair(ledger: LedgerClient, amount: int = 1000) -> tuple[str, str]:
    payer, merchant = ledger.wallet(), ledger.wallet()
    ledger.fund(payer.id, amount)
    return payer.id, merchant.id


def test_a_reservation_counts_against_the_available_balance(ledger: LedgerClient, ledger_db) -> None:
    payer, merchant = funded_pair(ledger)
    hold = ledger.pend(payer, merchant, 700)
    assert hold.status == ledger_pb2.PENDING_TRANSFER_STATUS_PENDING and hold.id.startswith("pnd_")
    balance = ledger.balance(payer)
    assert (
        balance.posted.amount_minor,
        balance.pending_debits.amount_minor,
        balance.available.amount_minor,
    ) == (1000, 700, 300)
    assert ledger.balance(merchant).pending_credits.amount_minor == 700
    assert ledger.balance(merchant).available.amount_minor == 0
    result = failure(lambda: ledger.transfer(payer, merchant, 301))
    assert (result.code, result.reason) == (PRECONDITION, "INSUFFICIENT_FUNDS")
    result = failure(lambda: ledger.pend(payer, merchant, 301))
    assert result.reason == "INSUFFICIENT_FUNDS"
    ledger.transfer(payer, merchant, 300)
    assert_ledger_invariants(ledger_db)


def test_post_in_full_moves_the_money_and_releases_the_hold(ledger: LedgerClient, ledger_db) -> None:
    payer, merchant = funded_pair(ledger)
    hold = ledger.pend(payer, merchant, 400)
    key = rid()
    response = post(ledger, hold.id, key=key)
    assert response.pending_transfer.status == ledger_pb2.PENDING_TRANSFER_STATUS_POSTED
    assert response.pending_transfer.posted_amount == money(400)
    assert response.pending_transfer.transaction_id == response.transaction.id
    assert response.transaction.pending_transfer_id == hold.id
    assert response.transaction.type == ledger_pb2.TRANSACTION_TYPE_PAYMENT
    assert (
        ledger.balance(payer).posted.amount_minor == 600
        and ledger.balance(payer).pending_debits.amount_minor == 0
    )
    assert ledger.balance(merchant).posted.amount_minor == 400
    assert post(ledger, hold.id, key=key) == response  # replay
    result = failure(lambda: post(ledger, hold.id))
    assert (result.code, result.reason) == (PRECONDITION, "PENDING_TRANSFER_NOT_PENDING")
    result = failure(lambda: void(ledger, hold.id))
    assert result.reason == "PENDING_TRANSFER_NOT_PENDING"
    assert_ledger_invariants(ledger_db)


def test_post_in_part_releases_the_rest(ledger: LedgerClient, ledger_db) -> None:
    payer, merchant = funded_pair(ledger)
    hold = ledger.pend(payer, merchant, 500)
    result = failure(lambda: post(ledger, hold.id, 501))
    assert (result.code, result.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "AMOUNT_EXCEEDS_RESERVATION")
    response = post(ledger, hold.id, 320)
    assert response.pending_transfer.posted_amount.amount_minor == 320
    assert response.transaction.amount.amount_minor == 320
    payer_balance = ledger.balance(payer)
    assert (payer_balance.posted.amount_minor, payer_balance.available.amount_minor) == (680, 680)
    assert_ledger_invariants(ledger_db)


def test_void_releases_without_moving_money(ledger: LedgerClient, ledger_db) -> None:
    payer, merchant = funded_pair(ledger)
    hold = ledger.pend(payer, merchant, 900)
    voided = void(ledger, hold.id)
    assert voided.status == ledger_pb2.PENDING_TRANSFER_STATUS_VOIDED and not voided.HasField("posted_amount")
    assert ledger.balance(payer).available.amount_minor == 1000
    assert ledger.balance(merchant).pending_credits.amount_minor == 0
    result = failure(lambda: void(ledger, hold.id))
    assert result.reason == "PENDING_TRANSFER_NOT_PENDING"
    assert_ledger_invariants(ledger_db)


def test_pending_errors_and_authorization(ledger: LedgerClient) -> None:
    payer, merchant = funded_pair(ledger)
    for call in (
        lambda: get(ledger, "pnd_nope"),
        lambda: post(ledger, "pnd_nope"),
        lambda: void(ledger, "pnd_nope"),
    ):
        result = failure(call)
        assert (result.code, result.reason) == (grpc.StatusCode.NOT_FOUND, "PENDING_TRANSFER_NOT_FOUND")
    assert failure(lambda: ledger.pend(payer, payer, 5)).code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure(lambda: ledger.pend(payer, "acc_nope", 5)).reason == "ACCOUNT_NOT_FOUND"
    assert (
        failure(lambda: ledger.pend(payer, ledger.wallet(currency="EUR").id, 5, "EUR")).reason
        == "CURRENCY_MISMATCH"
    )
    past = datetime.now(UTC) - timedelta(minutes=1)
    assert (
        failure(lambda: ledger.pend(payer, merchant, 5, expire_time=past)).violations[0][0] == "expire_time"
    )
    key = rid()
    first = ledger.pend(payer, merchant, 5, request_id=key)
    assert ledger.pend(payer, merchant, 5, request_id=key).id == first.id
    assert failure(lambda: ledger.pend(payer, merchant, 6, request_id=key)).reason == "IDEMPOTENCY_KEY_REUSED"
    customer = ledger.customer("usr_1")
    result = failure(
        lambda: ledger.stub.GetPendingTransfer(
            ledger_pb2.GetPendingTransferRequest(pending_transfer_id=first.id), metadata=customer, timeout=10
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED
    result = failure(
        lambda: ledger.stub.VoidPendingTransfer(
            ledger_pb2.VoidPendingTransferRequest(pending_transfer_id=first.id), metadata=customer, timeout=10
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED


def test_an_expired_hold_is_released_on_access(ledger: LedgerClient, ledger_db) -> None:
    payer, merchant = funded_pair(ledger)
    hold = ledger.pend(payer, merchant, 800, expire_time=datetime.now(UTC) + timedelta(milliseconds=300))
    time.sleep(0.4)
    result = failure(lambda: post(ledger, hold.id))
    assert (result.reason, result.metadata["status"]) == ("PENDING_TRANSFER_NOT_PENDING", "EXPIRED")
    assert get(ledger, hold.id).status == ledger_pb2.PENDING_TRANSFER_STATUS_EXPIRED
    assert ledger.balance(payer).available.amount_minor == 1000
    assert_ledger_invariants(ledger_db)


@dataclass
class Unswept:
    ledger: LedgerClient
    db: Engine


@pytest.fixture(scope="module")
def unswept(services: ServiceRunner, tokens: TokenFactory) -> Iterator[Unswept]:
    """A ledger whose background sweep waits an hour, on a database of its own: only a read can
    release a lapsed hold there. (The session's ledger sweeps every second, and a sweep releases
    every lapsed hold in its database, so sharing it would race the test.)"""
    url = services.pg.url("nexafi_ledger_unswept")
    migrations.upgrade("ledger", url)
    spec = spec_with(LedgerSettings(expiry_sweep_seconds=3600))
    running = start_server(spec, service_settings("ledger", url, services.auth))
    engine = sa.create_engine(url)
    with grpc.insecure_channel(running.address) as channel:
        yield Unswept(LedgerClient(ledger_pb2_grpc.LedgerServiceStub(channel), tokens), engine)
    running.stop(0)
    engine.dispose()


def test_reading_an_account_releases_its_lapsed_hold_only_for_a_reader_allowed_to_see_it(
    unswept: Unswept,
) -> None:
    ledger, ledger_db = unswept.ledger, unswept.db
    payer, merchant = funded_pair(ledger)
    # Long enough that a loaded machine still creates the hold before it lapses; then wait for that instant.
    expire = datetime.now(UTC) + timedelta(seconds=1)
    hold = ledger.pend(payer, merchant, 800, expire_time=expire)
    time.sleep(max(0.0, (expire - datetime.now(UTC)).total_seconds()) + 0.1)

    def status() -> int:
        with ledger_db.connect() as connection:
            return int(
                connection.execute(
                    sa.text("SELECT status FROM pending_transfers WHERE id = :id"), {"id": hold.id}
                ).scalar_one()
            )

    pending = status()
    request = ledger_pb2.GetAccountRequest(account_id=payer)
    denied = failure(
        lambda: ledger.stub.GetAccount(request, metadata=ledger.customer("usr_stranger"), timeout=10)
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    assert status() == pending  # refused before anything was changed
    balance = ledger.stub.GetAccount(request, metadata=ledger.ops, timeout=10).account.balance
    assert (balance.pending_debits.amount_minor, balance.available.amount_minor) == (0, 1000)
    assert status() != pending
    assert get(ledger, hold.id).status == ledger_pb2.PENDING_TRANSFER_STATUS_EXPIRED
    unknown = failure(
        lambda: ledger.stub.GetAccount(
            ledger_pb2.GetAccountRequest(account_id="acc_unknown"), metadata=ledger.ops, timeout=10
        )
    )
    assert (unknown.code, unknown.reason) == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")
    assert_ledger_invariants(ledger_db)


def test_a_lapsed_hold_does_not_block_a_transfer(ledger: LedgerClient) -> None:
    payer, merchant = funded_pair(ledger)
    # Long enough that a loaded machine still creates the hold before it lapses; then wait for
    # exactly that instant (plus a margin) rather than a fixed sleep.
    expire = datetime.now(UTC) + timedelta(seconds=1)
    ledger.pend(payer, merchant, 1000, expire_time=expire)
    time.sleep(max(0.0, (expire - datetime.now(UTC)).total_seconds()) + 0.1)
    assert ledger.transfer(payer, merchant, 1000).amount.amount_minor == 1000


def test_the_background_sweep_expires_holds_nobody_touches(ledger: LedgerClient, ledger_db) -> None:
    payer, merchant = funded_pair(ledger)
    hold = ledger.pend(payer, merchant, 100, expire_time=datetime.now(UTC) + timedelta(milliseconds=200))
    deadline = time.monotonic() + 5
    status = 1
    while time.monotonic() < deadline:
        with ledger_db.connect() as connection:
            status = connection.execute(
                sa.text("SELECT status FROM pending_transfers WHERE id = :id"), {"id": hold.id}
            ).scalar_one()
        if status == ledger_pb2.PENDING_TRANSFER_STATUS_EXPIRED:
            break
        time.sleep(0.1)
    assert status == ledger_pb2.PENDING_TRANSFER_STATUS_EXPIRED
    assert ledger.balance(payer).pending_debits.amount_minor == 0


def test_post_records_the_callers_metadata_on_the_entry(ledger: LedgerClient, ledger_db) -> None:
    payer, merchant = funded_pair(ledger)
    hold = ledger.pend(payer, merchant, 250)
    key = rid()
    request = ledger_pb2.PostPendingTransferRequest(
        pending_transfer_id=hold.id,
        request_id=key,
        metadata={"payment_id": "pay_1", "mcc": "5812", "category": "restaurants"},
    )
    posted = ledger.stub.PostPendingTransfer(request, metadata=ledger.ops, timeout=10).transaction
    assert dict(posted.metadata) == {"payment_id": "pay_1", "mcc": "5812", "category": "restaurants"}
    stored = ledger.stub.GetTransaction(
        ledger_pb2.GetTransactionRequest(transaction_id=posted.id), metadata=ledger.ops, timeout=10
    ).transaction
    assert dict(stored.metadata) == dict(posted.metadata)
    # The same key replays the entry; with other metadata it is another request.
    replay = ledger.stub.PostPendingTransfer(request, metadata=ledger.ops, timeout=10).transaction
    assert replay.id == posted.id
    request.metadata["category"] = "grocery"
    result = failure(lambda: ledger.stub.PostPendingTransfer(request, metadata=ledger.ops, timeout=10))
    assert result.reason == "IDEMPOTENCY_KEY_REUSED"
    assert_ledger_invariants(ledger_db)
