"""Sessions: login with throttling, refresh-token rotation with reuse detection, logout.

Failures that must still be committed (a failed-login counter, a refresh family revoked
on reuse) are returned out of the transaction as an ``_Outcome`` and raised after the
commit, because raising inside would roll the write back.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.runtime import metrics
from services.runtime.errors import (
    DomainError,
    FieldViolation,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from services.user.access_log import AccessKind, Client
from services.user.access_log import record as record_access
from services.user.domain.lockout import FailureState, LockoutPolicy, register_failure
from services.user.domain.models import TokenPair, User, UserStatus
from services.user.domain.refresh import RefreshOutcome, decide
from services.user.domain.validation import normalize_login, raise_if
from services.user.passwords import PasswordHashing
from services.user.repository import UserRecord, UserRepository
from services.user.store import UserStore, keyed_digest
from services.user.token_repository import RefreshRecord
from services.user.tokens import MAX_OPAQUE_TOKEN_LENGTH, AccessTokenIssuer, new_opaque_token, token_digest

log = logging.getLogger("services.user.service")

# Refused logins by reason (INVALID_CREDENTIALS, LOGIN_THROTTLED, ACCOUNT_DEACTIVATED): a rise
# of INVALID_CREDENTIALS across many accounts is credential stuffing.
LOGIN_FAILURES = metrics.counter("nexafi_user_login_failures", "Logins refused, by reason.", ("reason",))


def _invalid_credentials() -> Unauthenticated:
    # One message for an unknown login and a wrong password: nothing to enumerate.
    return Unauthenticated("invalid login or password", "INVALID_CREDENTIALS")


def _throttled(wait: timedelta) -> ResourceExhausted:
    seconds = max(1, math.ceil(wait.total_seconds()))
    error = ResourceExhausted(
        f"too many failed logins; try again in {seconds} s, or reset the password",
        "LOGIN_THROTTLED",
        metadata={"retry_after_seconds": str(seconds)},
    )
    error.retry_delay_seconds = seconds
    return error


# The successor of a rotated refresh token is kept encrypted under a key only the
# rotated token's holder can derive (the token has 256 random bits, so one hash is a
# sound KDF); the database alone never yields a live refresh token.
def _seal_successor(token: str, token_id: str, successor: str) -> bytes:
    key = hashlib.sha256(b"nexafi-refresh-successor\0" + token.encode()).digest()
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, successor.encode(), token_id.encode())


def _unseal_successor(token: str, token_id: str, sealed: bytes | None) -> str | None:
    if not sealed or len(sealed) < 13:
        return None
    key = hashlib.sha256(b"nexafi-refresh-successor\0" + token.encode()).digest()
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], token_id.encode()).decode()
    except InvalidTag:
        return None


@dataclass(frozen=True)
class _Outcome:
    """A transaction's result: a value, or an error to raise once the transaction is committed."""

    error: DomainError | None = None
    pair: TokenPair | None = None
    user: User | None = None

    def unwrap_pair(self) -> TokenPair:
        if self.error is not None:
            raise self.error
        assert self.pair is not None
        return self.pair


class SessionService:
    def __init__(
        self,
        store: UserStore,
        hashing: PasswordHashing,
        access: AccessTokenIssuer,
        *,
        lockout: LockoutPolicy,
        refresh_ttl_seconds: int,
        refresh_grace_seconds: int,
    ) -> None:
        self.store = store
        self.hashing = hashing
        self.access = access
        self.lockout = lockout
        self.refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self.refresh_grace = timedelta(seconds=refresh_grace_seconds)

    # -- login -------------------------------------------------------------------------------

    def login(
        self, login: str, password: str, *, address: str = "", client: Client | None = None
    ) -> tuple[TokenPair, User]:
        """``address`` is the client's (for the per-address throttle; see domain/lockout.py);
        ``client`` what the access log records of it (access_log.py)."""
        key = normalize_login(login)
        violations: list[FieldViolation] = []
        if not key:
            violations.append(FieldViolation("login", "is required"))
        if not password:
            violations.append(FieldViolation("password", "is required"))
        raise_if(violations)
        policy = self.lockout
        login_digest = keyed_digest("login", key)
        address_digest = keyed_digest("address", address or "-")

        def work(repo: UserRepository, now: datetime) -> _Outcome:
            # Locks both buckets of this login: concurrent guesses queue up, so no burst
            # of parallel attempts can get past the counters.
            buckets = repo.throttle_buckets(login_digest, ["", address_digest])
            total = buckets.get("", FailureState()).current(policy, now)
            local = buckets.get(address_digest, FailureState()).current(policy, now)
            record = repo.find_by_login(key)
            # Looked up for unknown logins too (no such user), so both paths cost the same.
            known = repo.is_known_address(record.user.id if record else "", address_digest)
            waits = [
                state.blocked_until - now
                for state in (local,) + (() if known else (total,))
                if state.blocked_until is not None and state.is_blocked(now)
            ]
            if waits:
                # No password is checked while throttled, for any login, existing or not.
                return _Outcome(error=_throttled(max(waits)))
            if record is None or record.password_hash is None:
                self.hashing.verify_dummy(password)
                verified = False
            else:
                verified = self.hashing.verify(record.password_hash, password)
            if not verified:
                repo.save_bucket(
                    login_digest, "", register_failure(policy, total, now, free=policy.account_free_failures)
                )
                repo.save_bucket(
                    login_digest,
                    address_digest,
                    register_failure(policy, local, now, free=policy.free_failures),
                )
                repo.purge_quiet_buckets(now - policy.window - policy.max_delay)
                # An erased account (no password) gets no events: it has no client data to hold.
                if record is not None and record.password_hash is not None:
                    record_access(
                        repo,
                        record.user.id,
                        AccessKind.SIGN_IN_FAILED,
                        now,
                        client=client,
                        detail="INVALID_CREDENTIALS",
                    )
                return _Outcome(error=_invalid_credentials())
            assert record is not None and record.password_hash is not None
            user = record.user
            # Only after the password is proven: the status is nobody else's business.
            if user.status != UserStatus.ACTIVE:
                record_access(
                    repo, user.id, AccessKind.SIGN_IN_FAILED, now, client=client, detail="ACCOUNT_DEACTIVATED"
                )
                return _Outcome(error=PermissionDenied("the account is deactivated", "ACCOUNT_DEACTIVATED"))
            if total != FailureState():
                repo.save_bucket(login_digest, "", FailureState())
            if local != FailureState():
                repo.save_bucket(login_digest, address_digest, FailureState())
            repo.remember_address(user.id, address_digest, now)
            if self.hashing.needs_rehash(record.password_hash):
                repo.set_password_hash(user.id, self.hashing.hash(password), now)
                log.info("upgraded the password hash of user %s", user.id)
            family_id = repo.create_family(user.id, now)
            record_access(
                repo, user.id, AccessKind.SIGN_IN_SUCCEEDED, now, session_id=family_id, client=client
            )
            return _Outcome(pair=self._new_pair(repo, record, now, family_id=family_id), user=user)

        outcome = self.store.tx(work)
        if outcome.error is not None:
            LOGIN_FAILURES.labels(outcome.error.reason).inc()
        pair = outcome.unwrap_pair()
        assert outcome.user is not None
        return pair, outcome.user

    def _new_pair(
        self,
        repo: UserRepository,
        record: UserRecord,
        now: datetime,
        *,
        family_id: str | None = None,
        parent_id: str | None = None,
    ) -> TokenPair:
        user = record.user
        if family_id is None:
            family_id = repo.create_family(user.id, now)
        refresh = new_opaque_token()
        expires_at = now + self.refresh_ttl
        repo.insert_refresh_token(
            family_id=family_id,
            digest=token_digest(refresh),
            expires_at=expires_at,
            now=now,
            parent_id=parent_id,
        )
        access, ttl = self._access_token(record, family_id)
        return TokenPair(
            access_token=access, expires_in=ttl, refresh_token=refresh, refresh_expires_at=expires_at
        )

    def _access_token(self, record: UserRecord, family_id: str) -> tuple[str, int]:
        # sid and ver are what the verifiers' revocation cache checks (services/runtime/revocation.py).
        return self.access.issue(
            record.user.id, list(record.user.roles), extra={"sid": family_id, "ver": record.token_version}
        )

    # -- refresh -------------------------------------------------------------------------------

    def refresh(self, token: str, client: Client | None = None) -> TokenPair:
        if not token or len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            raise Unauthenticated("unknown refresh token", "REFRESH_TOKEN_INVALID")
        digest = token_digest(token)
        grace = self.refresh_grace

        def reused(repo: UserRepository, record: RefreshRecord, now: datetime) -> _Outcome:
            repo.revoke_family(record.family_id, "reuse", now)
            self.store.revoke_session(repo, record.user_id, record.family_id, now)
            repo.audit(record.user_id, "system", "refresh_token_reused", now, detail=record.family_id)
            log.warning(
                "refresh token reuse for user %s: family %s revoked", record.user_id, record.family_id
            )
            return _Outcome(
                error=Unauthenticated(
                    "the refresh token was already used; every session of this login is revoked",
                    "REFRESH_TOKEN_REUSED",
                )
            )

        def work(repo: UserRepository, now: datetime) -> _Outcome:
            # FOR UPDATE: concurrent presentations of one token queue up; the first
            # rotates, the others find it rotated and get its successor.
            record = repo.get_refresh_token(digest, for_update=True)
            if record is None:
                return _Outcome(error=Unauthenticated("unknown refresh token", "REFRESH_TOKEN_INVALID"))
            outcome = decide(
                now=now,
                expires_at=record.expires_at,
                rotated_at=record.rotated_at,
                family_revoked=record.family_revoked,
                grace=grace,
            )
            if outcome is RefreshOutcome.REVOKED:
                return _Outcome(
                    error=Unauthenticated(
                        "the refresh token was revoked; log in again", "REFRESH_TOKEN_REVOKED"
                    )
                )
            if outcome is RefreshOutcome.REUSED:
                return reused(repo, record, now)
            if outcome is RefreshOutcome.EXPIRED:
                return _Outcome(
                    error=Unauthenticated(
                        "the refresh token has expired; log in again", "REFRESH_TOKEN_EXPIRED"
                    )
                )
            user_record = repo.get(record.user_id)
            if user_record is None or user_record.user.status != UserStatus.ACTIVE:
                repo.revoke_family(record.family_id, "inactive", now)
                return _Outcome(
                    error=Unauthenticated(
                        "the refresh token was revoked; log in again", "REFRESH_TOKEN_REVOKED"
                    )
                )
            # Roles and token version come from the account, not the old token.
            if outcome is RefreshOutcome.GRACE_REISSUE:
                successor = _unseal_successor(token, record.id, record.successor_sealed)
                expires_at = repo.refresh_token_expiry(token_digest(successor)) if successor else None
                if successor is None or expires_at is None:
                    # Rotated before successors were kept: no way to answer idempotently.
                    return reused(repo, record, now)
                access, ttl = self._access_token(user_record, record.family_id)
                # An idempotent answer to a retried rotation: the rotation was logged once.
                return _Outcome(
                    pair=TokenPair(
                        access_token=access,
                        expires_in=ttl,
                        refresh_token=successor,
                        refresh_expires_at=expires_at,
                    )
                )
            pair = self._new_pair(repo, user_record, now, family_id=record.family_id, parent_id=record.id)
            repo.mark_rotated(record.id, now, _seal_successor(token, record.id, pair.refresh_token))
            record_access(
                repo,
                record.user_id,
                AccessKind.TOKEN_REFRESHED,
                now,
                session_id=record.family_id,
                client=client,
            )
            repo.forget_successors(record.family_id, now - grace)
            return _Outcome(pair=pair)

        outcome = self.store.tx(work)
        return outcome.unwrap_pair()

    # -- ending sessions -------------------------------------------------------------------------

    def logout(self, token: str, client: Client | None = None) -> None:
        """Revoke the token's family; unknown or already revoked tokens succeed too (RFC 7009)."""
        if not token or len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            return
        digest = token_digest(token)

        def work(repo: UserRepository, now: datetime) -> None:
            record = repo.get_refresh_token(digest, for_update=True)
            if record is not None and not record.family_revoked:
                repo.revoke_family(record.family_id, "logout", now)
                # The session's access tokens end with it, not at their expiry.
                self.store.revoke_session(repo, record.user_id, record.family_id, now)
                record_access(
                    repo,
                    record.user_id,
                    AccessKind.SIGNED_OUT,
                    now,
                    session_id=record.family_id,
                    client=client,
                )

        self.store.tx(work)

    def revoke_sessions(self, actor: str, user_id: str) -> int:
        """Log out everywhere: every refresh family and every access token issued so far."""

        def work(repo: UserRepository, now: datetime) -> int:
            self.store.locked_user(repo, user_id)
            revoked = repo.revoke_all_families(user_id, "logout_everywhere", now)
            self.store.revoke_access_tokens(repo, user_id, now)
            repo.audit(user_id, actor, "sessions_revoked", now, detail=f"sessions_revoked={revoked}")
            return revoked

        return self.store.tx(work)
