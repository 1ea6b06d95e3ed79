"""AI serving speed: CheckFraud through gRPC (p50 / p99 latency, 1 and 8 clients) and the fraud
model in process (single-row latency of features + ONNX, and batch throughput in rows per second).

Run with ``python -m tests.benchmarks.ai_bench`` (``AI_BENCH_REQUESTS`` sets the gRPC request
count per client setting, default 400). It starts its own embedded PostgreSQL and an AI server on
port 0. Every gRPC check is a real one: the customer's history is read under a per-user lock, the
features and the model run, and the audit row and the history row are written and committed.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc
from nexafi.common.v1 import common_pb2

from services.ai import explain, features
from services.ai.model_files import BUILTIN_MODELS_DIR, load_verified
from services.ai.spec import SPEC
from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime import migrations
from services.runtime.ids import new_id
from services.runtime.keys import Keyring
from services.runtime.server import start_server
from tests.support.harness import TokenFactory, auth_settings_for, service_settings

REQUESTS = int(os.environ.get("AI_BENCH_REQUESTS", "400"))
USERS = 50
HISTORY_PER_USER = 40
BATCH = 256


def _request(user_id: str, when: datetime, i: int) -> ai_pb2.CheckFraudRequest:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return ai_pb2.CheckFraudRequest(
        request_id=new_id("req"),
        user_id=user_id,
        amount=common_pb2.Money(amount_minor=1_500 + 97 * (i % 40), currency="EUR"),
        merchant_category_code=("5411", "5812", "5541", "5968")[i % 4],
        counterparty_id=f"mer_{i % 13}",
        channel=ai_pb2.TRANSACTION_CHANNEL_CARD_PRESENT,
        device_id="dev_1",
        ip_country="DE",
        counterparty_country="DE",
        payment_id=new_id("pay"),
        transaction_time=stamp,
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _grpc(
    stub: ai_pb2_grpc.AiServiceStub, metadata: tuple[tuple[str, str], ...], users: list[str], clients: int
) -> None:
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = max(1, REQUESTS // clients)
    now = datetime.now(UTC)

    def run(c: int) -> None:
        mine = []
        for i in range(per_client):
            user_id = users[(c * per_client + i) % len(users)]
            request = _request(user_id, now - timedelta(seconds=per_client - i), i)
            start = time.perf_counter()
            stub.CheckFraud(request, metadata=metadata, timeout=10)
            mine.append((time.perf_counter() - start) * 1_000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    print(
        f"  gRPC CheckFraud, {clients:2d} client(s): {len(latencies) / elapsed:8.0f} checks/s   "
        f"p50 {statistics.median(latencies):6.2f} ms   p99 {_percentile(latencies, 0.99):6.2f} ms",
        flush=True,
    )


def _in_process() -> None:
    # The newest built-in fraud model, as the registry serves on a fresh database.
    folder = max((BUILTIN_MODELS_DIR / "fraud").iterdir(), key=lambda p: tuple(map(int, p.name.split("."))))
    meta = json.loads((folder / "metadata.json").read_text())
    model = load_verified("fraud", folder.name, str(folder / "model.onnx"), meta["sha256"], meta)
    feature_set = int(meta.get("feature_set", 1))
    rng = np.random.default_rng(7)
    t0 = 1_800_000_000
    history = [
        features.Txn(
            t0 + i * 20_000,
            int(rng.integers(500, 9_000)),
            f"m{i % 7}",
            features.CATEGORIES[i % 5],
            "DE",
            "dev_1",
        )
        for i in range(80)
    ]
    txn = features.Txn(t0 + 81 * 20_000, 4_200, "m1", "grocery", "DE", "dev_1")
    risk = features.RiskCounts(0, 0, 35_056, 230)

    def one(with_reasons: bool) -> None:
        x = features.fraud_features(txn, history, risk, feature_set=feature_set)
        p = float(model.run(x)["probabilities"][0, 1])
        explain.fraud_decision(p, meta["thresholds"])
        if with_reasons:
            explain.fraud_reasons(x, lambda b: model.run(b)["probabilities"], meta["explanation"], top_k=24)

    for label, with_reasons in (("features + ONNX + decision", False), ("... + occlusion reasons", True)):
        samples = []
        for _ in range(1_000):
            start_ns = time.perf_counter_ns()
            one(with_reasons)
            samples.append((time.perf_counter_ns() - start_ns) / 1_000)
        print(
            f"  in process, one check, {label:28s}: p50 {statistics.median(samples):7.1f} us   "
            f"p99 {_percentile(samples, 0.99):7.1f} us",
            flush=True,
        )
    x = features.fraud_features(txn, history, risk, feature_set=feature_set)
    batch = np.repeat(x[None, :], BATCH, axis=0) * rng.uniform(0.9, 1.1, (BATCH, len(x))).astype(np.float32)
    model.run(batch)
    rounds = 200
    start = time.perf_counter()
    for _ in range(rounds):
        model.run(batch)
    elapsed = time.perf_counter() - start
    print(
        f"  in process, ONNX only, batches of {BATCH}: {rounds * BATCH / elapsed:12,.0f} rows/s", flush=True
    )


def main() -> int:
    print("AI service: fraud-check latency and throughput", flush=True)
    _in_process()
    with tempfile.TemporaryDirectory(prefix="ai-bench-") as tmp:
        root = Path(tmp)
        pg = EmbeddedPostgres(root / "pg").start()
        try:
            keys = root / "keys"
            keyring = Keyring(keys)
            keyring.ensure()
            url = pg.url("nexafi_ai")
            migrations.upgrade("ai", url)
            running = start_server(SPEC, service_settings("ai", url, auth_settings_for(keys)))
            try:
                with grpc.insecure_channel(running.address) as channel:
                    stub = ai_pb2_grpc.AiServiceStub(channel)
                    metadata = TokenFactory(keyring).metadata("payment", ["service"])
                    users = [new_id("usr") for _ in range(USERS)]
                    start = datetime.now(UTC) - timedelta(days=HISTORY_PER_USER + 1)
                    for u in users:  # some history per customer, so the features read real rows
                        for d in range(HISTORY_PER_USER):
                            stub.CheckFraud(
                                _request(u, start + timedelta(days=d), d), metadata=metadata, timeout=10
                            )
                    print(
                        f"  ({USERS} customers with {HISTORY_PER_USER} checked transactions each)", flush=True
                    )
                    for clients in (1, 8):
                        _grpc(stub, metadata, users, clients)
            finally:
                running.stop(0)
        finally:
            pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
