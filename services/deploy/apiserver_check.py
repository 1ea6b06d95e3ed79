"""``python -m services.deploy.apiserver_check`` (``make k8s-apiserver-check``): apply the overlays to a
real Kubernetes API server, as an operator's ``kubectl apply -k`` would.

No current ``kube-apiserver`` binary can be installed here (PyPI, npm and Debian have none), but
Debian bookworm's ``kubernetes`` source package (1.20.2, every Go dependency vendored) builds one
with Debian's ``golang-go``, offline, and ``etcd-server`` is packaged. This check:

1. installs ``golang-go``, ``etcd-server``, ``rsync`` and ``dpkg-dev`` and the source package
   (``apt-get source kubernetes``, with a ``deb-src`` entry it adds for bookworm) unless the binary
   is cached, then builds ``kube-apiserver`` (``GOPROXY=off make WHAT=cmd/kube-apiserver``, several
   minutes) into ``<data>/bin/kube-apiserver-1.20.2``: a second run reuses it;
2. starts etcd and kube-apiserver on 127.0.0.1 (free ports, a temporary folder): a fresh
   service-account key, a static token in group ``system:masters``, RBAC;
3. per overlay, ``kubectl apply -k`` **client-side** with ``--dry-run=server``: every object goes
   through the server's admission and validation carrying the last-applied annotation kubectl
   adds (the one that was too long). Errors are allowed only where 1.20 predates the manifests
   (below);
4. per overlay, the check-only rendering (``kubectl kustomize``, then the three conversions below)
   applied for real, client-side, twice (the second must change nothing); the annotation each
   object got is read back and compared with ``services.deploy.apply.annotations_size``.

What 1.20 cannot judge, and how the check-only rendering handles it:

- gRPC probes (``grpc:``, Kubernetes 1.24+; 1.20 drops the unknown field and then finds a probe
  without a handler): converted to ``tcpSocket`` on the same port. The gRPC probes themselves are
  not checked here.
- ``policy/v1`` PodDisruptionBudget (1.21+): sent as ``policy/v1beta1`` without
  ``unhealthyPodEvictionPolicy`` (1.26+), which is not checked here.
- ``autoscaling/v2`` HorizontalPodAutoscaler (1.23+): sent as ``autoscaling/v2beta2``, the same
  schema for the fields used (metrics, behavior).

Everything else (Namespaces, ConfigMaps and Secrets from the generators, Services, Deployments,
StatefulSets, NetworkPolicies, ServiceAccounts) is applied as rendered, and kubectl validates each
against the server's OpenAPI schema (unknown fields are errors). Nothing runs: there is no
scheduler, controller manager or kubelet, so this checks that the API server accepts and stores
the objects, not that the pods start.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from services.deploy import apply

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
KUBERNETES_VERSION = "1.20.2"
DEB_SRC = Path("/etc/apt/sources.list.d/nexafi-deb-src.sources")
APT_PACKAGES = {"go": "golang-go", "etcd": "etcd-server", "rsync": "rsync", "dpkg-source": "dpkg-dev"}
NAMESPACE = "nexafi"
# kubectl's messages for what 1.20 predates (step 3): the kinds' versions, and a probe whose only
# handler (grpc) the server does not know.
EXPECTED_ON_1_20 = (
    'no matches for kind "PodDisruptionBudget" in version "policy/v1"',
    'no matches for kind "HorizontalPodAutoscaler" in version "autoscaling/v2"',
    'unknown field "grpc"',
    "must specify a handler type",
)


def log(message: str) -> None:
    print(f"apiserver-check: {message}", flush=True)


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, text=True, capture_output=True, check=False, **kwargs)


# --- 1. the binary ------------------------------------------------------------------------------


def ensure_packages() -> None:
    missing = sorted({package for tool, package in APT_PACKAGES.items() if shutil.which(tool) is None})
    if missing:
        log(f"apt-get install {' '.join(missing)}")
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def kube_apiserver(data: Path) -> Path:
    """The cached binary, or a fresh build from Debian's source package."""
    binary = data / "bin" / f"kube-apiserver-{KUBERNETES_VERSION}"
    if binary.is_file():
        log(f"using the cached {binary}")
        return binary
    ensure_packages()
    source = data / "src"
    trees = sorted(source.glob("kubernetes-*/Makefile")) if source.is_dir() else []
    if not trees:
        if not DEB_SRC.exists():
            DEB_SRC.write_text(
                "# Added by services/deploy/apiserver_check.py: `apt-get source kubernetes`.\n"
                "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n"
                "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
            )
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        source.mkdir(parents=True, exist_ok=True)
        log(f"apt-get source kubernetes into {source}")
        subprocess.run(
            ["apt-get", "source", "-q", "kubernetes"], cwd=source, check=True, stdout=subprocess.DEVNULL
        )
        trees = sorted(source.glob("kubernetes-*/Makefile"))
    tree = trees[-1].parent
    shutil.rmtree(tree / "_output", ignore_errors=True)  # a failed earlier build leaves empty tools
    log(f"building kube-apiserver in {tree} (GOPROXY=off, several minutes)")
    started = time.monotonic()
    subprocess.run(
        ["nice", "make", "WHAT=cmd/kube-apiserver"],
        cwd=tree,
        check=True,
        env={**os.environ, "GOPROXY": "off"},
    )
    binary.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(tree / "_output" / "bin" / "kube-apiserver", binary)
    log(f"built {binary} in {time.monotonic() - started:.0f} s")
    return binary


# --- 2. etcd and the API server -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(url: str, token: str, process: subprocess.Popen[bytes], log_file: Path) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # its self-signed serving certificate, on loopback
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"kube-apiserver exited:\n{log_file.read_text()[-3000:]}")
        request = urllib.request.Request(  # noqa: S310 - https on loopback
            f"{url}/readyz", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise SystemExit(f"kube-apiserver not ready in 120 s:\n{log_file.read_text()[-3000:]}")


@contextmanager
def cluster(binary: Path) -> Iterator[Path]:
    """etcd and kube-apiserver on loopback; yields a kubeconfig."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    with tempfile.TemporaryDirectory(prefix="nexafi-apiserver-") as tmp:
        work = Path(tmp)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (work / "sa.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        token = secrets.token_hex(24)
        (work / "tokens.csv").write_text(f'{token},nexafi-check,nexafi-check,"system:masters"\n')
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        processes: list[subprocess.Popen[bytes]] = []
        try:
            with (work / "etcd.log").open("wb") as etcd_log:
                processes.append(
                    subprocess.Popen(
                        [
                            "etcd",
                            "--data-dir",
                            str(work / "etcd"),
                            "--name",
                            "check",
                            "--listen-client-urls",
                            f"http://127.0.0.1:{etcd_port}",
                            "--advertise-client-urls",
                            f"http://127.0.0.1:{etcd_port}",
                            "--listen-peer-urls",
                            f"http://127.0.0.1:{peer_port}",
                            "--initial-advertise-peer-urls",
                            f"http://127.0.0.1:{peer_port}",
                            "--initial-cluster",
                            f"check=http://127.0.0.1:{peer_port}",
                        ],
                        stdout=etcd_log,
                        stderr=subprocess.STDOUT,
                    )
                )
            api_log = work / "kube-apiserver.log"
            with api_log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [
                            str(binary),
                            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                            "--bind-address=127.0.0.1",
                            "--advertise-address=127.0.0.1",
                            f"--secure-port={api_port}",
                            "--insecure-port=0",
                            f"--cert-dir={work / 'certs'}",
                            f"--token-auth-file={work / 'tokens.csv'}",
                            "--authorization-mode=RBAC",
                            f"--service-account-key-file={work / 'sa.key'}",
                            f"--service-account-signing-key-file={work / 'sa.key'}",
                            "--service-account-issuer=https://kubernetes.default.svc",
                            "--service-cluster-ip-range=10.96.0.0/24",
                            "--allow-privileged=false",
                        ],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            url = f"https://127.0.0.1:{api_port}"
            _wait_ready(url, token, processes[-1], api_log)
            kubeconfig = work / "kubeconfig"
            kubeconfig.write_text(
                json.dumps(
                    {
                        "apiVersion": "v1",
                        "kind": "Config",
                        "current-context": "check",
                        "clusters": [
                            {"name": "check", "cluster": {"server": url, "insecure-skip-tls-verify": True}}
                        ],
                        "users": [{"name": "check", "user": {"token": token}}],
                        "contexts": [{"name": "check", "context": {"cluster": "check", "user": "check"}}],
                    }
                )
            )
            log(f"kube-apiserver {KUBERNETES_VERSION} ready at {url} (etcd at 127.0.0.1:{etcd_port})")
            yield kubeconfig
        finally:
            for process in reversed(processes):
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# --- 3. and 4. the overlays -----------------------------------------------------------------------


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run(["kubectl", f"--kubeconfig={kubeconfig}", *args], input=stdin, timeout=300)


def _error_items(stderr: str) -> list[str]:
    """kubectl's errors, one item each: a validation error lists several on one line, and an error
    while patching an existing object spans several lines (the patch, the object)."""
    groups: list[str] = []
    for line in stderr.splitlines():
        text = line.strip(" []").removeprefix("ensure CRDs are installed first, ")
        if not text or text == "ensure CRDs are installed first" or text.startswith("Warning:"):
            continue
        if text.startswith(("error", "Error", "resource mapping")) or not groups:
            groups.append(text)
        else:
            groups[-1] += " " + text
    items: list[str] = []
    for group in groups:
        found = re.findall(r"ValidationError\(([^)]*)\): ([^,\]]*)", group)
        items += [f"{where}: {what}" for where, what in found] if found else [group]
    return items


def literal_apply(kubeconfig: Path, overlay: str) -> list[str]:
    """``kubectl apply -k`` as documented, client-side, server dry run: once as an operator runs it
    (kubectl validates against the server's schema first, and 1.20's has no gRPC probe), once with
    ``--validate=false`` so that the server itself judges every object. Returns the unexpected errors."""
    unexpected: list[str] = []
    for flags in ([], ["--validate=false"]):
        result = kubectl(
            kubeconfig, "apply", "-k", str(K8S / "overlays" / overlay), "--dry-run=server", *flags
        )
        accepted = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
        errors = _error_items(result.stderr)
        other = [item for item in errors if not any(known in item for known in EXPECTED_ON_1_20)]
        log(
            f"{overlay}: `kubectl apply -k k8s/overlays/{overlay} --dry-run=server {' '.join(flags)}`: "
            f"{len(accepted)} objects accepted, {len(errors) - len(other)} errors for what 1.20 predates, "
            f"{len(other)} other errors"
        )
        for item in errors:
            print(f"    {'expected on 1.20' if item not in other else 'ERROR'}: {item[:240]}")
        unexpected += other
    return unexpected


def for_1_20(obj: dict[str, Any]) -> dict[str, Any]:
    """The check-only rendering of one object (see the module docstring)."""
    converted = copy.deepcopy(obj)
    if converted["apiVersion"] == "policy/v1" and converted["kind"] == "PodDisruptionBudget":
        converted["apiVersion"] = "policy/v1beta1"
        converted["spec"].pop("unhealthyPodEvictionPolicy", None)
    if converted["apiVersion"] == "autoscaling/v2" and converted["kind"] == "HorizontalPodAutoscaler":
        converted["apiVersion"] = "autoscaling/v2beta2"
    template = converted.get("spec", {}).get("template", {}).get("spec")
    if template:
        for container in [*template.get("initContainers", []), *template.get("containers", [])]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if "grpc" in container.get(probe, {}):
                    container[probe]["tcpSocket"] = {"port": container[probe].pop("grpc")["port"]}
    return converted


def rendered(overlay: str) -> list[dict[str, Any]]:
    """``kubectl kustomize``, parsed into JSON by kubectl offline (``label --local``)."""
    built = run(["kubectl", "kustomize", str(K8S / "overlays" / overlay)], timeout=120)
    if built.returncode:
        raise SystemExit(built.stderr)
    mark = "nexafi.check/parsed"
    parsed = run(["kubectl", "label", "--local", "-f", "-", "-o", "json", f"{mark}=1"], input=built.stdout)
    if parsed.returncode:
        raise SystemExit(parsed.stderr)
    decoder, text, position = json.JSONDecoder(), parsed.stdout, 0
    objects: list[dict[str, Any]] = []
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        objects.extend(document["items"] if document.get("kind") == "List" else [document])
    for obj in objects:
        labels = obj["metadata"]["labels"]
        labels.pop(mark)
        if not labels:
            del obj["metadata"]["labels"]
    return objects


def real_apply(kubeconfig: Path, overlay: str) -> list[str]:
    """The check-only rendering applied for real, client-side, twice; annotations read back."""
    problems: list[str] = []
    objects = [for_1_20(o) for o in rendered(overlay)]
    listing = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    for attempt in ("first", "second"):
        result = kubectl(kubeconfig, "apply", "-f", "-", stdin=listing)
        changed = [line for line in result.stdout.splitlines() if not line.endswith(" unchanged")]
        log(
            f"{overlay}: check-only rendering, {attempt} `kubectl apply -f -` (client-side, real): "
            f"exit {result.returncode}, {len(result.stdout.splitlines())} objects, "
            f"{len(changed)} created or changed"
        )
        if result.returncode:
            problems += [f"{overlay}: {line}" for line in result.stderr.splitlines() if line.strip()]
            return problems
    # Idempotence: after two applies, the server's merge of a third changes nothing. (The second
    # apply may still say "configured" for a Secret whose values kustomize wrapped: its base64 has
    # line breaks the server drops; `kubectl diff` compares the decoded objects.)
    diff = kubectl(kubeconfig, "diff", "-f", "-", stdin=listing)
    drifting = re.findall(r"^diff -u -N \S+/(\S+) ", diff.stdout, re.MULTILINE)
    log(
        f"{overlay}: `kubectl diff` after the second apply: exit {diff.returncode}, "
        f"{len(drifting)} objects would change {drifting}"
    )
    if diff.returncode != 0:
        problems.append(f"{overlay}: a further apply would change {drifting or diff.stderr.strip()}")
    largest = ("", 0, 0)
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        where = [] if kind == "Namespace" else ["-n", obj["metadata"].get("namespace", NAMESPACE)]
        group, _, version = obj["apiVersion"].rpartition("/")
        resource = f"{kind}.{version}.{group}" if group else kind
        got = kubectl(kubeconfig, "get", resource, name, *where, "-o", "json")
        if got.returncode:
            problems.append(f"{overlay}: {kind}/{name} not readable: {got.stderr.strip()}")
            continue
        stored = json.loads(got.stdout)["metadata"].get("annotations", {})
        actual = sum(len(k.encode()) + len(v.encode()) for k, v in stored.items())
        computed = apply.annotations_size(obj)
        if apply.LAST_APPLIED not in stored:
            problems.append(f"{overlay}: {kind}/{name} has no last-applied annotation")
        if abs(actual - computed) > 64:
            problems.append(
                f"{overlay}: {kind}/{name}: annotations {actual} bytes on the server, "
                f"{computed} computed by services.deploy.apply"
            )
        if actual > largest[1]:
            largest = (f"{kind}/{name}", actual, computed)
    log(
        f"{overlay}: largest annotations on the server: {largest[0]} {largest[1]} bytes "
        f"(computed offline: {largest[2]}; limit {apply.ANNOTATIONS_LIMIT}, "
        f"our budget {apply.ANNOTATIONS_BUDGET})"
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.deploy.apiserver_check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT / ".data" / "k8s-apiserver",
        help="where the source and the built binary are kept (default: .data/k8s-apiserver)",
    )
    parser.add_argument("--overlays", default="dev,prod")
    args = parser.parse_args(argv)
    if shutil.which("kubectl") is None:
        raise SystemExit("kubectl is not installed")
    binary = kube_apiserver(args.data)
    problems: list[str] = []
    with cluster(binary) as kubeconfig:
        log(kubectl(kubeconfig, "version", "--output=json").stdout.replace("\n", " ")[:400])
        # The namespace must exist for a server dry run of the objects in it.
        kubectl(kubeconfig, "apply", "-f", str(K8S / "base" / "namespace.yaml"))
        overlays = [o.strip() for o in args.overlays.split(",") if o.strip()]
        # The dry runs first, while nothing but the namespace exists (as for a first install).
        for overlay in overlays:
            problems += [f"{overlay}: {item}" for item in literal_apply(kubeconfig, overlay)]
        for overlay in overlays:
            problems += real_apply(kubeconfig, overlay)
    for problem in problems:
        log(f"FAILED {problem}")
    log("OK" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
