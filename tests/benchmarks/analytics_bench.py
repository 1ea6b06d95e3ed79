"""Analytics: how fast the feed consumer catches up, how far it trails the ledger, how fast it answers.

Run with ``python -m tests.benchmarks.analytics_bench`` (or ``python -m tests.benchmarks``).
It starts an embedded PostgreSQL (fsync on) and the real user, ledger and analytics servers
on port 0; analytics follows the ledger's change feed with its own service identity, as in
the dev stack. Three figures:

- catch-up: BACKLOG entries (card payments out of USERS wallets, batches of 100) posted
  before analytics starts; entries applied per second until its checkpoint reaches the
  ledger's last sequence (each entry is one transaction with its checkpoint: exactly once);
- lag: LIVE single transfers posted one after another; for each, the time from the ledger's
  answer until the analytics checkpoint includes it (p50, p99);
- reads: GetSpendingAnalysis over the last 30 days by day for random users (p50, p99).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from pathlib import Path

import grpc
from google.protobuf import timestamp_pb2
from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.analytics.spec import SPEC as ANALYTICS
from services.devtools.embedded_pg import EmbeddedPostgres
from services.ledger.spec import SPEC as LEDGER
from services.runtime.ids import new_id
from services.runtime.keys import Keyring
from services.user.spec import SPEC as USER
from tests.benchmarks.gateway_bench import percentiles
from tests.support.harness import ServiceRunner, TokenFactory, auth_settings_for, configure_test_environment

USERS = 100
BACKLOG = 5000
BATCH = 100
LIVE = 200
READS = 200
TIMEOUT_SECONDS = 300.0


def eur(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency="EUR")


Metadata = tuple[tuple[str, str], ...]


class Bench:
    def __init__(self, ledger: ledger_pb2_grpc.LedgerServiceStub, metadata: Metadata) -> None:
        self.ledger = ledger
        self.metadata = metadata
        self.head = 0

    def account(self, owner: str, kind: ledger_pb2.AccountType, rule: ledger_pb2.BalanceRule) -> str:
        request = ledger_pb2.CreateAccountRequest(
            owner_id=owner,
            name="wallet" if owner != "system" else "cash",
            type=kind,
            currency="EUR",
            balance_rule=rule,
            request_id=new_id("req"),
        )
        return self.ledger.CreateAccount(request, metadata=self.metadata, timeout=10).account.id

    def transfer(self, debit: str, credit: str, amount: int, kind: ledger_pb2.TransactionType) -> int:
        money = eur(amount)
        debit_side, credit_side = ledger_pb2.POSTING_DIRECTION_DEBIT, ledger_pb2.POSTING_DIRECTION_CREDIT
        postings = [
            ledger_pb2.Posting(account_id=debit, direction=debit_side, amount=money),
            ledger_pb2.Posting(account_id=credit, direction=credit_side, amount=money),
        ]
        request = ledger_pb2.CreateTransactionRequest(type=kind, request_id=new_id("req"), postings=postings)
        reply = self.ledger.CreateTransaction(request, metadata=self.metadata, timeout=30)
        self.head = max(self.head, reply.transaction.sequence)
        return reply.transaction.sequence

    def batch(self, pairs: list[tuple[str, str, int]]) -> None:
        items = [
            ledger_pb2.Transfer(
                debit_account_id=d,
                credit_account_id=c,
                amount=eur(a),
                type=ledger_pb2.TRANSACTION_TYPE_PAYMENT,
                request_id=new_id("req"),
            )
            for d, c, a in pairs
        ]
        reply = self.ledger.CreateTransactions(
            ledger_pb2.CreateTransactionsRequest(transfers=items), metadata=self.metadata, timeout=60
        )
        failed = [r.reason for r in reply.results if r.code != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} transfers failed: {failed[:3]}")
        self.head = max([self.head, *(r.transaction.sequence for r in reply.results)])


def checkpoint(stub: analytics_pb2_grpc.AnalyticsServiceStub, metadata: Metadata) -> int:
    reply = stub.GetFeedCheckpoint(analytics_pb2.GetFeedCheckpointRequest(), metadata=metadata, timeout=10)
    return int(reply.checkpoint.last_sequence)


def wait_for(
    stub: analytics_pb2_grpc.AnalyticsServiceStub, metadata: Metadata, sequence: int, poll_seconds: float
) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while checkpoint(stub, metadata) < sequence:
        if time.monotonic() > deadline:
            raise RuntimeError(f"analytics did not reach sequence {sequence} in {TIMEOUT_SECONDS:.0f} s")
        time.sleep(poll_seconds)


def main() -> int:
    configure_test_environment()
    os.environ["NEXAFI_PG_FAST"] = os.environ.get("NEXAFI_PG_FAST", "0")
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="analytics-bench-") as tmp_name:
        tmp = Path(tmp_name)
        keys = tmp / "keys"
        Keyring(keys).ensure()
        pg = EmbeddedPostgres(tmp / "pg").start()
        runner = ServiceRunner(pg, auth_settings_for(keys))
        channels: list[grpc.Channel] = []
        try:
            runner.start(USER)
            ledger_channel = grpc.insecure_channel(runner.start(LEDGER).address)
            channels.append(ledger_channel)
            tokens = TokenFactory(Keyring(keys))
            # An admin: it posts on its own accounts (outside any service scope) and reads any user.
            service = tokens.metadata("usr_bench_admin", ["admin"])
            bench = Bench(ledger_pb2_grpc.LedgerServiceStub(ledger_channel), service)
            cash = bench.account("system", ledger_pb2.ACCOUNT_TYPE_ASSET, ledger_pb2.BALANCE_RULE_UNBOUNDED)
            users = [new_id("usr") for _ in range(USERS)]
            liability, non_negative = ledger_pb2.ACCOUNT_TYPE_LIABILITY, ledger_pb2.BALANCE_RULE_NON_NEGATIVE
            wallets = [bench.account(u, liability, non_negative) for u in users]
            for wallet in wallets:
                bench.transfer(cash, wallet, 10**9, ledger_pb2.TRANSACTION_TYPE_DEPOSIT)
            for start in range(0, BACKLOG, BATCH):
                bench.batch(
                    [
                        (rng.choice(wallets), cash, rng.randint(100, 20_000))
                        for _ in range(min(BATCH, BACKLOG - start))
                    ]
                )

            started = time.perf_counter()
            analytics_channel = grpc.insecure_channel(runner.start(ANALYTICS).address)
            channels.append(analytics_channel)
            analytics = analytics_pb2_grpc.AnalyticsServiceStub(analytics_channel)
            wait_for(analytics, service, bench.head, 0.05)
            catch_up = time.perf_counter() - started
            print(f"Analytics over the ledger feed ({USERS} users, PostgreSQL with fsync on)")
            rate = bench.head / catch_up
            print(
                f"  catch-up: {bench.head} entries in {catch_up:.1f} s = {rate:.0f} entries/s "
                "(server start included)"
            )

            lags: list[float] = []
            for _ in range(LIVE):
                sequence = bench.transfer(
                    rng.choice(wallets), cash, rng.randint(100, 20_000), ledger_pb2.TRANSACTION_TYPE_PAYMENT
                )
                posted = time.perf_counter()
                wait_for(analytics, service, sequence, 0.002)
                lags.append(time.perf_counter() - posted)
            p = percentiles(lags)
            print(
                f"  lag after the ledger's answer, {LIVE} sequential transfers: "
                f"p50 {p['p50']:.1f} ms, p99 {p['p99']:.1f} ms"
            )

            end = timestamp_pb2.Timestamp()
            end.GetCurrentTime()
            begin = timestamp_pb2.Timestamp(seconds=end.seconds - 30 * 86400)
            reads: list[float] = []
            for _ in range(READS):
                user = rng.choice(users)
                request = analytics_pb2.GetSpendingAnalysisRequest(
                    user_id=user,
                    time_range=common_pb2.TimeRange(start_time=begin, end_time=end),
                    granularity=analytics_pb2.GRANULARITY_DAY,
                    currency="EUR",
                )
                started = time.perf_counter()
                analytics.GetSpendingAnalysis(request, metadata=service, timeout=10)
                reads.append(time.perf_counter() - started)
            p = percentiles(reads)
            print(
                f"  GetSpendingAnalysis, 30 days by day, {READS} calls: p50 {p['p50']:.1f} ms, "
                f"p99 {p['p99']:.1f} ms"
            )
            return 0
        finally:
            for channel in channels:
                channel.close()
            runner.stop_all()
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
