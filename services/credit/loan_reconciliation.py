"""Loan reconciliation: the loan book against the ledger's entries naming each loan."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from services.credit import repository as repo
from services.credit.domain.ledger import EntryType
from services.credit.domain.model import (
    Status,
)
from services.credit.service import CreditService
from services.credit.shared import unavailable
from services.runtime.clients import RemoteError
from services.runtime.db import in_batches, run_in_transaction


@dataclass(frozen=True)
class LoanMismatch:
    """A loan whose ledger entries differ from its record here."""

    application_id: str
    kind: str  # UNRECORDED_DISBURSEMENT | MISSING_LEDGER_ENTRY | DUPLICATE_LEDGER_ENTRY | AMOUNT_MISMATCH
    transaction_id: str
    detail: str


@dataclass(frozen=True)
class LoanReport:
    loans_checked: int
    ledger_transactions_checked: int
    in_doubt: int
    mismatches: list[LoanMismatch]


def reconcile_loans(service: CreditService, *, page: int = 1000) -> LoanReport:
    """Every loan that may have ledger entries against the entries naming it, each counted once.

    Read in pages of a thousand loans, one batched ledger read per page. A loan with a repayment
    or disbursement intent still pending is counted as in doubt, not as a mismatch: recovery
    finishes it."""
    mismatches: list[LoanMismatch] = []
    checked = entries_checked = in_doubt = 0
    batches = in_batches(
        service.engine,
        lambda session, after: repo.booked_loans(session, after_id=after, limit=page),
        key=lambda loan: loan.id,
        start="",
    )
    for loans in batches:
        ids = [loan.id for loan in loans]
        doubtful = run_in_transaction(
            service.engine, functools.partial(repo.pending_intent_applications, application_ids=ids)
        )
        try:
            transactions = service.clients.ledger.related(ids)
        except RemoteError as exc:
            raise unavailable(exc) from None
        per_loan: dict[str, dict[str, tuple[EntryType, int]]] = {i: {} for i in ids}
        for entry in transactions:
            per_loan[entry.related_id][entry.id] = (entry.type, entry.amount_minor)
        entries_checked += len(transactions)
        for loan in loans:
            checked += 1
            if loan.id in doubtful:
                in_doubt += 1
                continue
            mismatches += _loan_mismatches(loan, per_loan[loan.id])
    return LoanReport(checked, entries_checked, in_doubt, mismatches)


def _loan_mismatches(loan: repo.BookedLoan, entries: dict[str, tuple[EntryType, int]]) -> list[LoanMismatch]:
    out: list[LoanMismatch] = []
    paid_out = EntryType.LOAN_DISBURSEMENT
    repaid = EntryType.LOAN_REPAYMENT
    disbursements = {i: a for i, (t, a) in entries.items() if t is paid_out}
    repayments = {i: a for i, (t, a) in entries.items() if t is repaid}
    if loan.status in (Status.DISBURSED, Status.REPAID):
        if len(disbursements) > 1:
            out.append(
                LoanMismatch(
                    loan.id,
                    "DUPLICATE_LEDGER_ENTRY",
                    next(iter(disbursements)),
                    f"{len(disbursements)} disbursements in the ledger",
                )
            )
        amount = disbursements.get(loan.disbursement_transaction_id)
        if amount is None:
            out.append(
                LoanMismatch(
                    loan.id,
                    "MISSING_LEDGER_ENTRY",
                    loan.disbursement_transaction_id,
                    "the recorded disbursement is not in the ledger",
                )
            )
        elif amount != loan.approved_amount:
            out.append(
                LoanMismatch(
                    loan.id,
                    "AMOUNT_MISMATCH",
                    loan.disbursement_transaction_id,
                    f"the ledger paid out {amount}, the loan says {loan.approved_amount}",
                )
            )
    elif disbursements:
        out.append(
            LoanMismatch(
                loan.id,
                "UNRECORDED_DISBURSEMENT",
                next(iter(disbursements)),
                f"the ledger paid out a {loan.status.name} loan",
            )
        )
    for txn, amount in loan.repayments.items():
        if txn not in repayments:
            out.append(
                LoanMismatch(
                    loan.id, "MISSING_LEDGER_ENTRY", txn, "a recorded repayment is not in the ledger"
                )
            )
        elif repayments[txn] != amount:
            out.append(
                LoanMismatch(
                    loan.id,
                    "AMOUNT_MISMATCH",
                    txn,
                    f"the ledger took {repayments[txn]}, the repayment says {amount}",
                )
            )
    for txn in repayments.keys() - loan.repayments.keys():
        out.append(
            LoanMismatch(
                loan.id, "UNRECORDED_REPAYMENT", txn, "the ledger took a repayment that is not recorded"
            )
        )
    return out
