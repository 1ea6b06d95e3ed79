"""The AI service's exchange rates: decimal conversion into the models' currency, dated tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.ai import fx
from services.runtime.money import CURRENCY_EXPONENTS

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_every_currency_the_platform_knows_is_converted() -> None:
    assert fx.supported_currencies() == frozenset(CURRENCY_EXPONENTS)
    for code in ("EUR", "USD", "GBP"):
        assert code in fx.supported_currencies()


def test_eur_is_kept_as_it_is() -> None:
    conversion = fx.to_model_currency(450, "EUR", WHEN)
    assert conversion.amount_minor == 450 and conversion.rate == Decimal("1")
    assert conversion.rate_date == date(2025, 6, 30)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (11_720, "USD", 10_000),  # 117.20 USD at 1.1720 per EUR is exactly 100.00 EUR
        (8_555, "GBP", 10_000),  # 85.55 GBP at 0.85550
        (16_917, "JPY", 10_000),  # JPY has no minor unit: 16,917 yen is 100.00 EUR
        (35_841, "KWD", 10_000),  # KWD has three decimals: 35.841 KWD
        (100, "USD", 85),  # 1.00 USD = 0.8532... EUR, rounded to 0.85
        (1, "KRW", 0),  # less than half a cent
    ],
)
def test_conversions_use_the_minor_unit_exponent_and_exact_decimals(
    amount: int, currency: str, expected: int
) -> None:
    assert fx.to_model_currency(amount, currency, WHEN).amount_minor == expected


def test_rounding_is_half_even_on_exact_halves() -> None:
    table = fx.RateTable(date(2026, 1, 1), "test", {"EUR": Decimal(1), "USD": Decimal(2)})
    # 1 cent of USD at 2 USD per EUR is 0.5 EUR cents: half-even rounds to 0; 3 cents -> 1.5 -> 2.
    assert fx.to_model_currency(1, "USD", WHEN, (table,)).amount_minor == 0
    assert fx.to_model_currency(3, "USD", WHEN, (table,)).amount_minor == 2
    assert fx.to_model_currency(5, "USD", WHEN, (table,)).amount_minor == 2


def test_the_largest_amounts_convert_exactly() -> None:
    huge = 10**15 - 1
    expected = (Decimal(huge) / Decimal("1.1720")).to_integral_value()
    assert fx.to_model_currency(huge, "USD", WHEN).amount_minor == int(expected)


def test_the_table_in_force_on_the_transaction_date_is_used() -> None:
    older = fx.RateTable(date(2026, 1, 1), "old", {"EUR": Decimal(1), "USD": Decimal(1)})
    newer = fx.RateTable(date(2026, 2, 1), "new", {"EUR": Decimal(1), "USD": Decimal(2)})
    tables = (older, newer)
    assert (
        fx.to_model_currency(1_000, "USD", datetime(2026, 1, 31, 23, 59, tzinfo=UTC), tables).amount_minor
        == 1_000
    )
    at = fx.to_model_currency(1_000, "USD", datetime(2026, 2, 1, 0, 0, tzinfo=UTC), tables)
    assert (at.amount_minor, at.rate_date) == (500, date(2026, 2, 1))
    # before every table: the oldest one, so old transactions still convert
    assert fx.to_model_currency(1_000, "USD", datetime(2020, 1, 1, tzinfo=UTC), tables).rate_date == date(
        2026, 1, 1
    )


def test_unknown_currencies_and_bad_amounts_are_refused() -> None:
    with pytest.raises(fx.UnsupportedCurrency):
        fx.to_model_currency(100, "XAU", WHEN)
    with pytest.raises(ValueError, match="non-negative"):
        fx.to_model_currency(-1, "USD", WHEN)
    with pytest.raises(TypeError):
        fx.to_model_currency(1.5, "USD", WHEN)  # type: ignore[arg-type]
