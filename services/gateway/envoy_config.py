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

This module assembles the bootstrap (listeners, connection manager, access log) from its parts:
``settings`` (GatewaySettings and the API's public paths), ``routes``, ``filters`` (the chain
above and its policies), ``clusters`` and ``envoy_names`` (the names the parts share).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.gateway.bindings import bindings
from services.gateway.clusters import otlp_cluster, static_cluster, upstream_cluster
from services.gateway.envoy_names import (
    ADMIN_CLUSTER,
    CLIENT_ADDRESS_HEADER,
    HCM_TYPE,
    ROUTER_TYPE,
    SUBJECT_HEADER,
)
from services.gateway.filters import cors_policy, health_lua, http_filters, local_reply_config, tracing
from services.gateway.routes import gateway_routes, service_routes
from services.gateway.settings import GRPC_SERVICES, METRICS_PATH, GatewaySettings


def render(settings: GatewaySettings, *, openapi_file: Path | None = None) -> dict[str, Any]:
    """The whole Envoy bootstrap as a dict (JSON is valid Envoy YAML)."""
    unknown = set(settings.upstreams) - set(GRPC_SERVICES)
    if unknown:
        raise ValueError(f"unknown services: {sorted(unknown)}")
    openapi = openapi_file or settings.openapi_file()
    routed = {name: GRPC_SERVICES[name] for name in settings.upstreams}
    all_bindings = bindings(settings.descriptor_source, list(routed.values()))
    owner: dict[str, str] = {}
    routes = gateway_routes(settings, openapi, health_lua(settings))
    for name, full_name in routed.items():
        service_bindings = [b for b in all_bindings if b.service == full_name]
        for prefix in {b.route_prefix for b in service_bindings}:
            if owner.setdefault(prefix, name) != name:
                raise ValueError(f"{prefix} is bound by both {owner[prefix]} and {name}")
        routes.extend(service_routes(name, service_bindings, settings))
    chain, jwt_clusters = http_filters(settings, routed)

    access_log_format = {
        "time": "%START_TIME%",
        "request_id": "%REQ(X-REQUEST-ID)%",
        "method": "%REQ(:METHOD)%",
        "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
        "status": "%RESPONSE_CODE%",
        "grpc_status": "%GRPC_STATUS%",
        "flags": "%RESPONSE_FLAGS%",
        "details": "%RESPONSE_CODE_DETAILS%",
        "duration_ms": "%DURATION%",
        "upstream_ms": "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
        "route": "%ROUTE_NAME%",
        "upstream": "%UPSTREAM_CLUSTER%",
        "upstream_host": "%UPSTREAM_HOST%",
        "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
        "subject": f"%REQ({SUBJECT_HEADER.upper()})%",
        "bytes_in": "%BYTES_RECEIVED%",
        "bytes_out": "%BYTES_SENT%",
        "user_agent": "%REQ(USER-AGENT)%",
    }
    connection_manager = {
        "@type": HCM_TYPE,
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
        "request_id_extension": {
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig",
                "pack_trace_reason": False,
                "use_request_id_for_trace_sampling": False,
            }
        },
        "request_headers_timeout": "10s",
        "stream_idle_timeout": "60s",
        "common_http_protocol_options": {
            "idle_timeout": "300s",
            "headers_with_underscores_action": "REJECT_REQUEST",
        },
        "route_config": {
            "name": "api",
            # The OpenAPI document is served as a direct response; the default cap is 4 KiB.
            "max_direct_response_body_size_bytes": 8 * 1024 * 1024,
            "virtual_hosts": [
                {
                    "name": "api",
                    "domains": ["*"],
                    "routes": routes,
                    # gRPC transport details mean nothing to REST clients.
                    "response_headers_to_remove": ["x-envoy-upstream-service-time"],
                    # The client's address (after the trusted XFF hops), for the user service's
                    # login throttle; overwrites whatever a client sent.
                    "request_headers_to_add": [
                        {
                            "header": {
                                "key": CLIENT_ADDRESS_HEADER,
                                "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
                            },
                            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                        }
                    ],
                    "typed_per_filter_config": {"envoy.filters.http.cors": cors_policy(settings)},
                }
            ],
        },
        "http_filters": chain,
        "local_reply_config": local_reply_config(),
        "access_log": [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                    "log_format": {"json_format": access_log_format},
                },
            }
        ],
    }
    clusters = [upstream_cluster(name, address, settings) for name, address in settings.upstreams.items()]
    clusters.append(static_cluster(ADMIN_CLUSTER, "127.0.0.1", settings.admin_port))
    clusters.extend(jwt_clusters)
    if settings.otlp_endpoint:
        connection_manager["tracing"] = tracing(settings)
        access_log_format["trace_id"] = "%TRACE_ID%"
        clusters.append(otlp_cluster(settings.otlp_endpoint))
    listeners: list[dict[str, Any]] = [
        {
            "name": "rest",
            "address": {
                "socket_address": {"address": settings.listen_address, "port_value": settings.listen_port}
            },
            "filter_chains": [
                {
                    "filters": [
                        {
                            "name": "envoy.filters.network.http_connection_manager",
                            "typed_config": connection_manager,
                        }
                    ]
                }
            ],
        }
    ]
    if settings.metrics_port:
        listeners.append(metrics_listener(settings))
    return {
        "node": {"id": "nexafi-gateway", "cluster": "nexafi-gateway"},
        "admin": {
            "address": {
                "socket_address": {"address": settings.admin_address, "port_value": settings.admin_port}
            }
        },
        "static_resources": {
            "listeners": listeners,
            "clusters": clusters,
        },
        # A cap on downstream connections, so a connection flood cannot exhaust file descriptors.
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": (
                            "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3."
                            "DownstreamConnectionsConfig"
                        ),
                        "max_active_downstream_connections": 50000,
                    },
                }
            ]
        },
    }


def metrics_listener(settings: GatewaySettings) -> dict[str, Any]:
    """GET /stats/prometheus only, proxied to the loopback admin interface: a scraper in the
    cluster reaches the figures without reaching /quitquitquit or the config dump."""
    manager = {
        "@type": HCM_TYPE,
        "stat_prefix": "metrics",
        "route_config": {
            "name": "metrics",
            "virtual_hosts": [
                {
                    "name": "metrics",
                    "domains": ["*"],
                    "routes": [
                        {
                            "match": {
                                "path": METRICS_PATH,
                                "headers": [{"name": ":method", "string_match": {"exact": "GET"}}],
                            },
                            "route": {"cluster": ADMIN_CLUSTER, "timeout": "5s"},
                        },
                        {
                            "match": {"prefix": "/"},
                            "direct_response": {
                                "status": 404,
                                "body": {"inline_string": f"only GET {METRICS_PATH} here\n"},
                            },
                        },
                    ],
                }
            ],
        },
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": ROUTER_TYPE}}],
    }
    return {
        "name": "metrics",
        "address": {
            "socket_address": {"address": settings.metrics_address, "port_value": settings.metrics_port}
        },
        "filter_chains": [
            {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}]}
        ],
    }


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
