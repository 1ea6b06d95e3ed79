"""Prometheus metrics of the shared runtime over real gRPC and real HTTP: the interceptor counts
every RPC by method and status code and times it; ``serve`` exposes the registry on the
service's metrics port; domain code declares its figures through the runtime."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from services.runtime import metrics
from tests.integration.runtime.test_process import free_port, launch, wait_serving
from tests.support import probe_service
from tests.support.harness import ServiceRunner, TokenFactory

METHOD = f"/{probe_service.SERVICE}"


@pytest.fixture(scope="module")
def channel(services: ServiceRunner) -> Iterator[grpc.Channel]:
    with services.channel(probe_service.SPEC) as ch:
        yield ch


def handled(method: str, code: str, rpc_type: str = "unary") -> float:
    return (
        REGISTRY.get_sample_value(
            "grpc_server_handled_total",
            {
                "grpc_type": rpc_type,
                "grpc_service": probe_service.SERVICE,
                "grpc_method": method,
                "grpc_code": code,
            },
        )
        or 0.0
    )


def timed(method: str, rpc_type: str = "unary") -> float:
    return (
        REGISTRY.get_sample_value(
            "grpc_server_handling_seconds_count",
            {"grpc_type": rpc_type, "grpc_service": probe_service.SERVICE, "grpc_method": method},
        )
        or 0.0
    )


def test_each_rpc_is_counted_by_status_code_and_timed(channel: grpc.Channel, tokens: TokenFactory):
    auth = tokens.metadata("usr_1")
    before = {code: handled("Fail", code) for code in ("NOT_FOUND", "INTERNAL", "UNAUTHENTICATED")}
    ok_before, timed_before = handled("Public", "OK"), timed("Public")
    for _ in range(3):
        assert channel.unary_unary(f"{METHOD}/Public")(b"", timeout=10) == b"hello"
    for payload, metadata in ((b"not_found", auth), (b"crash", auth), (b"not_found", None)):
        with pytest.raises(grpc.RpcError):
            channel.unary_unary(f"{METHOD}/Fail")(payload, metadata=metadata, timeout=10)
    assert handled("Public", "OK") == ok_before + 3
    assert timed("Public") == timed_before + 3
    assert handled("Fail", "NOT_FOUND") == before["NOT_FOUND"] + 1
    assert handled("Fail", "INTERNAL") == before["INTERNAL"] + 1
    assert handled("Fail", "UNAUTHENTICATED") == before["UNAUTHENTICATED"] + 1


def test_a_stream_is_counted_when_it_ends(channel: grpc.Channel, tokens: TokenFactory):
    before = handled("StreamFail", "NOT_FOUND", "server_stream")
    stream = channel.unary_stream(f"{METHOD}/StreamFail")(b"", metadata=tokens.metadata("usr_1"), timeout=10)
    with pytest.raises(grpc.RpcError):
        list(stream)
    assert handled("StreamFail", "NOT_FOUND", "server_stream") == before + 1


def test_domain_metrics_are_declared_once_through_the_runtime():
    first = metrics.counter("nexafi_test_widgets", "Widgets made, by colour.", ("colour",))
    assert metrics.counter("nexafi_test_widgets", "Widgets made, by colour.", ("colour",)) is first
    first.labels("red").inc(2)
    assert REGISTRY.get_sample_value("nexafi_test_widgets_total", {"colour": "red"}) == 2
    with pytest.raises(ValueError, match="already declared"):
        metrics.gauge("nexafi_test_widgets", "not a gauge")


def scrape(port: int) -> dict[str, float]:
    reply = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            key = sample.name + "".join(f"|{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[key] = sample.value
    return samples


def test_a_service_process_answers_a_scrape_on_its_metrics_port(keys_dir: Path, tokens: TokenFactory):
    port, metrics_port = free_port(), free_port()
    proc = launch(
        {"PROBE_PORT": str(port), "PROBE_METRICS_PORT": str(metrics_port), "NEXAFI_KEYS_DIR": str(keys_dir)}
    )
    try:
        wait_serving(f"127.0.0.1:{port}")
        key = (
            f"grpc_server_handled_total|grpc_code=OK|grpc_method=Public|"
            f"grpc_service={probe_service.SERVICE}|grpc_type=unary"
        )
        assert scrape(metrics_port).get(key, 0) == 0
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            for _ in range(2):
                channel.unary_unary(f"{METHOD}/Public")(b"", timeout=10)
        after = scrape(metrics_port)
        assert after[key] == 2
        assert after["process_resident_memory_bytes"] > 0
    finally:
        proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_a_taken_metrics_port_stops_the_service_with_one_line(keys_dir: Path):
    with socket.socket() as blocker:
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        proc = launch(
            {
                "PROBE_PORT": str(free_port()),
                "PROBE_METRICS_PORT": str(taken),
                "NEXAFI_KEYS_DIR": str(keys_dir),
            }
        )
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "Traceback" not in err, err
    # One line that says what is wrong, after whatever the start logged before it.
    last = err.strip().splitlines()[-1]
    assert last.startswith("nexafi-probe: cannot serve metrics") and str(taken) in last, err
