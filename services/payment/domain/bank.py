"""Bank account checks: IBAN mod-97 (ISO 13616), ABA routing check digit, masking."""

from __future__ import annotations

import re

from services.runtime.errors import InvalidArgument

# IBAN lengths per country (ISO 13616 registry); unknown countries are refused.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24,
    "AE": 23,
    "AT": 20,
    "BE": 16,
    "BG": 22,
    "CH": 21,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "EE": 20,
    "ES": 24,
    "FI": 18,
    "FR": 27,
    "GB": 22,
    "GI": 23,
    "GR": 27,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IS": 26,
    "IT": 27,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MT": 31,
    "NL": 18,
    "NO": 15,
    "PL": 28,
    "PT": 25,
    "RO": 24,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TR": 26,
}
_IBAN_RE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")


def normalize_iban(raw: str) -> str:
    return raw.replace(" ", "").upper()


def iban_valid(iban: str) -> bool:
    """The mod-97 check: move the first four characters to the end, letters to numbers, remainder 1."""
    if not _IBAN_RE.match(iban) or IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def validate_iban(raw: str) -> str:
    iban = normalize_iban(raw)
    if not iban_valid(iban):
        raise InvalidArgument(
            "the IBAN is not valid",
            field="bank_account.iban",
            description="must be a valid IBAN (country, length and mod-97 check sum)",
            reason="INVALID_IBAN",
        )
    return iban


def aba_valid(routing: str) -> bool:
    """The ABA routing number check digit: 3-7-1 weights, sum divisible by 10."""
    if len(routing) != 9 or not routing.isdigit():
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(routing, weights, strict=True)) % 10 == 0


def validate_domestic(account_number: str, routing_number: str, country: str) -> None:
    if not account_number.isdigit() or not 4 <= len(account_number) <= 17:
        raise InvalidArgument(
            "the account number must be 4 to 17 digits",
            field="bank_account.domestic.account_number",
            description="must be 4 to 17 digits",
        )
    if not _COUNTRY_RE.match(country):
        raise InvalidArgument(
            "a domestic account needs its country",
            field="bank_account.country_code",
            description="must be an ISO 3166-1 alpha-2 code, upper case",
        )
    if country == "US":
        if not aba_valid(routing_number):
            raise InvalidArgument(
                "the routing number is not a valid ABA number",
                field="bank_account.domestic.routing_number",
                description="must be 9 digits with a valid check digit",
                reason="INVALID_ROUTING_NUMBER",
            )
    elif not routing_number.isdigit() or not 4 <= len(routing_number) <= 11:
        raise InvalidArgument(
            "the routing number must be 4 to 11 digits",
            field="bank_account.domestic.routing_number",
            description="must be 4 to 11 digits",
        )


def mask_iban(iban: str) -> str:
    """Country code and last four kept, grouped by four: ``DE** **** **** **** **30 00``."""
    masked = iban[:2] + "*" * (len(iban) - 6) + iban[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def mask_account(number: str) -> str:
    return "*" * (len(number) - 4) + number[-4:]
