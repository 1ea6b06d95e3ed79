"""Syntactic rules for usernames, emails and profile fields, with normalization.

Each ``check_*`` returns the normalized value and appends a ``FieldViolation`` to
the list it is given instead of raising, so one request can report every bad
field at once; ``raise_if`` turns the collected violations into INVALID_ARGUMENT.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

import email_validator
import phonenumbers

from services.runtime.errors import FieldViolation, InvalidArgument
from services.user.domain.models import ADDRESS_FIELDS, PROFILE_FIELDS

USERNAME_RE = re.compile(r"^[a-z0-9._-]{3,32}$")
# Prefixes of machine-made names: erased accounts and service subjects.
RESERVED_USERNAME_PREFIXES = ("erased_", "svc_")
PHONE_HINT = "must be an international number with its country code, for example +4915123456789"
MAX_PROFILE_FIELD_LENGTH = 100

# ISO 3166-1 alpha-2, officially assigned codes.
_COUNTRY_CODES_TEXT = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES = frozenset(_COUNTRY_CODES_TEXT.split())


def raise_if(violations: list[FieldViolation], message: str = "the request has invalid fields") -> None:
    """INVALID_ARGUMENT with every collected violation, if there are any."""
    if violations:
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        raise InvalidArgument(f"{message}: {summary}", violations=violations)


def check_username(raw: str, violations: list[FieldViolation], field: str = "username") -> str:
    """The username in lower case; 3 to 32 of [a-z0-9._-], starting with a letter or digit."""
    value = raw.strip().lower()
    if not USERNAME_RE.match(value):
        violations.append(
            FieldViolation(field, "must be 3 to 32 characters: letters, digits, '.', '_' or '-'")
        )
    elif not value[0].isalnum():
        violations.append(FieldViolation(field, "must start with a letter or a digit"))
    elif value.startswith(RESERVED_USERNAME_PREFIXES):
        violations.append(FieldViolation(field, "uses a reserved prefix"))
    return value


def check_email(raw: str, violations: list[FieldViolation], field: str = "email") -> str:
    """The email normalized by ``email-validator``: the domain in lower case and in ASCII (IDNA),
    the local part keeping its case (as RFC 5321 allows).

    Syntax only: no DNS look-up at request time (a slow or failing resolver must not decide
    whether someone can register). Internationalized local parts (RFC 6531) are refused: many
    mail relays still reject them, and a reset email must arrive; an internationalized domain
    is stored in its ASCII form for the same reason. Quoted local parts, domain literals and
    special-use domains (``.test``, ``.invalid``, ...) are refused too, and so is a local part
    longer than RFC 5321's 64 characters (``strict``).

    Uniqueness is case-insensitive on the whole address (a database index on
    lower(email)), so ``Ada@x.io`` and ``ada@x.io`` are one account.
    """
    value = raw.strip()
    if not value:
        violations.append(FieldViolation(field, "is required"))
        return value
    try:
        checked = email_validator.validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            # strict: RFC 5321's 64-character local part too.
            strict=True,
        )
    except email_validator.EmailNotValidError as exc:
        violations.append(FieldViolation(field, str(exc)))
        return value
    return str(checked.ascii_email)


def check_phone_number(value: str, violations: list[FieldViolation], field: str) -> str:
    """The number in E.164 form when it is a valid number of its country's numbering plan.

    International form only (a leading '+'): a profile has no reliable country to read a
    national number against. Spaces, dashes, dots, brackets and a national trunk prefix in
    brackets ("+49 (0)30 ...") are accepted as people write them.
    """
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        violations.append(FieldViolation(field, PHONE_HINT))
        return value
    if not phonenumbers.is_valid_number(parsed):
        violations.append(
            FieldViolation(field, "is not a valid number of its country's numbering plan; " + PHONE_HINT)
        )
        return value
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def email_local_part(email: str) -> str:
    return email.rpartition("@")[0]


def normalize_login(raw: str) -> str:
    """The lookup key of a login (username or email): both are unique case-insensitively."""
    return raw.strip().lower()


def _clean_text(value: str) -> str:
    # NFC so that visually equal names compare equal; stripped because leading or
    # trailing spaces in a name are always input noise.
    return unicodedata.normalize("NFC", value).strip()


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in value)


def check_profile_value(
    path: str, raw: str, violations: list[FieldViolation], prefix: str = "profile"
) -> str | None:
    """One profile field normalized; None means unset (empty input clears it)."""
    field = f"{prefix}.{path}"
    value = _clean_text(raw)
    if not value:
        return None
    if len(value) > MAX_PROFILE_FIELD_LENGTH:
        violations.append(FieldViolation(field, f"must be at most {MAX_PROFILE_FIELD_LENGTH} characters"))
        return value
    if _has_control_characters(value):
        violations.append(FieldViolation(field, "must not contain control characters"))
        return value
    if path == "phone_number":
        return check_phone_number(value, violations, field)
    if path == "address.country":
        upper = value.upper()
        if upper not in COUNTRY_CODES:
            violations.append(FieldViolation(field, "must be an ISO 3166-1 alpha-2 code, for example DE"))
        return upper
    return value


def check_profile(
    values: Mapping[str, str], violations: list[FieldViolation], prefix: str = "profile"
) -> dict[str, str | None]:
    """Every field of ``values`` (PROFILE_FIELDS keys) normalized."""
    return {
        path: check_profile_value(path, values.get(path, ""), violations, prefix) for path in PROFILE_FIELDS
    }


def resolve_update_mask(paths: Iterable[str], violations: list[FieldViolation]) -> list[str]:
    """The PROFILE_FIELDS a field mask names; every field when the mask is empty.

    Paths are relative to Profile ("first_name", "address.city"); a leading
    "profile." is accepted too. "address" names every address field.
    """
    resolved: list[str] = []
    given = list(paths)
    if not given:
        return list(PROFILE_FIELDS)
    for raw in given:
        path = raw.strip().removeprefix("profile.")
        if path in PROFILE_FIELDS:
            names = [path]
        elif path == "address":
            names = [f"address.{name}" for name in ADDRESS_FIELDS]
        else:
            violations.append(FieldViolation("update_mask", f"cannot update {raw!r}"))
            continue
        resolved.extend(name for name in names if name not in resolved)
    return resolved
