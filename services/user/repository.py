"""Queries of the user service (tables in tables.py); used only inside a unit of work.

Every method takes the caller's session, so the service layer decides what one
transaction covers (e.g. a password change and the revocation of all sessions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from services.runtime import audit
from services.runtime.audit import StaffAction
from services.runtime.auth import ROLE_ADMIN
from services.runtime.ids import new_id
from services.user.domain.lockout import FailureState
from services.user.domain.models import PROFILE_FIELDS, User, UserStatus
from services.user.tables import (
    audit_events,
    known_addresses,
    login_throttle,
    profile_column,
    profiles,
    users,
)
from services.user.token_repository import TokenRepository

# Constraint names, to tell which uniqueness rule an insert broke.
USERNAME_INDEX = "users_username_lower_key"
EMAIL_INDEX = "users_email_lower_key"


@dataclass(frozen=True)
class UserRecord:
    """A user as stored, with what the domain object leaves out."""

    user: User
    password_hash: str | None
    # The ``ver`` claim of the user's access tokens.
    token_version: int


def _user_query() -> sa.Select[tuple[object, ...]]:
    return sa.select(users, *(profiles.c[profile_column(p)] for p in PROFILE_FIELDS)).select_from(
        users.outerjoin(profiles, profiles.c.user_id == users.c.id)
    )


def _to_record(row: sa.Row[tuple[object, ...]]) -> UserRecord:
    m = row._mapping
    profile = {path: m[profile_column(path)] for path in PROFILE_FIELDS}
    user = User(
        id=m["id"],
        username=m["username"],
        email=m["email"],
        roles=tuple(sorted(m["roles"])),
        status=UserStatus(m["status"]),
        profile=profile,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )
    return UserRecord(user=user, password_hash=m["password_hash"], token_version=int(m["token_version"]))


class UserRepository(TokenRepository):
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- users -----------------------------------------------------------------

    def insert_user(
        self,
        *,
        username: str,
        email: str,
        password_hash: str,
        roles: Sequence[str],
        profile: Mapping[str, str | None],
        now: datetime,
    ) -> str:
        user_id = new_id("usr")
        self.session.execute(
            users.insert().values(
                id=user_id,
                username=username,
                email=email,
                password_hash=password_hash,
                roles=list(roles),
                status=UserStatus.ACTIVE.value,
                failed_login_count=0,
                created_at=now,
                updated_at=now,
            )
        )
        self.session.execute(
            profiles.insert().values(
                user_id=user_id, updated_at=now, **{profile_column(p): profile.get(p) for p in PROFILE_FIELDS}
            )
        )
        return user_id

    def get(self, user_id: str, *, for_update: bool = False) -> UserRecord | None:
        query = _user_query().where(users.c.id == user_id)
        if for_update:
            query = query.with_for_update(of=users)
        row = self.session.execute(query).first()
        return _to_record(row) if row else None

    def find_by_login(self, key: str, *, for_update: bool = False) -> UserRecord | None:
        """By lower-cased username or email (an '@' says which; usernames cannot hold one)."""
        column = users.c.email if "@" in key else users.c.username
        query = _user_query().where(sa.func.lower(column) == key)
        if for_update:
            query = query.with_for_update(of=users)
        row = self.session.execute(query).first()
        return _to_record(row) if row else None

    def find_active_by_email(self, email: str) -> UserRecord | None:
        row = self.session.execute(
            _user_query().where(
                sa.func.lower(users.c.email) == email.lower(), users.c.status == UserStatus.ACTIVE.value
            )
        ).first()
        return _to_record(row) if row else None

    def username_taken(self, username: str) -> bool:
        return (
            self.session.execute(
                sa.select(sa.literal(1)).where(sa.func.lower(users.c.username) == username.lower())
            ).first()
            is not None
        )

    def email_taken(self, email: str) -> bool:
        return (
            self.session.execute(
                sa.select(sa.literal(1)).where(sa.func.lower(users.c.email) == email.lower())
            ).first()
            is not None
        )

    def bump_token_version(self, user_id: str) -> int:
        """Invalidate every access token of the user issued so far; the new version."""
        return int(
            self.session.execute(
                users.update()
                .where(users.c.id == user_id)
                .values(token_version=users.c.token_version + 1)
                .returning(users.c.token_version)
            ).scalar_one()
        )

    def set_password_hash(self, user_id: str, password_hash: str, now: datetime) -> None:
        self.session.execute(
            users.update().where(users.c.id == user_id).values(password_hash=password_hash, updated_at=now)
        )

    def update_profile(self, user_id: str, values: Mapping[str, str | None], now: datetime) -> None:
        self.session.execute(
            profiles.update()
            .where(profiles.c.user_id == user_id)
            .values(updated_at=now, **{profile_column(path): value for path, value in values.items()})
        )
        self.session.execute(users.update().where(users.c.id == user_id).values(updated_at=now))

    def set_roles(self, user_id: str, roles: Sequence[str], now: datetime) -> None:
        self.session.execute(
            users.update().where(users.c.id == user_id).values(roles=sorted(set(roles)), updated_at=now)
        )

    def deactivate(self, user_id: str, now: datetime) -> None:
        self.session.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(status=UserStatus.DEACTIVATED.value, deactivated_at=now, updated_at=now)
        )

    def erase(self, user_id: str, now: datetime) -> None:
        """Anonymize: no name, no address, no password; the id stays for audit and ledger history."""
        suffix = user_id.removeprefix("usr_").lower()
        self.session.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(
                username=f"erased_{suffix}",
                email=f"erased+{user_id.lower()}@invalid",
                password_hash=None,
                status=UserStatus.ERASED.value,
                erased_at=now,
                updated_at=now,
                deactivated_at=sa.func.coalesce(users.c.deactivated_at, now),
            )
        )
        self.session.execute(
            profiles.update()
            .where(profiles.c.user_id == user_id)
            .values(updated_at=now, **{profile_column(p): None for p in PROFILE_FIELDS})
        )
        # Where the user logged in from is personal data as well.
        self.session.execute(known_addresses.delete().where(known_addresses.c.user_id == user_id))

    def lock_admin_changes(self) -> None:
        """Serialize changes that could remove the last admin (revoke, deactivate, erase)."""
        self.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('user:admins'))"))

    def other_active_admins(self, user_id: str) -> int:
        return int(
            self.session.execute(
                sa.select(sa.func.count())
                .select_from(users)
                .where(
                    users.c.roles.any(ROLE_ADMIN),
                    users.c.status == UserStatus.ACTIVE.value,
                    users.c.id != user_id,
                )
            ).scalar_one()
        )

    def list_users(self, *, before_id: str | None, status: UserStatus | None, limit: int) -> list[User]:
        # Ids are time-ordered, so "newest first" is id descending: a stable keyset.
        query = _user_query().order_by(users.c.id.desc()).limit(limit)
        if before_id:
            query = query.where(users.c.id < before_id)
        if status is not None:
            query = query.where(users.c.status == status.value)
        return [_to_record(row).user for row in self.session.execute(query)]

    # -- login throttling ----------------------------------------------------------

    def throttle_buckets(self, login_digest: str, address_digests: list[str]) -> dict[str, FailureState]:
        """The buckets of a login, locked (created when missing), by address digest ('' = all)."""
        for address in address_digests:
            self.session.execute(
                postgresql.insert(login_throttle)
                .values(login_digest=login_digest, address_digest=address, failures=0)
                .on_conflict_do_nothing()
            )
        rows = self.session.execute(
            sa.select(login_throttle)
            .where(
                login_throttle.c.login_digest == login_digest,
                login_throttle.c.address_digest.in_(address_digests),
            )
            .order_by(login_throttle.c.address_digest)
            .with_for_update()
        )
        return {
            row.address_digest: FailureState(
                failures=row.failures, last_failure_at=row.last_failure_at, blocked_until=row.blocked_until
            )
            for row in rows
        }

    def save_bucket(self, login_digest: str, address_digest: str, state: FailureState) -> None:
        values = {
            "failures": state.failures,
            "last_failure_at": state.last_failure_at,
            "blocked_until": state.blocked_until,
        }
        # An upsert: a purge may have removed a quiet row between its creation and now.
        self.session.execute(
            postgresql.insert(login_throttle)
            .values(login_digest=login_digest, address_digest=address_digest, **values)
            .on_conflict_do_update(
                index_elements=[login_throttle.c.login_digest, login_throttle.c.address_digest], set_=values
            )
        )

    def purge_quiet_buckets(self, before: datetime, limit: int = 100) -> None:
        """Delete some buckets quiet since ``before`` (made-up logins would otherwise pile up).

        SKIP LOCKED: never waits for, nor deadlocks with, a login holding its buckets."""
        last_activity = sa.func.coalesce(login_throttle.c.blocked_until, login_throttle.c.last_failure_at)
        quiet = (
            sa.select(login_throttle.c.login_digest, login_throttle.c.address_digest)
            .where(sa.or_(last_activity.is_(None), last_activity < before))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        self.session.execute(
            login_throttle.delete().where(
                sa.tuple_(login_throttle.c.login_digest, login_throttle.c.address_digest).in_(quiet)
            )
        )

    def clear_buckets(self, login_digests: list[str]) -> None:
        self.session.execute(login_throttle.delete().where(login_throttle.c.login_digest.in_(login_digests)))

    def is_known_address(self, user_id: str, address_digest: str) -> bool:
        return (
            self.session.execute(
                sa.select(sa.literal(1)).where(
                    known_addresses.c.user_id == user_id, known_addresses.c.address_digest == address_digest
                )
            ).first()
            is not None
        )

    def remember_address(self, user_id: str, address_digest: str, now: datetime) -> None:
        statement = postgresql.insert(known_addresses).values(
            user_id=user_id, address_digest=address_digest, last_success_at=now
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[known_addresses.c.user_id, known_addresses.c.address_digest],
                set_={"last_success_at": now},
            )
        )

    # -- idempotency -------------------------------------------------------------------

    def forget_idempotency_keys(self, table: str, user_id: str) -> None:
        """Delete the keys whose stored response is this user's account (personal data)."""
        self.session.execute(sa.text(f"DELETE FROM {table} WHERE resource_id = :id"), {"id": user_id})

    # -- audit ---------------------------------------------------------------------

    def audit(self, user_id: str, actor: str, action: str, now: datetime, detail: str | None = None) -> None:
        self.session.execute(
            audit_events.insert().values(
                user_id=user_id, actor=actor, action=action, detail=detail, created_at=now
            )
        )

    def staff_actions(
        self, actor_id: str | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[StaffAction]:
        """Events a person caused on another user's account, newest first (``before``: last page's end)."""
        rows = self.session.execute(
            sa.text("""
            SELECT 'aud_' || id AS key, actor, action, user_id, detail, created_at FROM audit_events
             WHERE actor LIKE :person AND actor <> user_id
               AND (CAST(:actor AS text) IS NULL OR actor = :actor)
               AND (CAST(:before_at AS timestamptz) IS NULL
                    OR (created_at, 'aud_' || id) < (:before_at, :before_id))
             ORDER BY created_at DESC, key DESC LIMIT :limit"""),
            audit.page_parameters(actor_id, before, limit),
        ).all()
        return [
            StaffAction(
                id=row.key,
                actor_id=row.actor,
                action=f"user.{row.action}",
                resource_id=row.user_id,
                user_id=row.user_id,
                reason="",
                create_time=row.created_at,
                details={"detail": row.detail} if row.detail else {},
            )
            for row in rows
        ]
