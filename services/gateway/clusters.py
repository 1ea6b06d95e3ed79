"""Envoy's clusters: the gRPC upstreams (health-checked, with outlier detection and circuit
breakers), the loopback admin interface, a JWKS URL and an OTLP collector."""

from __future__ import annotations

import re
from typing import Any

from services.gateway.envoy_names import HTTP_OPTIONS_TYPE, JWKS_CLUSTER, OTLP_CLUSTER, seconds
from services.gateway.settings import GatewaySettings


def upstream_cluster(name: str, address: str, settings: GatewaySettings) -> dict[str, Any]:
    host, _, port = address.rpartition(":")
    return {
        "name": name,
        # STRICT_DNS: localhost in the dev stack, the Service's cluster DNS name on Kubernetes.
        "type": "STRICT_DNS",
        "connect_timeout": seconds(settings.connect_timeout_seconds),
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": HTTP_OPTIONS_TYPE,
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": host, "port_value": int(port)}}
                            }
                        }
                    ]
                }
            ],
        },
        "health_checks": [
            {
                "timeout": "1s",
                "interval": seconds(settings.health_check_interval_seconds),
                # The default is 60 s: an idle cluster would notice a dead backend a minute late.
                "no_traffic_interval": seconds(settings.health_check_no_traffic_seconds),
                "unhealthy_interval": "1s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "grpc_health_check": {},
            }
        ],
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
        "circuit_breakers": {
            "thresholds": [
                {
                    "priority": "DEFAULT",
                    "max_connections": settings.max_requests_per_upstream,
                    "max_pending_requests": settings.max_requests_per_upstream,
                    "max_requests": settings.max_requests_per_upstream,
                    # Retries at most a fifth of the requests in flight (at least 3 at a time), so
                    # retrying during an outage cannot multiply the load on a recovering service.
                    "retry_budget": {"budget_percent": {"value": 20.0}, "min_retry_concurrency": 3},
                }
            ]
        },
    }


def static_cluster(name: str, host: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}
                    ]
                }
            ],
        },
    }


def url_cluster(url: str) -> tuple[dict[str, Any], str]:
    """A cluster for an http(s) JWKS URL, and the URL Envoy should fetch."""
    match = re.fullmatch(r"(https?)://([^/:]+)(?::(\d+))?(/.*)?", url)
    if match is None:
        raise ValueError(f"not an http(s) URL: {url!r}")
    scheme, host, port, _path = match.groups()
    cluster: dict[str, Any] = {
        "name": JWKS_CLUSTER,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "load_assignment": {
            "cluster_name": JWKS_CLUSTER,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {
                                    "socket_address": {
                                        "address": host,
                                        "port_value": int(port or (443 if scheme == "https" else 80)),
                                    }
                                }
                            }
                        }
                    ]
                }
            ],
        },
    }
    if scheme == "https":
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": host,
            },
        }
    return cluster, url


def otlp_cluster(endpoint: str) -> dict[str, Any]:
    address = re.sub(r"^https?://", "", endpoint).rstrip("/")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"an OTLP endpoint is host:port, got {endpoint!r}")
    cluster = static_cluster(OTLP_CLUSTER, host, int(port))
    # A collector is a name on Kubernetes (otel-collector): resolve it, and keep resolving.
    cluster["type"] = "STRICT_DNS"
    cluster["typed_extension_protocol_options"] = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": HTTP_OPTIONS_TYPE,
            "explicit_http_config": {"http2_protocol_options": {}},
        }
    }
    return cluster
