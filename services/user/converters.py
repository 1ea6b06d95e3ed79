"""Protobuf <-> domain for the user service: ``thing_pb(domain)`` renders, ``thing_from_pb(message)``
reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.user.v1 import user_pb2

from services.runtime import api
from services.runtime.errors import InvalidArgument
from services.user import access_log
from services.user.domain.models import ADDRESS_FIELDS, TokenPair, User, UserStatus
from services.user.service import RevocationRecord

STATUS_PB = {
    UserStatus.ACTIVE: user_pb2.USER_STATUS_ACTIVE,
    UserStatus.DEACTIVATED: user_pb2.USER_STATUS_DEACTIVATED,
    UserStatus.ERASED: user_pb2.USER_STATUS_ERASED,
}
STATUS_FROM_PB = {value: key for key, value in STATUS_PB.items()}


def role_pb(role: str) -> str | None:
    """ "customer" -> "ROLE_CUSTOMER" (protobuf takes enum names); None for a role the contract lacks."""
    name = "ROLE_" + role.upper()
    return name if name in user_pb2.Role.DESCRIPTOR.values_by_name else None


def role_from_pb(value: int) -> str:
    """ROLE_CUSTOMER -> "customer", the form tokens carry; INVALID_ARGUMENT when unspecified."""
    try:
        name = user_pb2.Role.Name(value)
    except ValueError:
        name = "ROLE_UNSPECIFIED"
    if name == "ROLE_UNSPECIFIED":
        raise InvalidArgument("a role is required", field="role", description="must be a specific role")
    return name.removeprefix("ROLE_").lower()


def profile_from_pb(profile: user_pb2.Profile) -> dict[str, str]:
    values = {
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "phone_number": profile.phone_number,
    }
    for name in ADDRESS_FIELDS:
        values[f"address.{name}"] = getattr(profile.address, name)
    return values


def profile_pb(values: Mapping[str, str | None]) -> user_pb2.Profile:
    address = user_pb2.Address(**{name: values.get(f"address.{name}") or "" for name in ADDRESS_FIELDS})
    return user_pb2.Profile(
        first_name=values.get("first_name") or "",
        last_name=values.get("last_name") or "",
        phone_number=values.get("phone_number") or "",
        address=address,
    )


def _timestamp(value: datetime | None) -> Timestamp | None:
    return api.to_timestamp(value) if isinstance(value, datetime) else None


def user_pb(user: User) -> user_pb2.User:
    roles = [r for r in (role_pb(role) for role in user.roles) if r is not None]
    return user_pb2.User(
        id=user.id,
        username=user.username,
        email=user.email,
        roles=roles,
        status=STATUS_PB[user.status],
        profile=profile_pb(user.profile),
        create_time=_timestamp(user.created_at),
        update_time=_timestamp(user.updated_at),
    )


def token_pair_pb(pair: TokenPair) -> user_pb2.TokenPair:
    scheme = "Bearer"
    return user_pb2.TokenPair(
        access_token=pair.access_token,
        token_type=scheme,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expire_time=_timestamp(pair.refresh_expires_at),
    )


def access_event_pb(event: access_log.AccessEvent) -> user_pb2.AccessEvent:
    return user_pb2.AccessEvent(
        id=event.id,
        kind="ACCESS_EVENT_KIND_" + event.kind.name,
        create_time=api.to_timestamp(event.create_time),
        session_id=event.session_id,
        client_address=event.client.address,
        user_agent=event.client.user_agent,
        actor_id=event.actor_id,
        detail=event.detail,
    )


def revocation_pb(entry: RevocationRecord) -> user_pb2.Revocation:
    return user_pb2.Revocation(
        sequence=entry.sequence,
        user_id=entry.user_id,
        min_token_version=entry.min_token_version,
        session_id=entry.session_id,
        expire_time=api.to_timestamp(entry.expires_at),
    )
