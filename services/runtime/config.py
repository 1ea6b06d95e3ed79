"""Settings from the environment, read once at start.

A missing or malformed variable raises ConfigError with one line that names it;
``serve`` prints that line and exits, never a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Default gRPC ports of the dev stack; Kubernetes overrides them by environment.
DEFAULT_PORTS: dict[str, int] = {
    "user": 50051,
    "payment": 50052,
    "ledger": 50053,
    "credit": 50054,
    "analytics": 50055,
    "ai": 50056,
    "document": 50057,
}

# Default Prometheus metrics ports of the dev stack (the gRPC port's last digit after 946).
DEFAULT_METRICS_PORTS: dict[str, int] = {name: 9460 + port % 10 for name, port in DEFAULT_PORTS.items()}


class ConfigError(Exception):
    """A setting is missing or malformed."""


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if required:
        raise ConfigError(f"{name} is not set")
    return default


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (env_str(name, default) or default).lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def service_addr(service: str) -> str:
    """The address a client dials for ``service``: ``<SERVICE>_ADDR`` or localhost:<default port>."""
    return env_str(f"{service.upper()}_ADDR") or f"localhost:{DEFAULT_PORTS[service]}"


@dataclass(frozen=True)
class AuthSettings:
    """How tokens are verified."""

    issuer: str
    audience: str
    # A file path or an http(s) URL of the JWKS; the user service signs with keys_dir.
    jwks_source: str
    keys_dir: Path
    leeway_seconds: int
    # The revocation feed (services/runtime/revocation.py): "feed" checks every user token
    # against it, "off" trusts a token until it expires (AUTH_REVOCATION; from_env: "feed").
    revocation: str = "off"
    revocation_poll_seconds: float = 1.0
    # The revocation window: unread longer than this, the feed is stale (fail closed).
    revocation_max_staleness_seconds: float = 5.0
    # Who is refused while the feed is stale: "staff" roles, or "all" user tokens.
    revocation_fail_closed: str = "staff"
    # The audience of service identities' tokens: services accept it, the gateway never does,
    # so a leaked service token cannot be replayed from the internet.
    internal_audience: str = "nexafi-internal"


@dataclass(frozen=True)
class Settings:
    """Everything one service process needs to start."""

    service: str
    host: str
    port: int
    database_url: str | None
    grace_seconds: float
    max_workers: int
    log_level: str
    log_json: bool
    auth: AuthSettings
    # Where ``serve`` exposes the Prometheus metrics; 0: not exposed.
    metrics_port: int = 0
    # Signs this service's page tokens (``<SERVICE>_PAGE_TOKEN_KEY``); see server.page_token_key.
    page_token_secret: str = ""

    @classmethod
    def from_env(cls, service: str, *, needs_database: bool = True) -> Settings:
        prefix = service.upper()
        port = env_int(f"{prefix}_PORT", DEFAULT_PORTS.get(service, 50050), maximum=65535)
        database_url = env_str(f"{prefix}_DATABASE_URL") or env_str("DATABASE_URL")
        if needs_database and not database_url:
            raise ConfigError(f"DATABASE_URL (or {prefix}_DATABASE_URL) is not set")
        data_dir = env_str("NEXAFI_DATA_DIR", ".data") or ".data"
        keys_dir = Path(env_str("NEXAFI_KEYS_DIR") or f"{data_dir}/keys")
        jwks_source = env_str("JWKS_URL") or str(keys_dir / "jwks.json")
        return cls(
            service=service,
            host=env_str(f"{prefix}_HOST", "0.0.0.0") or "0.0.0.0",
            port=port,
            database_url=database_url,
            grace_seconds=float(env_int("SHUTDOWN_GRACE_SECONDS", 10, maximum=600)),
            max_workers=env_int("GRPC_MAX_WORKERS", 16, minimum=1, maximum=512),
            log_level=(env_str("LOG_LEVEL", "INFO") or "INFO").upper(),
            log_json=(env_str("LOG_FORMAT", "text") == "json"),
            auth=AuthSettings(
                issuer=env_str("JWT_ISSUER", "nexafi") or "nexafi",
                audience=env_str("JWT_AUDIENCE", "nexafi-api") or "nexafi-api",
                jwks_source=jwks_source,
                keys_dir=keys_dir,
                leeway_seconds=env_int("JWT_LEEWAY_SECONDS", 30, maximum=300),
                revocation=_choice("AUTH_REVOCATION", "feed", ("feed", "off")),
                revocation_poll_seconds=env_int("AUTH_REVOCATION_POLL_MS", 1000, minimum=50, maximum=60_000)
                / 1000,
                revocation_max_staleness_seconds=float(
                    env_int("AUTH_REVOCATION_WINDOW_SECONDS", 5, minimum=1, maximum=900)
                ),
                revocation_fail_closed=_choice("AUTH_REVOCATION_FAIL_CLOSED", "staff", ("staff", "all")),
                internal_audience=env_str("JWT_INTERNAL_AUDIENCE", "nexafi-internal") or "nexafi-internal",
            ),
            metrics_port=env_int(
                f"{prefix}_METRICS_PORT",
                env_int("METRICS_PORT", DEFAULT_METRICS_PORTS.get(service, 0), maximum=65535),
                maximum=65535,
            ),
            page_token_secret=env_str(f"{prefix}_PAGE_TOKEN_KEY") or "",
        )
