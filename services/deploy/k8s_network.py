"""The NetworkPolicies: default deny, DNS, metrics scraping, then exactly the paths of the call
graph (services/runtime/call_graph.py), the gateway's and the ones to PostgreSQL and the object store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.deploy.k8s_objects import (
    GATEWAY,
    GATEWAY_PORT,
    METRICS_PORT,
    OBJECT_STORE_PORTS,
    POSTGRES_PORT,
    part_of,
    selector,
)
from services.runtime.config import DEFAULT_PORTS


def peer(name: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": selector(name)}}


def tcp(port: int | str) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def policy(
    name: str, pod: str | None, ingress: list[dict[str, Any]] | None, egress: list[dict[str, Any]] | None
) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector(pod)} if pod else {}}
    # An empty rule list is left out, not written as []: the API server drops it, so every
    # `kubectl apply` would otherwise patch it back and bump the object's generation.
    types = []
    if ingress is not None:
        types.append("Ingress")
        if ingress:
            spec["ingress"] = ingress
    if egress is not None:
        types.append("Egress")
        if egress:
            spec["egress"] = egress
    spec["policyTypes"] = types
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "nexafi"}},
        "spec": spec,
    }


def network_policies(services: list[str], calls: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """Default deny, DNS, then exactly the paths the mesh uses."""
    policies = [
        policy("default-deny", None, [], []),
        # Every pod resolves Service names. Port 53 to any address: kube-dns, NodeLocal DNSCache
        # (169.254.20.10) and OpenShift's resolver live in different places.
        policy("allow-dns", None, None, [{"ports": [{"protocol": "UDP", "port": 53}, tcp(53)]}]),
        # The REST API: from the ingress controller or load balancer (any source), and from the
        # services fetching the JWKS. Egress: every routed service.
        policy(
            "gateway",
            GATEWAY,
            [{"ports": [tcp(GATEWAY_PORT)]}],
            [{"to": [peer(s)], "ports": [tcp(DEFAULT_PORTS[s])]} for s in services],
        ),
    ]
    # Prometheus (wherever it runs in the cluster) scrapes every nexafi pod's metrics port, and
    # only that port: a policy of its own, so the per-service policies stay exact.
    policies.append(
        policy(
            "allow-metrics-scrape",
            None,
            [{"from": [{"namespaceSelector": {}}], "ports": [tcp(METRICS_PORT)]}],
            None,
        )
    )
    policies[-1]["spec"]["podSelector"] = {"matchLabels": part_of()}
    for service in services:
        callers = [GATEWAY, *(s for s in services if service in calls[s])]
        egress: list[dict[str, Any]] = [
            {"to": [peer(callee)], "ports": [tcp(DEFAULT_PORTS[callee])]} for callee in calls[service]
        ]
        if service != "user":
            # Token verification keys: JWKS_URL is the gateway's /api/v1/auth/jwks.
            egress.append({"to": [peer(GATEWAY)], "ports": [tcp(GATEWAY_PORT)]})
        # PostgreSQL may be outside the cluster (a managed database): any address, port 5432 only.
        egress.append({"ports": [tcp(POSTGRES_PORT)]})
        if service == "document":
            # Likewise the object store: in-cluster MinIO or S3 outside.
            egress.append({"ports": [tcp(p) for p in OBJECT_STORE_PORTS]})
        ingress = [{"from": [peer(c) for c in callers], "ports": [tcp(DEFAULT_PORTS[service])]}]
        policies.append(policy(service, service, ingress, egress))
    return policies
