"""The settings the manifests carry: the shared ConfigMap, Envoy's configuration (rendered by
services.gateway for the cluster), the base kustomization and the dev overlay's development-only
secret values."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.deploy.k8s_objects import (
    CLIENTS_KEY,
    CONFIG_MAP,
    DEV_HEADER,
    ENVOY_ADMIN_PORT,
    GATEWAY,
    GATEWAY_CONFIG_MAP,
    GATEWAY_PORT,
    HEADER,
    JWT_AUDIENCE,
    JWT_ISSUER,
    METRICS_PORT,
    NAMESPACE,
    OBJECT_STORE_PORTS,
    OTEL_COLLECTOR,
    OTLP_GRPC_PORT,
    POSTGRES_PORT,
    SHUTDOWN_GRACE_SECONDS,
    TMP,
)
from services.gateway.envoy_config import write
from services.gateway.render import settings_from_env
from services.gateway.settings import JWKS_PATH
from services.runtime.call_graph import CALLING_SERVICES
from services.runtime.config import DEFAULT_PORTS


def config_env(services: list[str]) -> str:
    """The shared settings (configMapGenerator env file)."""
    lines = [
        HEADER.rstrip("\n"),
        f"JWT_ISSUER={JWT_ISSUER}",
        f"JWT_AUDIENCE={JWT_AUDIENCE}",
        f"JWKS_URL=http://{GATEWAY}:{GATEWAY_PORT}{JWKS_PATH}",
        "LOG_FORMAT=json",
        "LOG_LEVEL=INFO",
        "OTEL_TRACES_EXPORTER=none",
        f"METRICS_PORT={METRICS_PORT}",
        # Safe with several replicas: migrations run under a PostgreSQL advisory lock.
        "MIGRATE_ON_START=true",
        f"SHUTDOWN_GRACE_SECONDS={SHUTDOWN_GRACE_SECONDS}",
        f"NEXAFI_DATA_DIR={TMP}/nexafi",
    ]
    # The headless names resolve to every ready pod; the clients balance per call (round_robin).
    lines += [f"{s.upper()}_ADDR=dns:///{s}-headless:{DEFAULT_PORTS[s]}" for s in services]
    return "\n".join(lines) + "\n"


@contextmanager
def gateway_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Exactly ``values`` for the variables the gateway renderer reads (none from the caller's shell)."""
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith(("GATEWAY_", "JWT_", "ENVOY_", "OTEL_")) or key.endswith("_ADDR"):
                del os.environ[key]
        os.environ.update(values)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def gateway_files(services: list[str], *, tracing: bool = False) -> dict[str, bytes]:
    """envoy.json from services.gateway (target k8s); with ``tracing``, Envoy's spans go to the
    tracing component's collector.

    Only Envoy's config goes into the ConfigMap: the descriptor set and the OpenAPI document
    (about 240 KB) are in the image, where Envoy reads them (K8S_DESCRIPTOR_SET, K8S_OPENAPI).
    In the ConfigMap they made it too large for a client-side `kubectl apply`, which copies the
    whole object into its last-applied-configuration annotation (at most 256 KiB)."""
    # Upstreams are the headless Services: Envoy resolves every ready pod and balances per request.
    upstreams = {s: f"{s}-headless:{DEFAULT_PORTS[s]}" for s in services}
    values = {
        "JWT_ISSUER": JWT_ISSUER,
        "JWT_AUDIENCE": JWT_AUDIENCE,
        "GATEWAY_PORT": str(GATEWAY_PORT),
        "ENVOY_ADMIN_PORT": str(ENVOY_ADMIN_PORT),
        "GATEWAY_METRICS_PORT": str(METRICS_PORT),
    }
    if tracing:
        values["GATEWAY_OTLP_ENDPOINT"] = f"{OTEL_COLLECTOR}:{OTLP_GRPC_PORT}"
    with gateway_environment(values):
        settings = settings_from_env(upstreams, target="k8s")
    with tempfile.TemporaryDirectory(prefix="nexafi-k8s-") as tmp:
        config = write(settings, Path(tmp) / "envoy.json")
        # Compact JSON: a client-side apply stores the ConfigMap again, escaped, in its annotation;
        # indented, Envoy's config took 2.5 times the room (174 KB of the 256 KiB allowed).
        compact = json.dumps(json.loads(config.read_text()), separators=(",", ":")) + "\n"
        return {"envoy.json": compact.encode()}


def dev_secrets(services: list[str]) -> dict[str, str]:
    """The dev overlay's secretGenerator env files (development-only values)."""
    user, password = "nexafi", "nexafi-dev-only-password"
    database = [f"{s}=postgresql://{user}:{password}@postgres:{POSTGRES_PORT}/nexafi_{s}" for s in services]
    client_secrets = {s: f"{s}-dev-only-client-secret-not-for-production" for s in CALLING_SERVICES}
    clients = [f"{s}={secret}" for s, secret in client_secrets.items()]
    clients.append(f"{CLIENTS_KEY}=" + ",".join(f"{s}:{secret}" for s, secret in client_secrets.items()))
    return {
        "database.env": DEV_HEADER + "\n".join(database) + "\n",
        "service-clients.env": DEV_HEADER + "\n".join(clients) + "\n",
        "postgres.env": DEV_HEADER + f"POSTGRES_USER={user}\nPOSTGRES_PASSWORD={password}\n",
        **(dev_document_secrets() if "document" in services else {}),
    }


def dev_document_secrets() -> dict[str, str]:
    """The dev overlay's MinIO root credentials and the document service's storage settings."""
    access, secret = "nexafi-dev", "nexafi-dev-only-minio-password"
    # 32 bytes, base64: a public development master key (the dev overlay only).
    master = "dev:" + base64.b64encode(b"nexafi-dev-only-master-key-32-by").decode()
    return {
        "minio.env": DEV_HEADER + f"MINIO_ROOT_USER={access}\nMINIO_ROOT_PASSWORD={secret}\n",
        "document.env": DEV_HEADER
        + "\n".join(
            [
                f"DOCUMENT_S3_ENDPOINT=minio:{OBJECT_STORE_PORTS[0]}",
                f"DOCUMENT_S3_ACCESS_KEY={access}",
                f"DOCUMENT_S3_SECRET_KEY={secret}",
                "DOCUMENT_S3_SECURE=false",
                f"DOCUMENT_MASTER_KEYS={master}",
            ]
        )
        + "\n",
    }


def base_kustomization(services: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": [
            "namespace.yaml",
            "network-policies.yaml",
            "gateway/gateway.yaml",
            *(f"services/{s}.yaml" for s in services),
        ],
        # Generated names carry a content hash: a changed setting or Envoy config rolls the pods.
        "configMapGenerator": [
            {"name": CONFIG_MAP, "envs": ["config.env"]},
            {"name": GATEWAY_CONFIG_MAP, "files": ["gateway/envoy.json"]},
        ],
    }
