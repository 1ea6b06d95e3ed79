"""Renders Envoy's configuration from settings: one source for the local stack and Kubernetes.

Envoy transcodes the public REST API (``google.api.http`` bindings, descriptor set
from gen/) into gRPC for each routed service, verifies JWTs, rate-limits, guards the
upstreams with health checks, outlier detection and circuit breakers, serves the
OpenAPI document and a health route, and answers every error as JSON.

The filter chain, in order (each one's position matters):

1. lua          strips client-sent ``x-nexafi-*`` headers; rewrites ``GET
                /api/v1/ledger/transactions/txn_…`` to the GetTransaction binding; answers
                /api/v1/health (per-route source).
2. cors         answers preflights before anything asks for a token.
3. jwt_authn    per-route requirement: public routes disabled, service routes verified;
                copies ``sub`` into x-nexafi-subject (after the Lua strip, so it cannot be forged).
                A missing or invalid token does not stop the request here (see 5).
4. local_ratelimit  global bucket + per-caller buckets keyed on x-nexafi-subject or the
                client address (hence after jwt_authn), stricter on login/register/reset.
                A request without a verified subject, a forged token included, spends its
                address's budget.
5. nexafi.require_subject  (Lua, enabled on the token routes only) answers 401 when jwt_authn
                verified no subject: after the limiter, so a flood of bad tokens ends in 429.
6. grpc_json_transcoder, 7. router.

Observability: with ``otlp_endpoint`` set, the connection manager's OpenTelemetry tracer
starts a trace (or continues the client's ``traceparent``) and passes ``traceparent`` to the
services, so one trace runs from Envoy to the database; spans go by OTLP/gRPC to the
collector. With ``metrics_port`` set, a second listener serves only Envoy's
``/stats/prometheus`` (proxied to the admin interface, which stays on loopback).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.gateway.bindings import DEFAULT_DESCRIPTOR_SET, Binding, bindings

ROOT = Path(__file__).resolve().parents[2]
LUA_DIR = ROOT / "envoy" / "lua"

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
PUBLIC_BINDINGS: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/password-reset"),
    ("POST", "/api/v1/auth/password-reset/confirm"),
    ("GET", "/api/v1/auth/jwks"),
    ("POST", "/api/v1/payments/connectors/{connector}/callbacks"),
})
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
SUBJECT_HEADER = "x-nexafi-subject"
CLIENT_ADDRESS_HEADER = "x-nexafi-client-address"
JWT_PROVIDER = "nexafi"
ADMIN_CLUSTER = "envoy_admin"
JWKS_CLUSTER = "jwks"
OTLP_CLUSTER = "otel_collector"
METRICS_PATH = "/stats/prometheus"
TRACING_SERVICE_NAME = "nexafi-gateway"
# Marks a local reply whose body is already our JSON (health, OpenAPI) so that
# local_reply_config passes it through instead of wrapping it in {"code","message"}.
RAW_REPLY_HEADER = "x-nexafi-local-json"
# The transcoder copies the gRPC status into HTTP headers; REST clients get the HTTP status
# and the JSON body instead.
GRPC_RESPONSE_HEADERS = ("grpc-status", "grpc-message", "grpc-accept-encoding", "grpc-encoding")
# On Kubernetes: envoy.json comes from a ConfigMap mounted at K8S_CONFIG_DIR; the descriptor set and
# the OpenAPI document are in the image (k8s/Dockerfile), next to the code they describe. As
# ConfigMap data they made an object too large for `kubectl apply` (its last-applied annotation).
K8S_CONFIG_DIR = Path("/etc/envoy")
K8S_DESCRIPTOR_SET = Path("/app/gen/nexafi.pb")
K8S_OPENAPI = Path("/app/gateway/openapi.json")
# The document service's own default limit (services/document/spec.py DEFAULT_MAX_BYTES).
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_LIMIT_FILTER = "nexafi.upload_body_limit"
REQUIRE_SUBJECT_FILTER = "nexafi.require_subject"
# Where jwt_authn records why a token failed, for the 401 that require_subject.lua answers.
JWT_FAILURE_METADATA = "jwt_failure"

_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_LUA = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
_LUA_ROUTE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute"
_JWT = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"
_JWT_ROUTE = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig"
_CORS = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
_CORS_POLICY = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy"
_RATELIMIT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
_TRANSCODER = "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig"
_HEADER_MUTATION_ROUTE = ("type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3."
                          "HeaderMutationPerRoute")
_BODY_LIMIT = "type.googleapis.com/envoy.extensions.filters.http.body_size_limit.v3.BodySizeLimit"
_HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


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
        return {"max_tokens": self.requests, "tokens_per_fill": self.requests,
                "fill_interval": f"{self.seconds}s"}


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


def _seconds(value: float) -> str:
    return f"{value:g}s"


def path_regex(template: str) -> str:
    """An RE2 regex for a path template: {var} is one segment, {var=**} any remainder."""
    parts = re.split(r"(\{[^}]*\})", template)
    out = []
    for part in parts:
        if part.startswith("{"):
            out.append(".+" if "**" in part else "[^/]+")
        else:
            out.append(re.escape(part))
    return "^" + "".join(out) + "$"


def _cluster(name: str, address: str, settings: GatewaySettings) -> dict[str, Any]:
    host, _, port = address.rpartition(":")
    return {
        "name": name,
        # STRICT_DNS: localhost in the dev stack, the Service's cluster DNS name on Kubernetes.
        "type": "STRICT_DNS",
        "connect_timeout": _seconds(settings.connect_timeout_seconds),
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": _HTTP_OPTIONS,
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": host, "port_value": int(port)}}}}]}]},
        "health_checks": [{
            "timeout": "1s",
            "interval": _seconds(settings.health_check_interval_seconds),
            # The default is 60 s: an idle cluster would notice a dead backend a minute late.
            "no_traffic_interval": _seconds(settings.health_check_no_traffic_seconds),
            "unhealthy_interval": "1s",
            "unhealthy_threshold": 2,
            "healthy_threshold": 1,
            "grpc_health_check": {},
        }],
        # 0: with every host unhealthy Envoy answers 503 at once instead of "panic routing"
        # to a dead host and waiting for the connect timeout.
        "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
        # Ejects on transport failures (connect refused, resets, timeouts), not on the
        # application's 5xx: an UNAVAILABLE or INTERNAL answer proves the host is alive,
        # and with one host per service ejecting it would turn one error into an outage.
        "outlier_detection": {
            "split_external_local_origin_errors": True,
            "consecutive_local_origin_failure": 3,
            "enforcing_consecutive_local_origin_failure": 100,
            "enforcing_consecutive_5xx": 0,
            "consecutive_gateway_failure": 5,
            "enforcing_consecutive_gateway_failure": 0,
            "enforcing_success_rate": 0,
            "interval": "5s",
            "base_ejection_time": "10s",
            "max_ejection_percent": 100,
        },
        "circuit_breakers": {"thresholds": [{
            "priority": "DEFAULT",
            "max_connections": settings.max_requests_per_upstream,
            "max_pending_requests": settings.max_requests_per_upstream,
            "max_requests": settings.max_requests_per_upstream,
            # Retries at most a fifth of the requests in flight (at least 3 at a time), so
            # retrying during an outage cannot multiply the load on a recovering service.
            "retry_budget": {"budget_percent": {"value": 20.0}, "min_retry_concurrency": 3},
        }]},
    }


def _plain_cluster(name: str, host: str, port: int) -> dict[str, Any]:
    return {"name": name, "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}]}]}}


def _url_cluster(url: str) -> tuple[dict[str, Any], str]:
    """A cluster for an http(s) JWKS URL, and the URL Envoy should fetch."""
    match = re.fullmatch(r"(https?)://([^/:]+)(?::(\d+))?(/.*)?", url)
    if match is None:
        raise ValueError(f"not an http(s) URL: {url!r}")
    scheme, host, port, _path = match.groups()
    cluster: dict[str, Any] = {
        "name": JWKS_CLUSTER, "type": "STRICT_DNS", "connect_timeout": "2s",
        "load_assignment": {"cluster_name": JWKS_CLUSTER, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {
                "address": host, "port_value": int(port or (443 if scheme == "https" else 80))}}}}]}]}}
    if scheme == "https":
        cluster["transport_socket"] = {"name": "envoy.transport_sockets.tls", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
            "sni": host}}
    return cluster, url


def _jwt_filter(settings: GatewaySettings) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The jwt_authn filter and the extra cluster its JWKS fetch needs (if any)."""
    provider: dict[str, Any] = {
        "issuer": settings.jwt_issuer,
        "audiences": list(settings.jwt_audiences),
        # Only the Authorization header: without from_headers jwt_authn also accepts
        # ?access_token=..., which leaks tokens into access logs and browser history.
        "from_headers": [{"name": "Authorization", "value_prefix": "Bearer "}],
        # Services verify and authorize on their own (defence in depth): keep the token.
        "forward": True,
        "claim_to_headers": [{"header_name": SUBJECT_HEADER, "claim_name": "sub"}],
        "jwt_cache_config": {"jwt_cache_size": 1000},
        "clock_skew_seconds": 30,
        "failed_status_in_metadata": JWT_FAILURE_METADATA,
    }
    clusters: list[dict[str, Any]] = []
    source = settings.jwks_source
    if source == "self" or source.startswith(("http://", "https://")):
        if source == "self":
            # Through this Envoy's own listener to the user service's GetJwks binding: one
            # source of keys for services and gateway, and no extra port on the user service.
            host = "127.0.0.1" if settings.listen_address in ("0.0.0.0", "::") else settings.listen_address
            uri = f"http://{host}:{settings.listen_port}{JWKS_PATH}"
            clusters.append(_plain_cluster(JWKS_CLUSTER, host, settings.listen_port))
        else:
            cluster, uri = _url_cluster(source)
            clusters.append(cluster)
        provider["remote_jwks"] = {
            "http_uri": {"uri": uri, "cluster": JWKS_CLUSTER, "timeout": "2s"},
            "cache_duration": _seconds(settings.jwks_cache_seconds),
            # Fetched in the background and refreshed before expiry; fast_listener: the
            # listener must not wait for a fetch that goes through itself.
            "async_fetch": {"fast_listener": True, "failed_refetch_duration": "1s"},
            "retry_policy": {"num_retries": 3, "retry_back_off": {"base_interval": "0.2s",
                                                                  "max_interval": "2s"}},
        }
    else:
        provider["local_jwks"] = {"filename": str(source)}
    config = {
        "@type": _JWT,
        "providers": {JWT_PROVIDER: provider},
        # Routes choose by name (typed_per_filter_config); a route without a choice (no
        # route at all: 404) is not verified. "required" verifies a token when there is one but
        # lets a missing or failed one through to the rate limiter, which charges the client
        # address; require_subject.lua then answers 401 (a flood of bad tokens is throttled).
        "requirement_map": {"required": {"requires_any": {"requirements": [
            {"provider_name": JWT_PROVIDER}, {"allow_missing_or_failed": {}}]}}},
        "bypass_cors_preflight": True,
    }
    return {"name": "envoy.filters.http.jwt_authn", "typed_config": config}, clusters


def _rate_limit_filter(settings: GatewaySettings) -> dict[str, Any]:
    entries_public = [{"key": "caller", "value": "public"}, {"key": "remote_address"}]
    config = {
        "@type": _RATELIMIT,
        "stat_prefix": "ratelimit",
        # The default bucket is the global budget; always consumed, also by requests
        # that match a per-caller descriptor below.
        "token_bucket": settings.rate_limit_global.token_bucket(),
        "always_consume_default_token_bucket": True,
        "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"},
                           "runtime_key": "ratelimit_enabled"},
        "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"},
                            "runtime_key": "ratelimit_enforced"},
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "local_rate_limit_per_downstream_connection": False,
        # A descriptor value "" gives one bucket per distinct value: per user, per address.
        "descriptors": [
            {"entries": [{"key": "subject"}], "token_bucket": settings.rate_limit_user.token_bucket()},
            {"entries": entries_public, "token_bucket": settings.rate_limit_client.token_bucket()},
            {"entries": [{"key": "caller", "value": "sensitive"}, {"key": "remote_address"}],
             "token_bucket": settings.rate_limit_auth.token_bucket()},
        ],
        "rate_limits": [
            # Authenticated: x-nexafi-subject exists only when jwt_authn verified a token.
            {"actions": [{"request_headers": {"header_name": SUBJECT_HEADER, "descriptor_key": "subject",
                                              "skip_if_absent": True}}]},
            # Public (no verified subject): per client address.
            {"actions": [
                {"header_value_match": {"descriptor_key": "caller", "descriptor_value": "public",
                                        "expect_match": False,
                                        "headers": [{"name": SUBJECT_HEADER, "present_match": True}]}},
                {"remote_address": {}}]},
            # Login, registration, password reset: a much smaller budget per address.
            {"actions": [
                {"header_value_match": {"descriptor_key": "caller", "descriptor_value": "sensitive",
                                        "headers": [
                                            {"name": ":method", "string_match": {"exact": "POST"}},
                                            {"name": ":path", "string_match": {"safe_regex": {
                                                "regex": SENSITIVE_PATHS_REGEX}}}]}},
                {"remote_address": {}}]},
        ],
    }
    return {"name": "envoy.filters.http.local_ratelimit", "typed_config": config}


def _lua_source(name: str) -> str:
    return (LUA_DIR / name).read_text()


def _require_subject_lua() -> str:
    prelude = (f"local SUBJECT_HEADER = {json.dumps(SUBJECT_HEADER)}\n"
               f"local FAILURE_KEY = {json.dumps(JWT_FAILURE_METADATA)}\n")
    return prelude + _lua_source("require_subject.lua")


def _health_lua(settings: GatewaySettings) -> str:
    backends = ", ".join(json.dumps(name) for name in sorted(settings.upstreams))
    prelude = f"local BACKENDS = {{{backends}}}\nlocal ADMIN_CLUSTER = {json.dumps(ADMIN_CLUSTER)}\n"
    return prelude + _lua_source("health.lua")


def _cors_policy(settings: GatewaySettings) -> dict[str, Any]:
    origins = [{"safe_regex": {"regex": ".*"}} if origin == "*" else {"exact": origin}
               for origin in settings.cors_origins]
    return {
        "@type": _CORS_POLICY,
        "allow_origin_string_match": origins,
        "allow_methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "allow_headers": "authorization, content-type, idempotency-key, x-request-id",
        "expose_headers": "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset",
        "max_age": "600",
        # Bearer tokens, not cookies: browsers need not send credentials.
        "allow_credentials": False,
    }


def _local_reply_config() -> dict[str, Any]:
    """Envoy's own replies in one JSON shape: {"code": <HTTP status>, "message": ...}.

    gRPC errors come from the transcoder as {"code": <gRPC code>, "message", "details"};
    local replies carry the HTTP status in ``code`` (there is no gRPC code for a 404 route).
    """
    def mapper(status: int, message: str) -> dict[str, Any]:
        return {"filter": {"status_code_filter": {"comparison": {
            "op": "EQ", "value": {"default_value": status, "runtime_key": f"local_reply_{status}"}}}},
            "body": {"inline_string": message}}

    passthrough = {
        # The health Lua marks its reply with a request header; the OpenAPI route is a
        # direct_response, matched by its path.
        "filter": {"or_filter": {"filters": [
            {"header_filter": {"header": {"name": RAW_REPLY_HEADER, "present_match": True}}},
            {"header_filter": {"header": {"name": ":path", "string_match": {"prefix": OPENAPI_PATH}}}},
        ]}},
        "body_format_override": {"text_format_source": {"inline_string": "%LOCAL_REPLY_BODY%"},
                                 "content_type": "application/json"},
    }

    def docs(suffix_regex: str, content_type: str) -> dict[str, Any]:
        return static(DOCS_PATH, suffix_regex, content_type)

    def static(prefix: str, suffix_regex: str, content_type: str) -> dict[str, Any]:
        # A page's direct responses (docs, console), passed through with their own content type.
        path = {"header_filter": {"header": {"name": ":path", "string_match": {"safe_regex": {
            "regex": "^" + re.escape(prefix) + suffix_regex + r"(\?.*)?$"}}}}}
        ok = {"status_code_filter": {"comparison": {"op": "EQ", "value": {
            "default_value": 200, "runtime_key": "local_reply_docs_200"}}}}
        return {"filter": {"and_filter": {"filters": [path, ok]}},
                "body_format_override": {"text_format_source": {"inline_string": "%LOCAL_REPLY_BODY%"},
                                         "content_type": content_type}}

    return {
        "mappers": [
            passthrough,
            docs("", "text/html; charset=utf-8"),
            docs(r"/[a-z.-]+\.js", "application/javascript; charset=utf-8"),
            docs(r"/[a-z.-]+\.css", "text/css; charset=utf-8"),
            static(CONSOLE_PATH, "/", "text/html; charset=utf-8"),
            static(CONSOLE_PATH, r"/[a-z.-]+\.js", "application/javascript; charset=utf-8"),
            static(CONSOLE_PATH, r"/[a-z.-]+\.css", "text/css; charset=utf-8"),
            mapper(429, "rate limit exceeded"),
            mapper(413, "request body too large"),
            # Envoy's texts for these name internals (reset reasons, cluster state).
            mapper(503, "service unavailable"),
            mapper(504, "upstream request timeout"),
        ],
        "body_format": {"json_format": {"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%"},
                        "content_type": "application/json"},
    }


def _route_timeouts(timeout: float) -> dict[str, Any]:
    return {
        "timeout": _seconds(timeout),
        # Without it a stalled stream would hold its connection until the route timeout.
        "idle_timeout": _seconds(min(timeout, 60.0)),
    }


def _service_routes(service: str, service_bindings: list[Binding],
                    settings: GatewaySettings) -> list[dict[str, Any]]:
    required: dict[str, Any] = {"envoy.filters.http.jwt_authn": {"@type": _JWT_ROUTE,
                                                                 "requirement_name": "required"}}
    public: dict[str, Any] = {"envoy.filters.http.jwt_authn": {"@type": _JWT_ROUTE, "disabled": True}}
    # Streamed bodies (document upload) get the upload limit instead of the unary one: 413
    # from Content-Length before a byte reaches the service, or as soon as the chunks pass it.
    upload_limit: dict[str, Any] = {
        "envoy.filters.http.body_size_limit": {"@type": _FILTER_CONFIG, "disabled": True}}
    # A FilterConfig enables a filter that is disabled in the chain.
    require_subject: dict[str, Any] = {REQUIRE_SUBJECT_FILTER: {"@type": _FILTER_CONFIG, "config": {
        "@type": _LUA_ROUTE, "name": "require_subject"}}}
    # A FilterConfig enables a filter that is disabled in the chain.
    strip_grpc: dict[str, Any] = {"envoy.filters.http.header_mutation": {"@type": _FILTER_CONFIG, "config": {
        "@type": _HEADER_MUTATION_ROUTE,
        "mutations": {"response_mutations": [{"remove": h} for h in GRPC_RESPONSE_HEADERS]}}}}
    required = {**required, **strip_grpc, **require_subject}
    public = {**public, **strip_grpc}
    # The upstream deadline: gRPC servers see grpc-timeout and can stop work the client
    # will never read.
    deadline_ms = int(settings.request_timeout_seconds * 1000)

    def route(match: dict[str, Any], timeout: float, per_filter: dict[str, Any], *,
              retry: bool, name: str, streaming_route: bool = False) -> dict[str, Any]:
        action: dict[str, Any] = {"cluster": service, **_route_timeouts(timeout)}
        if retry:
            # Reads are idempotent: retried on a reset and on the service's own UNAVAILABLE (a
            # database restart, with its RetryInfo), spread over about two seconds.
            action["retry_policy"] = {
                "retry_on": "connect-failure,refused-stream,reset,unavailable",
                "num_retries": 3,
                "per_try_timeout": _seconds(max(timeout / 3, 1.0)),
                "retry_back_off": {"base_interval": "0.25s", "max_interval": "1s"},
            }
        elif not streaming_route:
            # Writes only when the service never saw the request: a write that reached it may
            # have taken effect, and only the client can retry it safely, with the same
            # Idempotency-Key (the 503 body carries the service's RetryInfo).
            action["retry_policy"] = {
                "retry_on": "connect-failure,refused-stream,reset-before-request",
                "num_retries": 2,
                "retry_back_off": {"base_interval": "0.05s", "max_interval": "0.25s"},
            }
        # decorator: the gateway's span is named after the route (e.g. payment.write).
        return {"name": name, "match": match, "route": action, "typed_per_filter_config": per_filter,
                "decorator": {"operation": name},
                "request_headers_to_add": [{"header": {"key": "grpc-timeout", "value": f"{deadline_ms}m"},
                                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}]}

    routes: list[dict[str, Any]] = []
    for binding in service_bindings:
        is_public = (binding.http_method, binding.path) in PUBLIC_BINDINGS
        streaming = binding.client_streaming or binding.server_streaming
        if not (is_public or streaming):
            continue
        match = {"safe_regex": {"regex": path_regex(binding.path)},
                 "headers": [{"name": ":method", "string_match": {"exact": binding.http_method}}]}
        timeout = settings.stream_timeout_seconds if streaming else settings.request_timeout_seconds
        per_filter = dict(public if is_public else required)
        if binding.client_streaming:
            per_filter.update(upload_limit)
        routes.append(route(match, timeout, per_filter,
                            retry=binding.http_method == "GET" and not streaming,
                            name=f"{service}.{binding.method}", streaming_route=streaming))
    prefixes = sorted({binding.route_prefix for binding in service_bindings})
    for prefix in prefixes:
        get = {"path_separated_prefix": prefix,
               "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]}
        routes.append(route(get, settings.request_timeout_seconds, required, retry=True,
                            name=f"{service}.read"))
        routes.append(route({"path_separated_prefix": prefix}, settings.request_timeout_seconds,
                            required, retry=False, name=f"{service}.write"))
    return routes


def render(settings: GatewaySettings, *, openapi_file: Path | None = None) -> dict[str, Any]:
    """The whole Envoy bootstrap as a dict (JSON is valid Envoy YAML)."""
    unknown = set(settings.upstreams) - set(GRPC_SERVICES)
    if unknown:
        raise ValueError(f"unknown services: {sorted(unknown)}")
    openapi = openapi_file or settings.openapi_file()
    routed = {name: GRPC_SERVICES[name] for name in settings.upstreams}
    all_bindings = bindings(settings.descriptor_source, list(routed.values()))
    owner: dict[str, str] = {}
    routes: list[dict[str, Any]] = [
        {"name": "gateway.health", "match": {"path": HEALTH_PATH},
         # The Lua per-route source answers; this reply only shows if it did not run.
         "direct_response": {"status": 503, "body": {"inline_string": "health handler unavailable"}},
         "typed_per_filter_config": {
             "envoy.filters.http.lua": {"@type": _LUA_ROUTE,
                                        "source_code": {"inline_string": _health_lua(settings)}},
             "envoy.filters.http.grpc_json_transcoder": {"@type": _FILTER_CONFIG, "disabled": True}}},
        {"name": "gateway.openapi", "match": {"path": OPENAPI_PATH,
                                              "headers": [{"name": ":method",
                                                           "string_match": {"exact": "GET"}}]},
         "direct_response": {"status": 200, "body": {"filename": str(openapi)}},
         "response_headers_to_add": [{"header": {"key": "cache-control", "value": "public, max-age=300"}}],
         "typed_per_filter_config": {
             "envoy.filters.http.grpc_json_transcoder": {"@type": _FILTER_CONFIG, "disabled": True}}},
    ]
    if settings.docs_assets_dir is not None:
        routes.extend(_docs_routes(settings.docs_assets_dir))
    if settings.console_dir is not None:
        routes.extend(_console_routes(settings.console_dir))
    for name, full_name in routed.items():
        service_bindings = [b for b in all_bindings if b.service == full_name]
        for prefix in {b.route_prefix for b in service_bindings}:
            if owner.setdefault(prefix, name) != name:
                raise ValueError(f"{prefix} is bound by both {owner[prefix]} and {name}")
        routes.extend(_service_routes(name, service_bindings, settings))

    jwt_filter, jwt_clusters = _jwt_filter(settings)
    http_filters: list[dict[str, Any]] = [
        {"name": "envoy.filters.http.lua", "typed_config": {
            "@type": _LUA, "default_source_code": {"inline_string": _lua_source("request.lua")}}},
        # Runs on responses after the transcoder (filters encode in reverse order). Off by
        # default and enabled on the REST routes only: a gRPC client that reaches the
        # gateway by mistake must still see the grpc-status of its 404.
        {"name": "envoy.filters.http.header_mutation", "disabled": True, "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": {}}},
        # 413 from Content-Length (or while streaming) before anything buffers the body.
        {"name": "envoy.filters.http.body_size_limit", "typed_config": {
            "@type": _BODY_LIMIT, "max_request_bytes": settings.max_request_bytes}},
        # The upload routes' own, larger limit (above it, redundant): those routes disable the one above.
        {"name": UPLOAD_LIMIT_FILTER, "typed_config": {
            "@type": _BODY_LIMIT, "max_request_bytes": settings.max_upload_bytes}},
        {"name": "envoy.filters.http.cors", "typed_config": {"@type": _CORS}},
        jwt_filter,
        _rate_limit_filter(settings),
        {"name": REQUIRE_SUBJECT_FILTER, "disabled": True, "typed_config": {
            "@type": _LUA, "source_codes": {"require_subject": {"inline_string": _require_subject_lua()}}}},
    ]
    if routed:
        http_filters.append({"name": "envoy.filters.http.grpc_json_transcoder", "typed_config": {
            "@type": _TRANSCODER,
            "proto_descriptor": str(settings.descriptor_path),
            "services": list(routed.values()),
            "convert_grpc_status": True,
            # Keep the /api/v1 route after the path becomes /<package.Service>/<Method>: the
            # routes (timeouts, retries, JWT requirement) are the REST ones, and no route
            # matches native gRPC paths, so nobody can call an unbound RPC through the gateway.
            "match_incoming_request_route": True,
            # Buffered (unary) bodies only: streaming HttpBody uploads pass in chunks and the
            # document service enforces its own size limit.
            "max_request_body_size": settings.max_request_bytes,
            "print_options": {"add_whitespace": False, "always_print_primitive_fields": True,
                              "always_print_enums_as_ints": False, "preserve_proto_field_names": True},
            "request_validation_options": {
                # false would forward unmatched paths to the upstream as garbage gRPC calls.
                "reject_unknown_method": True,
                # A typo in a filter (?page_sise=) must fail, not silently list everything.
                "reject_unknown_query_parameters": True,
                "reject_binding_body_field_collisions": True,
            },
        }})
    http_filters.append({"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}})

    access_log_format = {
        "time": "%START_TIME%", "request_id": "%REQ(X-REQUEST-ID)%",
        "method": "%REQ(:METHOD)%", "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "status": "%RESPONSE_CODE%", "grpc_status": "%GRPC_STATUS%", "flags": "%RESPONSE_FLAGS%",
        "details": "%RESPONSE_CODE_DETAILS%", "duration_ms": "%DURATION%",
        "upstream_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", "route": "%ROUTE_NAME%",
        "upstream": "%UPSTREAM_CLUSTER%", "upstream_host": "%UPSTREAM_HOST%",
        "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", "subject": f"%REQ({SUBJECT_HEADER.upper()})%",
        "bytes_in": "%BYTES_RECEIVED%", "bytes_out": "%BYTES_SENT%", "user_agent": "%REQ(USER-AGENT)%",
    }
    connection_manager = {
        "@type": _HCM,
        "stat_prefix": "ingress",
        "codec_type": "AUTO",
        # Edge proxy: the client address is the peer (or the trusted hops' X-Forwarded-For),
        # which the per-address rate limit keys on.
        "use_remote_address": True,
        "xff_num_trusted_hops": settings.xff_num_trusted_hops,
        "generate_request_id": True,
        # Clients may correlate with their own id; one is generated when absent.
        "preserve_external_request_id": True,
        "always_set_request_id_in_response": True,
        # By default Envoy packs the trace decision into the id's 14th character: a
        # client's own id would come back altered.
        "request_id_extension": {"typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig",
            "pack_trace_reason": False, "use_request_id_for_trace_sampling": False}},
        "request_headers_timeout": "10s",
        "stream_idle_timeout": "60s",
        "common_http_protocol_options": {"idle_timeout": "300s", "headers_with_underscores_action":
                                         "REJECT_REQUEST"},
        "route_config": {
            "name": "api",
            # The OpenAPI document is served as a direct response; the default cap is 4 KiB.
            "max_direct_response_body_size_bytes": 8 * 1024 * 1024,
            "virtual_hosts": [{
                "name": "api", "domains": ["*"], "routes": routes,
                # gRPC transport details mean nothing to REST clients.
                "response_headers_to_remove": ["x-envoy-upstream-service-time"],
                # The client's address (after the trusted XFF hops), for the user service's
                # login throttle; overwrites whatever a client sent.
                "request_headers_to_add": [{"header": {
                    "key": CLIENT_ADDRESS_HEADER, "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
                "typed_per_filter_config": {"envoy.filters.http.cors": _cors_policy(settings)},
            }],
        },
        "http_filters": http_filters,
        "local_reply_config": _local_reply_config(),
        "access_log": [{"name": "envoy.access_loggers.stdout", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"json_format": access_log_format}}}],
    }
    clusters = [_cluster(name, address, settings) for name, address in settings.upstreams.items()]
    clusters.append(_plain_cluster(ADMIN_CLUSTER, "127.0.0.1", settings.admin_port))
    clusters.extend(jwt_clusters)
    if settings.otlp_endpoint:
        connection_manager["tracing"] = _tracing(settings)
        access_log_format["trace_id"] = "%TRACE_ID%"
        clusters.append(_otlp_cluster(settings.otlp_endpoint))
    listeners: list[dict[str, Any]] = [{"name": "rest", "address": {"socket_address": {
        "address": settings.listen_address, "port_value": settings.listen_port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                        "typed_config": connection_manager}]}]}]
    if settings.metrics_port:
        listeners.append(_metrics_listener(settings))
    return {
        "node": {"id": "nexafi-gateway", "cluster": "nexafi-gateway"},
        "admin": {"address": {"socket_address": {"address": settings.admin_address,
                                                 "port_value": settings.admin_port}}},
        "static_resources": {
            "listeners": listeners,
            "clusters": clusters,
        },
        # A cap on downstream connections, so a connection flood cannot exhaust file descriptors.
        "overload_manager": {"resource_monitors": [{
            "name": "envoy.resource_monitors.global_downstream_max_connections",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3."
                         "DownstreamConnectionsConfig",
                "max_active_downstream_connections": 50000}}]},
    }


_DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>NexaFi API</title>
<link rel="stylesheet" href="{path}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{path}/swagger-ui-bundle.js"></script>
<script src="{path}/init.js"></script>
</body>
</html>
"""
_DOCS_INIT = """window.ui = SwaggerUIBundle({{url: "{openapi}", dom_id: "#swagger-ui", deepLinking: true,
  docExpansion: "list", defaultModelsExpandDepth: 0, displayRequestDuration: true}});
"""
# Everything the page loads comes from this gateway; Swagger UI draws its icons from data: URIs.
_DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
             "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'")


def _docs_routes(assets: Path) -> list[dict[str, Any]]:
    """The documentation page (Swagger UI on the OpenAPI document) and its assets, as direct responses."""
    pages: list[tuple[str, dict[str, Any]]] = [
        (DOCS_PATH, {"inline_string": _DOCS_HTML.format(path=DOCS_PATH)}),
        (f"{DOCS_PATH}/init.js", {"inline_string": _DOCS_INIT.format(openapi=OPENAPI_PATH)}),
        *((f"{DOCS_PATH}/{name}", {"filename": str(assets / name)}) for name in DOCS_ASSETS),
    ]
    return [{
        "name": "gateway.docs", "match": {"path": path, "headers": [{"name": ":method",
                                                                     "string_match": {"exact": "GET"}}]},
        "direct_response": {"status": 200, "body": body},
        # The content type comes from the local reply mapper (_local_reply_config), by path.
        "response_headers_to_add": [
            {"header": {"key": "cache-control", "value": "public, max-age=300"}},
            {"header": {"key": "content-security-policy", "value": _DOCS_CSP}},
            {"header": {"key": "x-content-type-options", "value": "nosniff"}}],
        "typed_per_filter_config": {
            "envoy.filters.http.grpc_json_transcoder": {"@type": _FILTER_CONFIG, "disabled": True}},
    } for path, body in pages]


# The console's own script and style only; it calls the API on this origin with the access
# token in a header, so no cookie and no inline script.
_CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _console_routes(assets: Path) -> list[dict[str, Any]]:
    """The staff console: /console redirects to /console/, which is index.html; its script and style."""
    get = [{"name": ":method", "string_match": {"exact": "GET"}}]
    no_transcoder = {"envoy.filters.http.grpc_json_transcoder": {"@type": _FILTER_CONFIG, "disabled": True}}
    files = [(f"{CONSOLE_PATH}/", "index.html"),
             *((f"{CONSOLE_PATH}/{name}", name) for name in CONSOLE_ASSETS if name != "index.html")]
    routes: list[dict[str, Any]] = [{
        "name": "gateway.console", "match": {"path": CONSOLE_PATH, "headers": get},
        "redirect": {"path_redirect": f"{CONSOLE_PATH}/"}, "typed_per_filter_config": no_transcoder}]
    routes.extend({
        "name": "gateway.console", "match": {"path": path, "headers": get},
        "direct_response": {"status": 200, "body": {"filename": str(assets / name)}},
        # The content type comes from the local reply mapper (_local_reply_config), by path.
        # no-cache: a new release's script is picked up at once (revalidated, not re-downloaded).
        "response_headers_to_add": [
            {"header": {"key": "cache-control", "value": "no-cache"}},
            {"header": {"key": "content-security-policy", "value": _CONSOLE_CSP}},
            {"header": {"key": "x-content-type-options", "value": "nosniff"}},
            {"header": {"key": "referrer-policy", "value": "no-referrer"}}],
        "typed_per_filter_config": no_transcoder,
    } for path, name in files)
    return routes


def _tracing(settings: GatewaySettings) -> dict[str, Any]:
    return {
        "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": {
            "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
            "grpc_service": {"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "2s"},
            "service_name": TRACING_SERVICE_NAME}},
        "random_sampling": {"value": settings.trace_sampling_percent},
    }


def _otlp_cluster(endpoint: str) -> dict[str, Any]:
    address = re.sub(r"^https?://", "", endpoint).rstrip("/")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"an OTLP endpoint is host:port, got {endpoint!r}")
    cluster = _plain_cluster(OTLP_CLUSTER, host, int(port))
    # A collector is a name on Kubernetes (otel-collector): resolve it, and keep resolving.
    cluster["type"] = "STRICT_DNS"
    cluster["typed_extension_protocol_options"] = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": _HTTP_OPTIONS, "explicit_http_config": {"http2_protocol_options": {}}}}
    return cluster


def _metrics_listener(settings: GatewaySettings) -> dict[str, Any]:
    """GET /stats/prometheus only, proxied to the loopback admin interface: a scraper in the
    cluster reaches the figures without reaching /quitquitquit or the config dump."""
    manager = {
        "@type": _HCM,
        "stat_prefix": "metrics",
        "route_config": {"name": "metrics", "virtual_hosts": [{
            "name": "metrics", "domains": ["*"],
            "routes": [
                {"match": {"path": METRICS_PATH,
                           "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
                 "route": {"cluster": ADMIN_CLUSTER, "timeout": "5s"}},
                {"match": {"prefix": "/"}, "direct_response": {
                    "status": 404, "body": {"inline_string": f"only GET {METRICS_PATH} here\n"}}},
            ]}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}}],
    }
    return {"name": "metrics", "address": {"socket_address": {
        "address": settings.metrics_address, "port_value": settings.metrics_port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                        "typed_config": manager}]}]}


def write(settings: GatewaySettings, path: Path) -> Path:
    """Write the config to ``path`` and the OpenAPI document next to it (or to settings.openapi_path
    when that is a path Envoy will see elsewhere, as on Kubernetes)."""
    from services.gateway.openapi import build_document

    path.parent.mkdir(parents=True, exist_ok=True)
    openapi_target = path.with_name("openapi.json")
    document = build_document(settings.descriptor_source, [GRPC_SERVICES[n] for n in settings.upstreams])
    # Compact: the document travels in the gateway's configuration (a ConfigMap on Kubernetes).
    openapi_target.write_text(json.dumps(document, separators=(",", ":")))
    config = render(settings, openapi_file=settings.openapi_path or openapi_target)
    path.write_text(json.dumps(config, indent=2))
    return path
