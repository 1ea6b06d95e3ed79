"""Syntactic rules for usernames, emails and profile fields, with normalization.

Each ``check_*`` returns the normalized value and appends a ``FieldViolation`` to
the list it is given instead of raising, so one request can report every bad
field at once; ``raise_if`` turns the collected violations into INVALID_ARGUMENT.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from services.runtime.errors import FieldViolation, InvalidArgument
from services.user.domain.models import ADDRESS_FIELDS, PROFILE_FIELDS

USERNAME_RE = re.compile(r"^[a-z0-9._-]{3,32}$")
# Prefixes of machine-made names: erased accounts and service subjects.
RESERVED_USERNAME_PREFIXES = ("erased_", "svc_")
MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
# RFC 5322 dot-atom characters of a local part (quoted local parts are refused:
# legal but nearly unused, and a frequent source of injection tricks).
LOCAL_PART_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
DOMAIN_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TLD_RE = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
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
        violations.append(FieldViolation(
            field, "must be 3 to 32 characters: letters, digits, '.', '_' or '-'"))
    elif not value[0].isalnum():
        violations.append(FieldViolation(field, "must start with a letter or a digit"))
    elif value.startswith(RESERVED_USERNAME_PREFIXES):
        violations.append(FieldViolation(field, "uses a reserved prefix"))
    return value


def check_email(raw: str, violations: list[FieldViolation], field: str = "email") -> str:
    """The email with its domain in lower case (the local part keeps its case, as RFC 5321 allows).

    Uniqueness is case-insensitive on the whole address (a database index on
    lower(email)), so ``Ada@x.io`` and ``ada@x.io`` are one account.
    """
    value = raw.strip()
    local, at, domain = value.rpartition("@")
    domain = domain.lower().rstrip(".")
    problem = None
    if not value:
        problem = "is required"
    elif not at or not local or not domain:
        problem = "must be an address like name@example.com"
    elif len(value) > MAX_EMAIL_LENGTH or len(local) > MAX_LOCAL_PART_LENGTH:
        problem = "is too long"
    elif not value.isascii():
        # Internationalized addresses (RFC 6531) are not accepted yet: many mail
        # relays still reject them, and a reset email must arrive.
        problem = "must contain only ASCII characters"
    elif not LOCAL_PART_RE.match(local):
        problem = "has characters that are not allowed before the '@'"
    else:
        labels = domain.split(".")
        if len(labels) < 2 or not all(DOMAIN_LABEL_RE.match(label) for label in labels) \
                or not TLD_RE.match(labels[-1]):
            problem = "has an invalid domain"
    if problem:
        violations.append(FieldViolation(field, problem))
        return value
    return f"{local}@{domain}"


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


def check_profile_value(path: str, raw: str, violations: list[FieldViolation],
                        prefix: str = "profile") -> str | None:
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
        compact = re.sub(r"[ ()-]", "", value)
        if not E164_RE.match(compact):
            violations.append(FieldViolation(field, "must be in E.164 form, for example +4915123456789"))
        return compact
    if path == "address.country":
        upper = value.upper()
        if upper not in COUNTRY_CODES:
            violations.append(FieldViolation(field, "must be an ISO 3166-1 alpha-2 code, for example DE"))
        return upper
    return value


def check_profile(values: Mapping[str, str], violations: list[FieldViolation],
                  prefix: str = "profile") -> dict[str, str | None]:
    """Every field of ``values`` (PROFILE_FIELDS keys) normalized."""
    return {path: check_profile_value(path, values.get(path, ""), violations, prefix)
            for path in PROFILE_FIELDS}


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
