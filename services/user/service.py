"""The user service layer: use cases over the domain rules, the repository and the keyring.

Each public method is one use case and one transaction (``run_in_transaction``).
Failures that must still be committed — a failed-login counter, a refresh
family revoked on reuse — are returned out of the transaction and raised after
the commit, because raising inside would roll the write back.

Authorization (owner, admin, ...) is the servicer's job; this layer gets the
acting subject only to record it in the audit trail.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from services.runtime import api, metrics
from services.runtime.audit import StaffAction
from services.runtime.auth import ALL_ROLES, ROLE_ADMIN, ROLE_CUSTOMER, ROLE_SERVICE
from services.runtime.clock import Clock, system_clock
from services.runtime.config import AuthSettings
from services.runtime.db import UnitOfWork, run_in_transaction
from services.runtime.errors import (
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from services.runtime.keys import Keyring
from services.user.config import UserConfig
from services.user.domain.lockout import FailureState, register_failure
from services.user.domain.models import GRANTABLE_ROLES, TokenPair, User, UserStatus
from services.user.domain.password_policy import check_password
from services.user.domain.refresh import RefreshOutcome, decide
from services.user.domain.validation import (
    check_email,
    check_profile,
    check_profile_value,
    check_username,
    normalize_login,
    raise_if,
    resolve_update_mask,
)
from services.user.mail import BackgroundWorker, MailMessage, Outbox
from services.user.passwords import PasswordHashing
from services.user.repository import (
    EMAIL_INDEX,
    REGISTER_REQUEST_KEY,
    USERNAME_INDEX,
    RefreshRecord,
    UserRecord,
    UserRepository,
)
from services.user.service_identity import ServiceClients
from services.user.tokens import MAX_OPAQUE_TOKEN_LENGTH, AccessTokenIssuer, new_opaque_token, token_digest

log = logging.getLogger(__name__)

# Refused logins by reason (INVALID_CREDENTIALS, LOGIN_THROTTLED, ACCOUNT_DEACTIVATED): a rise
# of INVALID_CREDENTIALS across many accounts is credential stuffing.
LOGIN_FAILURES = metrics.counter("nexafi_user_login_failures", "Logins refused, by reason.", ("reason",))

T = TypeVar("T")

MAX_REQUEST_ID_LENGTH = 128


def utcnow() -> datetime:
    return datetime.now(UTC)


def _invalid_credentials() -> Unauthenticated:
    # One message for an unknown login and a wrong password: nothing to enumerate.
    return Unauthenticated("invalid login or password", "INVALID_CREDENTIALS")


def _throttled(wait: timedelta) -> ResourceExhausted:
    seconds = max(1, math.ceil(wait.total_seconds()))
    error = ResourceExhausted(f"too many failed logins; try again in {seconds} s, or reset the password",
                              "LOGIN_THROTTLED", metadata={"retry_after_seconds": str(seconds)})
    error.retry_delay_seconds = seconds
    return error


def keyed_digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


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
class RevocationRecord:
    """One entry of the revocation feed."""

    sequence: int
    user_id: str
    min_token_version: int
    session_id: str
    expires_at: datetime


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


class UserService:
    def __init__(self, engine: Engine, keyring: Keyring, auth: AuthSettings, config: UserConfig,
                 clients: ServiceClients, outbox: Outbox, *, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.keyring = keyring
        self.config = config
        self.clients = clients
        self.outbox = outbox
        self.clock = clock
        self.hashing = PasswordHashing(config.argon2)
        self.access = AccessTokenIssuer(keyring, auth, config.access_ttl_seconds)
        # How long a revocation matters: until every token it refuses has expired
        # (lifetime, the verifiers' leeway, and a margin for clock skew).
        self.revocation_horizon = timedelta(seconds=config.access_ttl_seconds + auth.leeway_seconds + 60)
        self.mail_worker = BackgroundWorker("user-mail")

    def close(self) -> None:
        self.mail_worker.stop()

    def _tx(self, work: Callable[[UserRepository, datetime], T]) -> T:
        return run_in_transaction(self.engine, lambda session: work(UserRepository(session), self.clock()))

    def _read(self, user_id: str) -> User:
        with UnitOfWork(self.engine)() as session:
            record = UserRepository(session).get(user_id)
        if record is None:
            raise NotFound(f"user {user_id} not found", "USER_NOT_FOUND")
        return record.user

    # -- registration ----------------------------------------------------------------

    def register(self, *, username: str, email: str, password: str,
                 profile: Mapping[str, str] | None = None, request_id: str = "",
                 roles: Sequence[str] = (ROLE_CUSTOMER,), actor: str = "self") -> User:
        violations: list[FieldViolation] = []
        username = check_username(username, violations)
        email = check_email(email, violations)
        check_password(password, violations, username=username, email=email)
        profile_values = check_profile(profile or {}, violations)
        if len(request_id) > MAX_REQUEST_ID_LENGTH:
            violations.append(FieldViolation("request_id",
                                             f"must be at most {MAX_REQUEST_ID_LENGTH} characters"))
        raise_if(violations)
        fingerprint = hashlib.sha256(json.dumps([username, email.lower(), profile_values],
                                                sort_keys=True).encode()).hexdigest()
        if request_id:
            replayed = self._replay_register(request_id, fingerprint, password)
            if replayed is not None:
                return replayed
        with UnitOfWork(self.engine)() as session:
            # Checked before hashing for a clear, cheap answer; the unique indexes
            # still decide under concurrency (IntegrityError below).
            self._raise_if_taken(UserRepository(session), username, email)
        password_hash = self.hashing.hash(password)

        def work(repo: UserRepository, now: datetime) -> str:
            user_id = repo.insert_user(username=username, email=email, password_hash=password_hash,
                                       roles=roles, profile=profile_values, now=now)
            if request_id:
                repo.insert_register_request(request_id, user_id, fingerprint, now)
            repo.audit(user_id, user_id if actor == "self" else actor, "registered", now,
                       detail=",".join(sorted(roles)))
            return user_id

        try:
            user_id = self._tx(work)
        except IntegrityError as exc:
            constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
            if constraint == USERNAME_INDEX:
                raise AlreadyExists("the username is taken", "USERNAME_TAKEN") from None
            if constraint == EMAIL_INDEX:
                raise AlreadyExists("the email is already registered", "EMAIL_TAKEN") from None
            if constraint == REGISTER_REQUEST_KEY and request_id:
                replayed = self._replay_register(request_id, fingerprint, password)
                if replayed is not None:
                    return replayed
            raise
        log.info("registered user %s", user_id)
        return self._read(user_id)

    @staticmethod
    def _raise_if_taken(repo: UserRepository, username: str, email: str) -> None:
        if repo.username_taken(username):
            raise AlreadyExists("the username is taken", "USERNAME_TAKEN")
        if repo.email_taken(email):
            raise AlreadyExists("the email is already registered", "EMAIL_TAKEN")

    def _replay_register(self, request_id: str, fingerprint: str, password: str) -> User | None:
        with UnitOfWork(self.engine)() as session:
            repo = UserRepository(session)
            found = repo.get_register_request(request_id)
            if found is None:
                return None
            user_id, stored = found
            record = repo.get(user_id)
        # The password is not in the fingerprint (a digest of a password in the
        # database would be an offline-crackable copy); checking it against the
        # account's hash instead tells a true replay from a reused key.
        same = (stored == fingerprint and record is not None and record.password_hash is not None
                and self.hashing.verify(record.password_hash, password))
        if not same:
            raise AlreadyExists("request_id was already used with a different request",
                                "IDEMPOTENCY_KEY_REUSED")
        assert record is not None
        return record.user

    # -- login and tokens --------------------------------------------------------------

    def login(self, login: str, password: str, *, address: str = "") -> tuple[TokenPair, User]:
        """``address`` is the client's (for the per-address throttle); see domain/lockout.py."""
        key = normalize_login(login)
        violations: list[FieldViolation] = []
        if not key:
            violations.append(FieldViolation("login", "is required"))
        if not password:
            violations.append(FieldViolation("password", "is required"))
        raise_if(violations)
        policy = self.config.lockout
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
            waits = [state.blocked_until - now for state in (local,) + (() if known else (total,))
                     if state.blocked_until is not None and state.is_blocked(now)]
            if waits:
                # No password is checked while throttled, for any login, existing or not.
                return _Outcome(error=_throttled(max(waits)))
            if record is None or record.password_hash is None:
                self.hashing.verify_dummy(password)
                verified = False
            else:
                verified = self.hashing.verify(record.password_hash, password)
            if not verified:
                repo.save_bucket(login_digest, "", register_failure(
                    policy, total, now, free=policy.account_free_failures))
                repo.save_bucket(login_digest, address_digest, register_failure(
                    policy, local, now, free=policy.free_failures))
                repo.purge_quiet_buckets(now - policy.window - policy.max_delay)
                return _Outcome(error=_invalid_credentials())
            assert record is not None and record.password_hash is not None
            user = record.user
            # Only after the password is proven: the status is nobody else's business.
            if user.status != UserStatus.ACTIVE:
                return _Outcome(error=PermissionDenied("the account is deactivated", "ACCOUNT_DEACTIVATED"))
            if total != FailureState():
                repo.save_bucket(login_digest, "", FailureState())
            if local != FailureState():
                repo.save_bucket(login_digest, address_digest, FailureState())
            repo.remember_address(user.id, address_digest, now)
            if self.hashing.needs_rehash(record.password_hash):
                repo.set_password_hash(user.id, self.hashing.hash(password), now)
                log.info("upgraded the password hash of user %s", user.id)
            return _Outcome(pair=self._new_pair(repo, record, now), user=user)

        outcome = self._tx(work)
        if outcome.error is not None:
            LOGIN_FAILURES.labels(outcome.error.reason).inc()
        pair = outcome.unwrap_pair()
        assert outcome.user is not None
        return pair, outcome.user

    def _new_pair(self, repo: UserRepository, record: UserRecord, now: datetime, *,
                  family_id: str | None = None, parent_id: str | None = None) -> TokenPair:
        user = record.user
        if family_id is None:
            family_id = repo.create_family(user.id, now)
        refresh = new_opaque_token()
        expires_at = now + timedelta(seconds=self.config.refresh_ttl_seconds)
        repo.insert_refresh_token(family_id=family_id, digest=token_digest(refresh), expires_at=expires_at,
                                  now=now, parent_id=parent_id)
        access, ttl = self._access_token(record, family_id)
        return TokenPair(access_token=access, expires_in=ttl, refresh_token=refresh,
                         refresh_expires_at=expires_at)

    def _access_token(self, record: UserRecord, family_id: str) -> tuple[str, int]:
        # sid and ver are what the verifiers' revocation cache checks (services/runtime/revocation.py).
        return self.access.issue(record.user.id, list(record.user.roles),
                                 extra={"sid": family_id, "ver": record.token_version})

    def _revoke_access_tokens(self, repo: UserRepository, user_id: str, now: datetime) -> None:
        """Every access token of the user issued so far stops working within the revocation window."""
        version = repo.bump_token_version(user_id)
        repo.publish_revocation(user_id=user_id, min_token_version=version, now=now,
                                expires_at=now + self.revocation_horizon)

    def _revoke_session(self, repo: UserRepository, user_id: str, family_id: str, now: datetime) -> None:
        repo.publish_revocation(user_id=user_id, session_id=family_id, now=now,
                                expires_at=now + self.revocation_horizon)

    def refresh(self, token: str) -> TokenPair:
        if not token or len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            raise Unauthenticated("unknown refresh token", "REFRESH_TOKEN_INVALID")
        digest = token_digest(token)
        grace = timedelta(seconds=self.config.refresh_grace_seconds)

        def reused(repo: UserRepository, record: RefreshRecord, now: datetime) -> _Outcome:
            repo.revoke_family(record.family_id, "reuse", now)
            self._revoke_session(repo, record.user_id, record.family_id, now)
            repo.audit(record.user_id, "system", "refresh_token_reused", now, detail=record.family_id)
            log.warning("refresh token reuse for user %s: family %s revoked",
                        record.user_id, record.family_id)
            return _Outcome(error=Unauthenticated(
                "the refresh token was already used; every session of this login is revoked",
                "REFRESH_TOKEN_REUSED"))

        def work(repo: UserRepository, now: datetime) -> _Outcome:
            # FOR UPDATE: concurrent presentations of one token queue up; the first
            # rotates, the others find it rotated and get its successor.
            record = repo.get_refresh_token(digest, for_update=True)
            if record is None:
                return _Outcome(error=Unauthenticated("unknown refresh token", "REFRESH_TOKEN_INVALID"))
            outcome = decide(now=now, expires_at=record.expires_at, rotated_at=record.rotated_at,
                             family_revoked=record.family_revoked, grace=grace)
            if outcome is RefreshOutcome.REVOKED:
                return _Outcome(error=Unauthenticated("the refresh token was revoked; log in again",
                                                      "REFRESH_TOKEN_REVOKED"))
            if outcome is RefreshOutcome.REUSED:
                return reused(repo, record, now)
            if outcome is RefreshOutcome.EXPIRED:
                return _Outcome(error=Unauthenticated("the refresh token has expired; log in again",
                                                      "REFRESH_TOKEN_EXPIRED"))
            user_record = repo.get(record.user_id)
            if user_record is None or user_record.user.status != UserStatus.ACTIVE:
                repo.revoke_family(record.family_id, "inactive", now)
                return _Outcome(error=Unauthenticated("the refresh token was revoked; log in again",
                                                      "REFRESH_TOKEN_REVOKED"))
            # Roles and token version come from the account, not the old token.
            if outcome is RefreshOutcome.GRACE_REISSUE:
                successor = _unseal_successor(token, record.id, record.successor_sealed)
                expires_at = repo.refresh_token_expiry(token_digest(successor)) if successor else None
                if successor is None or expires_at is None:
                    # Rotated before successors were kept: no way to answer idempotently.
                    return reused(repo, record, now)
                access, ttl = self._access_token(user_record, record.family_id)
                return _Outcome(pair=TokenPair(access_token=access, expires_in=ttl, refresh_token=successor,
                                               refresh_expires_at=expires_at))
            pair = self._new_pair(repo, user_record, now, family_id=record.family_id, parent_id=record.id)
            repo.mark_rotated(record.id, now, _seal_successor(token, record.id, pair.refresh_token))
            repo.forget_successors(record.family_id, now - grace)
            return _Outcome(pair=pair)

        outcome = self._tx(work)
        return outcome.unwrap_pair()

    def logout(self, token: str) -> None:
        """Revoke the token's family; unknown or already revoked tokens succeed too (RFC 7009)."""
        if not token or len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            return
        digest = token_digest(token)

        def work(repo: UserRepository, now: datetime) -> None:
            record = repo.get_refresh_token(digest, for_update=True)
            if record is not None and not record.family_revoked:
                repo.revoke_family(record.family_id, "logout", now)
                # The session's access tokens end with it, not at their expiry.
                self._revoke_session(repo, record.user_id, record.family_id, now)

        self._tx(work)

    def revoke_sessions(self, actor: str, user_id: str) -> int:
        """Log out everywhere: every refresh family and every access token issued so far."""
        def work(repo: UserRepository, now: datetime) -> int:
            self._locked_user(repo, user_id)
            revoked = repo.revoke_all_families(user_id, "logout_everywhere", now)
            self._revoke_access_tokens(repo, user_id, now)
            repo.audit(user_id, actor, "sessions_revoked", now, detail=f"sessions_revoked={revoked}")
            return revoked

        return self._tx(work)

    def list_revocations(self, *, after_sequence: int, page_size: int) -> tuple[list[RevocationRecord], int]:
        """The feed: live revocations after ``after_sequence``, and the greatest sequence."""
        violations: list[FieldViolation] = []
        if after_sequence < 0:
            violations.append(FieldViolation("after_sequence", "must not be negative"))
        if page_size < 0:
            violations.append(FieldViolation("page_size", "must not be negative"))
        raise_if(violations)
        limit = min(page_size or 500, 1000)
        with UnitOfWork(self.engine)() as session:
            rows, last = UserRepository(session).list_revocations(after_sequence=after_sequence,
                                                                  now=self.clock(), limit=limit)
        return [RevocationRecord(sequence=r.sequence, user_id=r.user_id,
                                 min_token_version=r.min_token_version, session_id=r.session_id or "",
                                 expires_at=r.expires_at) for r in rows], last

    def issue_service_token(self, client_id: str, client_secret: str) -> tuple[str, int]:
        if not self.clients.verify(client_id, client_secret):
            raise Unauthenticated("unknown client or wrong secret", "INVALID_CLIENT_CREDENTIALS")
        log.info("issued a service token to %s", client_id)
        return self.access.issue(f"svc_{client_id}", [ROLE_SERVICE],
                                 ttl_seconds=self.config.service_token_ttl_seconds,
                                 extra={"client_id": client_id}, audience=self.access.auth.internal_audience)

    def jwks(self) -> list[dict[str, str]]:
        return self.keyring.jwks()["keys"]

    # -- password reset -----------------------------------------------------------------

    def request_password_reset(self, email: str) -> None:
        """Queue the reset; the answer is the same, and as fast, for any well-formed email."""
        violations: list[FieldViolation] = []
        normalized = check_email(email, violations)
        raise_if(violations)
        self.mail_worker.submit(lambda: self._send_reset(normalized))

    def _send_reset(self, email: str) -> None:
        token = new_opaque_token()
        min_interval = timedelta(seconds=self.config.reset_min_interval_seconds)

        def work(repo: UserRepository, now: datetime) -> User | None:
            record = repo.find_active_by_email(email)
            if record is None:
                return None
            last = repo.last_reset_created_at(record.user.id)
            if last is not None and now - last < min_interval:
                # One mail per interval: stops anyone from flooding a mailbox.
                return None
            expires_at = now + timedelta(seconds=self.config.reset_ttl_seconds)
            repo.insert_reset_token(user_id=record.user.id, digest=token_digest(token), expires_at=expires_at,
                                    now=now)
            repo.audit(record.user.id, "anonymous", "password_reset_requested", now)
            return record.user

        user = self._tx(work)
        if user is None:
            log.info("password reset requested: no mail sent (no active account, or sent recently)")
            return
        self.outbox.send(self._reset_message(user, token))
        log.info("password reset mail sent to user %s", user.id)

    def _reset_message(self, user: User, token: str) -> MailMessage:
        minutes = self.config.reset_ttl_seconds // 60
        link = ""
        if self.config.reset_url:
            link = f"Or open this link:\n\n    {self.config.reset_url.replace('{token}', token)}\n\n"
        body = (f"Hello {user.username},\n\n"
                "someone asked to reset the password of your NexaFi account. If it was you, use this "
                f"token within {minutes} minutes; it works once.\n\n"
                f"Reset token: {token}\n\n{link}"
                "If it was not you, ignore this email: your password stays as it is.\n")
        return MailMessage(to=user.email, subject="Reset your NexaFi password", body=body)

    def confirm_password_reset(self, token: str, new_password: str) -> None:
        invalid = Unauthenticated("the reset token is invalid, used or expired", "RESET_TOKEN_INVALID")
        if not token or len(token) > MAX_OPAQUE_TOKEN_LENGTH:
            raise invalid
        digest = token_digest(token)

        def work(repo: UserRepository, now: datetime) -> None:
            reset = repo.get_reset_token(digest)
            if reset is None or reset.used_at is not None or now >= reset.expires_at:
                raise invalid
            record = repo.get(reset.user_id, for_update=True)
            if record is None or record.user.status != UserStatus.ACTIVE:
                raise invalid
            violations: list[FieldViolation] = []
            # A policy failure leaves the token unused, so the user can try another password.
            check_password(new_password, violations, username=record.user.username, email=record.user.email,
                           field="new_password")
            raise_if(violations)
            user_id = record.user.id
            repo.set_password_hash(user_id, self.hashing.hash(new_password), now)
            repo.use_all_reset_tokens(user_id, now)
            revoked = repo.revoke_all_families(user_id, "password_reset", now)
            self._revoke_access_tokens(repo, user_id, now)
            # Proving control of the mailbox also lifts the login throttle.
            repo.clear_buckets([keyed_digest("login", normalize_login(record.user.username)),
                                keyed_digest("login", normalize_login(record.user.email))])
            repo.audit(user_id, user_id, "password_reset", now, detail=f"sessions_revoked={revoked}")

        self._tx(work)

    # -- users and profiles ---------------------------------------------------------------

    def get_user(self, user_id: str) -> User:
        return self._read(user_id)

    def update_profile(self, actor: str, user_id: str, values: Mapping[str, str],
                       paths: Sequence[str]) -> User:
        violations: list[FieldViolation] = []
        fields = resolve_update_mask(paths, violations)
        normalized = {path: check_profile_value(path, values.get(path, ""), violations) for path in fields}
        raise_if(violations)

        def work(repo: UserRepository, now: datetime) -> None:
            record = self._locked_user(repo, user_id)
            if record.user.status != UserStatus.ACTIVE:
                raise FailedPrecondition("the account is not active", "USER_NOT_ACTIVE")
            repo.update_profile(user_id, normalized, now)
            repo.audit(user_id, actor, "profile_updated", now, detail=",".join(fields))

        self._tx(work)
        return self._read(user_id)

    @staticmethod
    def _locked_user(repo: UserRepository, user_id: str) -> UserRecord:
        record = repo.get(user_id, for_update=True)
        if record is None:
            raise NotFound(f"user {user_id} not found", "USER_NOT_FOUND")
        return record

    @staticmethod
    def _refuse_last_admin(repo: UserRepository, record: UserRecord) -> None:
        user = record.user
        active_admin = user.has_role(ROLE_ADMIN) and user.status == UserStatus.ACTIVE
        if active_admin and repo.other_active_admins(user.id) == 0:
            raise FailedPrecondition("this is the last active admin; make another admin first", "LAST_ADMIN")

    def delete_user(self, actor: str, user_id: str, *, erase: bool) -> User:
        def work(repo: UserRepository, now: datetime) -> None:
            repo.lock_admin_changes()
            record = self._locked_user(repo, user_id)
            status = record.user.status
            if status == UserStatus.ERASED or (status == UserStatus.DEACTIVATED and not erase):
                return  # Already done: deleting is idempotent.
            self._refuse_last_admin(repo, record)
            revoked = repo.revoke_all_families(user_id, "erased" if erase else "deactivated", now)
            if status == UserStatus.ACTIVE:
                self._revoke_access_tokens(repo, user_id, now)
            repo.use_all_reset_tokens(user_id, now)
            if erase:
                repo.erase(user_id, now)
            else:
                repo.deactivate(user_id, now)
            repo.audit(user_id, actor, "erased" if erase else "deactivated", now,
                       detail=f"sessions_revoked={revoked}")

        self._tx(work)
        log.info("user %s %s by %s", user_id, "erased" if erase else "deactivated", actor)
        return self._read(user_id)

    def staff_actions(self, actor_id: str | None, before: tuple[datetime, str] | None,
                      limit: int) -> list[StaffAction]:
        with UnitOfWork(self.engine)() as session:
            return UserRepository(session).staff_actions(actor_id, before, limit)

    def list_users(self, *, page_size: int, page_token: str,
                   status: UserStatus | None) -> tuple[list[User], str]:
        # AIP-158: zero means the default, above the maximum is coerced to it.
        size = api.page_size(page_size)
        # A token from a listing with another filter would skip or repeat users.
        query = api.query_key("users", status.value if status else "")

        def fetch(before: str | None, limit: int) -> list[User]:
            with UnitOfWork(self.engine)() as session:
                return UserRepository(session).list_users(before_id=before, status=status, limit=limit)

        page = api.paginate(fetch, page_token=page_token, query=query, size=size,
                            position=lambda user: user.id, parse=api.as_str)
        return page.items, page.next_page_token

    def grant_role(self, actor: str, user_id: str, role: str) -> User:
        if role not in GRANTABLE_ROLES:
            reason = ("the service role belongs to service identities" if role == ROLE_SERVICE
                      else "unknown role")
            raise InvalidArgument(f"cannot grant this role: {reason}", field="role", description=reason,
                                  reason="ROLE_NOT_GRANTABLE")

        def work(repo: UserRepository, now: datetime) -> None:
            record = self._locked_user(repo, user_id)
            if record.user.status != UserStatus.ACTIVE:
                raise FailedPrecondition("the account is not active", "USER_NOT_ACTIVE")
            if record.user.has_role(role):
                return
            repo.set_roles(user_id, [*record.user.roles, role], now)
            # Tokens must carry the current roles: the old ones go, the next refresh has the new set.
            self._revoke_access_tokens(repo, user_id, now)
            repo.audit(user_id, actor, "role_granted", now, detail=role)

        self._tx(work)
        return self._read(user_id)

    def revoke_role(self, actor: str, user_id: str, role: str) -> User:
        if role not in ALL_ROLES:
            raise InvalidArgument("unknown role", field="role", description="must be a known role")

        def work(repo: UserRepository, now: datetime) -> None:
            if role == ROLE_ADMIN:
                repo.lock_admin_changes()
            record = self._locked_user(repo, user_id)
            if not record.user.has_role(role):
                return
            if role == ROLE_ADMIN:
                self._refuse_last_admin(repo, record)
            repo.set_roles(user_id, [r for r in record.user.roles if r != role], now)
            self._revoke_access_tokens(repo, user_id, now)
            repo.audit(user_id, actor, "role_revoked", now, detail=role)

        self._tx(work)
        return self._read(user_id)
