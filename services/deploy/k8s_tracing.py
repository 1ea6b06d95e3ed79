"""components/tracing: an OpenTelemetry collector, and tracing switched on in Envoy and every service."""

from __future__ import annotations

from services.deploy.k8s_config import gateway_files
from services.deploy.k8s_network import peer, policy, tcp
from services.deploy.k8s_objects import (
    CONFIG_MAP,
    GATEWAY_CONFIG_MAP,
    HEADER,
    OTEL_COLLECTOR,
    OTEL_COLLECTOR_IMAGE,
    OTLP_GRPC_PORT,
    Resources,
    container_security_context,
    deployment,
    metadata,
    part_of,
    pod_spec,
    selector,
    service_account,
    to_yaml,
)

# The collector's pipeline: OTLP in, batched, written to its log (`kubectl logs deploy/otel-collector`).
# Point `exporters` at your tracing backend (Tempo, Jaeger, a vendor's OTLP endpoint) to keep them.
COLLECTOR_CONFIG = f"""receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:{OTLP_GRPC_PORT}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  batch: {{}}
exporters:
  debug:
    verbosity: basic
extensions:
  health_check:
    endpoint: 0.0.0.0:13133
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, batch]
      exporters: [debug]
"""


def tracing_component(services: list[str]) -> dict[str, bytes]:
    """components/tracing: an OpenTelemetry collector, and tracing on in Envoy and every service."""
    name = OTEL_COLLECTOR
    container = {
        "name": "collector",
        "image": OTEL_COLLECTOR_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--config=/etc/otelcol/config.yaml"],
        "ports": [{"name": "otlp-grpc", "containerPort": OTLP_GRPC_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/", "port": 13133}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/", "port": 13133}, "periodSeconds": 10},
        "resources": Resources("50m", "64Mi", "500m", "256Mi").as_dict(),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "config", "mountPath": "/etc/otelcol", "readOnly": True}],
    }
    pod = pod_spec(name, [container], [{"name": "config", "configMap": {"name": f"{name}-config"}}])
    objects = [
        service_account(name, "tracing"),
        deployment(name, "tracing", pod),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name, "tracing"),
            "spec": {
                "type": "ClusterIP",
                "selector": selector(name),
                "ports": [
                    {
                        "name": "otlp-grpc",
                        "port": OTLP_GRPC_PORT,
                        "targetPort": "otlp-grpc",
                        "protocol": "TCP",
                        "appProtocol": "kubernetes.io/h2c",
                    }
                ],
            },
        },
        # Every nexafi pod may send spans to the collector (the base denies all other egress).
        policy("allow-otlp-egress", None, None, [{"to": [peer(name)], "ports": [tcp(OTLP_GRPC_PORT)]}]),
        policy(
            name,
            name,
            [{"from": [{"podSelector": {"matchLabels": part_of()}}], "ports": [tcp(OTLP_GRPC_PORT)]}],
            # Nothing by default; add egress to your tracing backend with its exporter.
            [],
        ),
    ]
    objects[3]["spec"]["podSelector"] = {"matchLabels": part_of()}
    tracing_env = (
        "\n".join(
            [
                HEADER.rstrip("\n"),
                "OTEL_TRACES_EXPORTER=otlp",
                f"OTEL_EXPORTER_OTLP_ENDPOINT=http://{name}:{OTLP_GRPC_PORT}",
                "OTEL_EXPORTER_OTLP_INSECURE=true",
            ]
        )
        + "\n"
    )
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "resources": ["collector.yaml"],
        "configMapGenerator": [
            {"name": f"{name}-config", "files": ["config.yaml"]},
            # Tracing on: the services export by OTLP, Envoy's config gains the tracer.
            {"name": CONFIG_MAP, "behavior": "merge", "envs": ["tracing.env"]},
            {"name": GATEWAY_CONFIG_MAP, "behavior": "merge", "files": ["envoy.json"]},
        ],
    }
    return {
        "components/tracing/collector.yaml": to_yaml(*objects),
        "components/tracing/config.yaml": (HEADER + COLLECTOR_CONFIG).encode(),
        "components/tracing/tracing.env": tracing_env.encode(),
        "components/tracing/envoy.json": gateway_files(services, tracing=True)["envoy.json"],
        "components/tracing/kustomization.yaml": to_yaml(kustomization),
    }
