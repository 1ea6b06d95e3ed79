"""Money as integer minor units plus an ISO 4217 code. Never a float."""

from __future__ import annotations

from dataclasses import dataclass

from services.runtime.errors import InvalidArgument

# ISO 4217 codes we accept, with their minor-unit exponent. A deliberate subset:
# adding a currency is a reviewed change, not something a client can invent.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AED": 2,
    "AUD": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "ISK": 0,
    "JPY": 0,
    "KRW": 0,
    "KWD": 3,
    "BHD": 3,
    "MXN": 2,
    "NGN": 2,
    "NOK": 2,
    "NZD": 2,
    "PHP": 2,
    "PLN": 2,
    "RON": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TRY": 2,
    "USD": 2,
    "ZAR": 2,
}

# Amounts beyond this are refused: it keeps sums of many postings inside int64.
MAX_AMOUNT_MINOR = 10**15


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of ``currency``."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError("amount_minor must be an int")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} and {other.currency}")

    def format(self) -> str:
        """A human string such as ``"12.34 EUR"`` (exact, no float)."""
        exp = CURRENCY_EXPONENTS.get(self.currency, 2)
        sign = "-" if self.amount_minor < 0 else ""
        whole, frac = divmod(abs(self.amount_minor), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d} {self.currency}" if exp else f"{sign}{whole} {self.currency}"


def validate_currency(code: str, field: str = "currency") -> str:
    """Return ``code`` if it is a supported ISO 4217 code, else raise InvalidArgument."""
    if code not in CURRENCY_EXPONENTS:
        raise InvalidArgument(
            f"unsupported currency {code!r}",
            field=field,
            description="must be a supported upper-case ISO 4217 code",
        )
    return code


def validate_amount(amount_minor: int, field: str = "amount", *, allow_zero: bool = False) -> int:
    """Return ``amount_minor`` if positive (or zero when allowed) and within bounds."""
    if amount_minor < 0 or (amount_minor == 0 and not allow_zero):
        raise InvalidArgument(
            "amount must be positive",
            field=field,
            description="must be a positive integer number of minor units",
        )
    if amount_minor > MAX_AMOUNT_MINOR:
        raise InvalidArgument(
            "amount is too large", field=field, description=f"must be at most {MAX_AMOUNT_MINOR} minor units"
        )
    return amount_minor


def parse_money(
    amount_minor: int, currency: str, field: str = "amount", *, allow_zero: bool = False
) -> Money:
    """Validate a (amount, currency) pair from a request into Money."""
    validate_currency(currency, field=f"{field}.currency")
    validate_amount(amount_minor, field=f"{field}.amount_minor", allow_zero=allow_zero)
    return Money(amount_minor, currency)
