"""Paths beyond the happy ones: the AI service down (the payment is held, never approved),
duplicate, listed and removed payment methods, cancellations, ListPayments pages, the
sandbox's delayed callback, and recovery resuming a refund the gateway failed.

Payments that must be held for review are made on a second payment server whose AI_ADDR
points at a dead port: with the default ``review`` policy it holds every payment, whatever the
fraud model would have said, so these tests do not depend on the model's decisions.
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

from services.payment import spec as payment_spec
from services.payment.config import Config
from services.payment.connectors.base import Connector
from services.payment.service import PaymentService
from services.runtime.server import RunningServer
from tests.integration.payment.payment_support import (
    CARD_ASYNC,
    CARD_OK,
    IBAN,
    FlakyConnector,
    PaymentApi,
    dead_address,
    key,
    payment_config,
    reason_of,
    start_payment_instance,
)
from tests.support.harness import ServiceRunner

pytestmark = pytest.mark.usefixtures("payment_server")


@dataclass
class Instance:
    server: RunningServer
    channel: grpc.Channel
    api: PaymentApi
    connector: FlakyConnector | None


def _instance(services: ServiceRunner, api: PaymentApi, config: Config, flaky: bool = False) -> Instance:
    holder: list[FlakyConnector] = []

    def connectors(service_ref: list[PaymentService], config: Config) -> dict[str, Connector]:
        built = payment_spec.build_connectors(service_ref, config)
        wrapped = FlakyConnector(built["sandbox"])  # type: ignore[arg-type]
        holder.append(wrapped)
        return {wrapped.name: wrapped}

    server = start_payment_instance(
        services, config, connectors if flaky else None, ai_address=dead_address()
    )
    channel = grpc.insecure_channel(server.address)
    other = PaymentApi(
        payment_pb2_grpc.PaymentServiceStub(channel), api.ledger, api.users, api.tokens, api.clock
    )
    return Instance(server, channel, other, holder[0] if holder else None)


@pytest.fixture(scope="module")
def offline(services: ServiceRunner, api: PaymentApi) -> Iterator[Instance]:
    """AI unreachable (policy review), callbacks delivered 1 s after a 3-D Secure charge, and a
    gateway whose refunds can be switched off."""
    config = payment_config(fraud_unavailable_policy="review", sandbox_callback_delay_seconds=1)
    instance = _instance(services, api, config, flaky=True)
    yield instance
    instance.channel.close()
    instance.server.stop(0)


@pytest.fixture(scope="module")
def strict(services: ServiceRunner, api: PaymentApi) -> Iterator[Instance]:
    """AI unreachable with policy fail."""
    instance = _instance(services, api, payment_config(fraud_unavailable_policy="fail"))
    yield instance
    instance.channel.close()
    instance.server.stop(0)


def held_top_up(offline: Instance, user: str, amount: int, card: str | None = None) -> S.Payment:
    payment = offline.api.top_up(user, amount, card)
    assert payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW, payment
    return payment


def approve(offline: Instance, payment: S.Payment) -> S.Payment:
    return offline.api.set_status(payment.id, S.PAYMENT_STATUS_PROCESSING, offline.api.support(), "verified")


# -- the AI service unavailable ---------------------------------------------------------------------
def test_ai_unavailable_holds_the_payment_for_review_and_never_approves_it(offline: Instance):
    api = offline.api
    user = api.register()
    payment = held_top_up(offline, user, 1300)
    assert payment.fraud_decision == S.FRAUD_DECISION_UNSPECIFIED and payment.fraud_score_bps == 0
    assert payment.transaction_id.startswith("pnd_")  # funds reserved while held
    assert api.pending(payment.transaction_id).status == ledger_pb2.PENDING_TRANSFER_STATUS_PENDING
    assert payment.status_history[-1].reason == "fraud check unavailable: held for review"
    # Neither a replay of the request nor recovery moves a held payment on by itself.
    assert api.recover(stale_after=1).recovered_payments is not None
    again = api.get(payment.id, api.md(user))
    assert again.status == S.PAYMENT_STATUS_REQUIRES_REVIEW
    assert api.wallet_balance(user).posted.amount_minor == 0
    # Only a person's decision releases it, through the documented review flow.
    approved = approve(offline, payment)
    assert approved.status == S.PAYMENT_STATUS_SUCCEEDED, approved
    assert api.wallet_balance(user).posted.amount_minor == 1300


def test_ai_unavailable_with_policy_fail_fails_without_a_reservation(strict: Instance):
    api = strict.api
    user = api.register()
    payment = api.top_up(user, 900)
    assert payment.status == S.PAYMENT_STATUS_FAILED
    assert payment.failure.code == "FRAUD_CHECK_UNAVAILABLE" and not payment.transaction_id
    assert api.wallet_balance(user).pending_credits.amount_minor == 0


# -- payment methods ------------------------------------------------------------------------------
def test_duplicate_payment_methods_are_refused(api: PaymentApi):
    user = api.register()
    card = api.add_card(user, CARD_OK)
    for number in (CARD_OK, "4242 4242 4242 4242", "4242-4242-4242-4242"):
        with pytest.raises(grpc.RpcError) as duplicate:
            api.add_card(user, number)
        assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert reason_of(duplicate.value) == "DUPLICATE_PAYMENT_METHOD"
        assert card.id in str(duplicate.value.trailing_metadata())  # names the existing method
    bank = api.add_bank(user, IBAN)
    with pytest.raises(grpc.RpcError) as duplicate_bank:
        api.add_bank(user, "de89 3704 0044 0532 0130 00")
    assert reason_of(duplicate_bank.value) == "DUPLICATE_PAYMENT_METHOD"
    # Another user may hold the same card; fingerprints match, methods do not.
    other = api.add_card(api.register(), CARD_OK)
    assert other.fingerprint == card.fingerprint and other.id != card.id
    assert bank.bank_account.masked_account_number == "DE** **** **** **** **30 00"
    # Removed, the same card can be added again.
    api.payments.RemovePaymentMethod(
        S.RemovePaymentMethodRequest(payment_method_id=card.id), metadata=api.md(user)
    )
    assert api.add_card(user, CARD_OK).id != card.id


def test_list_and_remove_methods_owner_only(api: PaymentApi):
    user, stranger = api.register(), api.register()
    card = api.add_card(user)
    bank = api.add_bank(user)

    def listed(caller: str, **kw: Any) -> S.ListPaymentMethodsResponse:
        return api.payments.ListPaymentMethods(
            S.ListPaymentMethodsRequest(user_id=user, **kw), metadata=api.md(caller)
        )

    assert {m.id for m in listed(user).payment_methods} == {card.id, bank.id}
    assert [m.id for m in listed(user, type=S.PAYMENT_METHOD_TYPE_CARD).payment_methods] == [card.id]
    first = listed(user, page_size=1)
    second = listed(user, page_size=1, page_token=first.next_page_token)
    assert {first.payment_methods[0].id, second.payment_methods[0].id} == {card.id, bank.id}
    assert not second.next_page_token
    for call in (
        lambda: listed(stranger),
        lambda: api.payments.RemovePaymentMethod(
            S.RemovePaymentMethodRequest(payment_method_id=card.id), metadata=api.md(stranger)
        ),
        lambda: api.payments.AddPaymentMethod(
            S.AddPaymentMethodRequest(user_id=user, wallet=S.WalletInput(currency="EUR"), request_id=key()),
            metadata=api.md(stranger),
        ),
    ):
        with pytest.raises(grpc.RpcError) as denied:
            call()
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    removed = api.payments.RemovePaymentMethod(
        S.RemovePaymentMethodRequest(payment_method_id=card.id), metadata=api.md(user)
    ).payment_method
    assert removed.state == S.PAYMENT_METHOD_STATE_REMOVED and removed.card.last4 == "4242"
    assert [m.id for m in listed(user).payment_methods] == [bank.id]
    with pytest.raises(grpc.RpcError) as gone:
        api.payments.RemovePaymentMethod(
            S.RemovePaymentMethodRequest(payment_method_id=card.id), metadata=api.md(user)
        )
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as unusable:
        api.initiate(user, S.PAYMENT_KIND_TOP_UP, 100, method=card.id)
    assert reason_of(unusable.value) == "PAYMENT_METHOD_REMOVED"


# -- cancellations ----------------------------------------------------------------------------------
def test_cancel_a_held_payment_voids_its_reservation(offline: Instance):
    api = offline.api
    user = api.register()
    card = api.add_card(user).id
    payment = held_top_up(offline, user, 400, card)

    def cancel(caller: tuple[tuple[str, str], ...], request_id: str) -> S.Payment:
        return api.payments.CancelPayment(
            S.CancelPaymentRequest(payment_id=payment.id, reason="changed my mind", request_id=request_id),
            metadata=caller,
        ).payment

    with pytest.raises(grpc.RpcError) as denied:
        cancel(api.md(api.register()), key())
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    request_id = key()
    cancelled = cancel(api.md(user), request_id)
    assert cancelled.status == S.PAYMENT_STATUS_CANCELLED
    assert api.pending(payment.transaction_id).status == ledger_pb2.PENDING_TRANSFER_STATUS_VOIDED
    assert cancel(api.md(user), request_id) == cancelled  # replayed
    assert cancel(api.md(user), key()).status == S.PAYMENT_STATUS_CANCELLED  # already there
    # A completed payment is not cancellable; a cancelled one cannot be approved.
    done = approve(offline, held_top_up(offline, user, 300, card))
    assert done.status == S.PAYMENT_STATUS_SUCCEEDED
    with pytest.raises(grpc.RpcError) as late:
        api.payments.CancelPayment(
            S.CancelPaymentRequest(payment_id=done.id, reason="too late", request_id=key()),
            metadata=api.md(user),
        )
    assert reason_of(late.value) == "PAYMENT_NOT_CANCELLABLE"
    with pytest.raises(grpc.RpcError) as illegal:
        approve(offline, cancelled)
    assert reason_of(illegal.value) == "ILLEGAL_STATUS_TRANSITION"


# -- ListPayments pages -----------------------------------------------------------------------------
def test_list_payments_pages_through_everything_once(offline: Instance):
    api = offline.api
    user = api.register()
    card = api.add_card(user).id
    made = [held_top_up(offline, user, 100 + i, card).id for i in range(5)]
    cancelled = api.payments.CancelPayment(
        S.CancelPaymentRequest(payment_id=made[0], reason="x", request_id=key()), metadata=api.md(user)
    ).payment
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        reply = api.payments.ListPayments(
            S.ListPaymentsRequest(user_id=user, page_size=2, page_token=token), metadata=api.md(user)
        )
        assert len(reply.payments) <= 2
        seen += [p.id for p in reply.payments]
        pages += 1
        token = reply.next_page_token
        if not token:
            break
    assert pages == 3 and len(seen) == 5 and set(seen) == set(made)  # each once
    assert seen == sorted(seen, reverse=True)  # newest id first
    only = api.payments.ListPayments(
        S.ListPaymentsRequest(user_id=user, statuses=[S.PAYMENT_STATUS_CANCELLED]), metadata=api.md(user)
    )
    assert [p.id for p in only.payments] == [cancelled.id]
    first = api.payments.ListPayments(S.ListPaymentsRequest(user_id=user, page_size=2), metadata=api.md(user))
    for bad in (
        S.ListPaymentsRequest(
            user_id=user, page_size=2, page_token=first.next_page_token, kind=S.PAYMENT_KIND_PAYOUT
        ),
        S.ListPaymentsRequest(user_id=user, page_token="not-a-token"),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            api.payments.ListPayments(bad, metadata=api.md(user))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as denied:
        api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.md(api.register()))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    support = api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.support())
    assert len(support.payments) == 5


# -- the sandbox's delayed callback -----------------------------------------------------------------
def test_the_sandbox_settles_a_3ds_charge_by_a_delayed_signed_callback(
    offline: Instance, payment_db: sa.Engine
):
    api = offline.api
    user = api.register()
    card = api.add_card(user, CARD_ASYNC)
    payment = approve(offline, held_top_up(offline, user, 2100, card.id))
    assert payment.status == S.PAYMENT_STATUS_PROCESSING
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        current = api.get(payment.id, api.md(user))
        if current.status != S.PAYMENT_STATUS_PROCESSING:
            break
        time.sleep(0.1)
    assert current.status == S.PAYMENT_STATUS_SUCCEEDED, current
    assert current.status_history[-1].actor == "connector:sandbox"
    assert api.wallet_balance(user).posted.amount_minor == 2100
    with payment_db.connect() as c:
        events = (
            c.execute(
                sa.text("SELECT disposition FROM connector_events WHERE payment_id = :p"), {"p": payment.id}
            )
            .scalars()
            .all()
        )
    assert events == [S.CALLBACK_DISPOSITION_APPLIED]


# -- recovery resumes a refund the gateway failed ---------------------------------------------------
def test_recovery_resumes_a_pending_refund_once(offline: Instance, payment_db: sa.Engine):
    api = offline.api
    connector = offline.connector
    assert connector is not None
    user = api.register()
    payment = approve(offline, held_top_up(offline, user, 1000))
    assert payment.status == S.PAYMENT_STATUS_SUCCEEDED
    connector.refunds_down = True
    request_id = key()
    try:
        with pytest.raises(grpc.RpcError) as down:
            api.payments.RefundPayment(
                S.RefundPaymentRequest(
                    payment_id=payment.id, reason="customer request", request_id=request_id
                ),
                metadata=api.admin(),
            )
    finally:
        connector.refunds_down = False
    assert down.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(down.value) == "CONNECTOR_UNAVAILABLE"
    # The ledger entry was made first; the refund is pending and the payment not yet REFUNDED.
    assert api.wallet_balance(user).posted.amount_minor == 0
    assert api.get(payment.id, api.md(user)).status == S.PAYMENT_STATUS_SUCCEEDED
    with payment_db.begin() as c:
        [(refund_id, state)] = c.execute(
            sa.text("SELECT id, state FROM refunds WHERE payment_id = :p"), {"p": payment.id}
        ).all()
        assert state == "pending"
        c.execute(
            sa.text("UPDATE refunds SET create_time = create_time - interval '1 hour' WHERE id = :r"),
            {"r": refund_id},
        )
    # A dry run only reports it.
    dry = api.payments.RecoverStalePayments(
        S.RecoverStalePaymentsRequest(stale_after_seconds=1, dry_run=True, request_id=key()),
        metadata=api.service(),
    )
    assert {r.payment_id: r.action for r in dry.recovered_payments}[payment.id] == S.RECOVERY_ACTION_RESUMED
    recovered = {r.payment_id: r for r in api.recover(stale_after=1).recovered_payments}
    assert recovered[payment.id].action == S.RECOVERY_ACTION_COMPLETED
    assert recovered[payment.id].previous_status == S.PAYMENT_STATUS_SUCCEEDED
    assert recovered[payment.id].status == S.PAYMENT_STATUS_REFUNDED
    after = api.get(payment.id, api.md(user))
    assert after.status == S.PAYMENT_STATUS_REFUNDED and after.refunded_amount.amount_minor == 1000
    # The gateway was asked again with the same reference; the ledger moved once.
    assert connector.refund_calls == [refund_id, refund_id]
    reversals = [
        e for e in api.ledger_entries(user, payment.id) if e.type == ledger_pb2.TRANSACTION_TYPE_REVERSAL
    ]
    assert len(reversals) == 1 and reversals[0].id == after.refunds[0].transaction_id
    # Nothing left to resume; the client's retry with its key gets the settled refund.
    assert payment.id not in {r.payment_id for r in api.recover(stale_after=1).recovered_payments}
    retried = api.payments.RefundPayment(
        S.RefundPaymentRequest(payment_id=payment.id, reason="customer request", request_id=request_id),
        metadata=api.admin(),
    )
    assert retried.refund.id == refund_id and retried.payment.status == S.PAYMENT_STATUS_REFUNDED
    assert connector.refund_calls == [refund_id, refund_id]
    assert api.wallet_balance(user).posted.amount_minor == 0


def test_the_review_queue_lists_held_payments_of_every_user_oldest_first(offline: Instance):
    api = offline.api
    held = [held_top_up(offline, api.register(), amount) for amount in (700, 800)]

    def queue(
        caller: tuple[tuple[str, str], ...], page_size: int = 0, token: str = ""
    ) -> S.ListPaymentsInReviewResponse:
        return api.payments.ListPaymentsInReview(
            S.ListPaymentsInReviewRequest(page_size=page_size, page_token=token), metadata=caller
        )

    ids: list[str] = []
    token = ""
    while True:  # one payment a page, until the queue ends
        page = queue(api.support(), 1, token)
        assert len(page.payments) <= 1
        for payment in page.payments:
            assert payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW
            assert payment.status_history[-1].to_status == S.PAYMENT_STATUS_REQUIRES_REVIEW
        ids += [p.id for p in page.payments]
        token = page.next_page_token
        if not token:
            break
    assert ids == sorted(ids) and ids.index(held[0].id) < ids.index(held[1].id)
    assert queue(api.admin()).payments
    # A decided payment leaves the queue.
    approve(offline, held[0])
    assert held[0].id not in {p.id for p in queue(api.support(), 200).payments}
    for caller in (api.md(api.register()), api.tokens.service("credit")):
        with pytest.raises(grpc.RpcError) as refused:
            queue(caller)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    for bad in ({"page_size": -1}, {"token": "nope"}):
        with pytest.raises(grpc.RpcError) as invalid:
            queue(api.support(), **bad)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
