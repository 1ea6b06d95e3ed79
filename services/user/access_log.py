"""A user's access log: how their sessions were opened, used and ended, and who changed their access.

Two append-only tables feed it, so nothing is recorded twice:

- ``access_events`` (written here, by ``record``): the session traffic only this module logs,
  sign-ins (succeeded, or refused after the password was checked), refreshes and logouts,
  each with its session (refresh-token family) and, through the gateway, the client's address
  and user agent. Refusals while throttled are left out on purpose: they are not rate-limited,
  so logging each would let anyone grow a victim's log without bound (the login-failure metric
  counts them). Erasure sets address and user agent to NULL (``forget_clients``), the one
  change the table's trigger allows, as it forgets the user's known addresses.
- ``audit_events`` (written by the account, session and reset use cases): the access-relevant
  subset of the account trail, sessions revoked, a refresh token reused, password resets, role
  changes, deactivation and erasure, with the acting staff member.

Listing merges both newest first with one keyset, (time, sort key), signed into page tokens
bound to the user (``api.paginate``). Who may read is the servicer's check (owner or staff).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from services.runtime import api
from services.runtime.errors import InvalidArgument
from services.user.repository import UserRepository
from services.user.store import UserStore
from services.user.tables import access_events

MAX_USER_AGENT = 256
MAX_ADDRESS = 64


class AccessKind(StrEnum):
    """The kinds of the access log; the values are those of the proto's AccessEventKind names."""

    SIGN_IN_SUCCEEDED = "sign_in_succeeded"
    SIGN_IN_FAILED = "sign_in_failed"
    TOKEN_REFRESHED = "token_refreshed"  # noqa: S105 (an event name, no secret)
    SIGNED_OUT = "signed_out"
    REFRESH_TOKEN_REUSED = "refresh_token_reused"  # noqa: S105 (an event name, no secret)
    SESSIONS_REVOKED = "sessions_revoked"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 (an event name, no secret)
    PASSWORD_RESET = "password_reset"  # noqa: S105 (an event name, no secret)
    ROLE_GRANTED = "role_granted"
    ROLE_REVOKED = "role_revoked"
    DEACTIVATED = "deactivated"
    ERASED = "erased"


# The actions of audit_events that belong in the access log (they are named as the kinds are).
_AUDIT_KINDS = (
    AccessKind.REFRESH_TOKEN_REUSED,
    AccessKind.SESSIONS_REVOKED,
    AccessKind.PASSWORD_RESET_REQUESTED,
    AccessKind.PASSWORD_RESET,
    AccessKind.ROLE_GRANTED,
    AccessKind.ROLE_REVOKED,
    AccessKind.DEACTIVATED,
    AccessKind.ERASED,
)


@dataclass(frozen=True)
class Client:
    """Where a call came from, as the gateway told us; empty fields when it did not."""

    address: str = ""
    user_agent: str = ""

    def bounded(self) -> Client:
        # Client-supplied text: bounded so that a huge header cannot bloat the log.
        return Client(self.address.strip()[:MAX_ADDRESS], self.user_agent.strip()[:MAX_USER_AGENT])


@dataclass(frozen=True)
class AccessEvent:
    id: str
    sort_key: str
    kind: AccessKind
    create_time: datetime
    session_id: str
    client: Client
    actor_id: str
    detail: str


def record(
    repo: UserRepository,
    user_id: str,
    kind: AccessKind,
    now: datetime,
    *,
    session_id: str | None = None,
    client: Client | None = None,
    detail: str | None = None,
) -> None:
    """Append a session event, in the caller's transaction (it commits or rolls back with it)."""
    seen = (client or Client()).bounded()
    repo.session.execute(
        access_events.insert().values(
            user_id=user_id,
            kind=kind.value,
            session_id=session_id,
            detail=detail,
            client_address=seen.address or None,
            user_agent=seen.user_agent or None,
            created_at=now,
        )
    )


def forget_clients(repo: UserRepository, user_id: str) -> None:
    """Erasure: where the user came from is personal data; the events themselves stay."""
    repo.session.execute(
        access_events.update()
        .where(
            access_events.c.user_id == user_id,
            sa.or_(access_events.c.client_address.isnot(None), access_events.c.user_agent.isnot(None)),
        )
        .values(client_address=None, user_agent=None)
    )


# Sort keys pad the ids so that, at one instant, a later row sorts after an earlier one.
_MERGED = sa.text("""
    SELECT * FROM (
        SELECT 'acc_' || id AS id, 'acc_' || lpad(id::text, 20, '0') AS sort_key, kind, created_at,
               session_id, client_address, user_agent, NULL AS actor, detail
          FROM access_events WHERE user_id = :user_id
        UNION ALL
        SELECT 'aud_' || id, 'aud_' || lpad(id::text, 20, '0'), action, created_at,
               CASE WHEN action = 'refresh_token_reused' THEN detail END, NULL, NULL, actor,
               CASE WHEN action <> 'refresh_token_reused' THEN detail END
          FROM audit_events WHERE user_id = :user_id AND action = ANY(:audit_kinds)
    ) merged
     WHERE CAST(:before_at AS timestamptz) IS NULL OR (created_at, sort_key) < (:before_at, :before_key)
     ORDER BY created_at DESC, sort_key DESC LIMIT :limit""")


def _detail(kind: AccessKind, raw: str | None) -> str:
    text = raw or ""
    # The trail writes "sessions_revoked=N"; the log says N where the count is the point.
    if kind is AccessKind.SESSIONS_REVOKED:
        return text.removeprefix("sessions_revoked=")
    if kind in (AccessKind.PASSWORD_RESET, AccessKind.DEACTIVATED, AccessKind.ERASED):
        return ""
    return text


def _event(row: Any, user_id: str) -> AccessEvent:
    kind = AccessKind(row.kind)
    actor = row.actor or ""
    # Staff are people ("usr_…") other than the user; "system", "anonymous" and the user are not.
    staff = actor if actor.startswith("usr_") and actor != user_id else ""
    return AccessEvent(
        id=row.id,
        sort_key=row.sort_key,
        kind=kind,
        create_time=row.created_at,
        session_id=row.session_id or "",
        client=Client(row.client_address or "", row.user_agent or ""),
        actor_id=staff,
        detail=_detail(kind, row.detail),
    )


def _events(
    repo: UserRepository, user_id: str, before: tuple[datetime, str] | None, limit: int
) -> list[AccessEvent]:
    rows = repo.session.execute(
        _MERGED,
        {
            "user_id": user_id,
            "audit_kinds": [k.value for k in _AUDIT_KINDS],
            "limit": limit,
            "before_at": before[0] if before else None,
            "before_key": before[1] if before else "",
        },
    )
    return [_event(row, user_id) for row in rows]


def _event_key(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.startswith(("acc_", "aud_")):
        raise ValueError("not a position of the access log")
    return raw


def list_events(
    store: UserStore, user_id: str, *, page_size: int, page_token: str
) -> tuple[list[AccessEvent], str]:
    """One page of the user's log, newest first; NOT_FOUND for a user that never existed."""
    if not user_id:
        raise InvalidArgument("user_id is required", field="user_id", description="is required")
    size = api.page_size(page_size)
    store.read(user_id)  # Erased users keep their log; unknown ids are NOT_FOUND.
    page = api.paginate_by_time(
        lambda before, limit: store.query(lambda repo: _events(repo, user_id, before, limit)),
        page_token=page_token,
        query=api.query_key("access-events", user_id),
        size=size,
        key=lambda event: event.sort_key,
        parse_key=_event_key,
    )
    return page.items, page.next_page_token
