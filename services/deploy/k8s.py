"""``python -m services.deploy.k8s [--out K8S_DIR] [--check]``: render the generated Kubernetes files.

One image runs everything; this renderer writes what depends on the code: the base
(namespace, shared settings, per service a ServiceAccount, Deployment, ClusterIP and
headless Services and a PodDisruptionBudget, the Envoy gateway with its configuration
from ``services.gateway``, network policies), the autoscaling component the prod
overlay uses, and the dev overlay's development-only secret values.

A service is deployed when its package has a ``__main__.py`` and a ``spec.py`` that
defines ``SPEC`` (the runtime's ``ServiceSpec``). Who calls whom, for the network
policies and the client secrets, is ``services.runtime.call_graph``.

The parts: ``k8s_objects`` (shared names, the objects' shapes, the YAML), ``k8s_workloads``
(services, gateway, autoscalers), ``k8s_network`` (NetworkPolicies), ``k8s_config`` (settings,
Envoy's configuration, dev secrets) and ``k8s_tracing`` (the tracing component).

Owned paths (rewritten and pruned on every run; edit the renderer, not the files):
``base/``, ``components/autoscaling/``, ``components/tracing/``, ``overlays/dev/generated/``. The overlays'
``kustomization.yaml`` files and READMEs are written by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from services.deploy.k8s_config import base_kustomization, config_env, dev_secrets, gateway_files
from services.deploy.k8s_network import network_policies
from services.deploy.k8s_objects import GATEWAY, NAMESPACE, to_yaml
from services.deploy.k8s_tracing import tracing_component
from services.deploy.k8s_workloads import gateway_manifests, hpa, service_manifests
from services.runtime.call_graph import SERVICES, callees

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "k8s"
OWNED_DIRS = ("base", "components/autoscaling", "components/tracing", "overlays/dev/generated")


def discover_services(root: Path = ROOT) -> list[str]:
    """Deployed services, in the call graph's order: packages with a __main__.py and a SPEC."""
    found = []
    for name in SERVICES:
        package = root / "services" / name
        spec = package / "spec.py"
        if (
            (package / "__main__.py").is_file()
            and spec.is_file()
            and re.search(r"^SPEC\s*=", spec.read_text(), re.MULTILINE)
        ):
            found.append(name)
    return found


def deployed_calls(service: str, deployed: list[str]) -> list[str]:
    """The deployed services ``service`` calls (services.runtime.call_graph), in deployment order."""
    return [name for name in deployed if name in callees(service)]


def render(root: Path = ROOT) -> dict[str, bytes]:
    """Every generated file, by path relative to the k8s/ folder."""
    services = discover_services(root)
    if not services:
        raise SystemExit("no deployable service found (services/<name>/__main__.py and spec.py with SPEC)")
    calls = {s: deployed_calls(s, services) for s in services}
    files: dict[str, bytes] = {}
    files["base/namespace.yaml"] = to_yaml(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": NAMESPACE,
                "labels": {
                    "app.kubernetes.io/part-of": "nexafi",
                    # Every pod here meets the "restricted" Pod Security Standard.
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            },
        }
    )
    files["base/config.env"] = config_env(services).encode()
    for name, content in gateway_files(services).items():
        files[f"base/gateway/{name}"] = content
    files["base/gateway/gateway.yaml"] = to_yaml(*gateway_manifests())
    for service in services:
        files[f"base/services/{service}.yaml"] = to_yaml(*service_manifests(service))
    files["base/network-policies.yaml"] = to_yaml(*network_policies(services, calls))
    files["base/kustomization.yaml"] = to_yaml(base_kustomization(services))
    files["components/autoscaling/hpa.yaml"] = to_yaml(*(hpa(n) for n in [GATEWAY, *services]))
    files["components/autoscaling/kustomization.yaml"] = to_yaml(
        {"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component", "resources": ["hpa.yaml"]}
    )
    files.update(tracing_component(services))
    for name, text in dev_secrets(services).items():
        files[f"overlays/dev/generated/{name}"] = text.encode()
    return files


def _existing(out: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for owned in OWNED_DIRS:
        directory = out / owned
        if directory.is_dir():
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    found[path.relative_to(out).as_posix()] = path.read_bytes()
    return found


def differences(files: Mapping[str, bytes], out: Path) -> list[str]:
    """What differs between ``files`` and the owned paths under ``out``."""
    existing = _existing(out)
    problems = [f"missing {p}" for p in sorted(set(files) - set(existing))]
    problems += [f"stale {p}" for p in sorted(p for p in files if p in existing and existing[p] != files[p])]
    problems += [f"unexpected {p}" for p in sorted(set(existing) - set(files))]
    return problems


def write_files(files: Mapping[str, bytes], out: Path) -> None:
    """Write ``files`` under ``out`` and delete other files in the owned paths."""
    for stale in set(_existing(out)) - set(files):
        (out / stale).unlink()
    for relative, content in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.deploy.k8s",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the k8s/ folder (default: the repo's)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the files under --out are not what would be written",
    )
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        problems = differences(files, args.out)
        for problem in problems:
            print(f"k8s: {problem}", file=sys.stderr)
        if problems:
            print("k8s: run `python -m services.deploy.k8s` and commit the result", file=sys.stderr)
            return 1
        print(f"k8s: {len(files)} generated files are up to date")
        return 0
    write_files(files, args.out)
    print(
        f"k8s: wrote {len(files)} files under {args.out} "
        f"(services: {', '.join(discover_services())}; gateway)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
