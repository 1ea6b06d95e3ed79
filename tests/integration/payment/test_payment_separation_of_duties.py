"""Separation of duties: no staff member reviews, decides on or refunds a payment they are party to.

The issue's reproduction: a support agent approved their own 9,000 EUR top-up that the fraud
model had sent to review, and refunded their own completed transfer, pulling the money back
from the payee. Both are now PERMISSION_DENIED with reason SELF_DECISION, as credit and
documents answer, whatever the payment's state; another agent decides as before.
"""

from __future__ import annotations

import uuid

import grpc
from nexafi.payment.v1 import payment_pb2 as S

from tests.integration.payment.payment_support import PaymentApi
from tests.integration.payment.test_payment_flows import funded, settle
from tests.support.grpc_errors import failure

SELF_DECISION = (grpc.StatusCode.PERMISSION_DENIED, "SELF_DECISION")


def test_an_agent_cannot_decide_on_their_own_top_up(api: PaymentApi):
    agent = api.register()
    as_staff = api.tokens.metadata(agent, ["customer", "support"])
    payment = api.top_up(agent, 900_000)
    for target in (S.PAYMENT_STATUS_PROCESSING, S.PAYMENT_STATUS_FAILED):
        refused = failure(lambda t=target: api.set_status(payment.id, t, as_staff, "looks fine"))
        assert (refused.code, refused.reason) == SELF_DECISION
    # Nothing changed, and another agent still decides a held payment the ordinary way.
    assert api.get(payment.id, api.admin()).status == payment.status
    assert settle(api, payment).status != S.PAYMENT_STATUS_REQUIRES_REVIEW


def test_neither_payer_nor_payee_refunds_their_own_transfer(api: PaymentApi):
    payer = funded(api, 5_000)
    payee = api.register()
    transfer = settle(api, api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 2_000, payee=payee))
    assert transfer.status == S.PAYMENT_STATUS_SUCCEEDED, transfer
    for party in (payer, payee):
        as_staff = api.tokens.metadata(party, ["customer", "admin"])
        refused = failure(
            lambda md=as_staff: api.payments.RefundPayment(
                S.RefundPaymentRequest(payment_id=transfer.id, reason="mine", request_id=uuid.uuid4().hex),
                metadata=md,
            )
        )
        assert (refused.code, refused.reason) == SELF_DECISION
    assert api.get(transfer.id, api.admin()).refunded_amount.amount_minor == 0
    # An uninvolved admin may.
    assert api.refund(transfer.id).payment.status == S.PAYMENT_STATUS_REFUNDED
