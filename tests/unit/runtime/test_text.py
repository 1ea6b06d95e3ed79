"""The runtime's hostile-text check: every string field, at any depth, named by its path."""

from __future__ import annotations

import pytest
from nexafi.common.v1 import common_pb2
from nexafi.payment.v1 import payment_pb2
from nexafi.user.v1 import user_pb2

from services.runtime.errors import InvalidArgument
from services.runtime.text import check_text, refuse_undecodable, text_violations


def fields(message) -> list[str]:
    return [v.field for v in text_violations(message)]


def test_a_clean_message_passes():
    request = payment_pb2.InitiatePaymentRequest(
        user_id="usr_1",
        request_id="k1",
        description="rent for\tMay\r\nthanks",
        amount=common_pb2.Money(amount_minor=100, currency="EUR"),
        metadata={"mcc": "5411", "note": "Zoë 💶"},
    )
    assert fields(request) == []
    check_text(request)


@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "a\nb", "\t"])
def test_control_characters_in_an_identifier_are_named(bad: str):
    assert fields(payment_pb2.InitiatePaymentRequest(request_id=f"k{bad}1")) == ["request_id"]


def test_prose_allows_line_breaks_and_tabs_but_nothing_else():
    assert fields(payment_pb2.RefundPaymentRequest(reason="one\ntwo\r\n\tthree")) == []
    assert fields(payment_pb2.RefundPaymentRequest(reason="one\x00two")) == ["reason"]
    assert fields(payment_pb2.RefundPaymentRequest(reason="bell\x07")) == ["reason"]


def test_nested_messages_maps_and_repeated_fields_are_walked():
    request = payment_pb2.InitiatePaymentRequest(
        amount=common_pb2.Money(currency="EU\x00"), metadata={"ok": "fine", "device": "a\x00b", "k\x00": "v"}
    )
    assert sorted(fields(request)) == sorted(["amount.currency", 'metadata["device"]', "metadata"])
    card = payment_pb2.AddPaymentMethodRequest(card=payment_pb2.CardInput(holder_name="Ada\x00"))
    assert fields(card) == ["card.holder_name"]


def test_repeated_strings_are_named_by_index():
    request = user_pb2.UpdateUserRequest()
    request.update_mask.paths.extend(["first_name", "last\x00name"])
    assert fields(request) == ["update_mask.paths[1]"]


def test_a_hostile_key_is_not_echoed():
    [violation] = text_violations(payment_pb2.InitiatePaymentRequest(metadata={"\x00evil": "v"}))
    assert violation.field == "metadata" and "\x00" not in violation.description


def test_check_text_raises_invalid_argument_with_every_field():
    with pytest.raises(InvalidArgument) as raised:
        check_text(payment_pb2.InitiatePaymentRequest(request_id="\x00", description="\x00"))
    assert raised.value.reason == "CONTROL_CHARACTERS"
    assert sorted(v.field for v in raised.value.violations) == ["description", "request_id"]


def with_invalid_utf8(message, placeholder: str) -> bytes:
    """The message's wire bytes with ``placeholder`` replaced by the same number of invalid bytes."""
    data = message.SerializeToString()
    assert data.count(placeholder.encode()) == 1
    return data.replace(placeholder.encode(), b"\xff" * len(placeholder))


def test_invalid_utf8_is_named_from_the_wire_format():
    descriptor = payment_pb2.InitiatePaymentRequest.DESCRIPTOR
    top = with_invalid_utf8(payment_pb2.InitiatePaymentRequest(user_id="usr_1", request_id="PLACE"), "PLACE")
    error = refuse_undecodable(descriptor, top)
    assert error.reason == "INVALID_UTF8" and [v.field for v in error.violations] == ["request_id"]
    nested = with_invalid_utf8(
        payment_pb2.InitiatePaymentRequest(amount=common_pb2.Money(amount_minor=5, currency="PLA")), "PLA"
    )
    assert [v.field for v in refuse_undecodable(descriptor, nested).violations] == ["amount.currency"]
    mapped = with_invalid_utf8(payment_pb2.InitiatePaymentRequest(metadata={"k": "PLACE"}), "PLACE")
    assert [v.field for v in refuse_undecodable(descriptor, mapped).violations] == ["metadata"]
    assert refuse_undecodable(descriptor, b"\x0a\xff").reason == "MALFORMED_REQUEST"
