"""The password policy and the shipped common-password list."""

from __future__ import annotations

import pytest

from services.runtime.errors import FieldViolation
from services.user.domain.password_policy import base_word, check_password, common_passwords


def problems(password: str, username: str = "ada", email: str = "ada.lovelace@example.com") -> list[str]:
    found: list[FieldViolation] = []
    check_password(password, found, username=username, email=email)
    return [v.description for v in found]


def test_the_list_is_shipped_and_large() -> None:
    words = common_passwords()
    assert len(words) > 5000
    assert {"password", "123456", "qwerty", "iloveyou", "password1234"} <= words


@pytest.mark.parametrize(
    "password",
    [
        "Tr0ub4dor&3-xyzzy",
        "vivid-orbit-mango-lantern",
        "correct horse battery",
        "n8Vq#2pLw!9zKd",
    ],
)
def test_strong_passwords_pass(password: str) -> None:
    assert problems(password) == []


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 12"),
        ("x" * 257, "at most 256"),
        ("password1234", "too common"),
        ("Password1234!", "too common"),
        ("P@ssw0rd12345", "too common"),
        ("Summer2024!!!", "too common"),
        ("qwertyuiop123", "too common"),
        ("1qaz2wsx3edc", "too common"),
        ("abcabcabcabc", "too repetitive"),
        ("aaaaaaaaaaaa", "too repetitive"),
        ("121212121212", "too repetitive"),
        ("ada.lovelace@example.com", "username or the email"),
        ("my-ada.lovelace-secret", "username or the email"),
    ],
)
def test_weak_passwords_fail(password: str, fragment: str) -> None:
    found = problems(password)
    assert len(found) == 1 and fragment in found[0]


def test_the_username_is_refused_inside_a_password() -> None:
    assert problems("xx-lovelace-xx-9", username="lovelace") == ["must not contain the username or the email"]
    # A 3-character name only counts as the whole password, so passphrases stay usable.
    assert problems("bobcats-are-awesome", username="bob", email="b@example.com") == []


def test_descriptions_never_echo_the_password() -> None:
    for password in ("short", "password1234", "ada.lovelace@example.com"):
        assert all(password not in problem for problem in problems(password))


def test_base_word_strips_padding_and_leet() -> None:
    assert base_word("P@ssw0rd123!") == "password"
    assert base_word("!!Summer2024") == "summer"
