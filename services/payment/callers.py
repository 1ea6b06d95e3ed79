"""Who is calling, as the payment use cases record it: the kind of actor a status change is
allowed for, and the name written into a payment's history."""

from __future__ import annotations

from services.payment.domain.states import Actor
from services.runtime.auth import ROLE_ADMIN, ROLE_SERVICE, ROLE_SUPPORT, Principal


def actor_kind(principal: Principal) -> Actor:
    if principal.has_role(ROLE_SERVICE):
        return Actor.SERVICE
    if principal.has_role(ROLE_ADMIN, ROLE_SUPPORT):
        return Actor.STAFF
    return Actor.OWNER


def actor_name(principal: Principal) -> str:
    if principal.has_role(ROLE_SERVICE):
        return f"service:{principal.subject.removeprefix('svc_')}"
    return principal.subject
