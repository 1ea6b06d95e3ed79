"""The password policy: length, not derived from the account's names, not common.

The common-password check looks at more than the literal entry: people meet a
length rule by padding a weak word (``Summer2024!``, ``P@ssw0rd123``), so the
candidate is also reduced to its base word (digits and symbols stripped at the
ends, common letter substitutions undone) and refused when that base is in the
list. Repetitions (``abcabcabcabc``) and passwords of very few distinct
characters are refused too.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from services.runtime.errors import FieldViolation

MIN_LENGTH = 12
# Argon2 accepts any length; the cap only stops multi-megabyte request bodies
# from being hashed.
MAX_LENGTH = 256
MIN_DISTINCT_CHARACTERS = 5
# A name shorter than this is only refused as the whole password, not as a part:
# refusing every password containing "bob" would reject good passphrases.
MIN_CONTAINED_NAME_LENGTH = 4

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

_LEET = str.maketrans(
    {"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s", "7": "t", "+": "t"}
)
_EDGE_NOISE = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list, lower-cased; loaded once."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def base_word(password: str) -> str:
    """The word under the padding: ``P@ssw0rd123!`` -> ``password``."""
    stripped = _EDGE_NOISE.sub("", password.lower())
    return stripped.translate(_LEET)


def _is_repetition(value: str) -> bool:
    # "abcabcabcabc" is a prefix repeated; the classic doubled-string test finds any period.
    return len(value) > 1 and value in (value + value)[1:-1]


def is_common(password: str) -> bool:
    lowered = password.lower()
    words = common_passwords()
    if lowered in words or lowered.translate(_LEET) in words:
        return True
    base = base_word(password)
    return bool(base) and base in words


def check_password(
    password: str,
    violations: list[FieldViolation],
    *,
    username: str = "",
    email: str = "",
    field: str = "password",
) -> None:
    """Append a violation for ``field`` when ``password`` fails the policy.

    The description never repeats the password, so the error is safe to log.
    """
    problem = _problem(password, username=username, email=email)
    if problem:
        violations.append(FieldViolation(field, problem))


def _problem(password: str, *, username: str, email: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    lowered = password.lower()
    local_part = email.rpartition("@")[0].lower()
    for name in (username.lower(), local_part, email.lower()):
        if not name:
            continue
        if lowered == name or (len(name) >= MIN_CONTAINED_NAME_LENGTH and name in lowered):
            return "must not contain the username or the email"
    if len(set(lowered)) < MIN_DISTINCT_CHARACTERS or _is_repetition(lowered):
        return "is too repetitive"
    if is_common(password):
        return "is too common; choose a longer passphrase of unrelated words"
    return None
