"""Helpers to run services on real parts in tests: databases, tokens, servers on port 0."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import grpc
from nexafi.user.v1 import user_pb2

from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime import migrations
from services.runtime.children import free_port
from services.runtime.clock import Clock, ShiftedClock, previous_weekday_at, system_clock
from services.runtime.config import AuthSettings, Settings
from services.runtime.keys import Keyring, access_token_claims
from services.runtime.server import RunningServer, ServiceSpec, start_server

ISSUER = "nexafi"
AUDIENCE = "nexafi-api"
# Service identities' tokens carry this audience only: services accept it, the gateway never does.
INTERNAL_AUDIENCE = "nexafi-internal"

# Client secrets of the services that call others, known to the user service of
# the test session (IssueServiceToken).
SERVICE_CLIENT_SECRETS = {
    "payment": "payment-client-secret-7f3a9c1e5b",
    "credit": "credit-client-secret-2b8d4e6f1a",
    "analytics": "analytics-client-secret-9c3e5a7b2d",
    "ai": "ai-client-secret-6e1b3d5f7a9c",
    "probe": "probe-client-secret-4d6f8a1c3e5b",
    # These two call only the user service's revocation feed.
    "ledger": "ledger-client-secret-8a2c4e6b1d3f",
    "document": "document-client-secret-5b7d9f2a4c6e",
}


def configure_test_environment() -> None:
    """What every service of the session reads at start; set before any starts."""
    os.environ["NEXAFI_SERVICE_CLIENTS"] = ",".join(f"{k}:{v}" for k, v in SERVICE_CLIENT_SECRETS.items())
    for service, secret in SERVICE_CLIENT_SECRETS.items():
        os.environ[f"{service.upper()}_CLIENT_SECRET"] = secret
    # Argon2 at its cheapest keeps the suite fast; production defaults are 3 passes over 64 MiB.
    os.environ.setdefault("NEXAFI_ARGON2_TIME_COST", "1")
    os.environ.setdefault("NEXAFI_ARGON2_MEMORY_KIB", "1024")
    os.environ.setdefault("NEXAFI_ARGON2_PARALLELISM", "1")
    os.environ.pop("SMTP_HOST", None)


def auth_settings_for(keys_dir: Path) -> AuthSettings:
    return AuthSettings(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_source=str(keys_dir / "jwks.json"),
        keys_dir=keys_dir,
        leeway_seconds=0,
    )


class TokenFactory:
    """Mints access tokens with the test keyring, as the user service would."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def make(
        self,
        subject: str,
        roles: list[str] | None = None,
        *,
        ttl_seconds: int = 900,
        audience: str | None = None,
        issuer: str = ISSUER,
    ) -> str:
        """A user's token; with the role ``service``, a service identity's (as IssueServiceToken
        makes it: the internal audience and ``client_id``, the subject without ``svc_``)."""
        roles = roles or ["customer"]
        extra = None
        if "service" in roles:
            extra = {"client_id": subject.removeprefix("svc_")}
            audience = audience or INTERNAL_AUDIENCE
        claims = access_token_claims(
            subject=subject,
            roles=roles,
            issuer=issuer,
            audience=audience or AUDIENCE,
            ttl_seconds=ttl_seconds,
            extra=extra,
        )
        return self.keyring.sign(claims)

    def service(self, client_id: str) -> tuple[tuple[str, str], ...]:
        """The metadata of a call made by the service ``client_id`` (``payment``, ``credit``, ...)."""
        return self.metadata(f"svc_{client_id}", ["service"])

    def metadata(self, subject: str, roles: list[str] | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.make(subject, roles)}"),)


def service_settings(service: str, database_url: str | None, auth: AuthSettings) -> Settings:
    base = Settings.from_env(service, needs_database=False)
    return dataclasses.replace(
        base, host="127.0.0.1", port=0, database_url=database_url, auth=auth, grace_seconds=2.0
    )


TUESDAY = 1


def session_clocks() -> dict[str, Clock]:
    """The clocks of the session's services, where not the system's.

    The payment service decides with the AI's fraud model, whose features include the day
    of the week and the hour: its clock starts on a Tuesday at 12:00 UTC (of the week
    before) and runs on from there, so no decision of the suite depends on when it runs.
    """
    return {"payment": ShiftedClock(previous_weekday_at(system_clock(), TUESDAY, 12))}


def user_spec_for_tests(mail_dir: Path) -> ServiceSpec:
    """The user service with the suite's settings, made in code: Argon2 at its cheapest (production
    runs 3 passes over 64 MiB), mail as files in ``mail_dir``, the session's service clients."""
    from services.user.passwords import Argon2Params
    from services.user.service_identity import ServiceClients
    from services.user.settings import MailSettings, UserSettings
    from services.user.spec import spec_with

    clients = ServiceClients.parse(",".join(f"{k}:{v}" for k, v in SERVICE_CLIENT_SECRETS.items()))
    return spec_with(
        UserSettings(
            argon2=Argon2Params(time_cost=1, memory_kib=1024, parallelism=1),
            mail=MailSettings(directory=mail_dir),
            service_clients=clients,
        )
    )


def storage_settings_of(s3: Any) -> Any:
    """The document service's StorageSettings for an EmbeddedS3 server."""
    from services.document.storage import StorageSettings

    return StorageSettings(
        endpoint=s3.endpoint,
        access_key=s3.access_key,
        secret_key=s3.secret_key,
        bucket="nexafi-documents",
        secure=False,
        region=None,
    )


def document_spec_for_tests(storage: Any) -> ServiceSpec:
    """The document service with the suite's settings, made in code: ``storage`` (StorageSettings:
    the session's S3-protocol server), the public development master key and a 10 MiB limit."""
    from services.document.crypto import MasterKeys
    from services.document.settings import DocumentSettings
    from services.document.spec import DEV_MASTER_KEY, DEV_MASTER_KEY_ID, spec_with

    keys = MasterKeys(DEV_MASTER_KEY_ID, {DEV_MASTER_KEY_ID: DEV_MASTER_KEY})
    return spec_with(DocumentSettings(storage=storage, keys=keys))


class ServiceRunner:
    """Starts each service once per test session against the session's PostgreSQL.

    ``specs`` replaces a service's spec (by name) with one built from settings made in code:
    whichever test starts the service first, the session runs that one."""

    def __init__(
        self,
        pg: EmbeddedPostgres,
        auth: AuthSettings,
        clocks: dict[str, Clock] | None = None,
        specs: Mapping[str, Callable[[], ServiceSpec]] | None = None,
    ) -> None:
        self.pg = pg
        self.auth = auth
        self.running: dict[str, RunningServer] = {}
        self.clocks = session_clocks() if clocks is None else clocks
        self.specs = dict(specs or {})

    def use(self, name: str, spec: Callable[[], ServiceSpec]) -> None:
        """Start ``name`` from ``spec`` when it is first asked for (not yet started)."""
        if name in self.running:
            raise RuntimeError(f"the {name} service is already running with other settings")
        self.specs[name] = spec

    def clock(self, service: str) -> Clock:
        """The clock ``service`` decides with in this session."""
        return self.clocks.get(service, system_clock)

    def database_url(self, service: str) -> str:
        url = self.pg.url(f"nexafi_{service}")
        migrations.upgrade(service, url)
        return url

    def start(self, spec: ServiceSpec) -> RunningServer:
        if spec.name not in self.running:
            spec = self.specs[spec.name]() if spec.name in self.specs else spec
            url = self.database_url(spec.name) if spec.needs_database else None
            running = start_server(
                spec, service_settings(spec.name, url, self.auth), clock=self.clock(spec.name)
            )
            self.running[spec.name] = running
            # Services started later find this one as they would in the dev stack.
            os.environ[f"{spec.name.upper()}_ADDR"] = running.address
        return self.running[spec.name]

    def channel(self, spec: ServiceSpec) -> grpc.Channel:
        return grpc.insecure_channel(self.start(spec).address)

    def stop_all(self) -> None:
        for running in self.running.values():
            running.stop(0)
        self.running.clear()


TEST_PASSWORD = "correct horse battery staple 9"


def register_user(users: Any) -> str:
    """A new user registered over the user service's gRPC API (a UserServiceStub); its id."""
    name = "u" + secrets.token_hex(6)
    reply = users.Register(
        user_pb2.RegisterRequest(
            username=name,
            email=f"{name}@example.com",
            password=TEST_PASSWORD,
            request_id=secrets.token_hex(16),
        )
    )
    return str(reply.user.id)


def closed_port_address() -> str:
    """A loopback address nothing listens on (the port was free a moment ago)."""
    return f"127.0.0.1:{free_port()}"


@contextlib.contextmanager
def second_server_without(
    services: ServiceRunner, spec: ServiceSpec, dependency: str
) -> Iterator[grpc.Channel]:
    """Another server of ``spec`` on the session's database whose ``dependency`` is unreachable
    (its address is a closed port); a channel to it.

    The address variable stays changed until the context ends, since some services read it on
    every call; servers of the session that dial lazily see the closed port meanwhile too."""
    variable = f"{dependency.upper()}_ADDR"
    saved = os.environ.get(variable)
    os.environ[variable] = closed_port_address()
    server: RunningServer | None = None
    channel: grpc.Channel | None = None
    try:
        settings = service_settings(spec.name, services.database_url(spec.name), services.auth)
        server = start_server(spec, settings, clock=services.clock(spec.name))
        channel = grpc.insecure_channel(server.address)
        yield channel
    finally:
        if channel is not None:
            channel.close()
        if server is not None:
            server.stop(0)
        if saved is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved
