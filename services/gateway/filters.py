"""Envoy's HTTP filter chain (the order is explained in ``envoy_config``) and the policies it
carries: JWT verification, rate limits, CORS, the gateway's Lua filters, tracing and one JSON
shape for Envoy's own replies."""

from __future__ import annotations

import json
import re
from typing import Any

from services.gateway.clusters import static_cluster, url_cluster
from services.gateway.envoy_names import (
    ADMIN_CLUSTER,
    BODY_LIMIT_TYPE,
    CORS_POLICY_TYPE,
    CORS_TYPE,
    JWKS_CLUSTER,
    JWT_FAILURE_METADATA,
    JWT_PROVIDER,
    JWT_TYPE,
    LUA_DIR,
    LUA_TYPE,
    OTLP_CLUSTER,
    RATELIMIT_TYPE,
    RAW_REPLY_HEADER,
    REQUIRE_SUBJECT_FILTER,
    ROUTER_TYPE,
    SUBJECT_HEADER,
    TRACING_SERVICE_NAME,
    TRANSCODER_TYPE,
    UPLOAD_LIMIT_FILTER,
    seconds,
)
from services.gateway.settings import (
    CONSOLE_PATH,
    DOCS_PATH,
    JWKS_PATH,
    OPENAPI_PATH,
    SENSITIVE_PATHS_REGEX,
    GatewaySettings,
)


def http_filters(
    settings: GatewaySettings, routed: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The filter chain for the ``routed`` services (name → gRPC service), and the clusters it needs
    (the JWKS fetch's)."""
    jwt, jwt_clusters = jwt_filter(settings)
    chain: list[dict[str, Any]] = [
        {
            "name": "envoy.filters.http.lua",
            "typed_config": {
                "@type": LUA_TYPE,
                "default_source_code": {"inline_string": lua_source("request.lua")},
            },
        },
        # Runs on responses after the transcoder (filters encode in reverse order). Off by
        # default and enabled on the REST routes only: a gRPC client that reaches the
        # gateway by mistake must still see the grpc-status of its 404.
        {
            "name": "envoy.filters.http.header_mutation",
            "disabled": True,
            "typed_config": {
                "@type": (
                    "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation"
                ),
                "mutations": {},
            },
        },
        # 413 from Content-Length (or while streaming) before anything buffers the body.
        {
            "name": "envoy.filters.http.body_size_limit",
            "typed_config": {"@type": BODY_LIMIT_TYPE, "max_request_bytes": settings.max_request_bytes},
        },
        # The upload routes' own, larger limit (above it, redundant): those routes disable the one above.
        {
            "name": UPLOAD_LIMIT_FILTER,
            "typed_config": {"@type": BODY_LIMIT_TYPE, "max_request_bytes": settings.max_upload_bytes},
        },
        {"name": "envoy.filters.http.cors", "typed_config": {"@type": CORS_TYPE}},
        jwt,
        rate_limit_filter(settings),
        {
            "name": REQUIRE_SUBJECT_FILTER,
            "disabled": True,
            "typed_config": {
                "@type": LUA_TYPE,
                "source_codes": {"require_subject": {"inline_string": require_subject_lua()}},
            },
        },
    ]
    if routed:
        chain.append(
            {
                "name": "envoy.filters.http.grpc_json_transcoder",
                "typed_config": {
                    "@type": TRANSCODER_TYPE,
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
                    "print_options": {
                        "add_whitespace": False,
                        "always_print_primitive_fields": True,
                        "always_print_enums_as_ints": False,
                        "preserve_proto_field_names": True,
                    },
                    "request_validation_options": {
                        # false would forward unmatched paths to the upstream as garbage gRPC calls.
                        "reject_unknown_method": True,
                        # A typo in a filter (?page_sise=) must fail, not silently list everything.
                        "reject_unknown_query_parameters": True,
                        "reject_binding_body_field_collisions": True,
                    },
                },
            }
        )
    chain.append({"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER_TYPE}})
    return chain, jwt_clusters


def jwt_filter(settings: GatewaySettings) -> tuple[dict[str, Any], list[dict[str, Any]]]:
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
            clusters.append(static_cluster(JWKS_CLUSTER, host, settings.listen_port))
        else:
            cluster, uri = url_cluster(source)
            clusters.append(cluster)
        provider["remote_jwks"] = {
            "http_uri": {"uri": uri, "cluster": JWKS_CLUSTER, "timeout": "2s"},
            "cache_duration": seconds(settings.jwks_cache_seconds),
            # Fetched in the background and refreshed before expiry; fast_listener: the
            # listener must not wait for a fetch that goes through itself.
            "async_fetch": {"fast_listener": True, "failed_refetch_duration": "1s"},
            "retry_policy": {
                "num_retries": 3,
                "retry_back_off": {"base_interval": "0.2s", "max_interval": "2s"},
            },
        }
    else:
        provider["local_jwks"] = {"filename": str(source)}
    config = {
        "@type": JWT_TYPE,
        "providers": {JWT_PROVIDER: provider},
        # Routes choose by name (typed_per_filter_config); a route without a choice (no
        # route at all: 404) is not verified. "required" verifies a token when there is one but
        # lets a missing or failed one through to the rate limiter, which charges the client
        # address; require_subject.lua then answers 401 (a flood of bad tokens is throttled).
        "requirement_map": {
            "required": {
                "requires_any": {
                    "requirements": [{"provider_name": JWT_PROVIDER}, {"allow_missing_or_failed": {}}]
                }
            }
        },
        "bypass_cors_preflight": True,
    }
    return {"name": "envoy.filters.http.jwt_authn", "typed_config": config}, clusters


def rate_limit_filter(settings: GatewaySettings) -> dict[str, Any]:
    entries_public = [{"key": "caller", "value": "public"}, {"key": "remote_address"}]
    config = {
        "@type": RATELIMIT_TYPE,
        "stat_prefix": "ratelimit",
        # The default bucket is the global budget; always consumed, also by requests
        # that match a per-caller descriptor below.
        "token_bucket": settings.rate_limit_global.token_bucket(),
        "always_consume_default_token_bucket": True,
        "filter_enabled": {
            "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            "runtime_key": "ratelimit_enabled",
        },
        "filter_enforced": {
            "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            "runtime_key": "ratelimit_enforced",
        },
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "local_rate_limit_per_downstream_connection": False,
        # A descriptor value "" gives one bucket per distinct value: per user, per address.
        "descriptors": [
            {"entries": [{"key": "subject"}], "token_bucket": settings.rate_limit_user.token_bucket()},
            {"entries": entries_public, "token_bucket": settings.rate_limit_client.token_bucket()},
            {
                "entries": [{"key": "caller", "value": "sensitive"}, {"key": "remote_address"}],
                "token_bucket": settings.rate_limit_auth.token_bucket(),
            },
        ],
        "rate_limits": [
            # Authenticated: x-nexafi-subject exists only when jwt_authn verified a token.
            {
                "actions": [
                    {
                        "request_headers": {
                            "header_name": SUBJECT_HEADER,
                            "descriptor_key": "subject",
                            "skip_if_absent": True,
                        }
                    }
                ]
            },
            # Public (no verified subject): per client address.
            {
                "actions": [
                    {
                        "header_value_match": {
                            "descriptor_key": "caller",
                            "descriptor_value": "public",
                            "expect_match": False,
                            "headers": [{"name": SUBJECT_HEADER, "present_match": True}],
                        }
                    },
                    {"remote_address": {}},
                ]
            },
            # Login, registration, password reset: a much smaller budget per address.
            {
                "actions": [
                    {
                        "header_value_match": {
                            "descriptor_key": "caller",
                            "descriptor_value": "sensitive",
                            "headers": [
                                {"name": ":method", "string_match": {"exact": "POST"}},
                                {
                                    "name": ":path",
                                    "string_match": {"safe_regex": {"regex": SENSITIVE_PATHS_REGEX}},
                                },
                            ],
                        }
                    },
                    {"remote_address": {}},
                ]
            },
        ],
    }
    return {"name": "envoy.filters.http.local_ratelimit", "typed_config": config}


def lua_source(name: str) -> str:
    return (LUA_DIR / name).read_text()


def require_subject_lua() -> str:
    prelude = (
        f"local SUBJECT_HEADER = {json.dumps(SUBJECT_HEADER)}\n"
        f"local FAILURE_KEY = {json.dumps(JWT_FAILURE_METADATA)}\n"
    )
    return prelude + lua_source("require_subject.lua")


def health_lua(settings: GatewaySettings) -> str:
    backends = ", ".join(json.dumps(name) for name in sorted(settings.upstreams))
    prelude = f"local BACKENDS = {{{backends}}}\nlocal ADMIN_CLUSTER = {json.dumps(ADMIN_CLUSTER)}\n"
    return prelude + lua_source("health.lua")


def cors_policy(settings: GatewaySettings) -> dict[str, Any]:
    origins = [
        {"safe_regex": {"regex": ".*"}} if origin == "*" else {"exact": origin}
        for origin in settings.cors_origins
    ]
    return {
        "@type": CORS_POLICY_TYPE,
        "allow_origin_string_match": origins,
        "allow_methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "allow_headers": "authorization, content-type, idempotency-key, x-request-id",
        "expose_headers": "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset",
        "max_age": "600",
        # Bearer tokens, not cookies: browsers need not send credentials.
        "allow_credentials": False,
    }


def local_reply_config() -> dict[str, Any]:
    """Envoy's own replies in one JSON shape: {"code": <HTTP status>, "message": ...}.

    gRPC errors come from the transcoder as {"code": <gRPC code>, "message", "details"};
    local replies carry the HTTP status in ``code`` (there is no gRPC code for a 404 route).
    """

    def mapper(status: int, message: str) -> dict[str, Any]:
        return {
            "filter": {
                "status_code_filter": {
                    "comparison": {
                        "op": "EQ",
                        "value": {"default_value": status, "runtime_key": f"local_reply_{status}"},
                    }
                }
            },
            "body": {"inline_string": message},
        }

    passthrough = {
        # The health Lua marks its reply with a request header; the OpenAPI route is a
        # direct_response, matched by its path.
        "filter": {
            "or_filter": {
                "filters": [
                    {"header_filter": {"header": {"name": RAW_REPLY_HEADER, "present_match": True}}},
                    {
                        "header_filter": {
                            "header": {"name": ":path", "string_match": {"prefix": OPENAPI_PATH}}
                        }
                    },
                ]
            }
        },
        "body_format_override": {
            "text_format_source": {"inline_string": "%LOCAL_REPLY_BODY%"},
            "content_type": "application/json",
        },
    }

    def docs(suffix_regex: str, content_type: str) -> dict[str, Any]:
        return static(DOCS_PATH, suffix_regex, content_type)

    def static(prefix: str, suffix_regex: str, content_type: str) -> dict[str, Any]:
        # A page's direct responses (docs, console), passed through with their own content type.
        path = {
            "header_filter": {
                "header": {
                    "name": ":path",
                    "string_match": {
                        "safe_regex": {"regex": "^" + re.escape(prefix) + suffix_regex + r"(\?.*)?$"}
                    },
                }
            }
        }
        ok = {
            "status_code_filter": {
                "comparison": {
                    "op": "EQ",
                    "value": {"default_value": 200, "runtime_key": "local_reply_docs_200"},
                }
            }
        }
        return {
            "filter": {"and_filter": {"filters": [path, ok]}},
            "body_format_override": {
                "text_format_source": {"inline_string": "%LOCAL_REPLY_BODY%"},
                "content_type": content_type,
            },
        }

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
        "body_format": {
            "json_format": {"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%"},
            "content_type": "application/json",
        },
    }


def tracing(settings: GatewaySettings) -> dict[str, Any]:
    return {
        "provider": {
            "name": "envoy.tracers.opentelemetry",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
                "grpc_service": {"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "2s"},
                "service_name": TRACING_SERVICE_NAME,
            },
        },
        "random_sampling": {"value": settings.trace_sampling_percent},
    }
