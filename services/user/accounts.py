"""Accounts: registration, profiles, roles, deactivation and erasure, listings.

Authorization (owner, admin, ...) is the servicer's job; these use cases get the acting
subject only to record it in the audit trail. Each returns the domain ``User``.

Registration is idempotent at the servicer's edge (services/runtime/idempotency.py): the
key is bound to the account it created in the transaction that creates it (``attach``), so
a retry after a crash finds that account instead of a taken username, and erasure forgets
the keys of the account with its personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from services.runtime import api
from services.runtime.audit import StaffAction
from services.runtime.auth import ALL_ROLES, ROLE_ADMIN, ROLE_CUSTOMER, ROLE_SERVICE
from services.runtime.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument
from services.runtime.idempotency import Claim, IdempotencyStore
from services.user import access_log
from services.user.domain.models import GRANTABLE_ROLES, User, UserStatus
from services.user.domain.password_policy import check_password
from services.user.domain.validation import (
    check_email,
    check_profile,
    check_profile_value,
    check_username,
    raise_if,
    resolve_update_mask,
)
from services.user.passwords import PasswordHashing
from services.user.repository import EMAIL_INDEX, USERNAME_INDEX, UserRecord, UserRepository
from services.user.store import UserStore

log = logging.getLogger("services.user.service")

MAX_REQUEST_ID_LENGTH = 128


@dataclass(frozen=True)
class Registration:
    """A registration request that passed validation, normalized."""

    username: str
    email: str
    password: str
    profile: dict[str, str | None]
    roles: tuple[str, ...] = (ROLE_CUSTOMER,)

    def fingerprint_body(self) -> dict[str, object]:
        # The password is left out: the key's row must not hold a digest of it. A replay proves
        # it against the account's hash instead (AccountService.confirm_replay).
        return {
            "username": self.username,
            "email": self.email.lower(),
            "profile": self.profile,
            "roles": sorted(self.roles),
        }


def check_registration(
    *,
    username: str,
    email: str,
    password: str,
    profile: Mapping[str, str] | None,
    roles: Sequence[str] = (ROLE_CUSTOMER,),
    request_id: str = "",
) -> Registration:
    """The normalized registration, or INVALID_ARGUMENT with every bad field (``request_id`` too)."""
    violations: list[FieldViolation] = []
    username = check_username(username, violations)
    email = check_email(email, violations)
    check_password(password, violations, username=username, email=email)
    profile_values = check_profile(profile or {}, violations)
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        violations.append(FieldViolation("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters"))
    raise_if(violations)
    return Registration(
        username=username, email=email, password=password, profile=profile_values, roles=tuple(roles)
    )


def _taken(constraint: str | None) -> AlreadyExists | None:
    if constraint == USERNAME_INDEX:
        return AlreadyExists("the username is taken", "USERNAME_TAKEN")
    if constraint == EMAIL_INDEX:
        return AlreadyExists("the email is already registered", "EMAIL_TAKEN")
    return None


class AccountService:
    def __init__(self, store: UserStore, hashing: PasswordHashing, idempotency: IdempotencyStore) -> None:
        self.store = store
        self.hashing = hashing
        self.idempotency = idempotency

    # -- registration ----------------------------------------------------------------

    def register(
        self, registration: Registration, *, claim: Claim | None = None, actor: str = "self"
    ) -> User:
        if claim is not None and claim.resource_id:
            # An earlier attempt with this key created the account and died before answering.
            return self.store.read(claim.resource_id)
        r = registration
        # Checked before hashing for a clear, cheap answer; the unique indexes
        # still decide under concurrency (IntegrityError below).
        self.store.query(lambda repo: self._raise_if_taken(repo, r.username, r.email))
        password_hash = self.hashing.hash(r.password)

        def work(repo: UserRepository, now: datetime) -> str:
            user_id = repo.insert_user(
                username=r.username,
                email=r.email,
                password_hash=password_hash,
                roles=r.roles,
                profile=r.profile,
                now=now,
            )
            if claim is not None:
                self.idempotency.attach(repo.session, claim, user_id)
            repo.audit(
                user_id,
                user_id if actor == "self" else actor,
                "registered",
                now,
                detail=",".join(sorted(r.roles)),
            )
            return user_id

        try:
            user_id = self.store.tx(work)
        except IntegrityError as exc:
            taken = _taken(getattr(getattr(exc.orig, "diag", None), "constraint_name", None))
            if taken is not None:
                raise taken from None
            raise
        log.info("registered user %s", user_id)
        return self.store.read(user_id)

    def confirm_replay(self, user_id: str, password: str) -> None:
        """A replayed registration must come with the account's password: else the key was reused.

        The password is not in the key's fingerprint (a digest of a password in the database
        would be an offline-crackable copy); checking it against the account's hash tells a
        true replay from a reused key."""
        record: UserRecord | None = self.store.query(lambda repo: repo.get(user_id))
        same = (
            record is not None
            and record.password_hash is not None
            and self.hashing.verify(record.password_hash, password)
        )
        if not same:
            raise AlreadyExists(
                "request_id was already used with a different request", "IDEMPOTENCY_KEY_REUSED"
            )

    @staticmethod
    def _raise_if_taken(repo: UserRepository, username: str, email: str) -> None:
        if repo.username_taken(username):
            raise AlreadyExists("the username is taken", "USERNAME_TAKEN")
        if repo.email_taken(email):
            raise AlreadyExists("the email is already registered", "EMAIL_TAKEN")

    # -- users and profiles ---------------------------------------------------------------

    def get_user(self, user_id: str) -> User:
        return self.store.read(user_id)

    def update_profile(
        self, actor: str, user_id: str, values: Mapping[str, str], paths: Sequence[str]
    ) -> User:
        violations: list[FieldViolation] = []
        fields = resolve_update_mask(paths, violations)
        normalized = {path: check_profile_value(path, values.get(path, ""), violations) for path in fields}
        raise_if(violations)

        def work(repo: UserRepository, now: datetime) -> None:
            record = self.store.locked_user(repo, user_id)
            if record.user.status != UserStatus.ACTIVE:
                raise FailedPrecondition("the account is not active", "USER_NOT_ACTIVE")
            repo.update_profile(user_id, normalized, now)
            repo.audit(user_id, actor, "profile_updated", now, detail=",".join(fields))

        self.store.tx(work)
        return self.store.read(user_id)

    @staticmethod
    def _refuse_last_admin(repo: UserRepository, record: UserRecord) -> None:
        user = record.user
        active_admin = user.has_role(ROLE_ADMIN) and user.status == UserStatus.ACTIVE
        if active_admin and repo.other_active_admins(user.id) == 0:
            raise FailedPrecondition("this is the last active admin; make another admin first", "LAST_ADMIN")

    def delete_user(self, actor: str, user_id: str, *, erase: bool) -> User:
        def work(repo: UserRepository, now: datetime) -> None:
            repo.lock_admin_changes()
            record = self.store.locked_user(repo, user_id)
            status = record.user.status
            if status == UserStatus.ERASED or (status == UserStatus.DEACTIVATED and not erase):
                return  # Already done: deleting is idempotent.
            self._refuse_last_admin(repo, record)
            revoked = repo.revoke_all_families(user_id, "erased" if erase else "deactivated", now)
            if status == UserStatus.ACTIVE:
                self.store.revoke_access_tokens(repo, user_id, now)
            repo.use_all_reset_tokens(user_id, now)
            if erase:
                repo.erase(user_id, now)
                access_log.forget_clients(repo, user_id)
                # The stored registration response holds the name, the email and the profile.
                repo.forget_idempotency_keys(self.idempotency.table, user_id)
            else:
                repo.deactivate(user_id, now)
            repo.audit(
                user_id,
                actor,
                "erased" if erase else "deactivated",
                now,
                detail=f"sessions_revoked={revoked}",
            )

        self.store.tx(work)
        log.info("user %s %s by %s", user_id, "erased" if erase else "deactivated", actor)
        return self.store.read(user_id)

    def staff_actions(
        self, actor_id: str | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[StaffAction]:
        return self.store.query(lambda repo: repo.staff_actions(actor_id, before, limit))

    def list_users(
        self, *, page_size: int, page_token: str, status: UserStatus | None
    ) -> tuple[list[User], str]:
        # AIP-158: zero means the default, above the maximum is coerced to it.
        size = api.page_size(page_size)
        # A token from a listing with another filter would skip or repeat users.
        query = api.query_key("users", status.value if status else "")

        def fetch(before: str | None, limit: int) -> list[User]:
            return self.store.query(
                lambda repo: repo.list_users(before_id=before, status=status, limit=limit)
            )

        page = api.paginate(
            fetch,
            page_token=page_token,
            query=query,
            size=size,
            position=lambda user: user.id,
            parse=api.as_str,
        )
        return page.items, page.next_page_token

    # -- roles ---------------------------------------------------------------------------------

    def grant_role(self, actor: str, user_id: str, role: str) -> User:
        if role not in GRANTABLE_ROLES:
            reason = (
                "the service role belongs to service identities" if role == ROLE_SERVICE else "unknown role"
            )
            raise InvalidArgument(
                f"cannot grant this role: {reason}",
                field="role",
                description=reason,
                reason="ROLE_NOT_GRANTABLE",
            )

        def work(repo: UserRepository, now: datetime) -> None:
            record = self.store.locked_user(repo, user_id)
            if record.user.status != UserStatus.ACTIVE:
                raise FailedPrecondition("the account is not active", "USER_NOT_ACTIVE")
            if record.user.has_role(role):
                return
            repo.set_roles(user_id, [*record.user.roles, role], now)
            # Tokens must carry the current roles: the old ones go, the next refresh has the new set.
            self.store.revoke_access_tokens(repo, user_id, now)
            repo.audit(user_id, actor, "role_granted", now, detail=role)

        self.store.tx(work)
        return self.store.read(user_id)

    def revoke_role(self, actor: str, user_id: str, role: str) -> User:
        if role not in ALL_ROLES:
            raise InvalidArgument("unknown role", field="role", description="must be a known role")

        def work(repo: UserRepository, now: datetime) -> None:
            if role == ROLE_ADMIN:
                repo.lock_admin_changes()
            record = self.store.locked_user(repo, user_id)
            if not record.user.has_role(role):
                return
            if role == ROLE_ADMIN:
                self._refuse_last_admin(repo, record)
            repo.set_roles(user_id, [r for r in record.user.roles if r != role], now)
            self.store.revoke_access_tokens(repo, user_id, now)
            repo.audit(user_id, actor, "role_revoked", now, detail=role)

        self.store.tx(work)
        return self.store.read(user_id)
