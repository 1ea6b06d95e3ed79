"""Renders Envoy's configuration from settings: one source for the local stack and Kubernetes.

Envoy transcodes the public REST API (``google.api.http`` bindings, descriptor set
from gen/) into gRPC for each service, and answers every error as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.runtime.protogen import DESCRIPTOR, GEN

# REST path prefix → service, as in services.md.
ROUTE_PREFIXES: dict[str, str] = {
    "/api/v1/auth/": "user",
    "/api/v1/users": "user",
    "/api/v1/payments/": "payment",
    "/api/v1/ledger/": "ledger",
    "/api/v1/credit/": "credit",
    "/api/v1/analytics/": "analytics",
    "/api/v1/ai/": "ai",
    "/api/v1/documents/": "document",
}

GRPC_SERVICES: dict[str, str] = {
    "user": "nexafi.user.v1.UserService",
    "payment": "nexafi.payment.v1.PaymentService",
    "ledger": "nexafi.ledger.v1.LedgerService",
    "credit": "nexafi.credit.v1.CreditService",
    "analytics": "nexafi.analytics.v1.AnalyticsService",
    "ai": "nexafi.ai.v1.AiService",
    "document": "nexafi.document.v1.DocumentService",
}


@dataclass(frozen=True)
class GatewaySettings:
    """Where Envoy listens and where the upstream services are."""

    listen_port: int
    admin_port: int
    # service name → "host:port" of its gRPC server; only running services are routed.
    upstreams: dict[str, str]
    descriptor_path: Path = GEN / DESCRIPTOR
    request_timeout_seconds: float = 15.0


def _cluster(name: str, address: str, timeout: float) -> dict[str, Any]:
    host, _, port = address.rpartition(":")
    return {
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": host, "port_value": int(port)}}}}]}]},
        "health_checks": [{"timeout": "1s", "interval": "5s", "unhealthy_threshold": 2,
                           "healthy_threshold": 1, "grpc_health_check": {}}],
    }


def _json_local_reply() -> dict[str, Any]:
    # Envoy's own replies (unknown route, bad JSON, 413, 503...) as the same JSON shape
    # the transcoder gives gRPC errors: {"code", "message"}; here code is the HTTP status.
    return {"body_format": {"json_format": {"code": "%RESPONSE_CODE%", "message": "%LOCAL_REPLY_BODY%"},
                            "content_type": "application/json"}}


def render(settings: GatewaySettings) -> dict[str, Any]:
    """The whole Envoy bootstrap as a dict (JSON is valid Envoy YAML)."""
    routes = []
    for prefix, service in ROUTE_PREFIXES.items():
        if service not in settings.upstreams:
            continue
        routes.append({"match": {"prefix": prefix},
                       "route": {"cluster": service,
                                 "timeout": f"{settings.request_timeout_seconds}s"}})
    services = [GRPC_SERVICES[name] for name in settings.upstreams]
    http_filters: list[dict[str, Any]] = []
    if services:
        http_filters.append({
            "name": "envoy.filters.http.grpc_json_transcoder",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3."
                         "GrpcJsonTranscoder",
                "proto_descriptor": str(settings.descriptor_path),
                "services": services,
                "convert_grpc_status": True,
                "print_options": {"add_whitespace": False, "always_print_primitive_fields": True,
                                  "always_print_enums_as_ints": False, "preserve_proto_field_names": True},
                "request_validation_options": {"reject_unknown_method": True,
                                               "reject_unknown_query_parameters": True},
            }})
    http_filters.append({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})
    connection_manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
                 "HttpConnectionManager",
        "stat_prefix": "ingress",
        "codec_type": "AUTO",
        "generate_request_id": True,
        "route_config": {"name": "api", "virtual_hosts": [
            {"name": "api", "domains": ["*"], "routes": routes}]},
        "http_filters": http_filters,
        "local_reply_config": _json_local_reply(),
        "access_log": [{"name": "envoy.access_loggers.stdout", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
            "log_format": {"json_format": {
                "time": "%START_TIME%", "method": "%REQ(:METHOD)%",
                "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                "status": "%RESPONSE_CODE%", "grpc_status": "%GRPC_STATUS%",
                "duration_ms": "%DURATION%", "request_id": "%REQ(X-REQUEST-ID)%",
                "upstream": "%UPSTREAM_CLUSTER%"}}}}],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": settings.admin_port}}},
        "static_resources": {
            "listeners": [{"name": "rest", "address": {"socket_address": {
                "address": "0.0.0.0", "port_value": settings.listen_port}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                "typed_config": connection_manager}]}]}],
            "clusters": [_cluster(name, address, settings.request_timeout_seconds)
                         for name, address in settings.upstreams.items()],
        },
    }


def write(settings: GatewaySettings, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(render(settings), indent=2))
    return path
