"""The gateway's settings and the public facts of its API: the routed services, the routes that
need no token, the paths it serves itself, and where the image keeps what Envoy reads.

``services.gateway.render`` builds the settings from the environment; ``envoy_config`` turns
them into Envoy's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.gateway.bindings import DEFAULT_DESCRIPTOR_SET

ROOT = Path(__file__).resolve().parents[2]

GRPC_SERVICES: dict[str, str] = {
    "user": "nexafi.user.v1.UserService",
    "payment": "nexafi.payment.v1.PaymentService",
    "ledger": "nexafi.ledger.v1.LedgerService",
    "credit": "nexafi.credit.v1.CreditService",
    "analytics": "nexafi.analytics.v1.AnalyticsService",
    "ai": "nexafi.ai.v1.AiService",
    "document": "nexafi.document.v1.DocumentService",
}

# Routes that need no token: the credential is in the body (password, refresh or reset
# token), the caller cannot have a token yet (JWKS), or a signature authenticates the
# caller (payment connector callbacks, see payment.proto). (HTTP method, path template).
PUBLIC_BINDINGS: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/password-reset"),
        ("POST", "/api/v1/auth/password-reset/confirm"),
        ("GET", "/api/v1/auth/jwks"),
        ("POST", "/api/v1/payments/connectors/{connector}/callbacks"),
    }
)
# Credential-guessing targets: a stricter per-client-address budget.
SENSITIVE_PATHS_REGEX = r"^/api/v1/auth/(login|register|password-reset(/confirm)?)$"
HEALTH_PATH = "/api/v1/health"
OPENAPI_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/api/v1/docs"
# Swagger UI's assets, from the pinned npm package swagger-ui-dist (package.json): served by Envoy
# itself, so the page needs nothing from the internet.
SWAGGER_UI_DIR = ROOT / "node_modules" / "swagger-ui-dist"
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")
# The staff console (plain ES module + CSS, no build step), served by Envoy itself like the docs page.
CONSOLE_PATH = "/console"
CONSOLE_DIR = ROOT / "services" / "gateway" / "console"
CONSOLE_ASSETS = ("index.html", "console.js", "console.css")
JWKS_PATH = "/api/v1/auth/jwks"
METRICS_PATH = "/stats/prometheus"
# On Kubernetes: envoy.json comes from a ConfigMap mounted at K8S_CONFIG_DIR; the descriptor set and
# the OpenAPI document are in the image (k8s/Dockerfile), next to the code they describe. As
# ConfigMap data they made an object too large for `kubectl apply` (its last-applied annotation).
K8S_CONFIG_DIR = Path("/etc/envoy")
K8S_DESCRIPTOR_SET = Path("/app/gen/nexafi.pb")
K8S_OPENAPI = Path("/app/gateway/openapi.json")
# The document service's own default limit (services/document/spec.py DEFAULT_MAX_BYTES).
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``seconds`` (a token bucket refilled whole every ``seconds``)."""

    requests: int
    seconds: int = 1

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"100"`` (per second) or ``"10/60"`` (10 per 60 seconds)."""
        count, _, period = text.strip().partition("/")
        limit = cls(int(count), int(period.rstrip("s") or 1))
        if limit.requests < 1 or limit.seconds < 1:
            raise ValueError(f"a rate limit needs positive numbers, got {text!r}")
        return limit

    def token_bucket(self) -> dict[str, Any]:
        return {
            "max_tokens": self.requests,
            "tokens_per_fill": self.requests,
            "fill_interval": f"{self.seconds}s",
        }


@dataclass(frozen=True)
class GatewaySettings:
    """Where Envoy listens, where the upstream services are, and the gateway's policies."""

    listen_port: int
    admin_port: int
    # service name → "host:port" of its gRPC server; only these services are routed.
    upstreams: dict[str, str]
    # Where Envoy reads the descriptor set (a mounted path on Kubernetes)...
    descriptor_path: Path = DEFAULT_DESCRIPTOR_SET
    # ...and where the renderer reads the same set, for the routes and the OpenAPI document.
    descriptor_source: Path = DEFAULT_DESCRIPTOR_SET
    # Where Envoy reads the OpenAPI document; None: next to the rendered config (see write()).
    openapi_path: Path | None = None
    # Where Envoy reads Swagger UI's assets (DOCS_ASSETS) for the page at /api/v1/docs; None: no page.
    docs_assets_dir: Path | None = None
    # Where Envoy reads the staff console's files (CONSOLE_ASSETS) for /console/; None: no console.
    console_dir: Path | None = None
    listen_address: str = "0.0.0.0"
    # Loopback only: the admin interface can stop Envoy and dump its config.
    admin_address: str = "127.0.0.1"
    # "self": the user service's GET /api/v1/auth/jwks fetched through this Envoy's own
    # listener; an http(s) URL; or a file path (read once at start, for tests/dev without
    # the user service).
    jwks_source: str = "self"
    # Short, so a rotated key is picked up without a restart (async_fetch refreshes it).
    jwks_cache_seconds: int = 10
    jwt_issuer: str = "nexafi"
    jwt_audiences: tuple[str, ...] = ("nexafi-api",)
    rate_limit_global: RateLimit = RateLimit(2000)
    rate_limit_user: RateLimit = RateLimit(100)
    rate_limit_client: RateLimit = RateLimit(50)
    rate_limit_auth: RateLimit = RateLimit(10, 60)
    # Exact origins allowed to call the API from a browser; "*" allows any.
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = 1024 * 1024
    # Streamed uploads (document upload): refused with 413 past this, from Content-Length or as
    # the chunks arrive; keep it equal to the document service's DOCUMENT_MAX_BYTES.
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    request_timeout_seconds: float = 15.0
    # Streaming routes (document upload/download) may take longer.
    stream_timeout_seconds: float = 300.0
    connect_timeout_seconds: float = 2.0
    health_check_interval_seconds: float = 5.0
    health_check_no_traffic_seconds: float = 3.0
    # Proxies in front of Envoy whose X-Forwarded-For is trusted (0 locally; 1 behind a k8s LB).
    xff_num_trusted_hops: int = 0
    max_requests_per_upstream: int = 1024
    # A listener that serves only Envoy's Prometheus stats; 0: none.
    metrics_port: int = 0
    metrics_address: str = "0.0.0.0"
    # "host:port" (or http://host:port) of an OTLP/gRPC collector; None: no tracing.
    otlp_endpoint: str | None = None
    # Of requests that arrive without a sampling decision (a client's sampled traceparent is kept).
    trace_sampling_percent: float = 100.0

    def openapi_file(self, config_path: Path | None = None) -> Path:
        if self.openapi_path is not None:
            return self.openapi_path
        if config_path is None:
            raise ValueError("openapi_path is unset and no config path was given")
        return config_path.with_name("openapi.json")
