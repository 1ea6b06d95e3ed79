"""The shared servicer helpers: field checks, page tokens, conversions."""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.runtime import audit
from services.runtime.api import (
    FieldChecks,
    as_int,
    decode_page_token,
    encode_page_token,
    from_timestamp,
    page_size,
    paginate,
    paginate_by_time,
    paginate_list,
    query_key,
    set_page_token_key,
    time_range,
    to_money,
    to_timestamp,
)
from services.runtime.clients import all_pages
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
        "name",
        "description",
        "color",
        "amount.amount_minor",
        "fee.currency",
        "metadata[]",
    ]


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
    for garbage in ["%%%not-base64", "true", "eyJwIjoi\x00", "a.b.c", "."]:
        with pytest.raises(InvalidArgument) as refused:
            decode_page_token(garbage, query)
        assert [v.field for v in refused.value.violations] == ["page_token"]


def test_page_tokens_are_signed_by_the_service_key():
    query = query_key("usr_1")
    set_page_token_key(b"k" * 32)
    token = encode_page_token("pay_1", query)
    body, signature = token.split(".")
    # The same position and query, signed by anyone else, or altered: refused before it is read.
    forged = base64.urlsafe_b64encode(json.dumps({"p": "pay_0", "q": query}).encode()).decode()
    for bad in [f"{forged}.{signature}", f"{body}.{signature[:-2]}AA", body]:
        with pytest.raises(InvalidArgument) as refused:
            decode_page_token(bad, query)
        assert refused.value.violations[0].field == "page_token"
    set_page_token_key(b"o" * 32)
    with pytest.raises(InvalidArgument, match="not issued by this service"):
        decode_page_token(token, query)


def test_paginate_fetches_one_more_and_resumes_after_the_last_item():
    items = list(range(10, 0, -1))

    def fetch(before: int | None, limit: int) -> list[int]:
        return [i for i in items if before is None or i < before][:limit]

    pages, token = [], ""
    while True:
        page = paginate(fetch, page_token=token, query="q", size=4, position=lambda i: i, parse=as_int)
        pages.append(page.items)
        token = page.next_page_token
        if not token:
            break
    assert pages == [[10, 9, 8, 7], [6, 5, 4, 3], [2, 1]]
    listed = paginate_list(items, page_token="", query="q", size=8)
    assert listed.items == items[:8]
    assert paginate_list(items, page_token=listed.next_page_token, query="q", size=8).items == [2, 1]
    with pytest.raises(InvalidArgument):
        paginate(
            fetch,
            page_token=encode_page_token("x", "q"),
            query="q",
            size=4,
            position=lambda i: i,
            parse=as_int,
        )


def test_paginate_by_time_resumes_after_the_time_and_key_of_the_last_item():
    @dataclass(frozen=True)
    class Row:
        create_time: datetime
        id: str

    rows = [Row(datetime(2026, 1, 1, h, tzinfo=UTC), f"r{h}") for h in (9, 8, 8, 7, 6)]
    rows[2] = Row(rows[1].create_time, "r7b")  # two rows at one instant: the id breaks the tie
    rows.sort(key=lambda r: (r.create_time, r.id), reverse=True)

    def fetch(before: tuple[datetime, str] | None, limit: int) -> list[Row]:
        return [r for r in rows if before is None or (r.create_time, r.id) < before][:limit]

    pages, token = [], ""
    while True:
        page = paginate_by_time(fetch, page_token=token, query="q", size=2, key=lambda r: r.id, parse_key=str)
        pages.append(page.items)
        token = page.next_page_token
        if not token:
            break
    assert [r for p in pages for r in p] == rows and [len(p) for p in pages] == [2, 2, 1]
    for position in ("x", ["not a time", "r1"], [rows[0].create_time.isoformat()]):
        with pytest.raises(InvalidArgument):
            paginate_by_time(
                fetch,
                page_token=encode_page_token(position, "q"),
                query="q",
                size=2,
                key=lambda r: r.id,
                parse_key=str,
            )


def test_staff_action_pages_resume_after_the_time_and_id_of_the_last_action():
    actions = [
        audit.StaffAction(f"aud_{i}", "usr_a", "x", "r", "u", "", datetime(2026, 1, 1, 12, i, tzinfo=UTC))
        for i in range(5, 0, -1)
    ]

    def fetch(before: tuple[datetime, str] | None, limit: int) -> list[audit.StaffAction]:
        return [a for a in actions if before is None or (a.create_time, a.id) < before][:limit]

    first = audit.page(fetch, actor_id="usr_a", page_token="", page_size=2)
    assert first.items == actions[:2]
    assert decode_page_token(first.next_page_token, query_key("staff_actions", "usr_a")) == [
        actions[1].create_time.isoformat(),
        actions[1].id,
    ]
    second = audit.page(fetch, actor_id="usr_a", page_token=first.next_page_token, page_size=2)
    assert second.items == actions[2:4]
    with pytest.raises(InvalidArgument):
        audit.page(fetch, actor_id="usr_b", page_token=first.next_page_token, page_size=2)


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


def test_all_pages_follows_next_page_tokens_lazily_until_the_last_page():
    pages = {"": ([1, 2], "t1"), "t1": ([3], "t2"), "t2": ([], "t3"), "t3": ([4], "")}
    asked: list[str] = []

    def fetch(token: str) -> tuple[list[int], str]:
        asked.append(token)
        return pages[token]

    items = all_pages(fetch)
    assert asked == []  # nothing is called before the first item is wanted
    assert list(items) == [1, 2, 3, 4]
    assert asked == ["", "t1", "t2", "t3"]
