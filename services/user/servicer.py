"""The gRPC adapter: proto -> service call -> proto (converters.py), at the edge of access.py's rules."""

from __future__ import annotations

import grpc
from nexafi.user.v1 import user_pb2, user_pb2_grpc

from services.runtime import audit
from services.runtime.auth import current_principal, optional_principal
from services.runtime.errors import InvalidArgument
from services.runtime.idempotency import Claim
from services.runtime.request_keys import RequestKeys
from services.user import access_log, search
from services.user.access import ACCESS
from services.user.accounts import check_registration
from services.user.converters import (
    STATUS_FROM_PB,
    access_event_pb,
    profile_from_pb,
    revocation_pb,
    role_from_pb,
    token_pair_pb,
    user_pb,
)
from services.user.service import UserService

# Set by Envoy from the connection's address (overwriting any client-sent value; see
# services/gateway/envoy_config.py); absent on direct in-cluster gRPC calls.
CLIENT_ADDRESS_HEADER = "x-nexafi-client-address"


def client_address(context: grpc.ServicerContext) -> str:
    """The caller's address for the login throttle: Envoy's header, else the gRPC peer's host."""
    for key, value in context.invocation_metadata():
        if key == CLIENT_ADDRESS_HEADER and isinstance(value, str) and value.strip():
            return value.strip()[:64]
    peer = context.peer() or ""
    # "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", "unix:..."; the port changes per connection.
    host = peer.split(":", 1)[-1].rsplit(":", 1)[0] if peer.startswith(("ipv4:", "ipv6:")) else peer
    return host.strip("[]")


def gateway_client(context: grpc.ServicerContext) -> access_log.Client:
    """What the access log records of the caller: Envoy's address header (never the peer, which
    is the gateway or a service, not the client) and the User-Agent the client sent."""
    address = agent = ""
    for key, value in context.invocation_metadata():
        if isinstance(value, str):
            if key == CLIENT_ADDRESS_HEADER:
                address = value
            elif key == "user-agent":
                agent = value
    return access_log.Client(address, agent)


def _require_id(user_id: str) -> str:
    if not user_id.strip():
        raise InvalidArgument("user_id is required", field="user_id", description="is required")
    return user_id.strip()


class UserServicer(user_pb2_grpc.UserServiceServicer):
    def __init__(self, service: UserService, fingerprint_key: bytes) -> None:
        self.service = service
        # Keys the request fingerprints of idempotency keys (services/runtime/fingerprints.py).
        self.fingerprint_key = fingerprint_key

    # -- public ------------------------------------------------------------------------

    def Register(
        self, request: user_pb2.RegisterRequest, context: grpc.ServicerContext
    ) -> user_pb2.RegisterResponse:
        profile = profile_from_pb(request.profile) if request.HasField("profile") else None
        key = request.request_id.strip()
        registration = check_registration(
            username=request.username,
            email=request.email,
            password=request.password,
            profile=profile,
            request_id=key,
        )
        accounts = self.service.accounts
        if not key:
            return user_pb2.RegisterResponse(user=user_pb(accounts.register(registration)))
        created = False

        def execute(claim: Claim) -> user_pb2.RegisterResponse:
            nonlocal created
            user = accounts.register(registration, claim=claim)
            created = not claim.resource_id
            return user_pb2.RegisterResponse(user=user_pb(user))

        # Register is public: an anonymous caller's keys share one scope.
        principal = optional_principal()
        scope = principal.subject if principal is not None else "anonymous"
        response = RequestKeys(self.service.idempotency, self.fingerprint_key).respond(
            scope, key, "register", registration.fingerprint_body(), user_pb2.RegisterResponse, execute
        )
        if not created:
            # A replay (or the resumption of a crashed first attempt): the password is not in the
            # fingerprint, so it is proven against the account before the account is shown.
            accounts.confirm_replay(response.user.id, request.password)
        return response

    def Login(self, request: user_pb2.LoginRequest, context: grpc.ServicerContext) -> user_pb2.LoginResponse:
        pair, user = self.service.sessions.login(
            request.login, request.password, address=client_address(context), client=gateway_client(context)
        )
        return user_pb2.LoginResponse(tokens=token_pair_pb(pair), user=user_pb(user))

    def RefreshToken(
        self, request: user_pb2.RefreshTokenRequest, context: grpc.ServicerContext
    ) -> user_pb2.RefreshTokenResponse:
        pair = self.service.sessions.refresh(request.refresh_token, gateway_client(context))
        return user_pb2.RefreshTokenResponse(tokens=token_pair_pb(pair))

    def Logout(
        self, request: user_pb2.LogoutRequest, context: grpc.ServicerContext
    ) -> user_pb2.LogoutResponse:
        self.service.sessions.logout(request.refresh_token, gateway_client(context))
        return user_pb2.LogoutResponse()

    def RequestPasswordReset(
        self, request: user_pb2.RequestPasswordResetRequest, context: grpc.ServicerContext
    ) -> user_pb2.RequestPasswordResetResponse:
        self.service.resets.request(request.email)
        return user_pb2.RequestPasswordResetResponse()

    def ConfirmPasswordReset(
        self, request: user_pb2.ConfirmPasswordResetRequest, context: grpc.ServicerContext
    ) -> user_pb2.ConfirmPasswordResetResponse:
        self.service.resets.confirm(request.reset_token, request.new_password)
        return user_pb2.ConfirmPasswordResetResponse()

    def IssueServiceToken(
        self, request: user_pb2.IssueServiceTokenRequest, context: grpc.ServicerContext
    ) -> user_pb2.IssueServiceTokenResponse:
        token, ttl = self.service.issue_service_token(request.client_id, request.client_secret)
        return user_pb2.IssueServiceTokenResponse(access_token=token, expires_in=ttl)

    def GetJwks(
        self, request: user_pb2.GetJwksRequest, context: grpc.ServicerContext
    ) -> user_pb2.GetJwksResponse:
        return user_pb2.GetJwksResponse(keys=[user_pb2.JsonWebKey(**jwk) for jwk in self.service.jwks()])

    # -- authenticated -------------------------------------------------------------------

    def GetUser(
        self, request: user_pb2.GetUserRequest, context: grpc.ServicerContext
    ) -> user_pb2.GetUserResponse:
        user_id = _require_id(request.user_id)
        ACCESS.check("GetUser", current_principal(), user_id)
        return user_pb2.GetUserResponse(user=user_pb(self.service.accounts.get_user(user_id)))

    def UpdateUser(
        self, request: user_pb2.UpdateUserRequest, context: grpc.ServicerContext
    ) -> user_pb2.UpdateUserResponse:
        user_id = _require_id(request.user_id)
        principal = current_principal()
        ACCESS.check("UpdateUser", principal, user_id)
        user = self.service.accounts.update_profile(
            principal.subject, user_id, profile_from_pb(request.profile), list(request.update_mask.paths)
        )
        return user_pb2.UpdateUserResponse(user=user_pb(user))

    def DeleteUser(
        self, request: user_pb2.DeleteUserRequest, context: grpc.ServicerContext
    ) -> user_pb2.DeleteUserResponse:
        user_id = _require_id(request.user_id)
        principal = current_principal()
        ACCESS.check("DeleteUser", principal, user_id, case="erase" if request.erase else "deactivate")
        user = self.service.accounts.delete_user(principal.subject, user_id, erase=request.erase)
        return user_pb2.DeleteUserResponse(user=user_pb(user))

    def ListUsers(
        self, request: user_pb2.ListUsersRequest, context: grpc.ServicerContext
    ) -> user_pb2.ListUsersResponse:
        ACCESS.check("ListUsers", current_principal())
        status = STATUS_FROM_PB.get(request.status)
        if status is None and request.status != user_pb2.USER_STATUS_UNSPECIFIED:
            raise InvalidArgument("unknown status", field="status", description="must be a known status")
        users, next_token = self.service.accounts.list_users(
            page_size=request.page_size, page_token=request.page_token, status=status
        )
        return user_pb2.ListUsersResponse(users=[user_pb(u) for u in users], next_page_token=next_token)

    def SearchUsers(
        self, request: user_pb2.SearchUsersRequest, context: grpc.ServicerContext
    ) -> user_pb2.SearchUsersResponse:
        # The search itself lives in its own module (search.py); this is its gRPC edge.
        ACCESS.check("SearchUsers", current_principal())
        found, next_token = search.search_users(
            self.service.store,
            query=request.query,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return user_pb2.SearchUsersResponse(users=[user_pb(u) for u in found], next_page_token=next_token)

    def GrantRole(
        self, request: user_pb2.GrantRoleRequest, context: grpc.ServicerContext
    ) -> user_pb2.GrantRoleResponse:
        principal = current_principal()
        ACCESS.check("GrantRole", principal)
        user = self.service.accounts.grant_role(
            principal.subject, _require_id(request.user_id), role_from_pb(request.role)
        )
        return user_pb2.GrantRoleResponse(user=user_pb(user))

    def RevokeRole(
        self, request: user_pb2.RevokeRoleRequest, context: grpc.ServicerContext
    ) -> user_pb2.RevokeRoleResponse:
        principal = current_principal()
        ACCESS.check("RevokeRole", principal)
        user = self.service.accounts.revoke_role(
            principal.subject, _require_id(request.user_id), role_from_pb(request.role)
        )
        return user_pb2.RevokeRoleResponse(user=user_pb(user))

    def RevokeSessions(
        self, request: user_pb2.RevokeSessionsRequest, context: grpc.ServicerContext
    ) -> user_pb2.RevokeSessionsResponse:
        user_id = _require_id(request.user_id)
        principal = current_principal()
        ACCESS.check("RevokeSessions", principal, user_id)
        revoked = self.service.sessions.revoke_sessions(principal.subject, user_id)
        return user_pb2.RevokeSessionsResponse(revoked_sessions=revoked)

    def ListRevocations(
        self, request: user_pb2.ListRevocationsRequest, context: grpc.ServicerContext
    ) -> user_pb2.ListRevocationsResponse:
        ACCESS.check("ListRevocations", current_principal())
        entries, last = self.service.list_revocations(
            after_sequence=request.after_sequence, page_size=request.page_size
        )
        return user_pb2.ListRevocationsResponse(
            last_sequence=last,
            revocations=[revocation_pb(e) for e in entries],
        )

    def ListStaffActions(
        self, request: user_pb2.ListStaffActionsRequest, context: grpc.ServicerContext
    ) -> user_pb2.ListStaffActionsResponse:
        ACCESS.check("ListStaffActions", current_principal())
        return audit.list_staff_actions(
            request, user_pb2.ListStaffActionsResponse, self.service.accounts.staff_actions
        )

    def ListAccessEvents(
        self, request: user_pb2.ListAccessEventsRequest, context: grpc.ServicerContext
    ) -> user_pb2.ListAccessEventsResponse:
        user_id = _require_id(request.user_id)
        ACCESS.check("ListAccessEvents", current_principal(), user_id)
        events, next_token = access_log.list_events(
            self.service.store, user_id, page_size=request.page_size, page_token=request.page_token
        )
        return user_pb2.ListAccessEventsResponse(
            access_events=[access_event_pb(e) for e in events], next_page_token=next_token
        )
