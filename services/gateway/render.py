"""``python -m services.gateway.render --target local|k8s --out PATH``: write Envoy's config.

Writes PATH (the bootstrap, JSON) and openapi.json next to it. ``local`` points the
upstreams at ``<SERVICE>_ADDR`` or localhost:<default port> and reads the descriptor
set from gen/; ``k8s`` points them at the Services' cluster DNS names
(``<service>:<port>``) and reads the descriptor set and the OpenAPI document where the
image has them (/app/gen/nexafi.pb, /app/gateway/openapi.json: see k8s/Dockerfile).
Policies (rate limits, CORS, JWT, sizes, timeouts) come from GATEWAY_* variables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.gateway.envoy_config import write
from services.gateway.settings import (
    CONSOLE_DIR,
    GRPC_SERVICES,
    K8S_DESCRIPTOR_SET,
    K8S_OPENAPI,
    SWAGGER_UI_DIR,
    GatewaySettings,
    RateLimit,
)
from services.runtime.config import DEFAULT_PORTS, ConfigError, env_int, env_str

# Swagger UI's assets in the image (k8s/Dockerfile copies them from node_modules/swagger-ui-dist).
K8S_DOCS_ASSETS_DIR = Path("/app/swagger-ui")
# The staff console in the image: part of services/, which k8s/Dockerfile copies to /app/services.
K8S_CONSOLE_DIR = Path("/app/services/gateway/console")
# Envoy's Prometheus stats listener (next to the services' 9461-9467 in the dev stack).
DEFAULT_GATEWAY_METRICS_PORT = 9460


def _rate_limit(name: str, default: RateLimit) -> RateLimit:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return RateLimit.parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be N (per second) or N/SECONDS, got {raw!r}") from None


def settings_from_env(
    upstreams: dict[str, str], *, target: str = "local", jwks_source: str | None = None
) -> GatewaySettings:
    """GatewaySettings from the environment (see the README's gateway variables)."""
    defaults = GatewaySettings(listen_port=0, admin_port=0, upstreams={})
    origins_default = "http://localhost:3000" if target == "local" else ""
    origins = env_str("GATEWAY_CORS_ORIGINS", origins_default) or ""
    audiences = env_str("JWT_AUDIENCE", "nexafi-api") or "nexafi-api"
    internal = env_str("JWT_INTERNAL_AUDIENCE", "nexafi-internal") or "nexafi-internal"
    if internal in (a.strip() for a in audiences.split(",")):
        # Service tokens carry the internal audience precisely so that the gateway refuses them.
        raise ConfigError(f"JWT_AUDIENCE must not include the internal audience {internal!r}")
    extra: dict[str, object] = {}
    if target == "k8s":
        extra = {
            "descriptor_path": K8S_DESCRIPTOR_SET,
            "openapi_path": K8S_OPENAPI,
            "docs_assets_dir": K8S_DOCS_ASSETS_DIR,
            "console_dir": K8S_CONSOLE_DIR,
            "xff_num_trusted_hops": env_int("GATEWAY_XFF_TRUSTED_HOPS", 1, maximum=10),
        }
    else:
        extra = {
            "xff_num_trusted_hops": env_int("GATEWAY_XFF_TRUSTED_HOPS", 0, maximum=10),
            # After `make tools` (npm ci); without it, no documentation page.
            "docs_assets_dir": SWAGGER_UI_DIR if SWAGGER_UI_DIR.is_dir() else None,
            "console_dir": CONSOLE_DIR,
        }
    return GatewaySettings(
        listen_port=env_int("GATEWAY_PORT", 8080, maximum=65535),
        metrics_port=env_int("GATEWAY_METRICS_PORT", DEFAULT_GATEWAY_METRICS_PORT, maximum=65535),
        otlp_endpoint=otlp_endpoint(),
        trace_sampling_percent=float(env_int("GATEWAY_TRACE_SAMPLING_PERCENT", 100, maximum=100)),
        admin_port=env_int("ENVOY_ADMIN_PORT", 9901, maximum=65535),
        upstreams=upstreams,
        jwks_source=jwks_source or env_str("GATEWAY_JWKS", "self") or "self",
        jwks_cache_seconds=env_int(
            "GATEWAY_JWKS_CACHE_SECONDS", defaults.jwks_cache_seconds, minimum=1, maximum=3600
        ),
        jwt_issuer=env_str("JWT_ISSUER", "nexafi") or "nexafi",
        jwt_audiences=tuple(a.strip() for a in audiences.split(",") if a.strip()),
        rate_limit_global=_rate_limit("GATEWAY_RATE_LIMIT_GLOBAL", defaults.rate_limit_global),
        rate_limit_user=_rate_limit("GATEWAY_RATE_LIMIT_USER", defaults.rate_limit_user),
        rate_limit_client=_rate_limit("GATEWAY_RATE_LIMIT_CLIENT", defaults.rate_limit_client),
        rate_limit_auth=_rate_limit("GATEWAY_RATE_LIMIT_AUTH", defaults.rate_limit_auth),
        cors_origins=tuple(o.strip() for o in origins.split(",") if o.strip()),
        max_request_bytes=env_int("GATEWAY_MAX_BODY_BYTES", defaults.max_request_bytes, minimum=1024),
        max_upload_bytes=env_int("GATEWAY_MAX_UPLOAD_BYTES", defaults.max_upload_bytes, minimum=1024),
        request_timeout_seconds=float(env_int("GATEWAY_TIMEOUT_SECONDS", 15, minimum=1, maximum=600)),
        stream_timeout_seconds=float(env_int("GATEWAY_STREAM_TIMEOUT_SECONDS", 300, minimum=1, maximum=3600)),
        **extra,  # type: ignore[arg-type]
    )


def otlp_endpoint() -> str | None:
    """Where Envoy sends spans: GATEWAY_OTLP_ENDPOINT, else the services' collector when their
    traces go by OTLP (OTEL_TRACES_EXPORTER=otlp, OTEL_EXPORTER_OTLP_ENDPOINT or its default)."""
    explicit = env_str("GATEWAY_OTLP_ENDPOINT")
    if explicit:
        return explicit
    if (env_str("OTEL_TRACES_EXPORTER", "none") or "none").lower() != "otlp":
        return None
    return (
        env_str("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or env_str("OTEL_EXPORTER_OTLP_ENDPOINT")
        or "localhost:4317"
    )


def upstreams_for(target: str, services: list[str]) -> dict[str, str]:
    if target == "k8s":
        # The Service's name resolves in the namespace; ports as in the dev stack unless overridden.
        return {s: env_str(f"{s.upper()}_ADDR") or f"{s}:{DEFAULT_PORTS[s]}" for s in services}
    return {s: env_str(f"{s.upper()}_ADDR") or f"127.0.0.1:{DEFAULT_PORTS[s]}" for s in services}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.gateway.render",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", choices=["local", "k8s"], default="local")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--services", default="", help="comma-separated services to route (default: every service)"
    )
    args = parser.parse_args(argv)
    services = [s.strip() for s in args.services.split(",") if s.strip()] or list(GRPC_SERVICES)
    unknown = [s for s in services if s not in GRPC_SERVICES]
    if unknown:
        parser.error(f"unknown services: {', '.join(unknown)}")
    try:
        settings = settings_from_env(upstreams_for(args.target, services), target=args.target)
    except ConfigError as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 2
    path = write(settings, args.out)
    print(f"wrote {path} and {path.with_name('openapi.json')} ({args.target}: {', '.join(services)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
