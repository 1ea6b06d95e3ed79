"""Payments end to end over real gRPC between the payment, ledger, AI and user services.

The real fraud model decides: a payment it holds for review goes through a support
agent's approval (``settle``), as it would in production, and nothing is approved
automatically. For a customer without history the model approves small amounts
and reviews a large first top-up (500.00); it declines a new account that sends
what it just loaded to a stranger from a new device abroad. The tests that need a
REVIEW or a DECLINE from the model use those payments. Holds that must
not depend on the model are made with the AI service unreachable
(``test_payment_paths.py``).
"""

from __future__ import annotations

import threading

import grpc
import pytest
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2
from nexafi.payment.v1 import payment_pb2 as S

from services.payment.connectors.base import Outcome
from tests.integration.payment.payment_support import (
    CARD_ASYNC,
    CARD_DECLINE,
    CARD_REFUND_DECLINED,
    CARD_TIMEOUT,
    PaymentApi,
    key,
    reason_of,
)

pytestmark = pytest.mark.usefixtures("payment_server")


def settle(api: PaymentApi, payment: S.Payment) -> S.Payment:
    """Approve a payment held for review, as a support agent."""
    if payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW:
        return api.set_status(payment.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "verified by phone")
    return payment


def funded(api: PaymentApi, amount: int) -> str:
    user = api.register()
    payment = settle(api, api.top_up(user, amount))
    assert payment.status == S.PAYMENT_STATUS_SUCCEEDED, payment
    return user


def test_top_up_reserves_then_posts_into_the_wallet(api: PaymentApi):
    user = api.register()
    payment = api.top_up(user, 1500)
    assert payment.status in (S.PAYMENT_STATUS_REQUIRES_REVIEW, S.PAYMENT_STATUS_SUCCEEDED)
    if payment.status == S.PAYMENT_STATUS_REQUIRES_REVIEW:
        assert payment.transaction_id.startswith("pnd_")  # held: reserved, not posted
        assert api.wallet_balance(user).pending_credits.amount_minor == 1500
        assert api.wallet_balance(user).posted.amount_minor == 0
    payment = settle(api, payment)
    assert payment.status == S.PAYMENT_STATUS_SUCCEEDED
    assert payment.transaction_id.startswith("txn_") and payment.external_reference.startswith("ch_sbx_")
    assert api.wallet_balance(user).posted.amount_minor == 1500
    [entry] = api.ledger_entries(user, payment.id)
    assert entry.type == ledger_pb2.TRANSACTION_TYPE_DEPOSIT and entry.amount.amount_minor == 1500
    statuses = [c.to_status for c in payment.status_history]
    assert statuses[0] == S.PAYMENT_STATUS_PENDING and statuses[-1] == S.PAYMENT_STATUS_SUCCEEDED


def test_transfer_moves_money_between_wallets(api: PaymentApi):
    payer = funded(api, 2000)
    payee = api.register()
    transfer = settle(api, api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 600, payee=payee))
    assert transfer.status == S.PAYMENT_STATUS_SUCCEEDED, transfer
    assert api.wallet_balance(payer).posted.amount_minor == 1400
    assert api.wallet_balance(payee).posted.amount_minor == 600
    [entry] = api.ledger_entries(payer, transfer.id)
    assert entry.type == ledger_pb2.TRANSACTION_TYPE_TRANSFER
    # The payee may read the transfer; a stranger may not.
    assert api.get(transfer.id, api.md(payee)).id == transfer.id
    with pytest.raises(grpc.RpcError) as denied:
        api.get(transfer.id, api.md(api.register()))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_payout_moves_money_to_the_bank(api: PaymentApi):
    payer = funded(api, 2000)
    bank = api.add_bank(payer)
    payout = settle(api, api.initiate(payer, S.PAYMENT_KIND_PAYOUT, 500, method=bank.id))
    assert payout.status == S.PAYMENT_STATUS_SUCCEEDED, payout
    assert api.wallet_balance(payer).posted.amount_minor == 1500
    [entry] = api.ledger_entries(payer, payout.id)
    assert entry.type == ledger_pb2.TRANSACTION_TYPE_WITHDRAWAL


def test_card_decline_is_a_failed_payment_with_the_hold_voided(api: PaymentApi):
    user = api.register()
    card = api.add_card(user, CARD_DECLINE)
    payment = settle(api, api.initiate(user, S.PAYMENT_KIND_TOP_UP, 1000, method=card.id))
    assert payment.status == S.PAYMENT_STATUS_FAILED and payment.failure.code == "CARD_DECLINED"
    assert api.pending(payment.transaction_id).status == ledger_pb2.PENDING_TRANSFER_STATUS_VOIDED
    assert api.wallet_balance(user).pending_credits.amount_minor == 0


def cash_out_declined(api: PaymentApi) -> tuple[str, S.Payment]:
    """The pattern the model declines with confidence: a new account loads 1,500.00 from a card and, from
    the same new device abroad, sends all of it to a stranger at once (a fraudulent account's cash-out)."""
    user = api.register()
    signals = {"device_id": "dev-new", "ip_country": "NG"}
    funded = settle(
        api, api.initiate(user, S.PAYMENT_KIND_TOP_UP, 150000, method=api.add_card(user).id, metadata=signals)
    )
    assert funded.status == S.PAYMENT_STATUS_SUCCEEDED, funded
    declined = api.initiate(user, S.PAYMENT_KIND_TRANSFER, 150000, payee=api.register(), metadata=signals)
    return user, declined


def test_fraud_decline_and_review_decline(api: PaymentApi):
    user, declined = cash_out_declined(api)
    assert declined.status == S.PAYMENT_STATUS_FAILED and declined.failure.code == "FRAUD_DECLINED"
    assert declined.fraud_decision == S.FRAUD_DECISION_DECLINE and not declined.transaction_id
    assert api.wallet_balance(user).posted.amount_minor == 150000  # nothing left the wallet
    other = api.register()
    held = api.top_up(other, 50000)  # a large first top-up: the model asks for a review
    assert held.status == S.PAYMENT_STATUS_REQUIRES_REVIEW and held.fraud_decision == S.FRAUD_DECISION_REVIEW
    # A held payment keeps its reservation until a person decides.
    assert api.pending(held.transaction_id).status == ledger_pb2.PENDING_TRANSFER_STATUS_PENDING
    rejected = api.set_status(held.id, S.PAYMENT_STATUS_FAILED, api.support(), "could not verify")
    assert rejected.failure.code == "REVIEW_DECLINED"
    assert api.pending(held.transaction_id).status == ledger_pb2.PENDING_TRANSFER_STATUS_VOIDED


@pytest.mark.parametrize(
    ("currency", "zone"), [("EUR", "Europe/Berlin"), ("USD", "America/New_York"), ("GBP", "Europe/London")]
)
def test_a_new_customer_tops_up_and_pays_friends_in_any_accepted_currency(
    api: PaymentApi, currency: str, zone: str
):
    """First top-up, a friend, then five friends in a row: none declined by the fraud check.

    The payment's time is the session clock's (a Tuesday at 12:00 UTC); through Envoy,
    tests/e2e/gateway/test_gateway_fraud_ordinary.py runs the same payments at 02:00 and 20:00 local
    time, on a weekday and at the weekend.
    """
    signals = {"device_id": "dev-own-phone", "time_zone": zone}
    user = api.register()
    top_up = settle(
        api,
        api.initiate(
            user,
            S.PAYMENT_KIND_TOP_UP,
            10_000,
            method=api.add_card(user).id,
            currency=currency,
            metadata=signals,
        ),
    )
    assert top_up.status == S.PAYMENT_STATUS_SUCCEEDED, top_up
    friends = [api.register() for _ in range(6)]
    payments = [
        api.initiate(
            user, S.PAYMENT_KIND_TRANSFER, 1_250, payee=friends[0], currency=currency, metadata=signals
        )
    ]
    payments += [
        api.initiate(user, S.PAYMENT_KIND_TRANSFER, 1_500, payee=friend, currency=currency, metadata=signals)
        for friend in friends[1:]
    ]
    assert [p.failure.code for p in payments if p.status == S.PAYMENT_STATUS_FAILED] == []
    assert all(p.fraud_decision != S.FRAUD_DECISION_DECLINE for p in [top_up, *payments])


def test_a_fraud_decline_tells_the_customer_what_to_do(api: PaymentApi):
    _, declined = cash_out_declined(api)
    assert declined.failure.code == "FRAUD_DECLINED"
    message = declined.failure.message
    assert "no money was moved" in message and "contact support" in message
    assert not any(word in message for word in ("model", "score", "probability", "threshold", "feature"))


def test_fraud_review_then_approval(api: PaymentApi):
    user = api.register()
    held = api.top_up(user, 50000)
    assert held.status == S.PAYMENT_STATUS_REQUIRES_REVIEW and held.fraud_decision == S.FRAUD_DECISION_REVIEW
    assert api.wallet_balance(user).posted.amount_minor == 0
    # The owner cannot approve their own payment; a support agent can.
    with pytest.raises(grpc.RpcError) as owner:
        api.set_status(held.id, S.PAYMENT_STATUS_PROCESSING, api.md(user))
    assert owner.value.code() == grpc.StatusCode.PERMISSION_DENIED
    approved = api.set_status(held.id, S.PAYMENT_STATUS_PROCESSING, api.support(), "verified by phone")
    assert approved.status == S.PAYMENT_STATUS_SUCCEEDED
    assert [c.to_status for c in approved.status_history] == [
        S.PAYMENT_STATUS_PENDING,
        S.PAYMENT_STATUS_REQUIRES_REVIEW,
        S.PAYMENT_STATUS_PROCESSING,
        S.PAYMENT_STATUS_SUCCEEDED,
    ]
    assert approved.status_history[2].actor == api.support_subject
    assert api.wallet_balance(user).posted.amount_minor == 50000


def test_insufficient_funds_is_a_failed_payment(api: PaymentApi):
    # Whether the fraud check approves it or holds it for review, the reservation (made
    # before any review) finds the empty wallet.
    payer = api.register()
    payment = api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 500, payee=api.register())
    assert payment.status == S.PAYMENT_STATUS_FAILED and payment.failure.code == "INSUFFICIENT_FUNDS"
    assert api.wallet_balance(payer).posted.amount_minor == 0


def test_timeout_then_recovery_completes_it(api: PaymentApi, payment_db: sa.Engine):
    user = api.register()
    card = api.add_card(user, CARD_TIMEOUT)
    payment = settle(api, api.initiate(user, S.PAYMENT_KIND_TOP_UP, 1200, method=card.id))
    assert payment.status == S.PAYMENT_STATUS_PROCESSING
    with payment_db.begin() as c:
        c.execute(
            sa.text("UPDATE payments SET update_time = update_time - interval '1 hour' WHERE id = :id"),
            {"id": payment.id},
        )
    recovered = {r.payment_id: r for r in api.recover().recovered_payments}
    assert recovered[payment.id].action == S.RECOVERY_ACTION_COMPLETED
    assert api.get(payment.id, api.md(user)).status == S.PAYMENT_STATUS_SUCCEEDED
    assert api.wallet_balance(user).posted.amount_minor == 1200
    # A second run finds nothing to do and moves nothing twice.
    assert payment.id not in {r.payment_id for r in api.recover().recovered_payments}
    assert len(api.ledger_entries(user, payment.id)) == 1


def test_same_key_twice_is_one_payment_and_one_ledger_movement(api: PaymentApi):
    user = api.register()
    card = api.add_card(user)
    request_id = key()
    first = api.initiate(user, S.PAYMENT_KIND_TOP_UP, 800, method=card.id, request_id=request_id)
    second = api.initiate(user, S.PAYMENT_KIND_TOP_UP, 800, method=card.id, request_id=request_id)
    assert first == second
    settle(api, first)
    assert len(api.ledger_entries(user, first.id)) == 1
    listed = api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.md(user)).payments
    assert [p.id for p in listed] == [first.id]
    with pytest.raises(grpc.RpcError) as reused:
        api.initiate(user, S.PAYMENT_KIND_TOP_UP, 801, method=card.id, request_id=request_id)
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason_of(reused.value) == "IDEMPOTENCY_KEY_REUSED"


def test_concurrent_requests_with_one_key_execute_once(api: PaymentApi):
    user = api.register()
    card = api.add_card(user)
    request_id = key()
    results: list[object] = []

    def call() -> None:
        try:
            results.append(
                api.initiate(user, S.PAYMENT_KIND_TOP_UP, 600, method=card.id, request_id=request_id)
            )
        except grpc.RpcError as exc:
            results.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    payments = {r.id for r in results if isinstance(r, S.Payment)}
    errors = [r for r in results if isinstance(r, grpc.RpcError)]
    assert len(payments) == 1
    assert all(e.code() == grpc.StatusCode.ABORTED for e in errors)
    listed = api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.md(user)).payments
    assert len(listed) == 1


def test_illegal_transitions_and_roles(api: PaymentApi):
    user = funded(api, 900)
    [payment] = api.payments.ListPayments(S.ListPaymentsRequest(user_id=user), metadata=api.md(user)).payments
    with pytest.raises(grpc.RpcError) as illegal:
        api.set_status(payment.id, S.PAYMENT_STATUS_PENDING, api.admin())
    assert illegal.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(illegal.value) == "ILLEGAL_STATUS_TRANSITION"
    with pytest.raises(grpc.RpcError) as owner:
        api.set_status(payment.id, S.PAYMENT_STATUS_REFUNDED, api.md(user))
    assert owner.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as other:
        api.initiate(user, S.PAYMENT_KIND_TRANSFER, 100, payee=api.register(), caller=api.md(api.register()))
    assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_refunds_partial_then_full_are_ledger_entries(api: PaymentApi):
    user = api.register()
    payment = settle(api, api.top_up(user, 1000))
    partial = api.refund(payment.id, 300)
    assert partial.payment.status == S.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert partial.payment.refunded_amount.amount_minor == 300
    with pytest.raises(grpc.RpcError) as too_much:
        api.refund(payment.id, 800)
    assert reason_of(too_much.value) == "REFUND_EXCEEDS_AMOUNT"
    rest = api.refund(payment.id)
    assert rest.payment.status == S.PAYMENT_STATUS_REFUNDED and rest.refund.amount.amount_minor == 700
    assert api.wallet_balance(user).posted.amount_minor == 0
    types = sorted(e.type for e in api.ledger_entries(user, payment.id))
    assert types == sorted(
        [
            ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
            ledger_pb2.TRANSACTION_TYPE_REFUND,
            ledger_pb2.TRANSACTION_TYPE_REFUND,
        ]
    )
    # A whole refund at once is a true ledger reversal.
    other = api.register()
    whole = settle(api, api.top_up(other, 1000))
    refunded = api.refund(whole.id)
    entry = api.ledger.GetTransaction(
        ledger_pb2.GetTransactionRequest(transaction_id=refunded.refund.transaction_id), metadata=api.admin()
    ).transaction
    assert (
        entry.type == ledger_pb2.TRANSACTION_TYPE_REVERSAL
        and entry.reverses_transaction_id == whole.transaction_id
    )


def test_async_callbacks_verified_deduplicated_and_ordered(api: PaymentApi):
    user = api.register()
    card = api.add_card(user, CARD_ASYNC)
    payment = settle(api, api.initiate(user, S.PAYMENT_KIND_TOP_UP, 1500, method=card.id))
    assert payment.status == S.PAYMENT_STATUS_PROCESSING
    with pytest.raises(grpc.RpcError) as forged:
        api.callback(payment.id, Outcome.SUCCEEDED, secret="whsec_wrong_secret_0000")
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as old:
        api.callback(payment.id, Outcome.SUCCEEDED, created=1_600_000_000)
    assert old.value.code() == grpc.StatusCode.UNAUTHENTICATED
    event = f"evt_{key()}"
    applied = api.callback(payment.id, Outcome.SUCCEEDED, event)
    assert applied.disposition == S.CALLBACK_DISPOSITION_APPLIED
    assert applied.payment_status == S.PAYMENT_STATUS_SUCCEEDED
    again = api.callback(payment.id, Outcome.SUCCEEDED, event)
    assert again.disposition == S.CALLBACK_DISPOSITION_DUPLICATE
    # An older "pending" or a contradicting "failed" arriving late never moves it back.
    late = api.callback(payment.id, Outcome.PENDING)
    assert late.disposition == S.CALLBACK_DISPOSITION_STALE
    contra = api.callback(payment.id, Outcome.FAILED)
    assert contra.disposition == S.CALLBACK_DISPOSITION_STALE
    assert api.get(payment.id, api.md(user)).status == S.PAYMENT_STATUS_SUCCEEDED
    assert len(api.ledger_entries(user, payment.id)) == 1


def test_reconciliation_finds_a_tampered_amount(api: PaymentApi, payment_db: sa.Engine):
    from google.protobuf import timestamp_pb2

    user = api.register()
    payment = settle(api, api.top_up(user, 1800))
    start = timestamp_pb2.Timestamp(seconds=payment.create_time.seconds - 5)
    end = timestamp_pb2.Timestamp(seconds=payment.create_time.seconds + 3600)
    request = S.GetReconciliationReportRequest(
        time_range={"start_time": start, "end_time": end}, page_size=1000
    )
    before = api.payments.GetReconciliationReport(request, metadata=api.admin()).report
    assert payment.id not in {m.payment_id for m in before.mismatches}
    with payment_db.begin() as c:
        c.execute(sa.text("UPDATE payments SET amount_minor = 1900 WHERE id = :id"), {"id": payment.id})
    after = api.payments.GetReconciliationReport(request, metadata=api.admin()).report
    [found] = [m for m in after.mismatches if m.payment_id == payment.id]
    assert found.kind == S.RECONCILIATION_MISMATCH_KIND_AMOUNT_MISMATCH
    assert found.actual_amount.amount_minor == 1800 and found.expected_amount.amount_minor == 1900
    with payment_db.begin() as c:
        c.execute(sa.text("UPDATE payments SET amount_minor = 1800 WHERE id = :id"), {"id": payment.id})


def test_a_refund_the_gateway_declines_gives_the_money_back(api: PaymentApi):
    user = api.register()
    card = api.add_card(user, CARD_REFUND_DECLINED)
    payment = settle(api, api.top_up(user, 1200, card=card.id))
    assert payment.status == S.PAYMENT_STATUS_SUCCEEDED
    request_id = key()
    with pytest.raises(grpc.RpcError) as declined:
        api.refund(payment.id, 500, request_id=request_id)
    assert declined.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(declined.value) == "REFUND_DECLINED"
    # The refund's ledger step was compensated: the wallet holds the whole top-up again.
    assert api.wallet_balance(user).posted.amount_minor == 1200
    after = api.get(payment.id, api.admin())
    assert after.status == S.PAYMENT_STATUS_SUCCEEDED and after.refunded_amount.amount_minor == 0
    types = sorted(e.type for e in api.ledger_entries(user, payment.id))
    assert types == sorted(
        [
            ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
            ledger_pb2.TRANSACTION_TYPE_REFUND,
            ledger_pb2.TRANSACTION_TYPE_ADJUSTMENT,
        ]
    )
    # A retry with the same key answers the same, and books nothing more.
    with pytest.raises(grpc.RpcError) as again:
        api.refund(payment.id, 500, request_id=request_id)
    assert reason_of(again.value) == "REFUND_DECLINED"
    assert len(api.ledger_entries(user, payment.id)) == 3
    assert api.wallet_balance(user).posted.amount_minor == 1200
