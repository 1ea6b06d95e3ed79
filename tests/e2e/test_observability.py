"""`make run` with tracing on, observed as an operator would: a REST payment through Envoy is one
trace from Envoy to the database, received by an OTLP receiver in this process; every service and
Envoy answer a Prometheus scrape, with RPC counters that move and the domain figures of the payment;
JSON logs carry the trace.

The launcher runs as `make run` does (its own embedded PostgreSQL and S3, every service a process),
on free ports, so its figures are exactly this test's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.children import free_port
from tests.support.otlp import OtlpReceiver, ReceivedSpan

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("user", "ledger", "ai", "document", "analytics", "credit", "payment")
PASSWORD = "a long passphrase of mine"
CARD = "4242 4242 4242 4242"
AUTH_LIMIT = 8  # per 60 s and client address on login/register: this test exceeds it on purpose

pytestmark = pytest.mark.slow
# Prometheus samples by (name, sorted labels).
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Stack:
    def __init__(
        self, launcher: subprocess.Popen[str], gateway: int, gateway_metrics: int, metrics: dict[str, int]
    ) -> None:
        self.launcher = launcher
        self.gateway = gateway
        self.gateway_metrics = gateway_metrics
        self.metrics = metrics
        self.output: list[str] = []
        self.up = threading.Event()
        # Read the launcher's output (children's logs included) all along, so no pipe fills up.
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.launcher.stdout is not None
        for line in self.launcher.stdout:
            self.output.append(line)
            if line.startswith("NexaFi is up"):
                self.up.set()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.gateway}{path}"

    def scrape(self, port: int, path: str = "/metrics") -> Samples:
        reply = requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("text/plain")
        samples = {}
        for family in text_string_to_metric_families(reply.text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def json_logs(self) -> list[dict[str, Any]]:
        found = []
        for line in list(self.output):
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def stack(otlp: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("observed-stack")
    gateway, admin, gateway_metrics = free_port(), free_port(), free_port()
    metrics = {name: free_port() for name in SERVICES}
    env = {
        **os.environ,
        "NEXAFI_DATA_DIR": str(data),
        "GATEWAY_PORT": str(gateway),
        "ENVOY_ADMIN_PORT": str(admin),
        "GATEWAY_METRICS_PORT": str(gateway_metrics),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        # Export within a fraction of a second instead of every 5 s.
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "LOG_FORMAT": "json",
        "GATEWAY_RATE_LIMIT_AUTH": f"{AUTH_LIMIT}/60",
    }
    for name in [
        n
        for n in env
        if n in ("DATABASE_URL", "METRICS_PORT", "GATEWAY_OTLP_ENDPOINT")
        or n.startswith("DOCUMENT_S3_")
        or n.endswith("_ADDR")
    ]:
        del env[name]
    for name in SERVICES:
        env[f"{name.upper()}_PORT"] = str(free_port())
        env[f"{name.upper()}_METRICS_PORT"] = str(metrics[name])
    launcher = subprocess.Popen(
        [sys.executable, "-m", "services.devtools.devstack"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Stack(launcher, gateway, gateway_metrics, metrics)
    try:
        if not running.up.wait(180):
            pytest.fail("the stack did not come up:\n" + "".join(running.output[-80:]))
        yield running
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()


def traceparent() -> tuple[str, str, str]:
    """A client's own trace context: (header, trace id, span id)."""
    trace_id, span_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def register(stack: Stack) -> dict[str, str]:
    name = "u" + uuid.uuid4().hex[:10]
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    registered = requests.post(stack.url("/api/v1/auth/register"), json=body, timeout=20)
    assert registered.status_code == 200, registered.text
    login = requests.post(
        stack.url("/api/v1/auth/login"), json={"login": name, "password": PASSWORD}, timeout=20
    )
    assert login.status_code == 200, login.text
    return {
        "id": registered.json()["user"]["id"],
        "login": name,
        "token": login.json()["tokens"]["access_token"],
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when there is none)."""
    wanted = set(labels.items())
    return sum(v for (n, sample_labels), v in samples.items() if n == name and wanted <= set(sample_labels))


def descendants(spans: list[ReceivedSpan], root: ReceivedSpan) -> set[str]:
    children: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        children.setdefault(span.parent_span_id, []).append(span)
    seen, todo = set(), [root]
    while todo:
        span = todo.pop()
        seen.add(span.span_id)
        todo.extend(children.get(span.span_id, []))
    return seen


def test_a_rest_payment_is_one_trace_from_envoy_to_the_database(stack: Stack, otlp: OtlpReceiver):
    alice = register(stack)
    before = stack.scrape(stack.metrics["payment"])
    header, trace_id, client_span = traceparent()
    added = requests.post(
        stack.url("/api/v1/payments/methods"),
        timeout=20,
        json={
            "user_id": alice["id"],
            "request_id": uuid.uuid4().hex,
            "card": {"number": CARD, "exp_month": 12, "exp_year": time.gmtime().tm_year + 2, "cvc": "123"},
        },
        headers={"authorization": f"Bearer {alice['token']}"},
    )
    assert added.status_code == 200, added.text
    paid = requests.post(
        stack.url("/api/v1/payments/initiate"),
        timeout=30,
        json={
            "user_id": alice["id"],
            "kind": "PAYMENT_KIND_TOP_UP",
            "amount": {"amount_minor": "5000", "currency": "EUR"},
            "payment_method_id": added.json()["payment_method"]["id"],
        },
        headers={
            "authorization": f"Bearer {alice['token']}",
            "traceparent": header,
            "idempotency-key": uuid.uuid4().hex,
        },
    )
    assert paid.status_code == 200, paid.text
    payment = paid.json()["payment"]

    spans = otlp.wait_for(trace_id, {"nexafi-gateway", "nexafi-payment", "nexafi-ai", "nexafi-ledger"})
    by_service: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        by_service.setdefault(span.service, []).append(span)
    assert {"nexafi-gateway", "nexafi-payment", "nexafi-ai", "nexafi-ledger"} <= set(by_service), sorted(
        (s.service, s.name) for s in spans
    )
    # Envoy continued the client's trace: its span is the child of the client's, and the root of the rest.
    roots = [s for s in spans if s.parent_span_id == client_span]
    assert [r.service for r in roots] == ["nexafi-gateway"], roots
    tree = descendants(spans, roots[0])
    assert tree == {s.span_id for s in spans}, "every span hangs from Envoy's"
    ids = {s.span_id: s for s in spans}
    payment_server = [
        s
        for s in by_service["nexafi-payment"]
        if s.name == "/nexafi.payment.v1.PaymentService/InitiatePayment"
    ]
    assert len(payment_server) == 1 and ids[payment_server[0].parent_span_id].service == "nexafi-gateway"
    beneath_payment = descendants(spans, payment_server[0])
    # The payment's calls to the AI and the ledger, and their SQL, are beneath the payment's span.
    for service in ("nexafi-ai", "nexafi-ledger"):
        assert any(s.span_id in beneath_payment for s in by_service[service]), service
    sql = [s for s in spans if "db.system" in s.attributes or "db.system.name" in s.attributes]
    assert {s.service for s in sql} >= {"nexafi-payment", "nexafi-ledger"}, sorted({s.service for s in sql})
    assert all(s.span_id in beneath_payment for s in sql if s.service != "nexafi-gateway")

    # The payment's RPC counters moved, by method and status code.
    after = stack.scrape(stack.metrics["payment"])
    labels = {"grpc_service": "nexafi.payment.v1.PaymentService", "grpc_method": "InitiatePayment"}
    assert (
        value(after, "grpc_server_handled_total", grpc_code="OK", **labels)
        == value(before, "grpc_server_handled_total", grpc_code="OK", **labels) + 1
    )
    assert (
        value(after, "grpc_server_handling_seconds_count", **labels)
        == value(before, "grpc_server_handling_seconds_count", **labels) + 1
    )
    assert (
        value(after, "grpc_server_started_total", **labels)
        == value(before, "grpc_server_started_total", **labels) + 1
    )

    # The domain figures of this one payment, each counted by the service where it happened.
    status = payment["status"].removeprefix("PAYMENT_STATUS_")
    assert value(after, "nexafi_payments_total", kind="TOP_UP", status="PENDING") == 1
    assert value(after, "nexafi_payments_total", kind="TOP_UP", status=status) == 1
    ai = stack.scrape(stack.metrics["ai"])
    assert value(ai, "nexafi_ai_fraud_decisions_total") == 1
    decision = payment["fraud_decision"].removeprefix("FRAUD_DECISION_").lower()
    assert value(ai, "nexafi_ai_fraud_decisions_total", decision=decision) == 1
    ledger = stack.scrape(stack.metrics["ledger"])
    sealed = value(ledger, "nexafi_ledger_entries_total")
    # Only a settled payment posts an entry; one the fraud model holds for review (as version 1.2.0
    # does with many first top-ups) has a reservation, which is no entry.
    assert sealed == value(ledger, "nexafi_ledger_last_sequence")
    assert sealed >= 1 if status == "SUCCEEDED" else sealed == 0, (status, sealed)
    assert value(ledger, "nexafi_ledger_seal_lag_seconds_count") == sealed
    if status == "SUCCEEDED":
        assert value(ledger, "nexafi_ledger_entries_total", type="DEPOSIT") == 1
    # Analytics catches up with the ledger's feed.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        analytics = stack.scrape(stack.metrics["analytics"])
        if value(analytics, "nexafi_analytics_feed_sequence") == sealed:
            break
        time.sleep(0.2)
    assert value(analytics, "nexafi_analytics_feed_sequence") == sealed
    assert value(analytics, "nexafi_analytics_feed_lag_seconds_count") == sealed
    document = stack.scrape(stack.metrics["document"])
    assert ("nexafi_document_extraction_queue", (("status", "PENDING"),)) in document
    assert value(document, "nexafi_document_extraction_queue") == 0


def test_every_service_and_envoy_answer_a_scrape(stack: Stack):
    for name in SERVICES:
        samples = stack.scrape(stack.metrics[name])
        # Envoy's active health checks reach every service, so each has handled RPCs.
        assert (
            value(samples, "grpc_server_handled_total", grpc_service="grpc.health.v1.Health", grpc_code="OK")
            > 0
        ), name
        assert value(samples, "process_resident_memory_bytes") > 0, name
    envoy = stack.scrape(stack.gateway_metrics, "/stats/prometheus")
    assert value(envoy, "envoy_cluster_upstream_rq_total", envoy_cluster_name="payment") >= 0
    # The stats listener serves the figures and nothing else of the admin interface.
    for path in ("/config_dump", "/quitquitquit", "/stats", "/clusters"):
        reply = requests.get(f"http://127.0.0.1:{stack.gateway_metrics}{path}", timeout=5)
        assert reply.status_code == 404, path
    quit_ = requests.post(f"http://127.0.0.1:{stack.gateway_metrics}/quitquitquit", timeout=5)
    assert quit_.status_code == 404


def test_login_failures_and_rate_limit_rejections_are_counted(stack: Stack):
    users = stack.scrape(stack.metrics["user"])
    failures_before = value(users, "nexafi_user_login_failures_total", reason="INVALID_CREDENTIALS")
    header, trace_id, _ = traceparent()
    refused = requests.post(
        stack.url("/api/v1/auth/login"),
        timeout=20,
        json={"login": "nobody-" + uuid.uuid4().hex[:8], "password": "wrong password"},
        headers={"traceparent": header},
    )
    assert refused.status_code == 401, refused.text
    users = stack.scrape(stack.metrics["user"])
    failures = value(users, "nexafi_user_login_failures_total", reason="INVALID_CREDENTIALS")
    assert failures == failures_before + 1

    # The refused login's log line is JSON with the service, the trace and a UTC time.
    deadline = time.monotonic() + 10
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not lines:
        lines = [e for e in stack.json_logs() if e.get("trace_id") == trace_id]
        time.sleep(0.1)
    assert lines, "no log line of the refused login carries its trace id"
    line = lines[0]
    assert line["service"] == "user" and len(line["span_id"]) == 16
    assert line["time"].endswith("Z") and "T" in line["time"]

    def rejected() -> float:
        envoy = stack.scrape(stack.gateway_metrics, "/stats/prometheus")
        # Envoy's tag extraction names http_local_rate_limit.rate_limited envoy_rate_limited (a counter,
        # hence _total once parsed), with the stat prefix "ratelimit" as a label.
        return value(
            envoy,
            "envoy_rate_limited_total",
            envoy_ratelimit_prefix="http_local_rate_limit",
            envoy_local_http_ratelimit_prefix="ratelimit",
        )

    before = rejected()
    replies = [
        requests.post(
            stack.url("/api/v1/auth/login"),
            timeout=20,
            json={"login": "nobody", "password": "wrong password"},
        )
        for _ in range(AUTH_LIMIT + 2)
    ]
    # The gateway's own 429s (code 429), not the user service's login throttle (gRPC code 8).
    by_gateway = [r for r in replies if r.status_code == 429 and r.json()["code"] == 429]
    assert len(by_gateway) >= 2, [(r.status_code, r.text) for r in replies]
    assert rejected() == before + len(by_gateway)
