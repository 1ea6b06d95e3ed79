"""A ledger answer that is lost leaves the step in doubt, never failed.

A second payment server runs on the session's database with its real ledger stub wrapped so
that chosen calls run on the real ledger (which commits) and then lose their reply. Its AI
service is unreachable (policy ``review``), so every payment is reserved and held for a
support agent's approval, whatever the fraud model would say: the flows do not depend on it. The payment
or refund must then end SUCCEEDED exactly once, by a retry with the same key or by recovery,
and a real refusal of the ledger must still fail it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from nexafi.ledger.v1 import ledger_pb2
from nexafi.payment.v1 import payment_pb2 as S
from nexafi.payment.v1 import payment_pb2_grpc

from services.payment import spec as payment_spec
from services.payment.config import Config
from services.payment.connectors.base import Connector
from services.payment.service import PaymentService
from services.runtime.server import RunningServer
from tests.integration.payment.payment_support import (
    PaymentApi,
    dead_address,
    key,
    payment_config,
    reason_of,
    start_payment_instance,
)
from tests.support.faults import LostLedgerReplies
from tests.support.harness import ServiceRunner

pytestmark = pytest.mark.usefixtures("payment_server")

LOST = (
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.UNAVAILABLE,
)


@dataclass
class Faulty:
    server: RunningServer
    channel: grpc.Channel
    api: PaymentApi
    replies: LostLedgerReplies


@pytest.fixture(scope="module")
def faulty(services: ServiceRunner, api: PaymentApi) -> Iterator[Faulty]:
    built: list[list[PaymentService]] = []

    def connectors(service_ref: list[PaymentService], config: Config) -> dict[str, Connector]:
        built.append(service_ref)
        return payment_spec.build_connectors(service_ref, config)

    server = start_payment_instance(
        services, payment_config(fraud_unavailable_policy="review"), connectors, ai_address=dead_address()
    )
    service = built[0][0]
    replies = LostLedgerReplies(service.clients.ledger.stub)
    channel = grpc.insecure_channel(server.address)
    other = PaymentApi(
        payment_pb2_grpc.PaymentServiceStub(channel), api.ledger, api.users, api.tokens, api.clock
    )
    yield Faulty(server, channel, other, replies)
    channel.close()
    server.stop(0)


def settle(api: PaymentApi, payment: S.Payment) -> S.Payment:
    if payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW:
        return api.set_status(payment.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "verified")
    return payment


def funded(api: PaymentApi, amount: int) -> str:
    user = api.register()
    assert settle(api, api.top_up(user, amount)).status == S.PAYMENT_STATUS_SUCCEEDED
    return user


def related(api: PaymentApi, payment_id: str) -> ledger_pb2.BatchGetRelatedEntriesResponse:
    return api.ledger.BatchGetRelatedEntries(
        ledger_pb2.BatchGetRelatedEntriesRequest(related_entity_ids=[payment_id]), metadata=api.admin()
    )


def only_payment(api: PaymentApi, user: str, kind: int) -> S.Payment:
    listed = api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.md(user)).payments
    [payment] = [p for p in listed if p.kind == kind]
    return payment


def recover_until(api: PaymentApi, done: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(1.1)  # recovery takes payments untouched for at least a second
        api.recover(stale_after=1)
        if done() or time.monotonic() > deadline:  # type: ignore[operator]
            return


@pytest.mark.parametrize("code", LOST)
def test_a_lost_reservation_reply_is_resumed_by_the_retry(faulty: Faulty, code: grpc.StatusCode) -> None:
    api = faulty.api
    payer, payee = funded(api, 1_000), api.register()
    request_id = key()
    faulty.replies.lose("CreatePendingTransfer", code)
    with pytest.raises(grpc.RpcError) as first:
        api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 400, payee=payee, request_id=request_id)
    # Not a refusal: retryable, and nothing stored on the key.
    assert first.value.code() == grpc.StatusCode.UNAVAILABLE, first.value
    assert reason_of(first.value) == "LEDGER_UNAVAILABLE"
    pending = only_payment(api, payer, S.PAYMENT_KIND_TRANSFER)
    assert pending.status == S.PAYMENT_STATUS_PENDING
    again = settle(api, api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 400, payee=payee, request_id=request_id))
    assert again.id == pending.id and again.status == S.PAYMENT_STATUS_SUCCEEDED, again
    ledger = related(api, again.id)
    assert len(ledger.pending_transfers) == 1 and len(ledger.transactions) == 1
    assert api.wallet_balance(payer).posted.amount_minor == 600
    assert api.wallet_balance(payee).posted.amount_minor == 400


def test_a_lost_reservation_reply_is_finished_by_recovery(faulty: Faulty) -> None:
    api = faulty.api
    payer, payee = funded(api, 900), api.register()
    faulty.replies.lose("CreatePendingTransfer", grpc.StatusCode.INTERNAL)
    with pytest.raises(grpc.RpcError) as first:
        api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 300, payee=payee)
    assert first.value.code() == grpc.StatusCode.UNAVAILABLE
    payment_id = only_payment(api, payer, S.PAYMENT_KIND_TRANSFER).id

    def finished() -> bool:
        return api.get(payment_id, api.admin()).status != S.PAYMENT_STATUS_PENDING

    recover_until(api, finished)
    payment = settle(api, api.get(payment_id, api.admin()))
    assert payment.status == S.PAYMENT_STATUS_SUCCEEDED, payment
    ledger = related(api, payment_id)
    assert len(ledger.pending_transfers) == 1 and len(ledger.transactions) == 1
    assert api.wallet_balance(payee).posted.amount_minor == 300


def test_a_lost_post_reply_leaves_the_payment_processing_until_recovery_posts_it(faulty: Faulty) -> None:
    api = faulty.api
    user = api.register()
    card = api.add_card(user)
    faulty.replies.lose("PostPendingTransfer", grpc.StatusCode.INTERNAL)
    try:
        payment = settle(api, api.top_up(user, 700, card=card.id))
        payment_id = payment.id
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAVAILABLE, error
        payment_id = only_payment(api, user, S.PAYMENT_KIND_TOP_UP).id
    assert api.get(payment_id, api.admin()).status == S.PAYMENT_STATUS_PROCESSING

    recover_until(api, lambda: api.get(payment_id, api.admin()).status != S.PAYMENT_STATUS_PROCESSING)
    assert api.get(payment_id, api.admin()).status == S.PAYMENT_STATUS_SUCCEEDED
    [entry] = related(api, payment_id).transactions
    assert entry.amount.amount_minor == 700
    assert api.wallet_balance(user).posted.amount_minor == 700


@pytest.mark.parametrize("whole", [True, False], ids=["reversal", "partial"])
def test_a_lost_refund_reply_is_completed_once_by_the_retry(faulty: Faulty, whole: bool) -> None:
    api = faulty.api
    user = api.register()
    payment = settle(api, api.top_up(user, 1_000))
    assert payment.status == S.PAYMENT_STATUS_SUCCEEDED
    amount = None if whole else 400
    faulty.replies.lose("ReverseTransaction" if whole else "CreateTransaction", grpc.StatusCode.INTERNAL)
    request_id = key()
    with pytest.raises(grpc.RpcError) as first:
        api.refund(payment.id, amount, request_id=request_id)
    assert first.value.code() == grpc.StatusCode.UNAVAILABLE, first.value
    assert api.get(payment.id, api.admin()).status == S.PAYMENT_STATUS_SUCCEEDED  # not failed
    done = api.refund(payment.id, amount, request_id=request_id)
    expected = 1_000 if whole else 400
    assert done.refund.amount.amount_minor == expected
    assert done.payment.refunded_amount.amount_minor == expected
    # Replayed again: the same refund, and the ledger holds one refund entry.
    assert api.refund(payment.id, amount, request_id=request_id).refund.id == done.refund.id
    refunds = [
        t
        for t in related(api, payment.id).transactions
        if t.type in (ledger_pb2.TRANSACTION_TYPE_REVERSAL, ledger_pb2.TRANSACTION_TYPE_REFUND)
    ]
    assert len(refunds) == 1
    assert api.wallet_balance(user).posted.amount_minor == 1_000 - expected


def test_a_lost_refund_reply_is_completed_by_recovery(faulty: Faulty) -> None:
    api = faulty.api
    user = api.register()
    payment = settle(api, api.top_up(user, 800))
    faulty.replies.lose("CreateTransaction", grpc.StatusCode.UNKNOWN)
    with pytest.raises(grpc.RpcError) as first:
        api.refund(payment.id, 300)
    assert first.value.code() == grpc.StatusCode.UNAVAILABLE

    recover_until(api, lambda: api.get(payment.id, api.admin()).refunded_amount.amount_minor == 300)
    after = api.get(payment.id, api.admin())
    assert after.status == S.PAYMENT_STATUS_PARTIALLY_REFUNDED and after.refunded_amount.amount_minor == 300
    assert api.wallet_balance(user).posted.amount_minor == 500


def test_a_refusal_still_fails_the_payment_and_the_refund(faulty: Faulty) -> None:
    api = faulty.api
    # The reservation refused for want of funds: the payment fails.
    payer = api.register()
    refused = api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 500, payee=api.register())
    assert refused.status == S.PAYMENT_STATUS_FAILED and refused.failure.code == "INSUFFICIENT_FUNDS"
    # A refund the ledger refuses (the payee spent the money) fails, and says so on every replay.
    payer, payee = funded(api, 1_000), api.register()
    transfer = settle(api, api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 600, payee=payee))
    assert transfer.status == S.PAYMENT_STATUS_SUCCEEDED
    spent = settle(api, api.initiate(payee, S.PAYMENT_KIND_TRANSFER, 500, payee=payer))
    assert spent.status == S.PAYMENT_STATUS_SUCCEEDED
    request_id = key()
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as failed:
            api.refund(transfer.id, 600, request_id=request_id)
        assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reason_of(failed.value) == "INSUFFICIENT_FUNDS"
    assert api.get(transfer.id, api.admin()).status == S.PAYMENT_STATUS_SUCCEEDED
