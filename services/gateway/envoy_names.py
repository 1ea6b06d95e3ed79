"""Names Envoy's configuration refers to across its parts: typed-config URLs, internal clusters,
filters and headers, and the Lua sources of the gateway's own filters."""

from __future__ import annotations

from pathlib import Path

LUA_DIR = Path(__file__).resolve().parents[2] / "envoy" / "lua"
SUBJECT_HEADER = "x-nexafi-subject"
CLIENT_ADDRESS_HEADER = "x-nexafi-client-address"
JWT_PROVIDER = "nexafi"
ADMIN_CLUSTER = "envoy_admin"
JWKS_CLUSTER = "jwks"
OTLP_CLUSTER = "otel_collector"
TRACING_SERVICE_NAME = "nexafi-gateway"
# Marks a local reply whose body is already our JSON (health, OpenAPI) so that
# local_reply_config passes it through instead of wrapping it in {"code","message"}.
RAW_REPLY_HEADER = "x-nexafi-local-json"
# The transcoder copies the gRPC status into HTTP headers; REST clients get the HTTP status
# and the JSON body instead.
GRPC_RESPONSE_HEADERS = ("grpc-status", "grpc-message", "grpc-accept-encoding", "grpc-encoding")
UPLOAD_LIMIT_FILTER = "nexafi.upload_body_limit"
REQUIRE_SUBJECT_FILTER = "nexafi.require_subject"
# Where jwt_authn records why a token failed, for the 401 that require_subject.lua answers.
JWT_FAILURE_METADATA = "jwt_failure"

# Typed-config URLs of the extensions the configuration uses.
HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)
LUA_TYPE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
LUA_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute"
JWT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"
JWT_ROUTE_TYPE = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig"
CORS_TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
CORS_POLICY_TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy"
RATELIMIT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
TRANSCODER_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder"
)
ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
FILTER_CONFIG_TYPE = "type.googleapis.com/envoy.config.route.v3.FilterConfig"
HEADER_MUTATION_ROUTE_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutationPerRoute"
)
BODY_LIMIT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.body_size_limit.v3.BodySizeLimit"
HTTP_OPTIONS_TYPE = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def seconds(value: float) -> str:
    """A duration as Envoy's JSON reads it ("2.5s")."""
    return f"{value:g}s"
