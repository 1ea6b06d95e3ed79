"""Supported currencies and per-user amount limits, configurable per currency.

``PAYMENT_CURRENCIES`` lists the supported ISO 4217 codes (default EUR,USD,GBP).
``PAYMENT_MAX_AMOUNT_MINOR`` and ``PAYMENT_DAILY_LIMIT_MINOR`` are the defaults for
every currency; ``PAYMENT_MAX_AMOUNT_MINOR_<CUR>`` and ``PAYMENT_DAILY_LIMIT_MINOR_<CUR>``
override them for one currency. The daily limit counts the payer's outgoing
payments of the last 24 hours that did not fail or get cancelled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from services.runtime.config import ConfigError, env_int
from services.runtime.errors import FailedPrecondition, InvalidArgument
from services.runtime.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR

DEFAULT_CURRENCIES = ("EUR", "USD", "GBP")
DEFAULT_MAX_AMOUNT_MINOR = 1_000_000  # 10,000.00 in a two-decimal currency
DEFAULT_DAILY_LIMIT_MINOR = 2_500_000


@dataclass(frozen=True)
class Limits:
    currencies: frozenset[str]
    max_amount_minor: dict[str, int] = field(default_factory=dict)
    daily_limit_minor: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Limits:
        raw = os.environ.get("PAYMENT_CURRENCIES", "").strip()
        codes = [c.strip().upper() for c in raw.split(",") if c.strip()] if raw else list(DEFAULT_CURRENCIES)
        unknown = [c for c in codes if c not in CURRENCY_EXPONENTS]
        if unknown:
            raise ConfigError(f"PAYMENT_CURRENCIES has unsupported codes: {', '.join(unknown)}")
        default_max = env_int(
            "PAYMENT_MAX_AMOUNT_MINOR", DEFAULT_MAX_AMOUNT_MINOR, minimum=1, maximum=MAX_AMOUNT_MINOR
        )
        default_daily = env_int(
            "PAYMENT_DAILY_LIMIT_MINOR", DEFAULT_DAILY_LIMIT_MINOR, minimum=1, maximum=MAX_AMOUNT_MINOR
        )
        return cls(
            currencies=frozenset(codes),
            max_amount_minor={
                c: env_int(f"PAYMENT_MAX_AMOUNT_MINOR_{c}", default_max, minimum=1, maximum=MAX_AMOUNT_MINOR)
                for c in codes
            },
            daily_limit_minor={
                c: env_int(
                    f"PAYMENT_DAILY_LIMIT_MINOR_{c}", default_daily, minimum=1, maximum=MAX_AMOUNT_MINOR
                )
                for c in codes
            },
        )

    def check_currency(self, currency: str, field_name: str = "amount.currency") -> None:
        if currency not in self.currencies:
            raise InvalidArgument(
                f"currency {currency!r} is not supported",
                field=field_name,
                description=f"must be one of {', '.join(sorted(self.currencies))}",
                reason="UNSUPPORTED_CURRENCY",
            )

    def check_amount(self, amount_minor: int, currency: str) -> None:
        """FAILED_PRECONDITION LIMIT_EXCEEDED above the per-payment maximum."""
        limit = self.max_amount_minor[currency]
        if amount_minor > limit:
            raise FailedPrecondition(
                f"the amount exceeds the per-payment limit of {limit} minor units",
                "LIMIT_EXCEEDED",
                {"limit_minor": str(limit), "currency": currency},
            )

    def check_daily(self, used_minor: int, amount_minor: int, currency: str) -> None:
        """FAILED_PRECONDITION DAILY_LIMIT_EXCEEDED when today's total would pass the daily limit.

        The proto names FAILED_PRECONDITION for both limits, so the reason tells them apart.
        """
        limit = self.daily_limit_minor[currency]
        if used_minor + amount_minor > limit:
            raise FailedPrecondition(
                f"the payment would exceed the daily limit of {limit} minor units",
                "DAILY_LIMIT_EXCEEDED",
                {"limit_minor": str(limit), "used_minor": str(used_minor), "currency": currency},
            )
