"""Exchange rates the AI service owns: amounts in any accepted currency become the models' currency.

The fraud models were trained on EUR cents. A payment in USD, GBP or any other
currency the platform accepts is scored on its EUR equivalent, converted here:

* Rates are ``units of the currency per 1 EUR`` (the ECB's quotation), exact
  ``Decimal`` values, grouped in dated tables. A conversion uses the newest table
  whose date is on or before the transaction's UTC date (the oldest table for
  anything earlier), so the same transaction always converts to the same amount,
  whenever it is scored or replayed.
* Arithmetic is decimal, never float: ``eur_minor = amount_minor * 10**2 /
  (10**exponent * rate)``, rounded half-even to whole cents, with the currency's
  own minor-unit exponent (JPY and KRW 0, KWD and BHD 3).
* The assessment records the rate and its table's date (the audit log keeps both).

The rates are for *risk scoring*, where a percent of error changes nothing: they
never move money (the ledger never converts). The table below is rounded from
the ECB euro foreign exchange reference rates of 2025-06-30; AED, SAR, BHD and
KWD follow their US dollar pegs and NGN is an approximate market rate. A
deployment that scores many non-euro payments should add newer dated tables
(a new entry in ``RATE_TABLES``) as part of its release process.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from services.runtime.money import CURRENCY_EXPONENTS

#: The models' currency and its minor-unit exponent.
MODEL_CURRENCY = "EUR"
MODEL_EXPONENT = CURRENCY_EXPONENTS[MODEL_CURRENCY]


@dataclass(frozen=True)
class RateTable:
    """Units of each currency per 1 EUR, valid from ``effective`` (a UTC date) on."""

    effective: date
    source: str
    per_eur: Mapping[str, Decimal]


RATE_TABLES: tuple[RateTable, ...] = (
    RateTable(
        effective=date(2025, 6, 30),
        source="ECB euro reference rates of 2025-06-30, rounded; AED/SAR/BHD/KWD by USD peg; NGN approximate",
        per_eur={
            "EUR": Decimal("1"),
            "USD": Decimal("1.1720"),
            "GBP": Decimal("0.85550"),
            "JPY": Decimal("169.17"),
            "CHF": Decimal("0.9347"),
            "CZK": Decimal("24.745"),
            "DKK": Decimal("7.4609"),
            "HUF": Decimal("399.75"),
            "PLN": Decimal("4.2423"),
            "RON": Decimal("5.0785"),
            "SEK": Decimal("11.1465"),
            "NOK": Decimal("11.8430"),
            "ISK": Decimal("142.20"),
            "TRY": Decimal("46.6714"),
            "AUD": Decimal("1.7948"),
            "BRL": Decimal("6.4384"),
            "CAD": Decimal("1.6027"),
            "CNY": Decimal("8.3970"),
            "HKD": Decimal("9.2001"),
            "IDR": Decimal("19011.78"),
            "ILS": Decimal("3.9460"),
            "INR": Decimal("100.5605"),
            "KRW": Decimal("1587.54"),
            "MXN": Decimal("22.0899"),
            "NZD": Decimal("1.9320"),
            "PHP": Decimal("66.054"),
            "SGD": Decimal("1.4941"),
            "THB": Decimal("38.213"),
            "ZAR": Decimal("20.8334"),
            "AED": Decimal("4.3042"),
            "SAR": Decimal("4.3950"),
            "BHD": Decimal("0.44067"),
            "KWD": Decimal("0.35841"),
            "NGN": Decimal("1793.0"),
        },
    ),
)


class UnsupportedCurrency(ValueError):
    """No rate for the currency (or no minor-unit exponent known for it)."""


@dataclass(frozen=True)
class Conversion:
    """An amount converted into the models' currency, with the rate that did it."""

    amount_minor: int  # in MODEL_CURRENCY minor units
    currency: str  # the original currency
    rate: Decimal  # units of ``currency`` per 1 EUR
    rate_date: date  # the rate table's date


def supported_currencies(tables: tuple[RateTable, ...] = RATE_TABLES) -> frozenset[str]:
    """Currencies every table can convert (and whose exponent is known)."""
    common = set(CURRENCY_EXPONENTS)
    for table in tables:
        common &= set(table.per_eur)
    return frozenset(common)


def table_for(when: datetime, tables: tuple[RateTable, ...] = RATE_TABLES) -> RateTable:
    """The newest table effective on ``when``'s UTC date; the oldest one before all of them."""
    day = when.astimezone(UTC).date() if when.tzinfo else when.date()
    chosen = tables[0]
    for table in tables:
        if table.effective <= day and table.effective >= chosen.effective:
            chosen = table
    return chosen


def to_model_currency(
    amount_minor: int, currency: str, when: datetime, tables: tuple[RateTable, ...] = RATE_TABLES
) -> Conversion:
    """``amount_minor`` of ``currency`` at ``when`` in EUR cents (half-even), with the rate used."""
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise TypeError("amount_minor must be an int")
    if amount_minor < 0:
        raise ValueError("amount_minor must be non-negative")
    table = table_for(when, tables)
    rate = table.per_eur.get(currency)
    exponent = CURRENCY_EXPONENTS.get(currency)
    if rate is None or exponent is None:
        raise UnsupportedCurrency(f"no exchange rate for {currency!r}")
    if currency == MODEL_CURRENCY:
        return Conversion(amount_minor, currency, rate, table.effective)
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        exact = Decimal(amount_minor) * (Decimal(10) ** MODEL_EXPONENT) / (Decimal(10) ** exponent * rate)
        converted = int(exact.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))
    return Conversion(converted, currency, rate, table.effective)
