"""Limits, idempotency request fingerprints, and money as integer minor units (never floats)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from services.payment.domain.limits import DEFAULT_DAILY_LIMIT_MINOR, DEFAULT_MAX_AMOUNT_MINOR, Limits
from services.payment.domain.postings import Purpose, reservation_purposes, step_request_id
from services.payment.domain.states import Kind
from services.payment.spec import load_limits
from services.runtime.config import ConfigError
from services.runtime.errors import FailedPrecondition, InvalidArgument
from services.runtime.fingerprints import canonical, request_fingerprint
from services.runtime.money import Money

DOMAIN = Path(__file__).resolve().parents[3] / "services" / "payment" / "domain"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "PAYMENT_CURRENCIES",
        "PAYMENT_MAX_AMOUNT_MINOR",
        "PAYMENT_DAILY_LIMIT_MINOR",
        "PAYMENT_MAX_AMOUNT_MINOR_USD",
        "PAYMENT_DAILY_LIMIT_MINOR_USD",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_limits(clean_env: pytest.MonkeyPatch):
    limits = load_limits()
    assert limits == Limits.default()
    assert limits.currencies == {"EUR", "USD", "GBP"}
    assert limits.max_amount_minor["EUR"] == DEFAULT_MAX_AMOUNT_MINOR
    assert limits.daily_limit_minor["GBP"] == DEFAULT_DAILY_LIMIT_MINOR


def test_per_currency_overrides_and_bad_configuration(clean_env: pytest.MonkeyPatch):
    clean_env.setenv("PAYMENT_CURRENCIES", "eur, usd,JPY")
    clean_env.setenv("PAYMENT_MAX_AMOUNT_MINOR", "5000")
    clean_env.setenv("PAYMENT_MAX_AMOUNT_MINOR_USD", "7000")
    clean_env.setenv("PAYMENT_DAILY_LIMIT_MINOR_USD", "9000")
    limits = load_limits()
    assert limits.currencies == {"EUR", "USD", "JPY"}
    assert limits.max_amount_minor == {"EUR": 5000, "USD": 7000, "JPY": 5000}
    assert limits.daily_limit_minor["USD"] == 9000
    assert limits.daily_limit_minor["EUR"] == DEFAULT_DAILY_LIMIT_MINOR
    clean_env.setenv("PAYMENT_CURRENCIES", "EUR,XXX")
    with pytest.raises(ConfigError):
        load_limits()
    clean_env.setenv("PAYMENT_CURRENCIES", "EUR")
    clean_env.setenv("PAYMENT_MAX_AMOUNT_MINOR", "0")
    with pytest.raises(ConfigError):
        load_limits()


def test_currency_amount_and_daily_limit_checks():
    limits = Limits(frozenset({"EUR"}), {"EUR": 1000}, {"EUR": 2500})
    limits.check_currency("EUR")
    with pytest.raises(InvalidArgument) as currency:
        limits.check_currency("USD")
    assert currency.value.reason == "UNSUPPORTED_CURRENCY"
    limits.check_amount(1000, "EUR")  # the limit itself is allowed
    with pytest.raises(FailedPrecondition) as amount:
        limits.check_amount(1001, "EUR")
    assert amount.value.reason == "LIMIT_EXCEEDED" and amount.value.metadata["limit_minor"] == "1000"
    limits.check_daily(1500, 1000, "EUR")  # exactly the daily limit
    with pytest.raises(FailedPrecondition) as daily:
        limits.check_daily(1500, 1001, "EUR")
    assert daily.value.reason == "DAILY_LIMIT_EXCEEDED"
    assert daily.value.metadata == {"limit_minor": "2500", "used_minor": "1500", "currency": "EUR"}


def test_request_fingerprint_binds_key_operation_and_body():
    key = b"k" * 32
    body = {"amount": 500, "currency": "EUR", "metadata": {"b": "2", "a": "1"}}
    same = {"metadata": {"a": "1", "b": "2"}, "currency": "EUR", "amount": 500}
    fp = request_fingerprint(key, "InitiatePayment", body)
    assert fp == request_fingerprint(key, "InitiatePayment", same)  # key order does not matter
    assert fp != request_fingerprint(key, "InitiatePayment", {**body, "amount": 501})
    assert fp != request_fingerprint(key, "InitiatePayment", {**body, "currency": "USD"})
    assert fp != request_fingerprint(key, "RefundPayment", body)
    assert fp != request_fingerprint(b"j" * 32, "InitiatePayment", body)
    assert len(fp) == 64 and int(fp, 16) >= 0


def test_fingerprint_keeps_nothing_of_a_card_body():
    number = "4242424242424242"
    fp = request_fingerprint(b"k" * 32, "AddPaymentMethod", {"number": number, "cvc": "314"})
    assert number not in fp and number[-4:] not in fp
    assert canonical({"b": 1, "a": [1, 2]}) == b'{"a":[1,2],"b":1}'
    assert json.loads(canonical({"x": "ä"})) == {"x": "ä"}


def test_money_is_integer_minor_units():
    with pytest.raises(TypeError):
        Money(10.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "EUR")
    total = Money(10, "EUR") + Money(20, "EUR")
    assert total == Money(30, "EUR") and isinstance(total.amount_minor, int)
    assert Money(1999, "EUR").format() == "19.99 EUR"
    assert Money(5, "KWD").format() == "0.005 KWD"
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")


def test_the_domain_never_uses_floats():
    """No float literal, float() call or float annotation anywhere in the pure payment rules."""
    for path in sorted(DOMAIN.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), (path, node.lineno)
            assert not (isinstance(node, ast.Name) and node.id == "float"), (path, node.lineno)
            assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)), (path, node.lineno)


def test_postings_per_kind_and_step_keys():
    assert reservation_purposes(Kind.TOP_UP) == (Purpose.EXTERNAL_CLEARING, Purpose.WALLET)
    assert reservation_purposes(Kind.TRANSFER) == (Purpose.WALLET, Purpose.WALLET)
    assert reservation_purposes(Kind.PAYOUT) == (Purpose.WALLET, Purpose.PAYOUT_CLEARING)
    with pytest.raises(ValueError):
        reservation_purposes(Kind.UNSPECIFIED)
    assert step_request_id("pay_1", "reserve") == "pay_1:reserve"
    assert step_request_id("pay_1", "reserve") != step_request_id("pay_1", "post")
