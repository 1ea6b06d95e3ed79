"""The Kubernetes manifests: the committed generated files are what the renderer writes (like
gen/), and what kustomize builds for each overlay is deployable: probes, resources and a locked-down
securityContext on every container, every referenced ConfigMap and Secret present (dev), pinned
images, the gateway's configuration mounted where Envoy reads it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from services.deploy import apply, k8s, k8s_config, k8s_objects
from services.devtools.envoy_process import ENVOY_BIN, validate
from services.gateway import openapi
from services.gateway.settings import (
    CONSOLE_DIR,
    GRPC_SERVICES,
    K8S_DESCRIPTOR_SET,
    K8S_OPENAPI,
    SWAGGER_UI_DIR,
)
from services.runtime.config import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "k8s"
# Created by the operator, never generated (k8s/overlays/dev/README.md has the command).
EXTERNAL_SECRETS = {k8s_objects.SIGNING_KEYS_SECRET}


@cache
def rendered() -> dict[str, bytes]:
    return k8s.render()


def test_committed_files_are_up_to_date(tmp_path):
    k8s.write_files(rendered(), tmp_path)
    problems = k8s.differences(k8s._existing(tmp_path), K8S)
    assert not problems, "k8s/ is stale: run `python -m services.deploy.k8s`\n" + "\n".join(problems)


def test_write_prunes_files_the_renderer_no_longer_makes(tmp_path):
    (tmp_path / "base" / "services").mkdir(parents=True)
    (tmp_path / "base" / "services" / "gone.yaml").write_text("old")
    (tmp_path / "overlays" / "prod").mkdir(parents=True)
    (tmp_path / "overlays" / "prod" / "kustomization.yaml").write_text("hand-written")
    k8s.write_files(rendered(), tmp_path)
    assert not (tmp_path / "base" / "services" / "gone.yaml").exists()
    assert (tmp_path / "overlays" / "prod" / "kustomization.yaml").read_text() == "hand-written"
    assert k8s.differences(rendered(), tmp_path) == []


def test_services_discovered_from_the_code():
    services = k8s.discover_services()
    assert {"user", "ledger"} <= set(services)
    for name in services:
        assert (ROOT / "services" / name / "__main__.py").is_file()
    assert "gateway" not in services and "runtime" not in services


def test_calls_come_from_the_call_graph():
    services = k8s.discover_services()
    if "payment" in services:
        assert set(k8s.deployed_calls("payment", services)) == {"user", "ledger", "ai"} & set(services)
    # Every other service reads the user service's revocation feed; the user service reads its own.
    assert k8s.deployed_calls("ledger", services) == ["user"]
    assert k8s.deployed_calls("user", services) == []
    # A callee that is not deployed opens no path.
    assert k8s.deployed_calls("payment", ["user", "payment"]) == ["user"]


def test_envoy_config_routes_the_deployed_services_through_headless_services(tmp_path):
    config = json.loads(rendered()["base/gateway/envoy.json"])
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    for service in k8s.discover_services():
        address = clusters[service]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        assert address["address"]["socket_address"] == {
            "address": f"{service}-headless",
            "port_value": DEFAULT_PORTS[service],
        }
    assert set(clusters) & set(GRPC_SERVICES) == set(k8s.discover_services())
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    # The descriptor set and the OpenAPI document are the image's, not the ConfigMap's.
    text = rendered()["base/gateway/envoy.json"].decode()
    assert f'"{K8S_DESCRIPTOR_SET}"' in text and f'"{K8S_OPENAPI}"' in text
    assert not {"base/gateway/nexafi.pb", "base/gateway/openapi.json"} & set(rendered())


def test_the_image_holds_what_envoy_reads_from_it():
    """k8s/Dockerfile puts gen/ at /app/gen and writes the OpenAPI document where Envoy reads it."""
    dockerfile = (K8S / "Dockerfile").read_text()
    assert K8S_DESCRIPTOR_SET.parent == Path("/app/gen") and "COPY gen/ /app/gen/" in dockerfile
    assert f"-m services.gateway.openapi {K8S_OPENAPI}" in dockerfile
    assert "COPY --from=build /app /app" in dockerfile


@pytest.mark.skipif(not ENVOY_BIN.exists(), reason="no envoy binary in the venv")
def test_envoy_accepts_the_kubernetes_config(tmp_path):
    # What the image holds (see the test above), here in a temporary folder.
    shutil.copy(ROOT / "gen" / "nexafi.pb", tmp_path / "nexafi.pb")
    assert openapi.main([str(tmp_path / "openapi.json")]) == 0
    config = tmp_path / "envoy.json"
    config.write_bytes(rendered()["base/gateway/envoy.json"])
    config.write_text(
        config.read_text()
        .replace(str(K8S_DESCRIPTOR_SET), str(tmp_path / "nexafi.pb"))
        .replace(str(K8S_OPENAPI), str(tmp_path / "openapi.json"))
        .replace("/app/swagger-ui", str(SWAGGER_UI_DIR))
        .replace("/app/services/gateway/console", str(CONSOLE_DIR))
    )
    result = validate(config)
    assert result.returncode == 0, result.stdout + result.stderr


# --- what a client-side `kubectl apply` stores ----------------------------------------------------


def test_the_generated_config_maps_fit_a_client_side_apply():
    """Without kubectl: each ConfigMap of the base's generators, as kustomize makes it from the
    rendered files, stays within our budget once kubectl adds its last-applied annotation."""
    files = rendered()
    for generator in k8s_config.base_kustomization(k8s.discover_services())["configMapGenerator"]:
        data: dict[str, str] = {}
        for name in generator.get("files", []):
            data[Path(name).name] = files[f"base/{name}"].decode()
        for name in generator.get("envs", []):
            for line in files[f"base/{name}"].decode().splitlines():
                if line and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    data[key] = value
        config_map = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "data": data,
            "metadata": {"name": f"{generator['name']}-0123456789", "namespace": k8s_objects.NAMESPACE},
        }
        size = apply.annotations_size(config_map)
        assert size <= apply.ANNOTATIONS_BUDGET, (
            f"ConfigMap {generator['name']}: {size} bytes of annotations after `kubectl apply` "
            f"(budget {apply.ANNOTATIONS_BUDGET}, server limit {apply.ANNOTATIONS_LIMIT})"
        )


def test_the_annotation_size_is_what_kubectl_writes():
    """The arithmetic on a case worked by hand: compact JSON, HTML-escaped, a newline."""
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "annotations": {apply.LAST_APPLIED: "old", "note": "x"}},
        "data": {"k": "<é>"},
    }
    expected = (
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","annotations":{"note":"x"}},'
        '"data":{"k":"\\u003cé\\u003e"}}\n'
    )
    assert apply.last_applied_configuration(obj) == expected
    assert apply.annotations_size(obj) == len("note") + 1 + len(apply.LAST_APPLIED) + len(expected.encode())
    # Without other annotations kubectl still writes an empty map (as kube-apiserver 1.20 stored it).
    bare = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}
    assert apply.last_applied_configuration(bare) == (
        '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n","annotations":{}}}\n'
    )


def kustomize_builds() -> list[str]:
    """Every overlay and every component, as paths under k8s/."""
    return sorted(
        p.parent.relative_to(K8S).as_posix()
        for folder in ("overlays", "components")
        for p in (K8S / folder).glob("*/kustomization.yaml")
    )


@pytest.mark.parametrize("build", kustomize_builds())
def test_every_object_fits_a_client_side_apply(build, tmp_path):
    """`kubectl apply -k` (client-side) copies each object into an annotation; the API server
    refuses annotations over 256 KiB. Every object of every overlay and component (applied to
    the base, as a component only builds within a kustomization) stays a quarter below that."""
    path = K8S / build
    if build.startswith("components/"):
        (tmp_path / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"resources: [{os.path.relpath(K8S / 'base', tmp_path)}]\n"
            f"components: [{os.path.relpath(path, tmp_path)}]\n"
        )
        path = tmp_path
    objects = kustomize_path(path)
    assert objects
    sizes = {f"{o['kind']}/{o['metadata']['name']}": apply.annotations_size(o) for o in objects}
    too_large = {name: size for name, size in sizes.items() if size > apply.ANNOTATIONS_BUDGET}
    assert not too_large, (
        f"{build}: annotations after `kubectl apply` over {apply.ANNOTATIONS_BUDGET} "
        f"bytes (server limit {apply.ANNOTATIONS_LIMIT}): {too_large}"
    )


# --- what kustomize builds -------------------------------------------------------------------------


def kustomize(overlay: str) -> list[dict[str, Any]]:
    return kustomize_path(K8S / "overlays" / overlay)


def kustomize_path(path: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize`, parsed by kubectl itself into JSON (offline: `label --local`)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the kustomize build of the overlays is not checked")
    return _build(kubectl, path)


@cache
def _build(kubectl: str, path: Path) -> list[dict[str, Any]]:
    built = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    parsed = subprocess.run(
        [kubectl, "label", "--local", "-f", "-", "-o", "json", "nexafi.test/parsed=1"],
        input=built.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert parsed.returncode == 0, parsed.stderr
    decoder = json.JSONDecoder()
    objects, text, position = [], parsed.stdout, 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        obj, position = decoder.raw_decode(text, position)
        objects.extend(obj["items"] if obj.get("kind") == "List" else [obj])
    for obj in objects:
        labels = obj["metadata"]["labels"]
        labels.pop("nexafi.test/parsed")
        if not labels:  # as the file had it: no labels at all
            del obj["metadata"]["labels"]
    return objects


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


OVERLAYS = ["dev", "prod"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_in_the_namespace(overlay):
    for obj in kustomize(overlay):
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == k8s_objects.NAMESPACE, obj["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_probed_sized_and_locked_down(overlay):
    objects = kustomize(overlay)
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == {"gateway", *k8s.discover_services()}
    for workload in workloads(objects):
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["enableServiceLinks"] is False, name
        for container in containers(workload):
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            assert set(resources["requests"]) == {"cpu", "memory"}, where
            assert set(resources["limits"]) == {"cpu", "memory"}, where
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert security["seccompProfile"]["type"] == "RuntimeDefault", where
        main = pod["containers"][0]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert probe in main, f"{name}: no {probe}"
        mounts = {m["mountPath"] for m in main.get("volumeMounts", [])}
        if workload["kind"] == "Deployment":
            assert "/tmp" in mounts, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_use_native_grpc_probes_and_the_gateway_tcp(overlay):
    deployments = of_kind(kustomize(overlay), "Deployment")
    for service in k8s.discover_services():
        container = deployments[service]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "-m", f"services.{service}"]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["grpc"] == {"port": DEFAULT_PORTS[service]}, (service, probe)
        assert container["ports"][0]["containerPort"] == DEFAULT_PORTS[service]
    envoy = deployments["gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert envoy["command"][:3] == ["envoy", "-c", "/etc/envoy/envoy.json"]
    assert envoy["readinessProbe"]["tcpSocket"]["port"] == "http"
    assert envoy["ports"][0]["containerPort"] == 8080


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_the_one_image_with_a_tag(overlay):
    for workload in workloads(kustomize(overlay)):
        for container in containers(workload):
            image = container["image"]
            name, _, tag = image.rpartition(":")
            assert name and tag and "/" not in tag and tag != "latest", image
            if workload["kind"] == "Deployment":
                assert name.endswith("nexafi"), image


def referenced(objects: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The ConfigMaps and Secrets the workloads need (optional references left out)."""
    config_maps: set[str] = set()
    secrets: set[str] = set()
    for workload in workloads(objects):
        pod = workload["spec"]["template"]["spec"]
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                config_maps.add(volume["configMap"]["name"])
            if "secret" in volume:
                secrets.add(volume["secret"]["secretName"])
        for container in containers(workload):
            for source in container.get("envFrom", []):
                for kind, names in (("configMapRef", config_maps), ("secretRef", secrets)):
                    if kind in source and not source[kind].get("optional"):
                        names.add(source[kind]["name"])
            for env in container.get("env", []):
                ref = env.get("valueFrom", {})
                for kind, names in (("configMapKeyRef", config_maps), ("secretKeyRef", secrets)):
                    if kind in ref and not ref[kind].get("optional"):
                        names.add(ref[kind]["name"])
    return config_maps, secrets


def test_dev_has_every_configmap_and_secret_it_references():
    objects = kustomize("dev")
    config_maps, secrets = referenced(objects)
    assert config_maps <= set(of_kind(objects, "ConfigMap"))
    assert secrets - EXTERNAL_SECRETS <= set(of_kind(objects, "Secret"))
    # Generated names carry a hash suffix, so a changed setting rolls the pods.
    assert all(name.startswith(("nexafi-config-", "nexafi-gateway-")) for name in config_maps)
    # Each secretKeyRef key exists in the generated Secret.
    generated = of_kind(objects, "Secret")
    for workload in workloads(objects):
        for container in containers(workload):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] in generated:
                    assert ref["key"] in generated[ref["name"]]["data"], (env["name"], ref)


def test_dev_runs_postgres_16_with_a_volume():
    objects = kustomize("dev")
    postgres = of_kind(objects, "StatefulSet")["postgres"]
    assert postgres["spec"]["replicas"] == 1
    assert postgres["spec"]["template"]["spec"]["containers"][0]["image"].startswith("postgres:16")
    assert postgres["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert "postgres" in of_kind(objects, "Service")
    database = of_kind(objects, "Secret")
    urls = next(s for name, s in database.items() if name.startswith("nexafi-database-"))["data"]
    assert set(urls) == set(k8s.discover_services())


def test_dev_runs_minio_for_the_document_service_and_only_it_reaches_it():
    objects = kustomize("dev")
    minio = of_kind(objects, "StatefulSet")["minio"]
    assert minio["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert "minio" in of_kind(objects, "Service")
    secret_name = next(n for n in of_kind(objects, "Secret") if n.startswith("nexafi-document-"))
    settings = of_kind(objects, "Secret")[secret_name]
    assert base64.b64decode(settings["data"]["DOCUMENT_S3_ENDPOINT"]) == b"minio:9000"
    master = base64.b64decode(settings["data"]["DOCUMENT_MASTER_KEYS"]).decode()
    assert len(base64.b64decode(master.split(":", 1)[1])) == 32
    document = of_kind(objects, "Deployment")["document"]["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": secret_name, "optional": True}} in document["envFrom"]
    policies = of_kind(objects, "NetworkPolicy")
    assert [
        r["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
        for r in policies["minio"]["spec"]["ingress"]
    ] == ["document"]
    egress_ports = {p["port"] for rule in policies["document"]["spec"]["egress"] for p in rule["ports"]}
    assert {9000, 443} <= egress_ports
    for service in set(k8s.discover_services()) - {"document"}:
        ports = {p["port"] for rule in policies[service]["spec"]["egress"] for p in rule["ports"]}
        assert not ports & {9000, 443}, service


def test_prod_generates_no_secret_and_autoscales_every_deployment():
    objects = kustomize("prod")
    assert of_kind(objects, "Secret") == {}
    _, secrets = referenced(objects)
    assert secrets == {
        k8s_objects.DATABASE_SECRET,
        k8s_objects.CLIENTS_SECRET,
        k8s_objects.SIGNING_KEYS_SECRET,
    }
    hpas = of_kind(objects, "HorizontalPodAutoscaler")
    assert set(hpas) == set(of_kind(objects, "Deployment"))
    for name, hpa in hpas.items():
        assert hpa["spec"]["minReplicas"] >= 2, name
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    for name, deployment in of_kind(objects, "Deployment").items():
        assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
    config = next(c for n, c in of_kind(objects, "ConfigMap").items() if n.startswith("nexafi-config-"))
    assert config["data"]["NEXAFI_ENV"] == "production"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_has_a_pdb_and_services(overlay):
    objects = kustomize(overlay)
    pdbs = of_kind(objects, "PodDisruptionBudget")
    services = of_kind(objects, "Service")
    for name, deployment in of_kind(objects, "Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector
        assert services[name]["spec"]["selector"] == selector
        if name != "gateway":
            assert services[f"{name}-headless"]["spec"]["clusterIP"] == "None"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_allow_the_mesh(overlay):
    policies = of_kind(kustomize(overlay), "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny.get("ingress") and not deny.get("egress")
    services = k8s.discover_services()

    def allows(source: str, target: str, port: int) -> bool:
        """``source`` may send to ``target`` on ``port`` (its egress and the target's ingress)."""
        out = any(
            all(
                peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == target
                for peer in rule.get("to", [])
            )
            and any(p["port"] == port for p in rule["ports"])
            for rule in policies[source]["spec"]["egress"]
            if rule.get("to")
        )
        into = any(
            (
                not rule.get("from")  # no `from`: any source
                or any(
                    peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == source
                    for peer in rule["from"]
                )
            )
            and any(p["port"] == port for p in rule["ports"])
            for rule in policies[target]["spec"]["ingress"]
        )
        return out and into

    for service in services:
        assert allows("gateway", service, DEFAULT_PORTS[service])
        for callee in k8s.deployed_calls(service, services):
            assert allows(service, callee, DEFAULT_PORTS[callee])
        if service != "user":
            assert allows(service, "gateway", 8080)  # the JWKS
        for other in services:
            if other != service and other not in k8s.deployed_calls(service, services):
                assert not allows(service, other, DEFAULT_PORTS[other]), (service, other)
    # The REST API is open to the ingress controller (any source) on 8080 only.
    assert policies["gateway"]["spec"]["ingress"] == [{"ports": [{"port": 8080, "protocol": "TCP"}]}]


def test_user_service_gets_its_keyring_and_the_others_the_jwks_url():
    deployments = of_kind(kustomize("dev"), "Deployment")
    user = deployments["user"]["spec"]["template"]["spec"]
    env = {e["name"]: e for e in user["containers"][0]["env"]}
    assert env["NEXAFI_KEYS_DIR"]["value"] == k8s_objects.KEYS_DIR
    assert env["JWKS_URL"]["value"] == f"{k8s_objects.KEYS_DIR}/jwks.json"
    assert user["initContainers"][0]["command"][:3] == ["python", "-m", "services.deploy.signing_keys"]
    config = (K8S / "base" / "config.env").read_text()
    assert "JWKS_URL=http://gateway:8080/api/v1/auth/jwks" in config
    for service in k8s.discover_services():
        # Clients dial the headless name and balance per call over its pods.
        assert f"{service.upper()}_ADDR=dns:///{service}-headless:{DEFAULT_PORTS[service]}" in config


# --- metrics and tracing ---------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_announces_its_metrics_port(overlay):
    objects = kustomize(overlay)
    config = of_kind(objects, "ConfigMap")
    settings = next(c for name, c in config.items() if name.startswith(k8s_objects.CONFIG_MAP + "-"))
    assert settings["data"]["METRICS_PORT"] == str(k8s_objects.METRICS_PORT)
    nexafi = [
        d
        for d in of_kind(objects, "Deployment").values()
        if d["metadata"]["labels"].get("app.kubernetes.io/part-of") == "nexafi"
    ]
    assert {d["metadata"]["name"] for d in nexafi} >= {"gateway", *k8s.discover_services()}
    for deployment in nexafi:
        name = deployment["metadata"]["name"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        path = "/stats/prometheus" if name == "gateway" else "/metrics"
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(k8s_objects.METRICS_PORT),
            "prometheus.io/path": path,
        }, name
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == k8s_objects.METRICS_PORT, name
    scrape = of_kind(objects, "NetworkPolicy")["allow-metrics-scrape"]["spec"]
    assert scrape["ingress"] == [
        {
            "from": [{"namespaceSelector": {}}],
            "ports": [{"port": k8s_objects.METRICS_PORT, "protocol": "TCP"}],
        }
    ]
    envoy = json.loads(rendered()["base/gateway/envoy.json"])
    listeners = {entry["name"]: entry for entry in envoy["static_resources"]["listeners"]}
    assert listeners["metrics"]["address"]["socket_address"]["port_value"] == k8s_objects.METRICS_PORT
    assert "tracing" not in json.dumps(listeners["rest"])


def test_the_tracing_component_runs_a_collector_and_turns_tracing_on(tmp_path):
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the kustomize build of the tracing component is not checked")
    tree = tmp_path / "k8s"
    shutil.copytree(K8S, tree)
    overlay = tree / "overlays" / "dev-traced"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: nexafi\n"
        "resources:\n  - ../dev\n"
        "components:\n  - ../../components/tracing\n"
    )
    built = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    parsed = subprocess.run(
        [kubectl, "label", "--local", "-f", "-", "-o", "json", "nexafi.test/parsed=1"],
        input=built.stdout,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert parsed.returncode == 0, parsed.stderr
    decoder = json.JSONDecoder()
    objects, text, position = [], parsed.stdout, 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        obj, position = decoder.raw_decode(text, position)
        objects.extend(obj["items"] if obj.get("kind") == "List" else [obj])
    collector = of_kind(objects, "Deployment")[k8s_objects.OTEL_COLLECTOR]
    pod = collector["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == k8s_objects.OTEL_COLLECTOR_IMAGE
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert collector["metadata"]["namespace"] == k8s_objects.NAMESPACE
    maps = of_kind(objects, "ConfigMap")
    settings = next(c for name, c in maps.items() if name.startswith(k8s_objects.CONFIG_MAP + "-"))
    assert settings["data"]["OTEL_TRACES_EXPORTER"] == "otlp"
    assert (
        settings["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"]
        == f"http://{k8s_objects.OTEL_COLLECTOR}:{k8s_objects.OTLP_GRPC_PORT}"
    )
    gateway = next(c for name, c in maps.items() if name.startswith(k8s_objects.GATEWAY_CONFIG_MAP + "-"))
    envoy = json.loads(gateway["data"]["envoy.json"])
    rest = envoy["static_resources"]["listeners"][0]
    tracing = rest["filter_chains"][0]["filters"][0]["typed_config"]["tracing"]
    assert tracing["provider"]["name"] == "envoy.tracers.opentelemetry"
    # Only envoy.json: the descriptor set and the OpenAPI document are the image's.
    assert set(gateway["data"]) == {"envoy.json"} and "binaryData" not in gateway
    policies = of_kind(objects, "NetworkPolicy")
    assert policies["allow-otlp-egress"]["spec"]["egress"][0]["ports"] == [
        {"port": k8s_objects.OTLP_GRPC_PORT, "protocol": "TCP"}
    ]
    # The traced Envoy configuration is valid for Envoy itself.
    shutil.copy(ROOT / "gen" / "nexafi.pb", tmp_path / "nexafi.pb")
    assert openapi.main([str(tmp_path / "openapi.json")]) == 0
    config = tmp_path / "envoy.json"
    config.write_text(
        rendered()["components/tracing/envoy.json"]
        .decode()
        .replace(str(K8S_DESCRIPTOR_SET), str(tmp_path / "nexafi.pb"))
        .replace(str(K8S_OPENAPI), str(tmp_path / "openapi.json"))
        .replace("/app/swagger-ui", str(SWAGGER_UI_DIR))
        .replace("/app/services/gateway/console", str(CONSOLE_DIR))
    )
    result = validate(config)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_terminating_pod_leaves_the_endpoints_then_drains_within_its_grace(overlay):
    # preStop first (the endpoints drop the pod while it still serves), then SIGTERM: the service
    # drains its in-flight RPCs for SHUTDOWN_GRACE_SECONDS; Kubernetes must not kill it before.
    objects = kustomize(overlay)
    config = next(
        o for o in of_kind(objects, "ConfigMap").values() if "SHUTDOWN_GRACE_SECONDS" in o.get("data", {})
    )
    grace = int(config["data"]["SHUTDOWN_GRACE_SECONDS"])
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        pre_stop = pod["containers"][0]["lifecycle"]["preStop"]
        command = pre_stop["exec"]["command"]
        assert command[0] == "sleep", name
        delay = int(command[1])
        assert delay >= 5, name
        drain = 0 if name == "gateway" else grace  # Envoy exits at once on SIGTERM
        assert pod["terminationGracePeriodSeconds"] >= delay + drain + 5, name
