"""Ledger throughput: single transfers through gRPC, batches, and raw PostgreSQL doing the same SQL.

Run with ``python -m tests.benchmarks.ledger_bench``. It starts its own embedded
PostgreSQL (durable: fsync on, as in production) and a ledger server on port 0,
then prints, at 1, 4 and 16 concurrent clients:

- single CreateTransaction calls per second with p50 and p99 latency;
- batched transfers per second (CreateTransactions, 100 per call);
- pgbench running the same SQL shape a transfer runs (lock 2 balance rows, insert
  an entry and 2 postings, update the 2 balances), and the ratio gRPC/raw. The
  "raw+head" column adds what writers did before entries were sealed after commit
  (every transaction updating the single ledger head row, serializing commits);
  the ledger no longer does that, so it is kept only as a reference point.

A gRPC transfer returns once its entry is committed and sealed (sequence and hash
chain assigned); the sealing commit is a second fsync, shared by every entry it
seals. Set LEDGER_SEAL_WAIT_MS=0 to measure returning right after the commit.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import sqlalchemy as sa
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger.spec import SPEC
from services.runtime import migrations
from services.runtime.ids import new_id
from services.runtime.keys import Keyring
from services.runtime.server import start_server
from tests.support.harness import TokenFactory, auth_settings_for, service_settings

CLIENTS = (1, 4, 16)
SECONDS = float(os.environ.get("LEDGER_BENCH_SECONDS", "5"))
WALLETS = 64
BATCH = 100

TRANSFER_SQL = """\\set a random(1, {wallets})
\\set b random(1, {wallets} - 1)
\\set b (:a + :b - 1) % {wallets} + 1
BEGIN;
SELECT posted FROM balances WHERE account_id IN ('w' || :a, 'w' || :b)
  ORDER BY account_id FOR UPDATE;
UPDATE balances SET posted = posted - 1 WHERE account_id = 'w' || :a;
UPDATE balances SET posted = posted + 1 WHERE account_id = 'w' || :b;
{head}INSERT INTO entries (id, insert_id, user_id, type, description, related_entity_id, amount_minor,
  currency, metadata, request_id, create_time)
  VALUES ('t' || currval('bench_ids'), currval('bench_ids'), '', 3, '', '', 1, 'USD', '{{}}',
  'r' || currval('bench_ids'), clock_timestamp());
INSERT INTO postings (entry_id, idx, account_id, direction, amount_minor, currency, insert_id, create_time)
  VALUES ('t' || currval('bench_ids'), 0, 'w' || :a, 1, 1, 'USD', currval('bench_ids'), clock_timestamp()),
         ('t' || currval('bench_ids'), 1, 'w' || :b, 2, 1, 'USD', currval('bench_ids'), clock_timestamp());
COMMIT;
"""
NO_HEAD = "SELECT nextval('bench_ids');\n"
WITH_HEAD = (
    "UPDATE ledger_head SET last_sequence = last_sequence + 1 WHERE id = 1;\nSELECT nextval('bench_ids');\n"
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_clients(
    clients: int, seconds: float, operation: Callable[[random.Random], int]
) -> tuple[float, list[float]]:
    """Run ``operation`` from ``clients`` threads for ``seconds``: (items per second, latencies in ms)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    counts = [0] * clients
    barrier = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        rng = random.Random(index)
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            started = time.perf_counter()
            counts[index] += operation(rng)
            latencies[index].append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return sum(counts) / elapsed, [x for per_client in latencies for x in per_client]


def pgbench(
    pg: EmbeddedPostgres, database: str, script: Path, clients: int, seconds: float
) -> tuple[float, float]:
    """(transactions per second, average latency ms) of ``script``."""
    result = subprocess.run(
        [
            str(pg.bin_dir / "pgbench"),
            "-h",
            str(pg.data_dir),
            "-p",
            str(pg.port),
            "-U",
            "postgres",
            "-n",
            "-M",
            "prepared",
            "-f",
            str(script),
            "-c",
            str(clients),
            "-j",
            str(min(clients, 4)),
            "-T",
            str(int(seconds)),
            database,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))  # type: ignore[union-attr]
    return tps, latency


def prepare_raw(pg: EmbeddedPostgres, database: str) -> None:
    """The ledger's own schema in a second database, with the wallets pgbench moves money between."""
    url = pg.url(database)
    migrations.upgrade("ledger", url)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SEQUENCE IF NOT EXISTS bench_ids"))
        for i in range(1, WALLETS + 1):
            connection.execute(
                sa.text(
                    "INSERT INTO accounts (id, owner_id, name, type, currency, balance_rule, request_id) "
                    "VALUES (:id, 'bench', 'wallet', 2, 'USD', 3, '') ON CONFLICT DO NOTHING"
                ),
                {"id": f"w{i}"},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO balances (account_id, currency, normal_side, posted) "
                    "VALUES (:id, 'USD', 2, 1000000000) ON CONFLICT DO NOTHING"
                ),
                {"id": f"w{i}"},
            )
    engine.dispose()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        root = Path(tmp)
        pg = EmbeddedPostgres(root / "pg").start()
        try:
            return _bench(pg, root)
        finally:
            pg.stop()


def _bench(pg: EmbeddedPostgres, root: Path) -> int:
    keys = root / "keys"
    keyring = Keyring(keys)
    keyring.ensure()
    url = pg.url("nexafi_ledger")
    migrations.upgrade("ledger", url)
    os.environ.setdefault("GRPC_MAX_WORKERS", "32")
    running = start_server(SPEC, service_settings("ledger", url, auth_settings_for(keys)))
    # An admin: the bench posts on accounts of its own, outside any service's ledger scope.
    service = TokenFactory(keyring).metadata("usr_bench_admin", ["admin"])
    channel = grpc.insecure_channel(running.address)
    stub = ledger_pb2_grpc.LedgerServiceStub(channel)
    try:

        def open_account(kind: ledger_pb2.AccountType, rule: ledger_pb2.BalanceRule) -> str:
            return open_bench_account(stub, service, kind, rule)

        clearing = open_account(ledger_pb2.ACCOUNT_TYPE_ASSET, ledger_pb2.BALANCE_RULE_UNBOUNDED)
        wallets = [
            open_account(ledger_pb2.ACCOUNT_TYPE_LIABILITY, ledger_pb2.BALANCE_RULE_NON_NEGATIVE)
            for _ in range(WALLETS)
        ]
        for wallet in wallets:
            stub.CreateTransaction(transfer_request(clearing, wallet, 10**12), metadata=service, timeout=10)

        def single(rng: random.Random) -> int:
            a, b = rng.sample(wallets, 2)
            stub.CreateTransaction(transfer_request(a, b, 1), metadata=service, timeout=30)
            return 1

        def batch(rng: random.Random) -> int:
            items = []
            for _ in range(BATCH):
                a, b = rng.sample(wallets, 2)
                items.append(
                    ledger_pb2.Transfer(
                        debit_account_id=a,
                        credit_account_id=b,
                        amount=usd(1),
                        type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
                        request_id=new_id("req"),
                    )
                )
            response = stub.CreateTransactions(
                ledger_pb2.CreateTransactionsRequest(transfers=items), metadata=service, timeout=60
            )
            return sum(1 for r in response.results if r.code == 0)

        prepare_raw(pg, "bench_raw")
        scripts = {}
        for name, head in (("raw", NO_HEAD), ("raw+head", WITH_HEAD)):
            scripts[name] = root / f"{name}.sql"
            scripts[name].write_text(TRANSFER_SQL.format(wallets=WALLETS, head=head))

        print(
            f"ledger benchmark: {SECONDS:.0f} s per point, {WALLETS} wallets, random pairs, "
            f"{os.cpu_count()} CPUs, PostgreSQL with fsync on"
        )
        print(
            f"{'clients':>7} | {'gRPC tx/s':>9} {'p50 ms':>7} {'p99 ms':>7} | {'batch tx/s':>10} | "
            f"{'raw tx/s':>8} {'raw ms':>7} | {'raw+head':>8} | {'gRPC/raw':>8} {'gRPC/raw+head':>13}"
        )
        for clients in CLIENTS:
            rate, latencies = run_clients(clients, SECONDS, single)
            batch_rate, _ = run_clients(clients, SECONDS, batch)
            raw_rate, raw_latency = pgbench(pg, "bench_raw", scripts["raw"], clients, SECONDS)
            head_rate, _ = pgbench(pg, "bench_raw", scripts["raw+head"], clients, SECONDS)
            print(
                f"{clients:>7} | {rate:>9.0f} {statistics.median(latencies):>7.2f} "
                f"{percentile(latencies, 0.99):>7.2f} | {batch_rate:>10.0f} | {raw_rate:>8.0f} "
                f"{raw_latency:>7.2f} | {head_rate:>8.0f} | {rate / raw_rate:>8.2f} "
                f"{rate / head_rate:>13.2f}",
                flush=True,
            )
    finally:
        channel.close()
        running.stop(2)
    return 0


def usd(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency="USD")


def open_bench_account(stub: Any, metadata: Any, kind: Any, rule: Any) -> str:
    """A new USD account for a benchmark's transfers (its own owner, its own request id)."""
    return str(
        stub.CreateAccount(
            ledger_pb2.CreateAccountRequest(
                owner_id=new_id("usr"),
                name="bench",
                type=kind,
                currency="USD",
                balance_rule=rule,
                request_id=new_id("req"),
            ),
            metadata=metadata,
            timeout=10,
        ).account.id
    )


def transfer_request(debit: str, credit: str, amount: int) -> ledger_pb2.CreateTransactionRequest:
    return ledger_pb2.CreateTransactionRequest(
        type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        request_id=new_id("req"),
        postings=[
            ledger_pb2.Posting(
                account_id=debit, direction=ledger_pb2.POSTING_DIRECTION_DEBIT, amount=usd(amount)
            ),
            ledger_pb2.Posting(
                account_id=credit, direction=ledger_pb2.POSTING_DIRECTION_CREDIT, amount=usd(amount)
            ),
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
