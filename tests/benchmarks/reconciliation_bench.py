"""Reconciliation of a 100,000-payment book: how long GetReconciliationReport takes.

Run with ``python -m tests.benchmarks.reconciliation_bench`` (or ``python -m tests.benchmarks``).
It starts an embedded PostgreSQL and the real user, ledger and payment servers, each in its own
process as deployed (``tests/support/stack.py``), then
builds the book fast rather than payment by payment (a full initiation per payment would take
the better part of an hour here):

- the ledger entries through the ledger's own batch RPC (``CreateTransactions``, 1,000 per
  call, the fast posting path): one deposit per customer wallet, then top-ups and transfers
  between customers, each naming its payment id as ``related_entity_id``;
- the payment rows straight into the payment service's table (SUCCEEDED, pointing at their
  entry), one multi-row statement per thousand.

Then it times the report over the whole period through the payment service's gRPC API (what
Envoy's route calls, with a 15 s route timeout) and prints the figures with the report's
counts, which must show every payment and entry checked and no mismatch. PAYMENTS (environment
``RECONCILIATION_BENCH_PAYMENTS``) sets the book's size.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from nexafi.payment.v1 import payment_pb2, payment_pb2_grpc

from services.payment.domain.states import Kind, Status
from services.runtime.api import to_timestamp
from services.runtime.children import free_port
from services.runtime.ids import new_id
from services.runtime.keys import Keyring
from tests.support.harness import TokenFactory, configure_test_environment
from tests.support.stack import Stack

PAYMENTS = int(os.environ.get("RECONCILIATION_BENCH_PAYMENTS", "100000"))
CUSTOMERS = 500
BATCH = 1000
ROUTE_TIMEOUT_SECONDS = 15.0


def _usd(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency="USD")


def _open(
    stub: ledger_pb2_grpc.LedgerServiceStub,
    md: tuple[tuple[str, str], ...],
    owner: str,
    *,
    asset: bool = False,
) -> str:
    request = ledger_pb2.CreateAccountRequest(
        owner_id=owner,
        name="external_clearing" if asset else "wallet",
        currency="USD",
        type=ledger_pb2.ACCOUNT_TYPE_ASSET if asset else ledger_pb2.ACCOUNT_TYPE_LIABILITY,
        balance_rule=ledger_pb2.BALANCE_RULE_UNBOUNDED if asset else ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
        request_id=new_id("req"),
    )
    return stub.CreateAccount(request, metadata=md, timeout=30).account.id


def build_book(
    ledger: ledger_pb2_grpc.LedgerServiceStub, md: tuple[tuple[str, str], ...], payment_db: sa.Engine
) -> float:
    """PAYMENTS payments with their ledger entries; the seconds it took."""
    began = time.perf_counter()
    clearing = _open(ledger, md, "system", asset=True)
    users = [new_id("usr") for _ in range(CUSTOMERS)]
    wallets = [_open(ledger, md, user) for user in users]
    rows: list[dict[str, object]] = []
    items: list[tuple[ledger_pb2.Transfer, dict[str, object]]] = []
    for i in range(PAYMENTS):
        payment_id = new_id("pay")
        # The first payment of each customer funds the wallet; then transfers and top-ups alternate.
        top_up = i < CUSTOMERS or i % 3 == 0
        payer = i % CUSTOMERS
        payee = (payer * 7 + i) % CUSTOMERS
        if payee == payer:
            payee = (payer + 1) % CUSTOMERS
        amount = 1_000_000 if i < CUSTOMERS else 1 + i % 50
        debit, credit = (clearing, wallets[payer]) if top_up else (wallets[payer], wallets[payee])
        transfer = ledger_pb2.Transfer(
            debit_account_id=debit,
            credit_account_id=credit,
            amount=_usd(amount),
            user_id=users[payer],
            type=ledger_pb2.TRANSACTION_TYPE_DEPOSIT if top_up else ledger_pb2.TRANSACTION_TYPE_TRANSFER,
            description=f"bench {payment_id}",
            related_entity_id=payment_id,
            request_id=f"{payment_id}:post",
        )
        kind = Kind.TOP_UP if top_up else Kind.TRANSFER
        row = {
            "id": payment_id,
            "user_id": users[payer],
            "kind": int(kind),
            "amount_minor": amount,
            "payee": "" if top_up else users[payee],
            "debit": debit,
            "credit": credit,
        }
        items.append((transfer, row))
        if len(items) == BATCH or i == PAYMENTS - 1:
            batch = ledger_pb2.CreateTransactionsRequest(transfers=[t for t, _ in items])
            reply = ledger.CreateTransactions(batch, metadata=md, timeout=300)
            for (_, row_of), result in zip(items, reply.results, strict=True):
                if result.code != 0:
                    raise RuntimeError(f"the ledger refused an entry: {result.reason} {result.message}")
                row_of["txn"] = result.transaction.id
                rows.append(row_of)
            _insert_payments(payment_db, rows)
            rows.clear()
            items.clear()
            done = i + 1
            if done % 20_000 == 0:
                print(f"  built {done} payments in {time.perf_counter() - began:.0f} s", flush=True)
    return time.perf_counter() - began


def _insert_payments(engine: sa.Engine, rows: list[dict[str, object]]) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO payments (id, user_id, kind, amount_minor, currency, status, payee_user_id, "
                "request_id, debit_account_id, credit_account_id, transaction_id, fraud_checked) "
                "VALUES (:id, :user_id, :kind, :amount_minor, 'USD', :status, :payee, :id, :debit, :credit, "
                ":txn, true)"
            ),
            [{**row, "status": int(Status.SUCCEEDED)} for row in rows],
        )


def main() -> int:
    configure_test_environment()
    env = {
        "NEXAFI_PG_FAST": os.environ.get("NEXAFI_PG_FAST", "1"),
        "PAYMENT_RECOVERY_INTERVAL_SECONDS": "0",
        "PAYMENT_FINGERPRINT_KEY": "bench-fingerprint-key-0123456789abcdef",
        "PAYMENT_SANDBOX_WEBHOOK_SECRET": "whsec_bench_0123456789abcdef",
        # Reconciliation never calls the AI service: nothing needs to listen there.
        "AI_ADDR": f"127.0.0.1:{free_port()}",
        "LOG_LEVEL": "INFO",  # the payment service logs the phases of each reconciliation
    }
    with tempfile.TemporaryDirectory(prefix="reconciliation-bench-") as tmp_name:
        # Each service in its own process, as deployed: the ledger builds pages while the payment
        # service reads the previous one.
        stack = Stack(Path(tmp_name), services=("user", "ledger", "payment"), env=env)
        try:
            stack.start_database()
            stack.start()
            payment_db = sa.create_engine(stack.pg.url("nexafi_payment"))
            tokens = TokenFactory(Keyring(stack.keys))
            service = tokens.metadata("usr_bench_admin", ["admin"])  # outside any service scope
            admin = tokens.metadata("usr_bench_admin", ["admin"])
            start = datetime.now(UTC) - timedelta(seconds=1)
            with stack.channel("ledger") as ledger_channel, stack.channel("payment") as payment_channel:
                print(
                    f"reconciliation benchmark: building a book of {PAYMENTS} payments "
                    f"({CUSTOMERS} customers, top-ups and transfers), {os.cpu_count()} CPUs",
                    flush=True,
                )
                built = build_book(ledger_pb2_grpc.LedgerServiceStub(ledger_channel), service, payment_db)
                print(f"  book built in {built:.0f} s", flush=True)
                end = datetime.now(UTC) + timedelta(seconds=1)
                stub = payment_pb2_grpc.PaymentServiceStub(payment_channel)
                period = common_pb2.TimeRange(start_time=to_timestamp(start), end_time=to_timestamp(end))
                request = payment_pb2.GetReconciliationReportRequest(time_range=period, page_size=100)
                timings = []
                report = None
                for _ in range(3):
                    began = time.perf_counter()
                    report = stub.GetReconciliationReport(request, metadata=admin, timeout=300).report
                    timings.append(time.perf_counter() - began)
                assert report is not None
                best, worst = min(timings), max(timings)
                print(
                    f"  report: {report.payments_checked} payments, {report.ledger_transactions_checked} "
                    f"ledger entries checked, {report.mismatch_count} mismatches"
                )
                print(
                    f"  reconciliation time: best {best:.2f} s, worst {worst:.2f} s of 3 runs "
                    f"(route timeout {ROUTE_TIMEOUT_SECONDS:.0f} s: "
                    f"{'within' if worst < ROUTE_TIMEOUT_SECONDS else 'BEYOND'} it)"
                )
                phases = [line for line in stack.log_tail("payment", 50).splitlines() if "reconciled" in line]
                if phases:
                    print(f"  last run: {phases[-1].split('reconciled', 1)[1].strip()}")
                payment_db.dispose()
                ok = report.payments_checked == PAYMENTS and report.mismatch_count == 0
                return 0 if ok else 1
        finally:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
