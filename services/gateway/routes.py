"""Envoy's routes: the gateway's own (health, OpenAPI document, documentation page, staff
console) and each service's REST bindings, with their timeouts, retries and JWT requirement."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from services.gateway.bindings import Binding
from services.gateway.envoy_names import (
    FILTER_CONFIG_TYPE,
    GRPC_RESPONSE_HEADERS,
    HEADER_MUTATION_ROUTE_TYPE,
    JWT_ROUTE_TYPE,
    LUA_ROUTE_TYPE,
    REQUIRE_SUBJECT_FILTER,
    seconds,
)
from services.gateway.settings import (
    CONSOLE_ASSETS,
    CONSOLE_PATH,
    DOCS_ASSETS,
    DOCS_PATH,
    HEALTH_PATH,
    OPENAPI_PATH,
    PUBLIC_BINDINGS,
    GatewaySettings,
)


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


def gateway_routes(settings: GatewaySettings, openapi: Path, health_lua: str) -> list[dict[str, Any]]:
    """The routes Envoy answers itself: health (``health_lua``), the OpenAPI document at ``openapi``,
    and, when their files are set, the documentation page and the staff console."""
    routes: list[dict[str, Any]] = [
        {
            "name": "gateway.health",
            "match": {"path": HEALTH_PATH},
            # The Lua per-route source answers; this reply only shows if it did not run.
            "direct_response": {"status": 503, "body": {"inline_string": "health handler unavailable"}},
            "typed_per_filter_config": {
                "envoy.filters.http.lua": {
                    "@type": LUA_ROUTE_TYPE,
                    "source_code": {"inline_string": health_lua},
                },
                "envoy.filters.http.grpc_json_transcoder": {"@type": FILTER_CONFIG_TYPE, "disabled": True},
            },
        },
        {
            "name": "gateway.openapi",
            "match": {
                "path": OPENAPI_PATH,
                "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
            },
            "direct_response": {"status": 200, "body": {"filename": str(openapi)}},
            "response_headers_to_add": [{"header": {"key": "cache-control", "value": "public, max-age=300"}}],
            "typed_per_filter_config": {
                "envoy.filters.http.grpc_json_transcoder": {"@type": FILTER_CONFIG_TYPE, "disabled": True}
            },
        },
    ]
    if settings.docs_assets_dir is not None:
        routes.extend(docs_routes(settings.docs_assets_dir))
    if settings.console_dir is not None:
        routes.extend(console_routes(settings.console_dir))
    return routes


def route_timeouts(timeout: float) -> dict[str, Any]:
    return {
        "timeout": seconds(timeout),
        # Without it a stalled stream would hold its connection until the route timeout.
        "idle_timeout": seconds(min(timeout, 60.0)),
    }


def service_routes(
    service: str, service_bindings: list[Binding], settings: GatewaySettings
) -> list[dict[str, Any]]:
    required: dict[str, Any] = {
        "envoy.filters.http.jwt_authn": {"@type": JWT_ROUTE_TYPE, "requirement_name": "required"}
    }
    public: dict[str, Any] = {"envoy.filters.http.jwt_authn": {"@type": JWT_ROUTE_TYPE, "disabled": True}}
    # Streamed bodies (document upload) get the upload limit instead of the unary one: 413
    # from Content-Length before a byte reaches the service, or as soon as the chunks pass it.
    upload_limit: dict[str, Any] = {
        "envoy.filters.http.body_size_limit": {"@type": FILTER_CONFIG_TYPE, "disabled": True}
    }
    # A FilterConfig enables a filter that is disabled in the chain.
    require_subject: dict[str, Any] = {
        REQUIRE_SUBJECT_FILTER: {
            "@type": FILTER_CONFIG_TYPE,
            "config": {"@type": LUA_ROUTE_TYPE, "name": "require_subject"},
        }
    }
    # A FilterConfig enables a filter that is disabled in the chain.
    strip_grpc: dict[str, Any] = {
        "envoy.filters.http.header_mutation": {
            "@type": FILTER_CONFIG_TYPE,
            "config": {
                "@type": HEADER_MUTATION_ROUTE_TYPE,
                "mutations": {"response_mutations": [{"remove": h} for h in GRPC_RESPONSE_HEADERS]},
            },
        }
    }
    required = {**required, **strip_grpc, **require_subject}
    public = {**public, **strip_grpc}
    # The upstream deadline: gRPC servers see grpc-timeout and can stop work the client
    # will never read.
    deadline_ms = int(settings.request_timeout_seconds * 1000)

    def route(
        match: dict[str, Any],
        timeout: float,
        per_filter: dict[str, Any],
        *,
        retry: bool,
        name: str,
        streaming_route: bool = False,
    ) -> dict[str, Any]:
        action: dict[str, Any] = {"cluster": service, **route_timeouts(timeout)}
        if retry:
            # Reads are idempotent: retried on a reset and on the service's own UNAVAILABLE (a
            # database restart, with its RetryInfo), spread over about two seconds.
            action["retry_policy"] = {
                "retry_on": "connect-failure,refused-stream,reset,unavailable",
                "num_retries": 3,
                "per_try_timeout": seconds(max(timeout / 3, 1.0)),
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
        return {
            "name": name,
            "match": match,
            "route": action,
            "typed_per_filter_config": per_filter,
            "decorator": {"operation": name},
            "request_headers_to_add": [
                {
                    "header": {"key": "grpc-timeout", "value": f"{deadline_ms}m"},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }
            ],
        }

    routes: list[dict[str, Any]] = []
    for binding in service_bindings:
        is_public = (binding.http_method, binding.path) in PUBLIC_BINDINGS
        streaming = binding.client_streaming or binding.server_streaming
        if not (is_public or streaming):
            continue
        match = {
            "safe_regex": {"regex": path_regex(binding.path)},
            "headers": [{"name": ":method", "string_match": {"exact": binding.http_method}}],
        }
        timeout = settings.stream_timeout_seconds if streaming else settings.request_timeout_seconds
        per_filter = dict(public if is_public else required)
        if binding.client_streaming:
            per_filter.update(upload_limit)
        routes.append(
            route(
                match,
                timeout,
                per_filter,
                retry=binding.http_method == "GET" and not streaming,
                name=f"{service}.{binding.method}",
                streaming_route=streaming,
            )
        )
    prefixes = sorted({binding.route_prefix for binding in service_bindings})
    for prefix in prefixes:
        get = {
            "path_separated_prefix": prefix,
            "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
        }
        routes.append(
            route(get, settings.request_timeout_seconds, required, retry=True, name=f"{service}.read")
        )
        routes.append(
            route(
                {"path_separated_prefix": prefix},
                settings.request_timeout_seconds,
                required,
                retry=False,
                name=f"{service}.write",
            )
        )
    return routes


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
_DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def docs_routes(assets: Path) -> list[dict[str, Any]]:
    """The documentation page (Swagger UI on the OpenAPI document) and its assets, as direct responses."""
    pages: list[tuple[str, dict[str, Any]]] = [
        (DOCS_PATH, {"inline_string": _DOCS_HTML.format(path=DOCS_PATH)}),
        (f"{DOCS_PATH}/init.js", {"inline_string": _DOCS_INIT.format(openapi=OPENAPI_PATH)}),
        *((f"{DOCS_PATH}/{name}", {"filename": str(assets / name)}) for name in DOCS_ASSETS),
    ]
    return [
        {
            "name": "gateway.docs",
            "match": {"path": path, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
            "direct_response": {"status": 200, "body": body},
            # The content type comes from the local reply mapper (local_reply_config), by path.
            "response_headers_to_add": [
                {"header": {"key": "cache-control", "value": "public, max-age=300"}},
                {"header": {"key": "content-security-policy", "value": _DOCS_CSP}},
                {"header": {"key": "x-content-type-options", "value": "nosniff"}},
            ],
            "typed_per_filter_config": {
                "envoy.filters.http.grpc_json_transcoder": {"@type": FILTER_CONFIG_TYPE, "disabled": True}
            },
        }
        for path, body in pages
    ]


# The console's own script and style only; it calls the API on this origin with the access
# token in a header, so no cookie and no inline script.
_CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def console_routes(assets: Path) -> list[dict[str, Any]]:
    """The staff console: /console redirects to /console/, which is index.html; its script and style."""
    get = [{"name": ":method", "string_match": {"exact": "GET"}}]
    no_transcoder = {
        "envoy.filters.http.grpc_json_transcoder": {"@type": FILTER_CONFIG_TYPE, "disabled": True}
    }
    files = [
        (f"{CONSOLE_PATH}/", "index.html"),
        *((f"{CONSOLE_PATH}/{name}", name) for name in CONSOLE_ASSETS if name != "index.html"),
    ]
    routes: list[dict[str, Any]] = [
        {
            "name": "gateway.console",
            "match": {"path": CONSOLE_PATH, "headers": get},
            "redirect": {"path_redirect": f"{CONSOLE_PATH}/"},
            "typed_per_filter_config": no_transcoder,
        }
    ]
    routes.extend(
        {
            "name": "gateway.console",
            "match": {"path": path, "headers": get},
            "direct_response": {"status": 200, "body": {"filename": str(assets / name)}},
            # The content type comes from the local reply mapper (local_reply_config), by path.
            # no-cache: a new release's script is picked up at once (revalidated, not re-downloaded).
            "response_headers_to_add": [
                {"header": {"key": "cache-control", "value": "no-cache"}},
                {"header": {"key": "content-security-policy", "value": _CONSOLE_CSP}},
                {"header": {"key": "x-content-type-options", "value": "nosniff"}},
                {"header": {"key": "referrer-policy", "value": "no-referrer"}},
            ],
            "typed_per_filter_config": no_transcoder,
        }
        for path, name in files
    )
    return routes
