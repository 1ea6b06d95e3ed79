"""Who may call each RPC of a service: the one mechanism every service's ``access.py`` uses.

Each service keeps one table, keyed by the short name of every RPC of its contract, in
``services/<service>/access.py``; its servicer asks that table at the edge, before the work, and
writes no role list itself (tests/unit/runtime/test_access_rules.py fails when an RPC has no
entry). A rule says who passes:

* ``Public``: anyone, even without a token; the credential is in the request (a signed callback,
  a client secret). The interceptor lets these through by the spec's ``public_methods``.
* ``Authenticated``: any caller with a valid token (the RPC reveals nobody's data).
* ``Roles``: a caller with one of the roles.
* ``OwnerOrRoles``: the owner of the resource, or a caller with one of the roles. The edge gives
  the owner: an id, several ids (a payment's payer and payee), or a callable that loads it,
  called only when the caller's roles do not already decide (staff reads cost no lookup).
* ``Cases``: an RPC whose rule depends on what the request asks (a user's profile against their
  roles): one named rule per case, the edge names the case.

A rule may name a message per role of the refused caller (``role_messages``), to say plainly why
staff are refused what their title suggests.

A refusal is PERMISSION_DENIED with the rule's message (the runtime's default ones when it has
none). A rule marked ``hidden`` refuses with the error the edge gives instead (NOT_FOUND, as for a
missing resource), so a stranger learns nothing of what exists. Service identities are further
restricted by the spec's ``service_callers`` (services.runtime.service_access), checked by the
interceptor before the servicer runs; business rules on who may do what to a resource in a given
state (separation of duties, the actor of a status change) stay in the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from services.runtime.auth import Principal
from services.runtime.errors import DomainError, PermissionDenied

# The owner of a resource as the edge knows it: one id, several, or how to load them.
Owner = str | Iterable[str] | Callable[[], str | Iterable[str]]

OTHERS_RESOURCES = "not allowed to access another user's resources"


@dataclass(frozen=True)
class Public:
    """No principal needed: ``credential`` says what authenticates the call instead."""

    credential: str

    def allows(self, principal: Principal | None, owner: Owner | None) -> bool:
        return True

    def denial(self, principal: Principal | None) -> PermissionDenied:
        raise AssertionError("a public RPC is never denied")


@dataclass(frozen=True)
class Authenticated:
    """Any caller with a valid token: ``why`` says why nothing more is needed."""

    why: str
    hidden: bool = False

    def allows(self, principal: Principal | None, owner: Owner | None) -> bool:
        return principal is not None

    def denial(self, principal: Principal | None) -> PermissionDenied:
        raise AssertionError("the interceptor refuses a call without a token before the servicer")


@dataclass(frozen=True)
class Roles:
    """A caller with one of ``roles``."""

    roles: tuple[str, ...]
    message: str = ""
    reason: str | None = None
    hidden: bool = False
    role_messages: tuple[tuple[str, str], ...] = ()

    def allows(self, principal: Principal | None, owner: Owner | None) -> bool:
        return principal is not None and principal.has_role(*self.roles)

    def denial(self, principal: Principal | None) -> PermissionDenied:
        message = self.message or f"requires one of the roles: {', '.join(self.roles)}"
        return PermissionDenied(_message(self.role_messages, principal, message), self.reason)


@dataclass(frozen=True)
class OwnerOrRoles:
    """The resource's owner, or a caller with one of ``roles`` (none: the owner only)."""

    roles: tuple[str, ...] = ()
    message: str = OTHERS_RESOURCES
    reason: str | None = None
    hidden: bool = False
    role_messages: tuple[tuple[str, str], ...] = ()

    def allows(self, principal: Principal | None, owner: Owner | None) -> bool:
        if principal is None:
            return False
        if self.roles and principal.has_role(*self.roles):
            return True
        if owner is None:
            raise AssertionError("an owner rule needs the resource's owner")
        return _is_owner(principal.subject, owner)

    def denial(self, principal: Principal | None) -> PermissionDenied:
        return PermissionDenied(_message(self.role_messages, principal, self.message), self.reason)


Rule = Public | Authenticated | Roles | OwnerOrRoles


@dataclass(frozen=True)
class Cases:
    """One rule per case of the request; the edge names the case."""

    rules: Mapping[str, Rule]


def roles(
    *names: str,
    message: str = "",
    reason: str | None = None,
    hidden: bool = False,
    role_messages: Mapping[str, str] | None = None,
) -> Roles:
    return Roles(tuple(names), message, reason, hidden, tuple((role_messages or {}).items()))


def owner_or(
    *names: str,
    message: str = OTHERS_RESOURCES,
    reason: str | None = None,
    hidden: bool = False,
    role_messages: Mapping[str, str] | None = None,
) -> OwnerOrRoles:
    return OwnerOrRoles(tuple(names), message, reason, hidden, tuple((role_messages or {}).items()))


def _message(role_messages: tuple[tuple[str, str], ...], principal: Principal | None, default: str) -> str:
    """The message for a refused caller: the first whose role they hold (say plainly why staff
    are refused what their title suggests), else the rule's own."""
    for role, message in role_messages:
        if principal is not None and principal.has_role(role):
            return message
    return default


def _is_owner(subject: str, owner: Owner) -> bool:
    # Several owners are compared one by one: a generator may load the later ones only if needed.
    loaded = owner() if callable(owner) else owner
    return subject == loaded if isinstance(loaded, str) else any(subject == one for one in loaded)


@dataclass(frozen=True)
class AccessTable:
    """A service's rules, by the short name of each RPC of ``service`` (its full proto name)."""

    service: str
    rules: Mapping[str, Rule | Cases] = field(default_factory=dict)

    def rule(self, rpc: str, case: str | None = None) -> Rule:
        entry = self.rules.get(rpc)
        if entry is None:
            # A programming error, never the caller's: every RPC has an entry (the unit test says so).
            raise KeyError(f"{self.service}: no access rule for {rpc}")
        if isinstance(entry, Cases):
            if case is None:
                raise KeyError(f"{self.service}: {rpc} has cases, none was named")
            return entry.rules[case]
        if case is not None:
            raise KeyError(f"{self.service}: {rpc} has no case {case!r}")
        return entry

    def allows(
        self, rpc: str, principal: Principal | None, owner_id: Owner | None = None, *, case: str | None = None
    ) -> bool:
        return self.rule(rpc, case).allows(principal, owner_id)

    def refusal(
        self, rpc: str, principal: Principal | None, owner_id: Owner | None = None, *, case: str | None = None
    ) -> PermissionDenied | None:
        """The refusal ``check`` would raise, or None: for an edge that records it before raising."""
        rule = self.rule(rpc, case)
        return None if rule.allows(principal, owner_id) else rule.denial(principal)

    def check(
        self,
        rpc: str,
        principal: Principal | None,
        owner_id: Owner | None = None,
        *,
        case: str | None = None,
        hidden_as: DomainError | None = None,
    ) -> None:
        """PERMISSION_DENIED (or ``hidden_as`` for a hidden rule) unless ``principal`` passes."""
        rule = self.rule(rpc, case)
        if rule.allows(principal, owner_id):
            return
        if not isinstance(rule, Public) and rule.hidden:
            if hidden_as is None:
                raise AssertionError(f"{self.service}: {rpc} is hidden; the edge gives the error to answer")
            raise hidden_as
        raise rule.denial(principal)

    def public_rpcs(self) -> frozenset[str]:
        return frozenset(rpc for rpc, rule in self.rules.items() if isinstance(rule, Public))

    def public_methods(self) -> frozenset[str]:
        """The public RPCs as the interceptor names them (``ServiceSpec.public_methods``)."""
        return frozenset(f"/{self.service}/{rpc}" for rpc in self.public_rpcs())
