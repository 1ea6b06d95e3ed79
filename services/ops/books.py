"""The books, verified by the product itself: ``python -m services.ops verify-books`` (``make verify-books``).

Operators run it after an incident; the fault tests run it at their end. It asks the services
over gRPC, as any client would, and reads no service's tables:

* the ledger's ``VerifyBooks``: debits equal credits per currency, the hash chain intact, every
  balance equal to the sum of its postings and of its open holds, no hold past its expiry;
* the payment service's reconciliation over all time: every payment matched by exactly its
  ledger movements, refunds adding up, no entry naming an unknown payment, no hold behind a
  failed or cancelled payment (nor a processing one held too long);
* the credit service's loan reconciliation: every disbursement and repayment matched by exactly
  its entry, and none in the ledger that the loans do not record; loans still in doubt (an
  intent that the recovery job has not completed yet) are reported too.

It prints what it checked and what it found, and exits 0 when the books are clean, 1 when it
found something, 2 when a service could not be asked.

Credentials: an admin access token from ``NEXAFI_ADMIN_TOKEN`` (or ``--token-file``); without
one, and with the signing keys at hand (``NEXAFI_KEYS_DIR``, ``.data/keys`` in the dev stack), it
signs itself a short-lived admin token, as an operator holding those keys could.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from nexafi.payment.v1 import payment_pb2, payment_pb2_grpc

from services.runtime.api import to_timestamp
from services.runtime.config import ConfigError, Settings, service_addr
from services.runtime.keys import Keyring, access_token_claims

PROG = "nexafi-ops"
CALL_TIMEOUT_SECONDS = 300.0
TOKEN_TTL_SECONDS = 600
# The beginning of the payment service's history, for a reconciliation over all time.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class BooksCheck:
    """What the verification found: one line per finding, and what it checked."""

    checked: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings


def admin_token(token_file: str | None = None) -> str:
    """An admin access token: given, or signed with the local signing keys."""
    if token_file:
        return Path(token_file).read_text().strip()
    given = os.environ.get("NEXAFI_ADMIN_TOKEN", "").strip()
    if given:
        return given
    auth = Settings.from_env("ops", needs_database=False).auth
    keyring = Keyring(auth.keys_dir)
    if not (auth.keys_dir / "signing").is_dir():
        raise ConfigError(
            f"no NEXAFI_ADMIN_TOKEN and no signing keys in {auth.keys_dir} (set NEXAFI_KEYS_DIR)"
        )
    claims = access_token_claims(
        subject="ops:verify-books",
        roles=["admin"],
        issuer=auth.issuer,
        audience=auth.audience,
        ttl_seconds=TOKEN_TTL_SECONDS,
    )
    return keyring.sign(claims)


def verify_books(token: str, *, now: datetime | None = None) -> BooksCheck:
    """Ask the ledger, payment and credit services; raise grpc.RpcError when one cannot answer."""
    metadata = (("authorization", f"Bearer {token}"),)
    result = BooksCheck()
    with grpc.insecure_channel(service_addr("ledger")) as channel:
        books = ledger_pb2_grpc.LedgerServiceStub(channel).VerifyBooks(
            ledger_pb2.VerifyBooksRequest(), metadata=metadata, timeout=CALL_TIMEOUT_SECONDS
        )
    totals = ", ".join(f"{t.currency} {t.total_debits_minor}/{t.total_credits_minor}" for t in books.totals)
    result.checked.append(
        f"ledger: {books.entries_checked} entries chained, {books.accounts_checked} balances, "
        f"{books.open_pending_transfers} open holds; debits/credits {totals or 'none'}"
    )
    for finding in books.findings:
        kind = ledger_pb2.BooksFindingKind.Name(finding.kind).removeprefix("BOOKS_FINDING_KIND_")
        result.findings.append(f"ledger {kind} {finding.subject_id}: {finding.detail}")

    end = (now or datetime.now(UTC)) + timedelta(minutes=1)
    period = common_pb2.TimeRange(start_time=to_timestamp(EPOCH), end_time=to_timestamp(end))
    with grpc.insecure_channel(service_addr("payment")) as channel:
        stub = payment_pb2_grpc.PaymentServiceStub(channel)
        token_page = ""
        while True:
            reply = stub.GetReconciliationReport(
                payment_pb2.GetReconciliationReportRequest(
                    time_range=period, page_size=1000, page_token=token_page
                ),
                metadata=metadata,
                timeout=CALL_TIMEOUT_SECONDS,
            )
            report = reply.report
            for m in report.mismatches:
                kind = payment_pb2.ReconciliationMismatchKind.Name(m.kind).removeprefix(
                    "RECONCILIATION_MISMATCH_KIND_"
                )
                subject = m.payment_id or m.transaction_id
                result.findings.append(f"payment {kind} {subject}: {m.detail}")
            token_page = reply.next_page_token
            if not token_page:
                break
    result.checked.append(
        f"payments: {report.payments_checked} payments, {report.ledger_transactions_checked} ledger entries"
    )

    with grpc.insecure_channel(service_addr("credit")) as channel:
        loans = credit_pb2_grpc.CreditServiceStub(channel).GetLoanReconciliationReport(
            credit_pb2.GetLoanReconciliationReportRequest(), metadata=metadata, timeout=CALL_TIMEOUT_SECONDS
        )
    result.checked.append(
        f"loans: {loans.loans_checked} loans, {loans.ledger_transactions_checked} "
        f"ledger entries, {loans.loans_in_doubt} in doubt"
    )
    for loan in loans.mismatches:
        kind = credit_pb2.LoanMismatchKind.Name(loan.kind).removeprefix("LOAN_MISMATCH_KIND_")
        result.findings.append(f"credit {kind} {loan.application_id}: {loan.detail}")
    if loans.loans_in_doubt:
        result.findings.append(
            f"credit IN_DOUBT: {loans.loans_in_doubt} loans have a disbursement or "
            "repayment the recovery job has not completed yet"
        )
    return result


def report(result: BooksCheck, out: TextIO) -> None:
    for line in result.checked:
        print(f"checked {line}", file=out)
    for line in result.findings:
        print(f"FOUND {line}", file=out)
    print("the books are clean" if result.clean else f"{len(result.findings)} findings", file=out)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Operator commands across services.")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser(
        "verify-books",
        help="check the ledger's invariants and reconcile payments and loans with it; exit 1 on findings",
    )
    verify.add_argument("--token-file", help="a file holding an admin access token")
    args = parser.parse_args(argv)
    try:
        token = admin_token(args.token_file)
        result = verify_books(token)
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except grpc.RpcError as exc:
        print(f"{PROG}: a service could not answer: {exc.code().name} {exc.details()}", file=sys.stderr)
        return 2
    report(result, sys.stdout)
    return 0 if result.clean else 1
