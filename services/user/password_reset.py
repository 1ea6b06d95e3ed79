"""Password reset by single-use, expiring token sent by mail.

The request answers the same, and as fast, for any well-formed email: the look-up, the
token and the mail run on a background worker, never on the request path.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.runtime.errors import FieldViolation, Unauthenticated
from services.user.domain.models import User, UserStatus
from services.user.domain.password_policy import check_password
from services.user.domain.validation import check_email, normalize_login, raise_if
from services.user.mail import BackgroundWorker, MailMessage, Outbox
from services.user.passwords import PasswordHashing
from services.user.repository import UserRepository
from services.user.store import UserStore, keyed_digest
from services.user.tokens import MAX_OPAQUE_TOKEN_LENGTH, new_opaque_token, token_digest

log = logging.getLogger("services.user.service")


class PasswordResetService:
    def __init__(
        self,
        store: UserStore,
        hashing: PasswordHashing,
        outbox: Outbox,
        *,
        ttl_seconds: int,
        min_interval_seconds: int,
        reset_url: str | None,
    ) -> None:
        self.store = store
        self.hashing = hashing
        self.outbox = outbox
        self.ttl = timedelta(seconds=ttl_seconds)
        self.min_interval = timedelta(seconds=min_interval_seconds)
        self.reset_url = reset_url
        self.mail_worker = BackgroundWorker("user-mail")

    def close(self) -> None:
        self.mail_worker.stop()

    def request(self, email: str) -> None:
        """Queue the reset; the answer is the same, and as fast, for any well-formed email."""
        violations: list[FieldViolation] = []
        normalized = check_email(email, violations)
        raise_if(violations)
        self.mail_worker.submit(lambda: self._send(normalized))

    def _send(self, email: str) -> None:
        token = new_opaque_token()

        def work(repo: UserRepository, now: datetime) -> User | None:
            record = repo.find_active_by_email(email)
            if record is None:
                return None
            last = repo.last_reset_created_at(record.user.id)
            if last is not None and now - last < self.min_interval:
                # One mail per interval: stops anyone from flooding a mailbox.
                return None
            repo.insert_reset_token(
                user_id=record.user.id, digest=token_digest(token), expires_at=now + self.ttl, now=now
            )
            repo.audit(record.user.id, "anonymous", "password_reset_requested", now)
            return record.user

        user = self.store.tx(work)
        if user is None:
            log.info("password reset requested: no mail sent (no active account, or sent recently)")
            return
        self.outbox.send(self._message(user, token))
        log.info("password reset mail sent to user %s", user.id)

    def _message(self, user: User, token: str) -> MailMessage:
        minutes = int(self.ttl.total_seconds()) // 60
        link = ""
        if self.reset_url:
            link = f"Or open this link:\n\n    {self.reset_url.replace('{token}', token)}\n\n"
        body = (
            f"Hello {user.username},\n\n"
            "someone asked to reset the password of your NexaFi account. If it was you, use this "
            f"token within {minutes} minutes; it works once.\n\n"
            f"Reset token: {token}\n\n{link}"
            "If it was not you, ignore this email: your password stays as it is.\n"
        )
        return MailMessage(to=user.email, subject="Reset your NexaFi password", body=body)

    def confirm(self, token: str, new_password: str) -> None:
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
            check_password(
                new_password,
                violations,
                username=record.user.username,
                email=record.user.email,
                field="new_password",
            )
            raise_if(violations)
            user_id = record.user.id
            repo.set_password_hash(user_id, self.hashing.hash(new_password), now)
            repo.use_all_reset_tokens(user_id, now)
            revoked = repo.revoke_all_families(user_id, "password_reset", now)
            self.store.revoke_access_tokens(repo, user_id, now)
            # Proving control of the mailbox also lifts the login throttle.
            repo.clear_buckets(
                [
                    keyed_digest("login", normalize_login(record.user.username)),
                    keyed_digest("login", normalize_login(record.user.email)),
                ]
            )
            repo.audit(user_id, user_id, "password_reset", now, detail=f"sessions_revoked={revoked}")

        self.store.tx(work)
