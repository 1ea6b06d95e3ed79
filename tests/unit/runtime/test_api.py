"""The shared servicer helpers: field checks, page tokens, conversions."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import pytest
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.api import (
    FieldChecks,
    decode_page_token,
    encode_page_token,
    from_timestamp,
    page_size,
    query_key,
    time_range,
    to_money,
    to_timestamp,
)
from services.runtime.errors import InvalidArgument


class Color(enum.IntEnum):
    RED = 1
    BLUE = 2


def test_checks_report_every_problem_at_once():
    checks = FieldChecks()
    checks.text("", "name", max_length=10, required=True)
    checks.text("x" * 11, "description", max_length=10)
    checks.enum(0, Color, "color")
    checks.money(common_pb2.Money(amount_minor=0, currency="EUR"), "amount")
    checks.money(common_pb2.Money(amount_minor=5, currency="eur"), "fee")
    checks.metadata({"": "v"})
    with pytest.raises(InvalidArgument) as caught:
        checks.done()
    assert [v.field for v in caught.value.violations] == [
        "name", "description", "color", "amount.amount_minor", "fee.currency", "metadata[]"]


def test_checks_pass_good_input():
    checks = FieldChecks()
    assert checks.money(common_pb2.Money(amount_minor=1, currency="JPY"), "amount") == (1, "JPY")
    zero = common_pb2.Money(amount_minor=0, currency="EUR")
    assert checks.money(zero, "fee", allow_zero=True) == (0, "EUR")
    assert checks.enum(2, Color, "color") == 2
    checks.done()


def test_page_tokens_round_trip_and_are_bound_to_their_query():
    query = query_key("usr_1", ["DEPOSIT"])
    token = encode_page_token(["2026-01-01", 42], query)
    assert decode_page_token(token, query) == ["2026-01-01", 42]
    assert decode_page_token("", query) is None
    with pytest.raises(InvalidArgument, match="another query"):
        decode_page_token(token, query_key("usr_2", ["DEPOSIT"]))
    with pytest.raises(InvalidArgument, match="malformed"):
        decode_page_token("%%%not-base64", query)


def test_page_size_defaults_caps_and_refuses_negative():
    assert page_size(0) == 20 and page_size(5) == 5 and page_size(10_000) == 100
    with pytest.raises(InvalidArgument):
        page_size(-1)


def test_conversions_and_time_ranges():
    moment = datetime(2026, 11, 26, 12, 0, 1, 123456, tzinfo=UTC)
    assert from_timestamp(to_timestamp(moment)) == moment
    assert to_money(150, "EUR") == common_pb2.Money(amount_minor=150, currency="EUR")
    request = ledger_pb2.ListUserTransactionsRequest()
    assert time_range(request) == (None, None)
    request.time_range.start_time.CopyFrom(to_timestamp(moment))
    request.time_range.end_time.CopyFrom(to_timestamp(moment))
    with pytest.raises(InvalidArgument):
        time_range(request)
