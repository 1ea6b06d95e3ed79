"""Cards (Luhn, brands, expiry, CVC) and bank accounts (IBAN mod-97, ABA routing), never echoing numbers."""

from __future__ import annotations

from datetime import date

import pytest

from services.payment.domain import bank, cards
from services.payment.domain.cards import Brand
from services.runtime.errors import InvalidArgument

TODAY = date(2026, 6, 15)

BRANDS = [
    ("4242424242424242", Brand.VISA),
    ("4111111111111111", Brand.VISA),
    ("4000056655665556", Brand.VISA),
    ("5555555555554444", Brand.MASTERCARD),
    ("5105105105105100", Brand.MASTERCARD),
    ("2223003122003222", Brand.MASTERCARD),
    ("378282246310005", Brand.AMERICAN_EXPRESS),
    ("371449635398431", Brand.AMERICAN_EXPRESS),
    ("6011111111111117", Brand.DISCOVER),
    ("6011000990139424", Brand.DISCOVER),
    ("30569309025904", Brand.DINERS_CLUB),
    ("38520000023237", Brand.DINERS_CLUB),
    ("3530111333300000", Brand.JCB),
    ("3566002020360505", Brand.JCB),
    ("6200000000000005", Brand.UNIONPAY),
]


@pytest.mark.parametrize(("number", "brand"), BRANDS)
def test_luhn_and_brand_of_network_test_numbers(number: str, brand: Brand):
    assert cards.luhn_valid(number)
    assert cards.detect_brand(number) is brand
    assert (
        cards.validate_card(number, 12, 2030, "1234" if brand is Brand.AMERICAN_EXPRESS else "123", TODAY)
        is brand
    )


@pytest.mark.parametrize(
    "number", ["4242424242424241", "5555555555554440", "378282246310006", "79927398710", "1234567812345678"]
)
def test_luhn_refuses_a_wrong_check_digit(number: str):
    assert not cards.luhn_valid(number)


def test_luhn_known_values_and_non_digits():
    assert cards.luhn_valid("79927398713")
    assert cards.luhn_valid("0")
    assert not cards.luhn_valid("")
    assert not cards.luhn_valid("4242 4242 4242 4242")
    assert not cards.luhn_valid("42424242424242a2")


def test_unknown_prefix_is_other():
    assert cards.detect_brand("9999999999999995") is Brand.OTHER


def test_normalize_drops_separators_only():
    assert cards.normalize_number("4242 4242-4242 4242") == "4242424242424242"


def refused(number: str, month: int = 12, year: int = 2030, cvc: str = "123") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as error:
        cards.validate_card(number, month, year, cvc, TODAY)
    # Messages and metadata name the field, never the value.
    text = f"{error.value} {error.value.message} {error.value.metadata} {error.value.violations}"
    assert number not in text or len(number) < 6
    assert cvc not in text or not cvc
    return error.value


def test_card_validation_errors_name_the_field_not_the_number():
    assert refused("4242424242424241").reason == "INVALID_CARD_NUMBER"
    assert refused("42424242").violations[0].field == "card.number"  # too short
    assert refused("42424242424242424242").violations[0].field == "card.number"  # too long
    assert refused("4242a24242424242").violations[0].field == "card.number"
    assert refused("4242424242424242", month=13).violations[0].field == "card.exp_month"
    assert refused("4242424242424242", month=0).violations[0].field == "card.exp_month"
    assert refused("4242424242424242", year=30).violations[0].field == "card.exp_year"
    assert refused("4242424242424242", cvc="12").violations[0].field == "card.cvc"
    assert refused("4242424242424242", cvc="1234").violations[0].field == "card.cvc"
    assert refused("378282246310005", cvc="123").violations[0].field == "card.cvc"  # Amex: four digits
    assert refused("4242424242424242", cvc="12a").violations[0].field == "card.cvc"


def test_expiry_is_by_month_inclusive():
    assert cards.validate_card("4242424242424242", 6, 2026, "123", TODAY) is Brand.VISA  # this month
    assert refused("4242424242424242", month=5, year=2026).reason == "EXPIRED_CARD"
    assert refused("4242424242424242", month=12, year=2025).reason == "EXPIRED_CARD"
    assert not cards.is_expired(6, 2026, TODAY)
    assert cards.is_expired(5, 2026, TODAY)
    assert not cards.is_expired(1, 2027, TODAY)
    # An empty CVC is allowed (a saved card charged later has none).
    assert cards.validate_card("4242424242424242", 1, 2027, "", TODAY) is Brand.VISA


def test_fingerprint_is_keyed_stable_and_irreversible():
    a = cards.fingerprint(b"k" * 32, "card", "4242424242424242")
    assert a == cards.fingerprint(b"k" * 32, "card", "4242424242424242")
    assert a != cards.fingerprint(b"j" * 32, "card", "4242424242424242")
    assert a != cards.fingerprint(b"k" * 32, "iban", "4242424242424242")
    assert a != cards.fingerprint(b"k" * 32, "card", "4000000000000002")
    assert "4242" not in a and len(a) == 64


VALID_IBANS = [
    "DE89370400440532013000",
    "GB82WEST12345698765432",
    "FR1420041010050500013M02606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "CH9300762011623852957",
    "NO9386011117947",
    "MT84MALT011000012345MTLCAST001S",
    "SA0380000000608010167519",
    "PL61109010140000071219812874",
]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_valid_ibans_of_several_countries(iban: str):
    assert bank.iban_valid(iban)
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)).lower()
    assert bank.validate_iban(spaced) == iban


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013001",  # check sum broken by the last digit
        "DE88370400440532013000",  # wrong check digits
        "GB82WEST12345698765423",  # two digits swapped
        "FR1420041010050500013M0260",  # one character short
        "NL91ABNA04171643001",  # one character long
        "XX89370400440532013000",  # unknown country
        "US64SVBKUS6S3300958879",  # no IBAN country
        "DE8937040044053201300",
        "",
        "DE89-3704-0044-0532-0130-00",
    ],
)
def test_invalid_ibans(iban: str):
    assert not bank.iban_valid(bank.normalize_iban(iban))
    with pytest.raises(InvalidArgument) as error:
        bank.validate_iban(iban)
    assert error.value.reason == "INVALID_IBAN"
    assert iban not in error.value.message or not iban


def test_iban_mask_keeps_country_and_last_four():
    masked = bank.mask_iban("DE89370400440532013000")
    assert masked == "DE** **** **** **** **30 00"
    assert "370400440532" not in masked.replace(" ", "")
    assert bank.mask_account("12345678") == "****5678"


@pytest.mark.parametrize("routing", ["011000015", "021000021", "111000025", "026009593", "121000358"])
def test_valid_aba_routing_numbers(routing: str):
    assert bank.aba_valid(routing)
    bank.validate_domestic("123456789", routing, "US")


@pytest.mark.parametrize("routing", ["021000022", "02100002", "0210000211", "02100002a", "000000001"])
def test_invalid_aba_routing_numbers(routing: str):
    assert not bank.aba_valid(routing)
    with pytest.raises(InvalidArgument) as error:
        bank.validate_domestic("123456789", routing, "US")
    assert error.value.reason == "INVALID_ROUTING_NUMBER"


def test_domestic_account_rules():
    bank.validate_domestic("12345678", "123456", "GB")  # a UK sort code: no ABA check outside the US
    for number, routing, country, field in [
        ("123", "021000021", "US", "bank_account.domestic.account_number"),
        ("123456789012345678", "021000021", "US", "bank_account.domestic.account_number"),
        ("12345abc", "021000021", "US", "bank_account.domestic.account_number"),
        ("12345678", "021000021", "us", "bank_account.country_code"),
        ("12345678", "12", "GB", "bank_account.domestic.routing_number"),
    ]:
        with pytest.raises(InvalidArgument) as error:
            bank.validate_domestic(number, routing, country)
        assert error.value.violations[0].field == field
