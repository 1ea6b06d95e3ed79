"""The audit trail of staff actions: one shape, one page format, one append-only rule.

Each service keeps its own trail in its own database (its status histories and change logs,
written in the transaction of the change they record) and the database itself refuses to
update or delete an entry (a trigger in the service's migrations), as the ledger does for its
entries. Admins
read a service's trail through its ``ListStaffActions`` RPC, newest first; the entries all
have the shape of ``nexafi.common.v1.StaffAction``.

A *staff action* is one taken by a person (a ``usr_`` id) on a resource that is not theirs:
the customer's own actions (cancelling their payment) are in the resource's history but not
here; services' and the system's steps are neither.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from nexafi.common.v1 import common_pb2
from sqlalchemy.orm import Session

from services.runtime import api

# Actors that are people: staff members are users too.
PERSON_ACTOR_PATTERN = "usr\\_%"


@dataclass(frozen=True)
class StaffAction:
    """One entry of a service's audit trail of staff actions."""

    id: str
    actor_id: str
    action: str
    resource_id: str
    user_id: str
    reason: str
    create_time: datetime
    details: dict[str, str] = field(default_factory=dict)


def page_parameters(actor_id: str | None, before: tuple[datetime, str] | None, limit: int) -> dict[str, Any]:
    """The bound parameters of every service's trail query: people only, optionally one actor,
    the entries after ``before`` (the previous page's last (time, id)), at most ``limit``."""
    return {
        "person": PERSON_ACTOR_PATTERN,
        "actor": actor_id,
        "before_at": before[0] if before else None,
        "before_id": before[1] if before else "",
        "limit": limit,
    }


# One page of a trail gathered from several tables: people only, optionally one actor, newest first.
_TRAIL_PAGE = """
WHERE (CAST(:actor AS text) IS NULL OR actor = :actor)
  AND (CAST(:before_at AS timestamptz) IS NULL OR (at, id) < (:before_at, :before_id))
ORDER BY at DESC, id DESC
LIMIT :limit
"""


def read_trail(
    session: Session,
    sources: str,
    actor_id: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
    details: Callable[[Any], dict[str, str]],
) -> list[StaffAction]:
    """Newest first; ``before`` is the (time, id) of the last entry of the previous page.

    ``sources`` is a ``UNION ALL`` of the service's rows (id, actor, action, resource_id, user_id,
    reason, at, and what ``details`` reads from a row), each part restricted to ``:person`` actors
    on resources that are not theirs."""
    sql = f"SELECT * FROM ({sources}) AS actions{_TRAIL_PAGE}"
    rows = session.execute(sa.text(sql), page_parameters(actor_id, before, limit)).all()
    return [
        StaffAction(
            id=row.id,
            actor_id=row.actor,
            action=row.action,
            resource_id=row.resource_id,
            user_id=row.user_id,
            reason=row.reason,
            create_time=row.at,
            details=details(row),
        )
        for row in rows
    ]


def enum_label(prefix: str, kind: type[Enum], value: int) -> str:
    """The contract's name of ``value`` (``PAYMENT_STATUS_SUCCEEDED``), or "" when ``kind`` has none."""
    return prefix + kind(value).name if value in kind._value2member_map_ else ""


def staff_action_pb(action: StaffAction) -> common_pb2.StaffAction:
    return common_pb2.StaffAction(
        id=action.id,
        actor_id=action.actor_id,
        action=action.action,
        resource_id=action.resource_id,
        user_id=action.user_id,
        details=action.details,
        reason=action.reason,
        create_time=api.to_timestamp(action.create_time),
    )


def page(
    fetch: Callable[[tuple[datetime, str] | None, int], Sequence[StaffAction]],
    *,
    page_token: str,
    page_size: int,
    actor_id: str,
) -> api.Page[StaffAction]:
    """One page of a trail, newest first (``api.paginate``): ``fetch(before, limit)`` returns up to
    ``limit`` actions older than (time, id) ``before`` (None: from the newest), of ``actor_id``
    when it is set; a token carries the (time, id) of the previous page's last action."""
    return api.paginate_by_time(
        fetch,
        page_token=page_token,
        query=api.query_key("staff_actions", actor_id),
        size=api.page_size(page_size),
        key=lambda action: action.id,
        parse_key=str,
    )


class _ListStaffActionsRequest(Protocol):
    @property
    def actor_id(self) -> str: ...
    @property
    def page_token(self) -> str: ...
    @property
    def page_size(self) -> int: ...


R = TypeVar("R")


def list_staff_actions(
    request: _ListStaffActionsRequest,
    response: Callable[..., R],
    fetch: Callable[[str | None, tuple[datetime, str] | None, int], Sequence[StaffAction]],
) -> R:
    """Every service's ``ListStaffActions`` after its authorization: ``fetch(actor_id, before,
    limit)`` is the service's trail query (``actor_id`` None: every staff member's); ``response``
    is the service's ``ListStaffActionsResponse``."""
    actor = request.actor_id or None
    found = page(
        lambda before, limit: fetch(actor, before, limit),
        page_token=request.page_token,
        page_size=request.page_size,
        actor_id=request.actor_id,
    )
    return response(
        staff_actions=[staff_action_pb(a) for a in found.items], next_page_token=found.next_page_token
    )
