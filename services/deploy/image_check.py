"""``python -m services.deploy.image_check [IMAGE]``: start every service and the gateway from the
image, as the manifests do, and check that they serve.

Run after ``make image`` (root, buildah). On the host: an embedded PostgreSQL (reached by the
containers over TCP on 127.0.0.1 through a small forwarder to its unix socket), an embedded S3
server and a fresh signing keyring. From one working container of IMAGE, with ``buildah run
--network host --user 10001:10001``: each service with the command and settings of its
Deployment (``k8s/base/config.env``, its own ``*_DATABASE_URL``, port and client secret, with
``localhost`` addresses instead of cluster DNS) until its gRPC health is SERVING (migrations ran,
the database answered), then Envoy with the Kubernetes ``envoy.json`` (its listener, admin port
and upstream addresses rewritten for loopback), which reads the descriptor set, the OpenAPI
document and Swagger UI's files from the image. Through Envoy: ``GET /api/v1/health`` until every
backend is SERVING, ``GET /api/v1/openapi.json``, ``GET /api/v1/docs/swagger-ui-bundle.js``, a
registration and login (``POST /api/v1/auth/register`` and
``/login``), which write to and read from PostgreSQL through the user service, and the new user's
cash-flow chart (a PNG drawn by the analytics service with matplotlib).

Not reproduced here: the read-only root filesystem and the dropped capabilities of the pods
(``buildah run`` has no such switch); the processes do run as uid 10001.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from services.deploy import k8s, k8s_objects, k8s_workloads
from services.devtools.devstack import wait_healthy
from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.embedded_s3 import EmbeddedS3
from services.runtime.call_graph import CALLING_SERVICES
from services.runtime.config import DEFAULT_PORTS
from services.runtime.keys import Keyring

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def forward_tcp_to_unix(unix_path: str) -> int:
    """A loopback TCP port relayed to PostgreSQL's unix socket (its data folder is private to its
    owner, so uid 10001 in the container cannot reach the socket itself)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def serve() -> None:
        while True:
            client, _ = listener.accept()
            server = socket.socket(socket.AF_UNIX)
            server.connect(unix_path)
            threading.Thread(target=pipe, args=(client, server), daemon=True).start()
            threading.Thread(target=pipe, args=(server, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def shared_settings() -> dict[str, str]:
    """k8s/base/config.env, as the Deployments get it (envFrom the ConfigMap)."""
    settings = {}
    for line in (ROOT / "k8s" / "base" / "config.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key] = value
    return settings


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    image = args[0] if args else "nexafi:dev"
    services = k8s.discover_services()
    processes: dict[str, subprocess.Popen[bytes]] = {}
    container = ""
    with tempfile.TemporaryDirectory(prefix="nexafi-image-check-") as tmp:
        work = Path(tmp)
        pg = EmbeddedPostgres(work / "pg").start()
        s3 = EmbeddedS3(log_path=work / "s3.log").start()
        try:
            pg_port = forward_tcp_to_unix(str(work / "pg" / f".s.PGSQL.{pg.port}"))
            keys = work / "keys"
            Keyring(keys).ensure()
            shutil.chown(keys, 10001, 10001)
            for path in keys.rglob("*"):
                shutil.chown(path, 10001, 10001)
            ports = {s: free_port() for s in services}
            # Each pod has its own network namespace; here they share the host's.
            metrics_ports = {s: free_port() for s in services}
            gateway_metrics_port = free_port()
            gateway_port, admin_port = free_port(), free_port()
            client_secrets = {s: secrets.token_hex(16) for s in CALLING_SERVICES}
            env = {
                **shared_settings(),
                "JWKS_URL": f"http://127.0.0.1:{gateway_port}/api/v1/auth/jwks",
                **{f"{s.upper()}_ADDR": f"127.0.0.1:{ports[s]}" for s in services},
                **s3.env(),
                "DOCUMENT_MASTER_KEYS": "check:" + base64.b64encode(os.urandom(32)).decode(),
            }
            container = subprocess.run(
                ["buildah", "from", "--pull-never", image], check=True, capture_output=True, text=True
            ).stdout.strip()
            log_dir = work / "logs"
            log_dir.mkdir()
            # Where the pod mounts the laid-out keyring (the init container's output). buildah's chroot
            # mounts do not follow the image's /var/run -> /run link: mount at the link's target.
            keys_mount = k8s_objects.KEYS_DIR.replace("/var/run/", "/run/", 1)

            def start(name: str, command: list[str], extra: dict[str, str], volumes: list[str]) -> None:
                argv = ["buildah", "run", "--network", "host", "--user", "10001:10001"]
                for volume in volumes:
                    argv += ["-v", volume]
                for key, value in {**env, **extra, "HOME": k8s_objects.TMP}.items():
                    argv += ["--env", f"{key}={value}"]
                with (log_dir / f"{name}.log").open("wb") as out:
                    processes[name] = subprocess.Popen(
                        [*argv, container, "--", *command],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )

            for service in services:
                manifest = next(
                    o for o in k8s_workloads.service_manifests(service) if o["kind"] == "Deployment"
                )
                command = manifest["spec"]["template"]["spec"]["containers"][0]["command"]
                extra = {
                    f"{service.upper()}_PORT": str(ports[service]),
                    f"{service.upper()}_METRICS_PORT": str(metrics_ports[service]),
                    f"{service.upper()}_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/nexafi_{service}",
                }
                if service in CALLING_SERVICES:
                    extra[f"{service.upper()}_CLIENT_SECRET"] = client_secrets[service]
                volumes = []
                if service == "user":
                    clients = ",".join(f"{k}:{v}" for k, v in client_secrets.items())
                    extra.update(
                        {
                            "NEXAFI_KEYS_DIR": k8s_objects.KEYS_DIR,
                            "JWKS_URL": f"{k8s_objects.KEYS_DIR}/jwks.json",
                            "NEXAFI_SERVICE_CLIENTS": clients,
                        }
                    )
                    volumes.append(f"{keys}:{keys_mount}:ro")
                start(service, command, extra, volumes)
                print(f"image-check: started {' '.join(command)} (port {ports[service]})", flush=True)
            failed = []
            for service in services:
                healthy = wait_healthy(f"127.0.0.1:{ports[service]}", timeout=240)
                print(f"image-check: {service:<10} {'SERVING' if healthy else 'NOT SERVING'}", flush=True)
                if not healthy:
                    failed.append(service)
                    print((log_dir / f"{service}.log").read_text()[-3000:])

            config = json.loads((ROOT / "k8s" / "base" / "gateway" / "envoy.json").read_text())
            text = json.dumps(config)
            for k8s_port, local_port in (
                (k8s_objects.GATEWAY_PORT, gateway_port),
                (k8s_objects.ENVOY_ADMIN_PORT, admin_port),
                (k8s_objects.METRICS_PORT, gateway_metrics_port),
            ):
                text = text.replace(f'"port_value": {k8s_port}', f'"port_value": {local_port}')
            for service in services:
                text = text.replace(f'"address": "{service}-headless"', '"address": "127.0.0.1"')
                text = text.replace(
                    f'"port_value": {DEFAULT_PORTS[service]}', f'"port_value": {ports[service]}'
                )
            envoy_dir = work / "envoy"
            envoy_dir.mkdir()
            (envoy_dir / "envoy.json").write_text(text)
            os.chmod(envoy_dir / "envoy.json", 0o644)
            gateway = next(o for o in k8s_workloads.gateway_manifests() if o["kind"] == "Deployment")
            command = gateway["spec"]["template"]["spec"]["containers"][0]["command"]
            start("gateway", command, {}, [f"{envoy_dir}:{k8s_objects.ENVOY_CONFIG_DIR}:ro"])
            print(f"image-check: started {' '.join(command)}", flush=True)
            base = f"http://127.0.0.1:{gateway_port}"
            deadline = time.monotonic() + 60
            status, body = 0, b""
            while time.monotonic() < deadline:
                try:
                    status, body = http("GET", f"{base}/api/v1/health")
                    if status == 200:
                        break
                except OSError:
                    pass
                time.sleep(1)
            print(f"image-check: GET /api/v1/health -> {status} {body.decode()[:300]}", flush=True)
            if status != 200:
                failed.append("gateway health")
                print((log_dir / "gateway.log").read_text()[-3000:])
            status, body = http("GET", f"{base}/api/v1/openapi.json")
            paths = len(json.loads(body).get("paths", {})) if status == 200 else 0
            print(
                f"image-check: GET /api/v1/openapi.json -> {status}, {len(body)} bytes, {paths} paths",
                flush=True,
            )
            if status != 200 or not paths:
                failed.append("gateway openapi")
            # A Prometheus scrape of every service and of Envoy.
            scrapes = [(s, port, "/metrics") for s, port in metrics_ports.items()]
            scrapes.append(("gateway", gateway_metrics_port, "/stats/prometheus"))
            for name, port, route in scrapes:
                try:
                    status, body = http("GET", f"http://127.0.0.1:{port}{route}")
                except OSError as error:
                    status, body = 0, str(error).encode()
                samples = sum(
                    1
                    for line in body.decode(errors="replace").splitlines()
                    if line and not line.startswith("#")
                )
                print(f"image-check: {name:<10} GET {route} -> {status}, {samples} samples", flush=True)
                if status != 200 or not samples:
                    failed.append(f"{name} metrics")
            # The documentation page's script, one of Swagger UI's files the image carries.
            status, body = http("GET", f"{base}/api/v1/docs/swagger-ui-bundle.js")
            print(
                f"image-check: GET /api/v1/docs/swagger-ui-bundle.js -> {status}, {len(body)} bytes",
                flush=True,
            )
            if status != 200 or len(body) < 100_000:
                failed.append("gateway docs assets")
            password = secrets.token_urlsafe(16)
            user = {"username": "imagecheck", "email": "imagecheck@example.com", "password": password}
            status, body = http("POST", f"{base}/api/v1/auth/register", user)
            print(f"image-check: POST /api/v1/auth/register -> {status} {body.decode()[:200]}", flush=True)
            login_status, login_body = http(
                "POST", f"{base}/api/v1/auth/login", {"login": "imagecheck", "password": password}
            )
            token = "access_token" in login_body.decode() or "accessToken" in login_body.decode()
            print(f"image-check: POST /api/v1/auth/login -> {login_status} (token: {token})", flush=True)
            if status != 200 or login_status != 200 or not token:
                failed.append("register and login")
                print(body.decode()[:1000], login_body.decode()[:1000])
            else:
                # A chart drawn by matplotlib in the analytics service (the user's own, empty).
                user_id = json.loads(body)["user"]["id"]
                tokens = json.loads(login_body)["tokens"]
                access = tokens.get("access_token") or tokens.get("accessToken")
                request = urllib.request.Request(  # noqa: S310 - loopback
                    f"{base}/api/v1/analytics/charts/CHART_KIND_CASH_FLOW?user_id={user_id}&currency=USD",
                    headers={"Authorization": f"Bearer {access}"},
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
                        status, kind = response.status, response.headers["content-type"]
                        body = response.read()
                except urllib.error.HTTPError as error:
                    status, body, kind = error.code, error.read(), error.headers["content-type"]
                print(
                    f"image-check: GET /api/v1/analytics/charts/CHART_KIND_CASH_FLOW -> {status} {kind}, "
                    f"{len(body)} bytes",
                    flush=True,
                )
                if status != 200 or not body.startswith(b"\x89PNG"):
                    failed.append("analytics chart")
                    print(body[:500])
            print(f"image-check: {'OK' if not failed else 'FAILED: ' + ', '.join(failed)}", flush=True)
            return 1 if failed else 0
        finally:
            for process in processes.values():
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
            for process in processes.values():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if container:
                subprocess.run(["buildah", "rm", container], check=False, capture_output=True)
            s3.stop()
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
