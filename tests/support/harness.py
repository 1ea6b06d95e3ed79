"""Helpers to run services on real parts in tests: databases, tokens, servers on port 0."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import grpc

from services.runtime import migrations
from services.runtime.config import AuthSettings, Settings
from services.runtime.embedded_pg import EmbeddedPostgres
from services.runtime.keys import Keyring, access_token_claims
from services.runtime.server import RunningServer, ServiceSpec, start_server

ISSUER = "nexafi"
AUDIENCE = "nexafi-api"


def auth_settings_for(keys_dir: Path) -> AuthSettings:
    return AuthSettings(issuer=ISSUER, audience=AUDIENCE, jwks_source=str(keys_dir / "jwks.json"),
                        keys_dir=keys_dir, leeway_seconds=0)


class TokenFactory:
    """Mints access tokens with the test keyring, as the user service would."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def make(self, subject: str, roles: list[str] | None = None, *, ttl_seconds: int = 900,
             audience: str = AUDIENCE, issuer: str = ISSUER) -> str:
        claims = access_token_claims(subject=subject, roles=roles or ["customer"], issuer=issuer,
                                     audience=audience, ttl_seconds=ttl_seconds)
        return self.keyring.sign(claims)

    def metadata(self, subject: str, roles: list[str] | None = None) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.make(subject, roles)}"),)


def service_settings(service: str, database_url: str | None, auth: AuthSettings) -> Settings:
    base = Settings.from_env(service, needs_database=False)
    return dataclasses.replace(base, host="127.0.0.1", port=0, database_url=database_url, auth=auth,
                               grace_seconds=2.0)


class ServiceRunner:
    """Starts each service once per test session against the session's PostgreSQL."""

    def __init__(self, pg: EmbeddedPostgres, auth: AuthSettings) -> None:
        self.pg = pg
        self.auth = auth
        self.running: dict[str, RunningServer] = {}

    def database_url(self, service: str) -> str:
        url = self.pg.url(f"nexafi_{service}")
        migrations.upgrade(service, url)
        return url

    def start(self, spec: ServiceSpec) -> RunningServer:
        if spec.name not in self.running:
            url = self.database_url(spec.name) if spec.needs_database else None
            self.running[spec.name] = start_server(spec, service_settings(spec.name, url, self.auth))
        return self.running[spec.name]

    def channel(self, spec: ServiceSpec) -> grpc.Channel:
        return grpc.insecure_channel(self.start(spec).address)

    def stop_all(self) -> None:
        for running in self.running.values():
            running.stop(0)
        self.running.clear()
