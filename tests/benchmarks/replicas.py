"""Ledger replicas: single transfers at 16 clients against one ledger process, then two, then
one service with two worker processes on one port (``NEXAFI_WORKERS=2``).

Run with ``python -m tests.benchmarks.replicas`` (part of ``make bench``). Both replicas are
``python -m services.ledger`` processes on one PostgreSQL, as Kubernetes runs two pods; the
16 clients (4 processes) are split evenly between them. Replicas, not one server forked
with ``SO_REUSEPORT``: the same measurement of whether a second interpreter helps on these
2 cores. The two replicas contend for the ledger head (each writer seals in its transaction
when the head is free), which is part of what is measured. The third point is grpcio's
multi-process server (services/runtime/server.py): the kernel spreads the clients' connections
over the two workers.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
from typing import Any

import grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from tests.benchmarks import deployed
from tests.benchmarks.ledger_bench import open_bench_account, percentile, transfer_request
from tests.support.harness import TokenFactory

CLIENTS = 16
PROCESSES = 4


def _wallets(address: str, service: deployed.Metadata) -> tuple[str, ...]:
    with grpc.insecure_channel(address) as channel:
        stub = ledger_pb2_grpc.LedgerServiceStub(channel)

        def open_account(kind: Any, rule: Any) -> str:
            return open_bench_account(stub, service, kind, rule)

        clearing = open_account(ledger_pb2.ACCOUNT_TYPE_ASSET, ledger_pb2.BALANCE_RULE_UNBOUNDED)
        wallets = tuple(
            open_account(ledger_pb2.ACCOUNT_TYPE_LIABILITY, ledger_pb2.BALANCE_RULE_NON_NEGATIVE)
            for _ in range(deployed.WALLETS)
        )
        for wallet in wallets:
            stub.CreateTransaction(transfer_request(clearing, wallet, 10**12), metadata=service, timeout=10)
    return wallets


def _drive(addresses: list[str], service: deployed.Metadata, wallets: tuple[str, ...]) -> deployed.Result:
    """16 clients in 4 processes, process i calling ``addresses[i % len(addresses)]``."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES + 1)
    queue = context.Queue()
    children = [
        context.Process(
            target=deployed._client_process,
            args=(
                deployed.Job(
                    "transfer",
                    addresses[i % len(addresses)],
                    service,
                    wallets,
                    CLIENTS // PROCESSES,
                    deployed.SECONDS,
                    i,
                ),
                start,
                queue,
            ),
        )
        for i in range(PROCESSES)
    ]
    for child in children:
        child.start()
    start.wait(timeout=120)
    results = [queue.get(timeout=deployed.SECONDS + 120) for _ in children]
    for child in children:
        child.join(10)
    latencies = [x for _, per in results for x in per]
    return deployed.Result(
        sum(n for n, _ in results) / deployed.SECONDS,
        statistics.median(latencies),
        percentile(latencies, 0.99),
        deployed.load(),
    )


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` and their direct children (workers)."""
    from pathlib import Path

    tree = set(pids)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[1]) in pids:
                tree.add(int(entry.name))
    total = 0
    for pid in tree:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _measured(
    addresses: list[str], pids: list[int], service: deployed.Metadata, wallets: tuple[str, ...]
) -> tuple[deployed.Result, float]:
    """The run, and the CPU the ledger process(es) used per second of it (1.0 = one core)."""
    before = _cpu_seconds(pids)
    result = _drive(addresses, service, wallets)
    # The clients' start-up (spawned interpreters) is outside the servers' CPU; their warm-up
    # calls are inside it, a few dozen transfers against thousands.
    return result, (_cpu_seconds(pids) - before) / deployed.SECONDS


def main() -> int:
    with deployed.stack() as s:
        service = TokenFactory(s.keyring).metadata("usr_bench_admin", ["admin"])  # outside any service scope
        first = s.service("ledger")
        wallets = _wallets(first, service)
        one, one_cpu = _measured([first], [s.pid(0)], service, wallets)
        second = s.service("ledger")
        two, two_cpu = _measured([first, second], [s.pid(0), s.pid(1)], service, wallets)
        workers = s.service("ledger", {"NEXAFI_WORKERS": "2"})
        forked, forked_cpu = _measured([workers], [s.pid(2)], service, wallets)
    print(
        f"ledger transfers, {CLIENTS} clients in {PROCESSES} processes, {deployed.SECONDS:.0f} s each; "
        "cpu: cores the ledger process(es) used during the run"
    )
    for name, result, cpu in (
        ("1 replica", one, one_cpu),
        ("2 replicas", two, two_cpu),
        ("2 workers", forked, forked_cpu),
    ):
        print(
            f"  {name:<10} {result.rate:>6.0f} tx/s  p50 {result.p50:6.2f} ms  p99 {result.p99:7.2f} ms  "
            f"cpu {cpu:4.2f}  (load {result.load:.1f})"
        )
    print(
        f"  2 replicas / 1 replica: {two.rate / one.rate:.2f}; "
        f"2 workers / 1 replica: {forked.rate / one.rate:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
