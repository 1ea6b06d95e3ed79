"""Ids and money helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.runtime.errors import InvalidArgument
from services.runtime.ids import is_valid_id, new_id
from services.runtime.money import Money, parse_money


def test_ids_are_prefixed_unique_and_time_ordered():
    ids = [new_id("txn") for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(is_valid_id(i, "txn") for i in ids)
    assert not is_valid_id(ids[0], "usr")
    assert not is_valid_id("txn_short")


@given(st.integers(-(10**15), 10**15), st.integers(-(10**15), 10**15))
def test_money_arithmetic_is_exact(a: int, b: int):
    assert (Money(a, "EUR") + Money(b, "EUR")).amount_minor == a + b
    assert (Money(a, "EUR") - Money(b, "EUR")).amount_minor == a - b


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(10.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="currency mismatch"):
        Money(1, "EUR") + Money(1, "USD")


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (1050, "EUR", "10.50 EUR"),
        (-5, "USD", "-0.05 USD"),
        (1234, "JPY", "1234 JPY"),
        (1001, "KWD", "1.001 KWD"),
    ],
)
def test_format_uses_the_currency_exponent(amount: int, currency: str, text: str):
    assert Money(amount, currency).format() == text


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        (0, "EUR", "amount.amount_minor"),
        (-1, "EUR", "amount.amount_minor"),
        (10**16, "EUR", "amount.amount_minor"),
        (100, "eur", "amount.currency"),
        (100, "XXX", "amount.currency"),
    ],
)
def test_parse_money_rejects_bad_input_with_the_field(amount: int, currency: str, field: str):
    with pytest.raises(InvalidArgument) as caught:
        parse_money(amount, currency)
    assert [v.field for v in caught.value.violations] == [field]
