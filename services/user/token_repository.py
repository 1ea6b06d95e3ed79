"""Queries of the user service's tokens: refresh-token families, the revocation feed, reset tokens.

Like :class:`services.user.repository.UserRepository` (which includes these), every method works in
the caller's session, so the service layer decides what one transaction covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.runtime.ids import new_id
from services.user.tables import families, refresh_tokens, reset_tokens, revocations


@dataclass(frozen=True)
class RefreshRecord:
    id: str
    family_id: str
    user_id: str
    expires_at: datetime
    rotated_at: datetime | None
    family_revoked: bool
    successor_sealed: bytes | None = None


@dataclass(frozen=True)
class ResetRecord:
    id: str
    user_id: str
    expires_at: datetime
    used_at: datetime | None


class TokenRepository:
    """The token queries of :class:`services.user.repository.UserRepository`."""

    session: Session

    # -- refresh tokens ----------------------------------------------------------

    def create_family(self, user_id: str, now: datetime) -> str:
        family_id = new_id("rtf")
        self.session.execute(families.insert().values(id=family_id, user_id=user_id, created_at=now))
        return family_id

    def insert_refresh_token(
        self,
        *,
        family_id: str,
        digest: str,
        expires_at: datetime,
        now: datetime,
        parent_id: str | None = None,
    ) -> str:
        token_id = new_id("rtk")
        self.session.execute(
            refresh_tokens.insert().values(
                id=token_id,
                family_id=family_id,
                token_hash=digest,
                parent_id=parent_id,
                created_at=now,
                expires_at=expires_at,
            )
        )
        return token_id

    def get_refresh_token(self, digest: str, *, for_update: bool = False) -> RefreshRecord | None:
        query = (
            sa.select(
                refresh_tokens.c.id,
                refresh_tokens.c.family_id,
                families.c.user_id,
                refresh_tokens.c.expires_at,
                refresh_tokens.c.rotated_at,
                families.c.revoked_at,
                refresh_tokens.c.successor_sealed,
            )
            .select_from(refresh_tokens.join(families, families.c.id == refresh_tokens.c.family_id))
            .where(refresh_tokens.c.token_hash == digest)
        )
        if for_update:
            # Both rows: concurrent refreshes of one token serialize on the token,
            # and a refresh cannot slip a new token into a family being revoked.
            query = query.with_for_update()
        row = self.session.execute(query).first()
        if row is None:
            return None
        return RefreshRecord(
            id=row.id,
            family_id=row.family_id,
            user_id=row.user_id,
            expires_at=row.expires_at,
            rotated_at=row.rotated_at,
            family_revoked=row.revoked_at is not None,
            successor_sealed=row.successor_sealed,
        )

    def refresh_token_expiry(self, digest: str) -> datetime | None:
        value = self.session.execute(
            sa.select(refresh_tokens.c.expires_at).where(refresh_tokens.c.token_hash == digest)
        ).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    def mark_rotated(self, token_id: str, now: datetime, successor_sealed: bytes) -> None:
        self.session.execute(
            refresh_tokens.update()
            .where(refresh_tokens.c.id == token_id)
            .values(rotated_at=now, successor_sealed=successor_sealed)
        )

    def forget_successors(self, family_id: str, rotated_before: datetime) -> None:
        """Drop sealed successors whose grace is over: no longer needed, so not kept."""
        self.session.execute(
            refresh_tokens.update()
            .where(
                refresh_tokens.c.family_id == family_id,
                refresh_tokens.c.rotated_at < rotated_before,
                refresh_tokens.c.successor_sealed.is_not(None),
            )
            .values(successor_sealed=None)
        )

    def live_family_ids(self, user_id: str) -> list[str]:
        return list(
            self.session.execute(
                sa.select(families.c.id).where(families.c.user_id == user_id, families.c.revoked_at.is_(None))
            ).scalars()
        )

    def revoke_family(self, family_id: str, reason: str, now: datetime) -> None:
        self.session.execute(
            families.update()
            .where(families.c.id == family_id, families.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )

    def revoke_all_families(self, user_id: str, reason: str, now: datetime) -> int:
        result = self.session.execute(
            families.update()
            .where(families.c.user_id == user_id, families.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    # -- revocation feed ---------------------------------------------------------

    def publish_revocation(
        self,
        *,
        user_id: str,
        now: datetime,
        expires_at: datetime,
        min_token_version: int = 0,
        session_id: str | None = None,
    ) -> None:
        # Held until commit: sequences are drawn and become visible in commit order, so a
        # feed reader resuming after the last sequence it saw cannot skip a late commit.
        self.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('user:revocations'))"))
        # Entries a day past their expiry matter to nobody: the table stays small.
        self.session.execute(revocations.delete().where(revocations.c.expires_at < now - timedelta(days=1)))
        self.session.execute(
            revocations.insert().values(
                user_id=user_id,
                min_token_version=min_token_version,
                session_id=session_id,
                created_at=now,
                expires_at=expires_at,
            )
        )

    def list_revocations(
        self, *, after_sequence: int, now: datetime, limit: int
    ) -> tuple[list[sa.Row[tuple[object, ...]]], int]:
        """Live revocations after ``after_sequence`` in order, and the feed's greatest sequence."""
        rows = list(
            self.session.execute(
                sa.select(revocations)
                .where(revocations.c.sequence > after_sequence, revocations.c.expires_at > now)
                .order_by(revocations.c.sequence)
                .limit(limit)
            )
        )
        last = self.session.execute(sa.select(sa.func.coalesce(sa.func.max(revocations.c.sequence), 0)))
        return rows, int(last.scalar_one())

    # -- password reset ----------------------------------------------------------

    def last_reset_created_at(self, user_id: str) -> datetime | None:
        value = self.session.execute(
            sa.select(sa.func.max(reset_tokens.c.created_at)).where(reset_tokens.c.user_id == user_id)
        ).scalar_one()
        return value if isinstance(value, datetime) else None

    def insert_reset_token(self, *, user_id: str, digest: str, expires_at: datetime, now: datetime) -> None:
        self.session.execute(
            reset_tokens.insert().values(
                id=new_id("prt"), user_id=user_id, token_hash=digest, created_at=now, expires_at=expires_at
            )
        )

    def get_reset_token(self, digest: str) -> ResetRecord | None:
        row = self.session.execute(
            sa.select(reset_tokens).where(reset_tokens.c.token_hash == digest).with_for_update()
        ).first()
        if row is None:
            return None
        return ResetRecord(id=row.id, user_id=row.user_id, expires_at=row.expires_at, used_at=row.used_at)

    def use_all_reset_tokens(self, user_id: str, now: datetime) -> None:
        """Mark every outstanding reset token of the user used: one reset ends them all."""
        self.session.execute(
            reset_tokens.update()
            .where(reset_tokens.c.user_id == user_id, reset_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )
