"""Supported currencies and per-user amount limits, per currency.

The values come from the service's settings (``spec.load_config`` reads them from the
environment). The daily limit counts the payer's outgoing payments of the last 24 hours
that did not fail or get cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.runtime.errors import FailedPrecondition, InvalidArgument

DEFAULT_CURRENCIES = ("EUR", "USD", "GBP")
DEFAULT_MAX_AMOUNT_MINOR = 1_000_000  # 10,000.00 in a two-decimal currency
DEFAULT_DAILY_LIMIT_MINOR = 2_500_000


@dataclass(frozen=True)
class Limits:
    currencies: frozenset[str]
    max_amount_minor: dict[str, int] = field(default_factory=dict)
    daily_limit_minor: dict[str, int] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Limits:
        """The defaults: EUR, USD and GBP, each with the default maximum and daily limit."""
        return cls.of(DEFAULT_CURRENCIES, DEFAULT_MAX_AMOUNT_MINOR, DEFAULT_DAILY_LIMIT_MINOR)

    @classmethod
    def of(cls, currencies: Iterable[str], max_amount_minor: int, daily_limit_minor: int) -> Limits:
        """The same maximum and daily limit for every currency of ``currencies``."""
        codes = frozenset(currencies)
        return cls(codes, dict.fromkeys(codes, max_amount_minor), dict.fromkeys(codes, daily_limit_minor))

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
