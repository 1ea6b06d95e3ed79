"""Least privilege between services: which service identity may call which RPC.

A service authenticates to another with its own token (role ``service``, claim ``client_id``,
the internal audience; see ``services.runtime.clients``). The role alone says nothing about
what the caller may do: each callee declares once, in its spec (``ServiceSpec.service_callers``),
the RPCs each calling service uses, and the server's interceptor enforces that table for every
RPC before the servicer runs. A service identity outside the table, or calling an RPC outside
its entry, gets PERMISSION_DENIED with reason ``SERVICE_NOT_ALLOWED``. The servicer's own checks
(roles, ownership, and the ledger's account scopes) still apply to calls the table lets through.

Users' tokens are untouched here (servicers authorize them by role and ownership), and so are
public methods (their credential is in the request, e.g. the client secret of IssueServiceToken).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.runtime.auth import ROLE_SERVICE, Principal
from services.runtime.errors import PermissionDenied

SERVICE_NOT_ALLOWED = "SERVICE_NOT_ALLOWED"

# Calling service (its client id) -> the short names of the callee's RPCs it may call.
ServiceCallers = Mapping[str, frozenset[str]]


def service_callers(table: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """The table of a spec, normalized to frozensets."""
    return {caller: frozenset(methods) for caller, methods in table.items()}


def service_identity(principal: Principal | None) -> str | None:
    """The calling service's client id, or None when the principal is not a service."""
    if principal is None or not principal.has_role(ROLE_SERVICE):
        return None
    client_id = principal.claims.get("client_id")
    return str(client_id) if client_id else principal.subject.removeprefix("svc_")


def check_service_call(principal: Principal | None, method: str, callers: ServiceCallers) -> None:
    """PERMISSION_DENIED (SERVICE_NOT_ALLOWED) when a service calls ``method`` outside its list."""
    identity = service_identity(principal)
    if identity is None:
        return
    rpc = method.rsplit("/", 1)[-1]
    if rpc not in callers.get(identity, frozenset()):
        raise PermissionDenied(
            f"the service {identity!r} is not allowed to call {rpc}",
            SERVICE_NOT_ALLOWED,
            {"service": identity, "method": rpc},
        )
