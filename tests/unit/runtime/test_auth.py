"""Token verification: the cache of verified tokens never outlives a token or a key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.runtime.auth import JwtVerifier
from services.runtime.clock import ShiftedClock, system_clock
from services.runtime.errors import Unauthenticated
from services.runtime.keys import Keyring
from tests.support.harness import TokenFactory, auth_settings_for


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    keyring = Keyring(tmp_path)
    keyring.ensure()
    return keyring


def test_a_cached_token_still_expires(ring: Keyring):
    clock = ShiftedClock(system_clock())
    verifier = JwtVerifier(auth_settings_for(ring.keys_dir), clock=clock)
    # Shorter than the cache period: the cached entry must end with the token, not after.
    token = TokenFactory(ring).make("usr_1", ttl_seconds=int(JwtVerifier.CACHE_SECONDS) // 2)
    assert verifier.verify(token).subject == verifier.verify(token).subject == "usr_1"
    clock.advance(timedelta(seconds=JwtVerifier.CACHE_SECONDS // 2 + 1))
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    assert caught.value.reason == "TOKEN_EXPIRED"


def test_the_cache_period_runs_on_the_clock(ring: Keyring, monkeypatch: pytest.MonkeyPatch):
    clock = ShiftedClock(system_clock())
    verifier = JwtVerifier(auth_settings_for(ring.keys_dir), clock=clock)
    token = TokenFactory(ring).make("usr_1")
    verifier.verify(token)
    calls = []
    original = verifier._verify_uncached

    def counting(value: str, now: float):
        calls.append(value)
        return original(value, now)

    monkeypatch.setattr(verifier, "_verify_uncached", counting)
    verifier.verify(token)
    assert calls == []
    clock.advance(JwtVerifier.CACHE_SECONDS + 1)
    verifier.verify(token)
    assert calls == [token]


def test_a_token_from_the_future_is_refused(ring: Keyring):
    clock = ShiftedClock(system_clock() - timedelta(hours=1))
    verifier = JwtVerifier(auth_settings_for(ring.keys_dir), clock=clock)
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(TokenFactory(ring).make("usr_1"))
    assert caught.value.reason == "TOKEN_INVALID"


def test_the_cache_does_not_outlive_its_period(ring: Keyring, monkeypatch: pytest.MonkeyPatch):
    verifier = JwtVerifier(auth_settings_for(ring.keys_dir))
    monkeypatch.setattr(JwtVerifier, "CACHE_SECONDS", 0.0)
    token = TokenFactory(ring).make("usr_1")
    calls = []
    original = verifier._verify_uncached

    def counting(value: str, now: float):
        calls.append(value)
        return original(value, now)

    monkeypatch.setattr(verifier, "_verify_uncached", counting)
    verifier.verify(token)
    verifier.verify(token)
    assert len(calls) == 2  # a zero period means every call checks the signature again


def test_a_cache_hit_skips_the_signature_check(ring: Keyring, monkeypatch: pytest.MonkeyPatch):
    verifier = JwtVerifier(auth_settings_for(ring.keys_dir))
    token = TokenFactory(ring).make("usr_1")
    verifier.verify(token)
    monkeypatch.setattr(verifier, "_verify_uncached", lambda value, now: pytest.fail("not cached"))
    assert verifier.verify(token).subject == "usr_1"


def test_forged_tokens_are_never_cached(ring: Keyring):
    verifier = JwtVerifier(auth_settings_for(ring.keys_dir))
    token = TokenFactory(ring).make("usr_1")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify(forged)
