"""The user service layer: its use cases, built once from the settings and shared by the servicer.

* ``accounts`` (accounts.py): registration, profiles, roles, deactivation and erasure;
* ``sessions`` (sessions.py): login, refresh-token rotation, logout, "log out everywhere";
* ``resets`` (password_reset.py): password reset by mailed single-use token;
* here: the revocation feed, service identities' tokens and the JWKS.

Each use case is one transaction (store.py) and returns domain objects; the servicer
renders them. Authorization (owner, admin, ...) is the servicer's job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from services.runtime.auth import ROLE_SERVICE
from services.runtime.clock import Clock, system_clock
from services.runtime.config import AuthSettings
from services.runtime.errors import FieldViolation, Unauthenticated
from services.runtime.idempotency import IdempotencyStore
from services.runtime.keys import Keyring
from services.user.accounts import AccountService
from services.user.domain.validation import raise_if
from services.user.mail import Outbox, outbox_for
from services.user.password_reset import PasswordResetService
from services.user.passwords import PasswordHashing
from services.user.sessions import SessionService
from services.user.settings import UserSettings
from services.user.store import UserStore, keyed_digest
from services.user.tokens import AccessTokenIssuer

__all__ = ["RevocationRecord", "UserService", "keyed_digest"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RevocationRecord:
    """One entry of the revocation feed."""

    sequence: int
    user_id: str
    min_token_version: int
    session_id: str
    expires_at: datetime


class UserService:
    def __init__(
        self,
        engine: Engine,
        keyring: Keyring,
        auth: AuthSettings,
        settings: UserSettings,
        *,
        clock: Clock = system_clock,
        outbox: Outbox | None = None,
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.settings = settings
        self.clock = clock
        self.idempotency = IdempotencyStore(engine, table="idempotency_keys")
        hashing = PasswordHashing(settings.argon2)
        self.access = AccessTokenIssuer(keyring, auth, settings.access_ttl_seconds)
        # A revocation matters until every token it refuses has expired (lifetime, the
        # verifiers' leeway, and a margin for clock skew).
        horizon = timedelta(seconds=settings.access_ttl_seconds + auth.leeway_seconds + 60)
        self.store = UserStore(engine, clock, horizon)
        self.accounts = AccountService(self.store, hashing, self.idempotency)
        self.sessions = SessionService(
            self.store,
            hashing,
            self.access,
            lockout=settings.lockout,
            refresh_ttl_seconds=settings.refresh_ttl_seconds,
            refresh_grace_seconds=settings.refresh_grace_seconds,
        )
        mail = settings.mail
        self.resets = PasswordResetService(
            self.store,
            hashing,
            outbox or outbox_for(mail.smtp, mail.directory, mail.sender),
            ttl_seconds=settings.reset_ttl_seconds,
            min_interval_seconds=settings.reset_min_interval_seconds,
            reset_url=settings.reset_url,
        )

    def close(self) -> None:
        self.resets.close()

    def list_revocations(self, *, after_sequence: int, page_size: int) -> tuple[list[RevocationRecord], int]:
        """The feed: live revocations after ``after_sequence``, and the greatest sequence."""
        violations: list[FieldViolation] = []
        if after_sequence < 0:
            violations.append(FieldViolation("after_sequence", "must not be negative"))
        if page_size < 0:
            violations.append(FieldViolation("page_size", "must not be negative"))
        raise_if(violations)
        limit = min(page_size or 500, 1000)
        rows, last = self.store.query(
            lambda repo: repo.list_revocations(after_sequence=after_sequence, now=self.clock(), limit=limit)
        )
        return [
            RevocationRecord(
                sequence=r.sequence,
                user_id=r.user_id,
                min_token_version=r.min_token_version,
                session_id=r.session_id or "",
                expires_at=r.expires_at,
            )
            for r in rows
        ], last

    def issue_service_token(self, client_id: str, client_secret: str) -> tuple[str, int]:
        if not self.settings.service_clients.verify(client_id, client_secret):
            raise Unauthenticated("unknown client or wrong secret", "INVALID_CLIENT_CREDENTIALS")
        log.info("issued a service token to %s", client_id)
        return self.access.issue(
            f"svc_{client_id}",
            [ROLE_SERVICE],
            ttl_seconds=self.settings.service_token_ttl_seconds,
            extra={"client_id": client_id},
            audience=self.access.auth.internal_audience,
        )

    def jwks(self) -> list[dict[str, str]]:
        return self.keyring.jwks()["keys"]
