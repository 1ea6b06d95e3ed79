"""Username, email and profile rules."""

from __future__ import annotations

import pytest

from services.runtime.errors import FieldViolation, InvalidArgument
from services.user.domain.models import PROFILE_FIELDS
from services.user.domain.validation import (
    check_email,
    check_profile,
    check_profile_value,
    check_username,
    raise_if,
    resolve_update_mask,
)


def violations_of(check, value: str) -> tuple[str, list[FieldViolation]]:
    found: list[FieldViolation] = []
    return check(value, found), found


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Ada", "ada"),
        ("  ada.lovelace  ", "ada.lovelace"),
        ("a_b-c.9", "a_b-c.9"),
        ("abc", "abc"),
        ("x" * 32, "x" * 32),
    ],
)
def test_valid_usernames_are_lower_cased(raw: str, normalized: str) -> None:
    value, found = violations_of(check_username, raw)
    assert value == normalized and found == []


@pytest.mark.parametrize(
    "raw",
    ["ab", "x" * 33, "ada lovelace", "ada@home", "_ada", ".ada", "ädä", "erased_abc", "svc_payment", ""],
)
def test_invalid_usernames_are_refused(raw: str) -> None:
    _, found = violations_of(check_username, raw)
    assert [v.field for v in found] == ["username"]


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Ada@Example.COM", "Ada@example.com"),
        (" ada+fin@mail.example.org ", "ada+fin@mail.example.org"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("a@xn--bcher-kva.example", "a@xn--bcher-kva.example"),
        # An internationalized domain is stored in its ASCII (IDNA) form: every relay takes it.
        ("ada@Bücher.example", "ada@xn--bcher-kva.example"),
        ("first.last+tag@sub.domain.museum", "first.last+tag@sub.domain.museum"),
        ("x!#$%&*/=?^_`{|}~-@example.com", "x!#$%&*/=?^_`{|}~-@example.com"),
        ("ada@example.com\n", "ada@example.com"),
    ],
)
def test_valid_emails_have_their_domain_lower_cased(raw: str, normalized: str) -> None:
    value, found = violations_of(check_email, raw)
    assert found == [] and value == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada@exa_mple.com",
        "ada@-example.com",
        "a..b@example.com",
        ".a@example.com",
        "ada lovelace@example.com",
        "ädä@example.com",
        "a" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
        "ada@example.123",
        # Quoted local parts, domain literals and display names: legal in RFC 5322, refused here.
        '"ada lovelace"@example.com',
        "ada@[192.0.2.1]",
        "Ada <ada@example.com>",
        # Special-use and single-label domains can never receive mail.
        "ada@localhost",
        "ada@mail.test",
        "root@host.invalid",
        # A trailing dot, full-width letters, a zero-width space hidden in the domain.
        "ada@example.com.",
        "\uff41\uff44\uff41@example.com",
        "ada@exa\u200bmple.com",
        "ada@example.com, eve@example.com",
    ],
)
def test_malformed_emails_are_refused(raw: str) -> None:
    _, found = violations_of(check_email, raw)
    assert [v.field for v in found] == ["email"]


@pytest.mark.parametrize(
    ("path", "raw", "expected"),
    [
        ("phone_number", "+4915123456789", "+4915123456789"),
        ("phone_number", "+49 151 2345-6789", "+4915123456789"),
        # Real-world numbers as people write them, several numbering plans.
        ("phone_number", "+49 (0)30 901820", "+4930901820"),
        ("phone_number", "+1 (650) 253-0000", "+16502530000"),
        ("phone_number", "+44 20 7946 0958", "+442079460958"),
        ("phone_number", "+33 1 42 68 53 00", "+33142685300"),
        ("phone_number", "+81 3-1234-5678", "+81312345678"),
        ("phone_number", "+91 98765 43210", "+919876543210"),
        ("phone_number", "+55 11 91234-5678", "+5511912345678"),
        ("phone_number", "+61 2 9374 4000", "+61293744000"),
        ("phone_number", "+234 803 123 4567", "+2348031234567"),
        ("phone_number", "+41 44 668 18 00", "+41446681800"),
        ("address.country", "de", "DE"),
        ("first_name", "  Ada  ", "Ada"),
        ("first_name", "", None),
        ("last_name", "x" * 100, "x" * 100),
    ],
)
def test_profile_values_are_normalized(path: str, raw: str, expected: str | None) -> None:
    found: list[FieldViolation] = []
    assert check_profile_value(path, raw, found) == expected
    assert found == []


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("phone_number", "015123456789"),
        ("phone_number", "+0123456789"),
        ("phone_number", "+12345"),
        ("phone_number", "+1234567890123456"),
        # The right shape, but not a number of the plan: a US 555 exchange, Ofcom's drama range,
        # a German number too short for its area code, a country code nobody has.
        ("phone_number", "+1 555 0100"),
        ("phone_number", "+44 7700 900123"),
        ("phone_number", "+49 30 12"),
        ("phone_number", "+999 1234 5678"),
        ("phone_number", "+49 151 2345 6789 ext. x"),
        ("address.country", "XX"),
        ("address.country", "DEU"),
        ("first_name", "x" * 101),
        ("address.city", "Ber\x00lin"),
    ],
)
def test_invalid_profile_values_are_refused(path: str, raw: str) -> None:
    found: list[FieldViolation] = []
    check_profile_value(path, raw, found)
    assert [v.field for v in found] == [f"profile.{path}"]


def test_check_profile_covers_every_field() -> None:
    found: list[FieldViolation] = []
    values = check_profile({"first_name": "Ada"}, found)
    assert (
        set(values) == set(PROFILE_FIELDS) and values["first_name"] == "Ada" and values["last_name"] is None
    )


def test_update_mask_resolution() -> None:
    found: list[FieldViolation] = []
    assert resolve_update_mask([], found) == list(PROFILE_FIELDS)
    assert resolve_update_mask(["first_name", "profile.address.city"], found) == [
        "first_name",
        "address.city",
    ]
    assert resolve_update_mask(["address"], found) == [
        f"address.{n}" for n in ("line1", "line2", "city", "postal_code", "region", "country")
    ]
    assert found == []
    resolve_update_mask(["password_hash", "roles"], found)
    assert [v.field for v in found] == ["update_mask", "update_mask"]


def test_raise_if_carries_every_violation() -> None:
    with pytest.raises(InvalidArgument) as caught:
        raise_if([FieldViolation("a", "bad"), FieldViolation("b", "worse")])
    assert [v.field for v in caught.value.violations] == ["a", "b"]
    raise_if([])
