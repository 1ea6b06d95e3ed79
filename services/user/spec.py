"""How the runtime builds the user service: its settings (read once, here), the service, the servicer.

``SPEC`` reads the settings from the environment when the server starts (settings.py lists
the variables); ``spec_with(settings)`` builds the same service from settings made in code
(the tests' way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import grpc
from nexafi.user.v1 import user_pb2, user_pb2_grpc

from services.runtime.config import ConfigError, env_int, env_str
from services.runtime.fingerprints import derived_fingerprint_key
from services.runtime.keys import Keyring
from services.runtime.revocation import FeedPage, RevocationEntry
from services.runtime.server import ServiceContext, ServiceSpec, page_token_key
from services.runtime.service_access import service_callers
from services.user.access import ACCESS
from services.user.domain.lockout import LockoutPolicy
from services.user.mail import DEFAULT_SENDER, SmtpSettings
from services.user.passwords import Argon2Params
from services.user.service import UserService
from services.user.service_identity import ServiceClients
from services.user.servicer import UserServicer
from services.user.settings import DAY, MailSettings, UserSettings

SERVICE_NAME = user_pb2.DESCRIPTOR.services_by_name["UserService"].full_name

# The refresh or reset token, the password or the client secret is the credential of these;
# GetJwks is what verifiers fetch before they can verify (access.py, the Public rules).
PUBLIC_METHODS = ACCESS.public_methods()


def argon2_from_env() -> Argon2Params:
    parallelism = env_int("NEXAFI_ARGON2_PARALLELISM", Argon2Params.parallelism, minimum=1, maximum=64)
    return Argon2Params(
        time_cost=env_int("NEXAFI_ARGON2_TIME_COST", Argon2Params.time_cost, minimum=1, maximum=100),
        # Argon2 needs at least 8 KiB per lane.
        memory_kib=env_int(
            "NEXAFI_ARGON2_MEMORY_KIB",
            Argon2Params.memory_kib,
            minimum=8 * parallelism,
            maximum=4 * 1024 * 1024,
        ),
        parallelism=parallelism,
    )


def mail_from_env() -> MailSettings:
    sender = env_str("SMTP_FROM", DEFAULT_SENDER) or DEFAULT_SENDER
    directory = Path(env_str("NEXAFI_MAIL_DIR", ".data/mail") or ".data/mail")
    host = env_str("SMTP_HOST")
    if not host:
        return MailSettings(directory=directory, sender=sender)
    port = env_int("SMTP_PORT", 587, minimum=1, maximum=65535)
    security = (env_str("SMTP_SECURITY") or ("ssl" if port == 465 else "starttls")).lower()
    if security not in ("starttls", "ssl", "none"):
        raise ConfigError("SMTP_SECURITY must be starttls, ssl or none")
    smtp = SmtpSettings(
        host=host,
        port=port,
        user=env_str("SMTP_USER"),
        password=env_str("SMTP_PASSWORD"),
        sender=sender,
        security=security,
        timeout_seconds=env_int("SMTP_TIMEOUT_SECONDS", 10, minimum=1),
    )
    return MailSettings(directory=directory, sender=sender, smtp=smtp)


def service_clients_from_env() -> ServiceClients:
    clients = ServiceClients({})
    path = env_str("NEXAFI_SERVICE_CLIENTS_FILE")
    if path:
        clients = ServiceClients.load_file(Path(path))
    listed = env_str("NEXAFI_SERVICE_CLIENTS")
    if listed:
        clients = clients.merged(ServiceClients.parse(listed))
    return clients


def settings_from_env() -> UserSettings:
    """Every setting of the user service, from the environment; the one place it is read."""
    reset_url = env_str("NEXAFI_RESET_URL")
    if reset_url and "{token}" not in reset_url:
        raise ConfigError("NEXAFI_RESET_URL must contain {token}")
    return UserSettings(
        access_ttl_seconds=env_int("NEXAFI_ACCESS_TOKEN_TTL_SECONDS", 900, minimum=30, maximum=DAY),
        refresh_ttl_seconds=env_int(
            "NEXAFI_REFRESH_TOKEN_TTL_SECONDS", 14 * DAY, minimum=60, maximum=365 * DAY
        ),
        refresh_grace_seconds=env_int("NEXAFI_REFRESH_REUSE_GRACE_SECONDS", 10, maximum=120),
        service_token_ttl_seconds=env_int("NEXAFI_SERVICE_TOKEN_TTL_SECONDS", 900, minimum=30, maximum=DAY),
        reset_ttl_seconds=env_int("NEXAFI_RESET_TOKEN_TTL_SECONDS", 1800, minimum=60, maximum=DAY),
        reset_min_interval_seconds=env_int("NEXAFI_RESET_MIN_INTERVAL_SECONDS", 60, maximum=DAY),
        reset_url=reset_url,
        lockout=LockoutPolicy(
            free_failures=env_int("NEXAFI_LOGIN_FREE_FAILURES", 5, minimum=1, maximum=100),
            account_free_failures=env_int(
                "NEXAFI_LOGIN_ACCOUNT_FREE_FAILURES", 20, minimum=1, maximum=10_000
            ),
            max_delay=timedelta(
                seconds=env_int("NEXAFI_LOGIN_BACKOFF_MAX_SECONDS", 900, minimum=1, maximum=DAY)
            ),
            window=timedelta(seconds=env_int("NEXAFI_LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)),
        ),
        argon2=argon2_from_env(),
        mail=mail_from_env(),
        service_clients=service_clients_from_env(),
    )


def build_service(context: ServiceContext, settings: UserSettings) -> UserService:
    assert context.engine is not None
    keyring = Keyring(context.settings.auth.keys_dir)
    # A first key for a fresh dev checkout; an existing keyring is left as it is.
    keyring.ensure()
    return UserService(context.engine, keyring, context.settings.auth, settings, clock=context.clock)


class LocalRevocationFeed:
    """The user service's own verifier reads the feed from its database: no token, no hop."""

    def __init__(self, service: UserService) -> None:
        self.service = service

    def fetch(self, after_sequence: int, limit: int) -> FeedPage:
        records, last = self.service.list_revocations(after_sequence=after_sequence, page_size=limit)
        entries = [
            RevocationEntry(
                sequence=r.sequence,
                user_id=r.user_id,
                min_token_version=r.min_token_version,
                session_id=r.session_id,
                expires_at=r.expires_at.timestamp(),
            )
            for r in records
        ]
        return FeedPage(entries=entries, last_sequence=last)


def registrar(settings: Callable[[], UserSettings]) -> Callable[[grpc.Server, ServiceContext], Sequence[str]]:
    def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
        service = build_service(context, settings())
        context.on_shutdown.append(service.close)
        if context.revocations is not None:
            context.revocations.source = LocalRevocationFeed(service)
        servicer = UserServicer(service, derived_fingerprint_key(page_token_key(context.settings)))
        user_pb2_grpc.add_UserServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    return register


# Who calls the user service with a service token, and for what (least privilege;
# services.runtime.service_access). IssueServiceToken is public: the client secret is its credential.
SERVICE_CALLERS = service_callers(
    {
        # Does the payee (payment) or the borrower (credit) exist? And, for every service's token
        # verifier, the revocation feed (services/runtime/revocation.py).
        "payment": {"GetUser", "ListRevocations"},
        "credit": {"GetUser", "ListRevocations"},
        "ledger": {"ListRevocations"},
        "analytics": {"ListRevocations"},
        "ai": {"ListRevocations"},
        "document": {"ListRevocations"},
    }
)


def spec_with(settings: UserSettings) -> ServiceSpec:
    """The user service with these settings instead of the environment's."""
    return ServiceSpec(
        name="user",
        register=registrar(lambda: settings),
        public_methods=PUBLIC_METHODS,
        service_callers=SERVICE_CALLERS,
    )


SPEC = ServiceSpec(
    name="user",
    register=registrar(settings_from_env),
    public_methods=PUBLIC_METHODS,
    service_callers=SERVICE_CALLERS,
)
