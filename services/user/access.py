"""Who may call each RPC of the user service (services.runtime.access_rules).

The public RPCs are the spec's public methods: their credential is in the request."""

from __future__ import annotations

from services.runtime.access_rules import AccessTable, Cases, Public, owner_or, roles
from services.runtime.auth import ROLE_ADMIN, ROLE_COMPLIANCE, ROLE_SERVICE, ROLE_SUPPORT, STAFF_READ_ROLES

STAFF = (ROLE_ADMIN, ROLE_SUPPORT, ROLE_COMPLIANCE)

ACCESS = AccessTable(
    "nexafi.user.v1.UserService",
    {
        "Register": Public("none: anyone may register"),
        "Login": Public("the password"),
        "RefreshToken": Public("the refresh token"),
        "Logout": Public("the refresh token"),
        "RequestPasswordReset": Public("none: the answer is the same whether the address is known"),
        "ConfirmPasswordReset": Public("the reset token"),
        "IssueServiceToken": Public("the client secret"),
        "GetJwks": Public("none: public keys"),
        # Authorized before the look-up: a customer cannot probe which ids exist.
        "GetUser": owner_or(*STAFF_READ_ROLES),
        "UpdateUser": owner_or(ROLE_ADMIN),
        # Deactivating is the owner's or an admin's; erasing an admin's alone.
        "DeleteUser": Cases({"deactivate": owner_or(ROLE_ADMIN), "erase": roles(ROLE_ADMIN)}),
        "ListUsers": roles(*STAFF),
        "SearchUsers": roles(*STAFF),
        "GrantRole": roles(ROLE_ADMIN),
        "RevokeRole": roles(ROLE_ADMIN),
        "RevokeSessions": owner_or(ROLE_ADMIN),
        # The revocation feed, read by every service's token verifier.
        "ListRevocations": roles(ROLE_SERVICE),
        "ListStaffActions": roles(ROLE_ADMIN),
        # Authorized before the look-up, as GetUser: nobody else learns which ids exist.
        "ListAccessEvents": owner_or(*STAFF),
    },
)
