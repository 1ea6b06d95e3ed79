"""The hot clearing account: writes that all go through one unbounded system account.

``python -m tests.benchmarks.clearing_bench``: one ledger process (``BENCH_WORKERS=N`` runs it
with ``NEXAFI_WORKERS=N``), 64 wallets funded from one clearing account, 16 clients in 4
processes; then deposits (``CreateTransaction`` clearing -> wallet, the one-statement write
path) and card top-ups' ledger calls (``CreatePendingTransfer`` from the clearing account, then
``PostPendingTransfer``; the general write path) for ``BENCH_SECONDS`` each. Every one of these
writes changes the clearing account's balance row (see BENCHMARKS.md, the hot clearing row).
"""

from __future__ import annotations

import os
import sys

import grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from tests.benchmarks import deployed
from tests.benchmarks.ledger_bench import open_bench_account, transfer_request
from tests.support.harness import TokenFactory

CLIENTS = 16
PROCESSES = 4


def main() -> int:
    workers = os.environ.get("BENCH_WORKERS", "1")
    with deployed.stack() as s:
        service = TokenFactory(s.keyring).metadata("usr_bench_admin", ["admin"])  # outside any service scope
        address = s.service("ledger", {"NEXAFI_WORKERS": workers})
        with grpc.insecure_channel(address) as channel:
            stub = ledger_pb2_grpc.LedgerServiceStub(channel)
            clearing = open_bench_account(
                stub, service, ledger_pb2.ACCOUNT_TYPE_ASSET, ledger_pb2.BALANCE_RULE_UNBOUNDED
            )
            wallets = tuple(
                open_bench_account(
                    stub, service, ledger_pb2.ACCOUNT_TYPE_LIABILITY, ledger_pb2.BALANCE_RULE_NON_NEGATIVE
                )
                for _ in range(deployed.WALLETS)
            )
            for wallet in wallets:
                stub.CreateTransaction(
                    transfer_request(clearing, wallet, 10**9), metadata=service, timeout=10
                )
        params = (clearing, *wallets)
        print(
            f"clearing account: {CLIENTS} clients in {PROCESSES} processes, {deployed.SECONDS:.0f} s each, "
            f"ledger NEXAFI_WORKERS={workers}"
        )
        for kind, what in (("deposit", "deposits"), ("hold", "top-ups (hold + post)")):
            result = deployed.drive(kind, address, service, params, CLIENTS, PROCESSES)
            print(
                f"  {what:<22} {result.rate:>6.0f}/s  p50 {result.p50:6.2f} ms  p99 {result.p99:7.2f} ms  "
                f"(load {result.load:.1f})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
