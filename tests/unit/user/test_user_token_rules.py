"""Lockout, refresh-token reuse decisions, opaque tokens, service clients and Argon2 parameters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.runtime.config import ConfigError
from services.user.domain.lockout import FailureState, LockoutPolicy, register_failure
from services.user.domain.refresh import RefreshOutcome, decide
from services.user.passwords import Argon2Params, PasswordHashing
from services.user.service_identity import ServiceClients
from services.user.tokens import new_opaque_token, token_digest

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
POLICY = LockoutPolicy(
    free_failures=5,
    account_free_failures=20,
    base_delay=timedelta(seconds=1),
    max_delay=timedelta(minutes=15),
    window=timedelta(minutes=15),
)


def test_failures_past_the_allowance_block_for_a_doubling_delay_never_a_fixed_lock() -> None:
    state = FailureState()
    for i in range(4):
        state = register_failure(POLICY, state, NOW + timedelta(seconds=i), free=5)
        assert state.blocked_until is None and state.failures == i + 1
    delays = []
    at = NOW
    for _ in range(4, 20):
        # Each guess as soon as the previous delay allows it.
        at = state.blocked_until or at + timedelta(seconds=1)
        state = register_failure(POLICY, state.current(POLICY, at), at, free=5)
        assert state.blocked_until is not None
        delays.append(state.blocked_until - at)
    assert delays[:4] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert max(delays) == POLICY.max_delay
    assert state.is_blocked(state.blocked_until - timedelta(seconds=1))
    assert not state.is_blocked(state.blocked_until)


def test_failures_are_forgotten_a_window_after_the_last_one() -> None:
    state = FailureState()
    for i in range(4):
        state = register_failure(POLICY, state, NOW + timedelta(seconds=i), free=5)
    state = register_failure(POLICY, state, NOW + timedelta(minutes=16), free=5)
    assert state.failures == 1 and state.blocked_until is None


GRACE = timedelta(seconds=10)
LATER = NOW + timedelta(days=1)


@pytest.mark.parametrize(
    ("kwargs", "outcome"),
    [
        ({"rotated_at": None, "family_revoked": False}, RefreshOutcome.ROTATE),
        ({"rotated_at": NOW - timedelta(seconds=3), "family_revoked": False}, RefreshOutcome.GRACE_REISSUE),
        ({"rotated_at": NOW - timedelta(seconds=11), "family_revoked": False}, RefreshOutcome.REUSED),
        ({"rotated_at": None, "family_revoked": True}, RefreshOutcome.REVOKED),
        ({"rotated_at": NOW - timedelta(seconds=3), "family_revoked": True}, RefreshOutcome.REVOKED),
    ],
)
def test_refresh_decisions(kwargs: dict, outcome: RefreshOutcome) -> None:
    assert decide(now=NOW, expires_at=LATER, grace=GRACE, **kwargs) is outcome


def test_expiry_and_reuse_of_expired_tokens() -> None:
    past = NOW - timedelta(seconds=1)
    assert (
        decide(now=NOW, expires_at=past, rotated_at=None, family_revoked=False, grace=GRACE)
        is RefreshOutcome.EXPIRED
    )
    # Rotated just before it expired and presented again by a second tab: still the grace.
    assert (
        decide(
            now=NOW, expires_at=past, rotated_at=NOW - timedelta(seconds=2), family_revoked=False, grace=GRACE
        )
        is RefreshOutcome.GRACE_REISSUE
    )
    assert (
        decide(
            now=NOW, expires_at=past, rotated_at=NOW - timedelta(minutes=1), family_revoked=False, grace=GRACE
        )
        is RefreshOutcome.REUSED
    )


def test_opaque_tokens_are_random_and_stored_as_sha256() -> None:
    first, second = new_opaque_token(), new_opaque_token()
    assert first != second and len(first) == 43
    assert token_digest(first) != first and len(token_digest(first)) == 64


def test_service_clients_from_spec_and_file(tmp_path: Path) -> None:
    clients = ServiceClients.parse("payment:payment-secret-0123456789, credit:credit-secret-0123456789")
    assert clients.verify("payment", "payment-secret-0123456789")
    assert not clients.verify("payment", "credit-secret-0123456789")
    assert not clients.verify("ledger", "payment-secret-0123456789")
    path = tmp_path / "clients.json"
    digest = __import__("hashlib").sha256(b"ai-secret-0123456789ab").hexdigest()
    path.write_text(json.dumps({"document": "document-secret-0123", "ai": {"sha256": digest}}))
    from_file = ServiceClients.load_file(path)
    assert from_file.verify("ai", "ai-secret-0123456789ab") and from_file.verify(
        "document", "document-secret-0123"
    )
    assert from_file.client_ids == {"ai", "document"}


@pytest.mark.parametrize("spec", ["payment", "payment:short", "Pay Ment:long-enough-secret-123"])
def test_bad_service_client_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        ServiceClients.parse(spec)


def test_hashes_with_old_parameters_need_a_rehash() -> None:
    old = PasswordHashing(Argon2Params(time_cost=1, memory_kib=1024, parallelism=1))
    new = PasswordHashing(Argon2Params(time_cost=2, memory_kib=1024, parallelism=1))
    stored = old.hash("vivid-orbit-mango-lantern")
    assert stored.startswith("$argon2id$")
    assert new.verify(stored, "vivid-orbit-mango-lantern") and not new.verify(stored, "wrong-password-here")
    assert new.needs_rehash(stored) and not old.needs_rehash(stored)
    assert not new.verify("not a hash", "anything")
