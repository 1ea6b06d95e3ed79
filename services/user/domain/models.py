"""The user service's domain objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.runtime.auth import ALL_ROLES


class UserStatus(StrEnum):
    """Lifecycle of an account, as stored."""

    ACTIVE = "active"
    DEACTIVATED = "deactivated"
    ERASED = "erased"


# The roles an admin may grant to a person. "service" is left out on purpose: it
# is the identity of NexaFi services (IssueServiceToken) and reads every
# customer's data, so a human account holding it would be a hidden super-reader.
GRANTABLE_ROLES = frozenset(ALL_ROLES - {"service"})

# Profile fields as dotted paths relative to the Profile message; also the keys of
# the flat mapping the repository stores.
ADDRESS_FIELDS = ("line1", "line2", "city", "postal_code", "region", "country")
PROFILE_FIELDS = ("first_name", "last_name", "phone_number", *(f"address.{name}" for name in ADDRESS_FIELDS))


@dataclass(frozen=True)
class User:
    """An account with its profile; never carries the password hash."""

    id: str
    username: str
    email: str
    roles: tuple[str, ...]
    status: UserStatus
    # Flat profile: PROFILE_FIELDS -> value; a missing key or None means unset.
    profile: dict[str, str | None] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class TokenPair:
    """An access token and a refresh token, as handed to their owner."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
