"""How the runtime builds the user service."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from nexafi.user.v1 import user_pb2, user_pb2_grpc

from services.runtime.keys import Keyring
from services.runtime.revocation import FeedPage, RevocationEntry
from services.runtime.server import ServiceContext, ServiceSpec
from services.runtime.service_access import service_callers
from services.user.config import UserConfig
from services.user.mail import outbox_from_env
from services.user.service import UserService
from services.user.service_identity import ServiceClients
from services.user.servicer import UserServicer

SERVICE_NAME = user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name

# The refresh or reset token, the password or the client secret is the
# credential of these; GetJwks is what verifiers fetch before they can verify.
PUBLIC_METHODS = frozenset(f"/{SERVICE_NAME}/{name}" for name in (
    "Register", "Login", "RefreshToken", "Logout", "RequestPasswordReset", "ConfirmPasswordReset",
    "GetJwks", "IssueServiceToken"))


def build_service(context: ServiceContext) -> UserService:
    assert context.engine is not None
    keyring = Keyring(context.settings.auth.keys_dir)
    # A first key for a fresh dev checkout; an existing keyring is left as it is.
    keyring.ensure()
    return UserService(context.engine, keyring, context.settings.auth, UserConfig.from_env(),
                       ServiceClients.from_env(), outbox_from_env(), clock=context.clock)


class LocalRevocationFeed:
    """The user service's own verifier reads the feed from its database: no token, no hop."""

    def __init__(self, service: UserService) -> None:
        self.service = service

    def fetch(self, after_sequence: int, limit: int) -> FeedPage:
        records, last = self.service.list_revocations(after_sequence=after_sequence, page_size=limit)
        entries = [RevocationEntry(sequence=r.sequence, user_id=r.user_id,
                                   min_token_version=r.min_token_version, session_id=r.session_id,
                                   expires_at=r.expires_at.timestamp()) for r in records]
        return FeedPage(entries=entries, last_sequence=last)


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    service = build_service(context)
    context.on_shutdown.append(service.close)
    if context.revocations is not None:
        context.revocations.source = LocalRevocationFeed(service)
    user_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(service), server)
    return [SERVICE_NAME]


# Who calls the user service with a service token, and for what (least privilege;
# services.runtime.service_access). IssueServiceToken is public: the client secret is its credential.
SERVICE_CALLERS = service_callers({
    # Does the payee (payment) or the borrower (credit) exist? And, for every service's token
    # verifier, the revocation feed (services/runtime/revocation.py).
    "payment": {"GetUser", "ListRevocations"},
    "credit": {"GetUser", "ListRevocations"},
    "ledger": {"ListRevocations"},
    "analytics": {"ListRevocations"},
    "ai": {"ListRevocations"},
    "document": {"ListRevocations"},
})

SPEC = ServiceSpec(name="user", register=register, public_methods=PUBLIC_METHODS,
                   service_callers=SERVICE_CALLERS)
