"""What the gateway costs: latency REST-through-Envoy adds over direct gRPC, and Envoy's memory.

Run with ``python -m tests.benchmarks.gateway_bench`` (or ``make bench``). It starts an
embedded PostgreSQL, a ledger server on port 0 and the real Envoy with the full filter
chain (Lua, body limit, CORS, jwt_authn, local_ratelimit, transcoder), then times the
same authenticated call, GetAccount, both ways from one client, sequentially:

- direct: the generated gRPC stub over one channel;
- REST: GET /api/v1/ledger/accounts/{id} over one keep-alive HTTP/1.1 connection
  (the JSON body read, not parsed).

It prints p50/p90/p99 for each, the difference, and Envoy's resident memory.
"""

from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.envoy_process import Envoy, free_port
from services.gateway.envoy_config import write
from services.gateway.settings import GatewaySettings, RateLimit
from services.ledger.spec import SPEC
from services.runtime import migrations
from services.runtime.keys import Keyring
from services.runtime.server import start_server
from tests.support.harness import TokenFactory, auth_settings_for, service_settings

WARMUP = 200
CALLS = 3000


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "mean": statistics.fmean(ordered) * 1000}


def timed(call: Callable[[], None], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp_name:
        tmp = Path(tmp_name)
        keys = tmp / "keys"
        Keyring(keys).ensure()
        auth = auth_settings_for(keys)
        pg = EmbeddedPostgres(tmp / "pg").start()
        envoy: Envoy | None = None
        server = None
        try:
            url = pg.url("nexafi_ledger")
            migrations.upgrade("ledger", url)
            server = start_server(SPEC, service_settings("ledger", url, auth))
            token = TokenFactory(Keyring(keys)).make("usr_bench_admin", ["admin"])
            metadata = (("authorization", f"Bearer {token}"),)
            channel = grpc.insecure_channel(server.address)
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            account = stub.CreateAccount(
                ledger_pb2.CreateAccountRequest(
                    owner_id="usr_bench",
                    name="wallet",
                    type=ledger_pb2.ACCOUNT_TYPE_LIABILITY,
                    currency="EUR",
                    balance_rule=ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
                ),
                metadata=metadata,
                timeout=5,
            ).account

            port, admin = free_port(), free_port()
            # Budgets far above the benchmark's rate: the limiter runs, never rejects.
            settings = GatewaySettings(
                listen_port=port,
                admin_port=admin,
                upstreams={"ledger": f"127.0.0.1:{server.port}"},
                listen_address="127.0.0.1",
                jwks_source=str(keys / "jwks.json"),
                rate_limit_global=RateLimit(1_000_000),
                rate_limit_user=RateLimit(1_000_000),
            )
            config = write(settings, tmp / "envoy.json")
            envoy = Envoy(config, admin, stdout=(tmp / "access.log").open("w"))
            if not envoy.wait_ready():
                print("Envoy did not start", file=sys.stderr)
                return 1
            rss_idle = envoy.rss_bytes()

            def direct() -> None:
                stub.GetAccount(
                    ledger_pb2.GetAccountRequest(account_id=account.id), metadata=metadata, timeout=5
                )

            # http.client rather than requests: requests alone costs ~0.5 ms per call here,
            # which would be billed to the gateway.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            rest_path = f"/api/v1/ledger/accounts/{account.id}"
            headers = {"authorization": f"Bearer {token}"}

            def rest() -> None:
                connection.request("GET", rest_path, headers=headers)
                reply = connection.getresponse()
                body = reply.read()
                if reply.status != 200:
                    raise RuntimeError(f"REST call failed: {reply.status} {body!r}")

            timed(direct, WARMUP)
            timed(rest, WARMUP)
            # Interleaved rounds, so drift (GC, page cache, CPU frequency) hits both alike.
            direct_samples: list[float] = []
            rest_samples: list[float] = []
            for _ in range(5):
                direct_samples += timed(direct, CALLS // 5)
                rest_samples += timed(rest, CALLS // 5)
            d, r = percentiles(direct_samples), percentiles(rest_samples)
            rss_busy = envoy.rss_bytes()
            print(f"GetAccount, {CALLS} sequential calls each (ms)")
            keys_ = ("p50", "p90", "p99", "mean")
            print(f"  {'':<22}" + "".join(f"{k:>8}" for k in keys_))
            print(f"  {'direct gRPC':<22}" + "".join(f"{d[k]:>8.3f}" for k in keys_))
            print(f"  {'REST through Envoy':<22}" + "".join(f"{r[k]:>8.3f}" for k in keys_))
            print(f"  {'added by the gateway':<22}" + "".join(f"{r[k] - d[k]:>8.3f}" for k in keys_))
            print(
                f"Envoy RSS: {rss_idle / 2**20:.1f} MiB after start, {rss_busy / 2**20:.1f} MiB after the run"
            )
            channel.close()
            connection.close()
            return 0
        finally:
            if envoy is not None:
                envoy.stop()
            if server is not None:
                server.stop(0)
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
