"""What every user use case shares: one transaction per call, reads, and revoking tokens.

Each use case is one transaction (``UserStore.tx``). Revoking a user's access tokens
bumps the token version and publishes an entry of the revocation feed in that same
transaction, so a committed deactivation or role change is never missing from the feed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.engine import Engine

from services.runtime.clock import Clock
from services.runtime.db import UnitOfWork, run_in_transaction
from services.runtime.errors import NotFound
from services.user.domain.models import User
from services.user.repository import UserRecord, UserRepository

T = TypeVar("T")


def keyed_digest(kind: str, value: str) -> str:
    """The throttle key of a login or an address: no clear login of an unknown account is stored."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def user_not_found(user_id: str) -> NotFound:
    return NotFound(f"user {user_id} not found", "USER_NOT_FOUND")


class UserStore:
    def __init__(self, engine: Engine, clock: Clock, revocation_horizon: timedelta) -> None:
        self.engine = engine
        self.clock = clock
        # How long a revocation matters: until every token it refuses has expired.
        self.revocation_horizon = revocation_horizon

    def tx(self, work: Callable[[UserRepository, datetime], T]) -> T:
        return run_in_transaction(self.engine, lambda session: work(UserRepository(session), self.clock()))

    def read(self, user_id: str) -> User:
        with UnitOfWork(self.engine)() as session:
            record = UserRepository(session).get(user_id)
        if record is None:
            raise user_not_found(user_id)
        return record.user

    def query(self, work: Callable[[UserRepository], T]) -> T:
        """A read outside any use case's transaction."""
        with UnitOfWork(self.engine)() as session:
            return work(UserRepository(session))

    @staticmethod
    def locked_user(repo: UserRepository, user_id: str) -> UserRecord:
        record = repo.get(user_id, for_update=True)
        if record is None:
            raise user_not_found(user_id)
        return record

    def revoke_access_tokens(self, repo: UserRepository, user_id: str, now: datetime) -> None:
        """Every access token of the user issued so far stops working within the revocation window."""
        version = repo.bump_token_version(user_id)
        repo.publish_revocation(
            user_id=user_id, min_token_version=version, now=now, expires_at=now + self.revocation_horizon
        )

    def revoke_session(self, repo: UserRepository, user_id: str, family_id: str, now: datetime) -> None:
        repo.publish_revocation(
            user_id=user_id, session_id=family_id, now=now, expires_at=now + self.revocation_horizon
        )
