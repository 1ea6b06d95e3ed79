"""Hostile text through real gRPC: the runtime refuses it before the payment service sees it,
INVALID_ARGUMENT naming the field, and nothing is stored."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa
from nexafi.common.v1 import common_pb2
from nexafi.payment.v1 import payment_pb2 as S

from tests.integration.payment.payment_support import CVC, PaymentApi, key
from tests.integration.payment.test_payment_flows import settle
from tests.support.grpc_errors import Failure, failure

pytestmark = pytest.mark.usefixtures("payment_server")


def refused(failed: Failure, field: str, reason: str = "CONTROL_CHARACTERS") -> None:
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT, failed
    assert failed.reason == reason, failed
    assert field in failed.fields, failed


def initiate(api: PaymentApi, user: str, **changes: object) -> S.InitiatePaymentRequest:
    cards = api.payments.ListPaymentMethods(S.ListPaymentMethodsRequest(user_id=user), metadata=api.md(user))
    card = cards.payment_methods[0].id if cards.payment_methods else api.add_card(user).id
    request = S.InitiatePaymentRequest(
        user_id=user,
        kind=S.PAYMENT_KIND_TOP_UP,
        amount=common_pb2.Money(amount_minor=500, currency="EUR"),
        payment_method_id=card,
        description="top-up",
        request_id=key(),
    )
    for name, value in changes.items():
        if name == "metadata":
            request.metadata.update(value)  # type: ignore[call-overload]
        else:
            setattr(request, name, value)
    return request


def test_nul_in_request_id_metadata_keys_and_values(api: PaymentApi, payment_db: sa.Engine):
    user = api.register()
    for changes, field in [
        ({"request_id": "key\x00one"}, "request_id"),
        ({"metadata": {"mcc\x00": "5411"}}, "metadata"),
        ({"metadata": {"device_id": "dev\x00ice"}}, 'metadata["device_id"]'),
        ({"description": "line one\nline two\x00"}, "description"),
    ]:
        request = initiate(api, user, **changes)
        refused(failure(lambda r=request: api.payments.InitiatePayment(r, metadata=api.md(user))), field)
    with payment_db.connect() as c:
        stored = c.execute(sa.text("SELECT count(*) FROM payments WHERE user_id = :u"), {"u": user}).scalar()
    assert stored == 0
    # Line breaks are prose in a description, not hostile.
    ok = api.payments.InitiatePayment(
        initiate(api, user, description="rent\r\nfor May"), metadata=api.md(user)
    ).payment
    assert ok.description == "rent\r\nfor May"


def test_nul_in_a_refund_reason(api: PaymentApi):
    user = api.register()
    payment = settle(api, api.top_up(user, 900))
    request = S.RefundPaymentRequest(payment_id=payment.id, reason="changed\x00mind", request_id=key())
    refused(failure(lambda: api.payments.RefundPayment(request, metadata=api.admin())), "reason")


def test_nul_in_card_and_bank_holder_names(api: PaymentApi):
    user = api.register()
    card = S.AddPaymentMethodRequest(
        user_id=user,
        request_id=key(),
        card=S.CardInput(
            number="4242424242424242",
            exp_month=12,
            exp_year=api.clock().year + 2,
            cvc=CVC,
            holder_name="Ada\x00Lovelace",
        ),
    )
    refused(failure(lambda: api.payments.AddPaymentMethod(card, metadata=api.md(user))), "card.holder_name")
    bank = S.AddPaymentMethodRequest(
        user_id=user,
        request_id=key(),
        bank_account=S.BankAccountInput(iban="DE89370400440532013000", holder_name="Ada\x1b[2J"),
    )
    refused(
        failure(lambda: api.payments.AddPaymentMethod(bank, metadata=api.md(user))),
        "bank_account.holder_name",
    )


def test_a_page_token_with_nul_is_invalid_argument(api: PaymentApi):
    user = api.register()
    request = S.ListPaymentsRequest(user_id=user, page_token="eyJwIjoi\x00")
    refused(failure(lambda: api.payments.ListPayments(request, metadata=api.md(user))), "page_token")


def test_invalid_utf8_is_invalid_argument_not_internal(api: PaymentApi, channels: dict[str, grpc.Channel]):
    user = api.register()
    data = initiate(api, user, request_id="PLACEHOLDER").SerializeToString()
    raw = channels["payment"].unary_unary(
        "/nexafi.payment.v1.PaymentService/InitiatePayment",
        request_serializer=lambda b: b,
        response_deserializer=lambda b: b,
    )
    hostile = data.replace(b"PLACEHOLDER", b"\xc3\x28" + b"X" * 9)
    refused(failure(lambda: raw(hostile, metadata=api.md(user))), "request_id", "INVALID_UTF8")
    # The bytes were only refused for their encoding: the same request, well encoded, works.
    assert S.InitiatePaymentResponse.FromString(raw(data, metadata=api.md(user))).payment.id
