"""Card number checks: Luhn, brand detection from the IIN ranges, expiry.

Nothing here keeps or formats a full card number: callers get the brand and the
last four digits, and error messages never include the number.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from enum import IntEnum

from services.runtime.errors import InvalidArgument


class Brand(IntEnum):
    """Mirrors ``nexafi.payment.v1.CardBrand``."""

    UNSPECIFIED = 0
    VISA = 1
    MASTERCARD = 2
    AMERICAN_EXPRESS = 3
    DISCOVER = 4
    DINERS_CLUB = 5
    JCB = 6
    UNIONPAY = 7
    OTHER = 8


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check of a digits-only string."""
    if not number.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _prefix_in(number: str, length: int, low: int, high: int) -> bool:
    return len(number) >= length and low <= int(number[:length]) <= high


def detect_brand(number: str) -> Brand:
    """The card network from the number's leading digits (IIN ranges as published by the networks)."""
    n = number
    if n.startswith(("34", "37")) and len(n) == 15:
        return Brand.AMERICAN_EXPRESS
    if _prefix_in(n, 2, 51, 55) or _prefix_in(n, 4, 2221, 2720):
        return Brand.MASTERCARD
    if n.startswith(("6011", "65")) or _prefix_in(n, 3, 644, 649) or _prefix_in(n, 6, 622126, 622925):
        return Brand.DISCOVER
    if n.startswith(("36", "38", "39")) or _prefix_in(n, 3, 300, 305):
        return Brand.DINERS_CLUB
    if _prefix_in(n, 4, 3528, 3589):
        return Brand.JCB
    if n.startswith("62"):
        return Brand.UNIONPAY
    if n.startswith("4"):
        return Brand.VISA
    return Brand.OTHER


def normalize_number(raw: str) -> str:
    """Digits only: spaces and dashes as typed by people are dropped."""
    return raw.replace(" ", "").replace("-", "")


def validate_card(number: str, exp_month: int, exp_year: int, cvc: str, today: date) -> Brand:
    """Check a card's number, expiry and CVC; the brand on success, INVALID_ARGUMENT otherwise.

    Messages name the field, never its value.
    """
    if not number.isdigit() or not 12 <= len(number) <= 19:
        raise InvalidArgument(
            "the card number must be 12 to 19 digits",
            field="card.number",
            description="must be 12 to 19 digits",
        )
    if not luhn_valid(number):
        raise InvalidArgument(
            "the card number is not valid",
            field="card.number",
            description="fails the Luhn check",
            reason="INVALID_CARD_NUMBER",
        )
    if not 1 <= exp_month <= 12:
        raise InvalidArgument(
            "the expiry month must be 1 to 12", field="card.exp_month", description="must be 1 to 12"
        )
    if not 2000 <= exp_year <= 2100:
        raise InvalidArgument(
            "the expiry year must have four digits",
            field="card.exp_year",
            description="must be a four-digit year",
        )
    if (exp_year, exp_month) < (today.year, today.month):
        raise InvalidArgument(
            "the card has expired",
            field="card.exp_year",
            description="the expiry must not be in the past",
            reason="EXPIRED_CARD",
        )
    brand = detect_brand(number)
    cvc_length = 4 if brand is Brand.AMERICAN_EXPRESS else 3
    if cvc and (not cvc.isdigit() or len(cvc) != cvc_length):
        raise InvalidArgument(
            f"the card verification code must be {cvc_length} digits",
            field="card.cvc",
            description=f"must be {cvc_length} digits",
        )
    return brand


def is_expired(exp_month: int, exp_year: int, today: date) -> bool:
    return (exp_year, exp_month) < (today.year, today.month)


def fingerprint(key: bytes, kind: str, value: str) -> str:
    """A keyed, irreversible hash of an instrument number: the same for the same instrument.

    HMAC-SHA256 with a server-side key, not a plain hash: the space of card numbers
    is small enough that an unkeyed hash could be brute-forced back to the number.
    """
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
