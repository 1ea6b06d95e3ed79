"""Domain objects to protobuf messages: the only place the ledger's answers become protobuf."""

from __future__ import annotations

from nexafi.ledger.v1 import ledger_pb2

from services.ledger.domain.model import (
    Account,
    Balances,
    Entry,
    PendingStatus,
    PendingTransfer,
    TransactionType,
)
from services.ledger.reports import BooksReport
from services.runtime.api import to_enum, to_money, to_timestamp


def tx_type_pb(value: TransactionType) -> ledger_pb2.TransactionType:
    return to_enum(ledger_pb2.TransactionType, value)


def balance_pb(balances: Balances) -> ledger_pb2.Balance:
    c = balances.currency
    return ledger_pb2.Balance(
        posted=to_money(balances.posted, c),
        pending_debits=to_money(balances.pending_debits, c),
        pending_credits=to_money(balances.pending_credits, c),
        available=to_money(balances.available, c),
        as_of_time=to_timestamp(balances.as_of_time),
    )


def account_pb(account: Account) -> ledger_pb2.Account:
    message = ledger_pb2.Account(
        id=account.id,
        owner_id=account.owner_id,
        name=account.name,
        type=to_enum(ledger_pb2.AccountType, account.type),
        currency=account.currency,
        balance_rule=to_enum(ledger_pb2.BalanceRule, account.balance_rule),
        credit_limit_minor=account.credit_limit_minor,
        metadata=account.metadata,
        create_time=to_timestamp(account.create_time),
    )
    if account.balances is not None:
        message.balance.CopyFrom(balance_pb(account.balances))
    return message


def transaction_pb(entry: Entry) -> ledger_pb2.Transaction:
    return ledger_pb2.Transaction(
        id=entry.id,
        user_id=entry.user_id,
        type=tx_type_pb(entry.type),
        amount=to_money(entry.amount_minor, entry.currency),
        description=entry.description,
        timestamp=to_timestamp(entry.create_time),
        related_entity_id=entry.related_entity_id,
        postings=[
            ledger_pb2.Posting(
                account_id=p.account_id,
                direction=to_enum(ledger_pb2.PostingDirection, p.direction),
                amount=to_money(p.amount_minor, p.currency),
            )
            for p in entry.postings
        ],
        metadata=entry.metadata,
        request_id=entry.request_id,
        sequence=entry.sequence,
        hash=entry.hash,
        previous_hash=entry.previous_hash,
        reverses_transaction_id=entry.reverses_id or "",
        reversed_by_transaction_id=entry.reversed_by_id or "",
        pending_transfer_id=entry.pending_transfer_id or "",
    )


def pending_pb(transfer: PendingTransfer) -> ledger_pb2.PendingTransfer:
    message = ledger_pb2.PendingTransfer(
        id=transfer.id,
        debit_account_id=transfer.debit_account_id,
        credit_account_id=transfer.credit_account_id,
        amount=to_money(transfer.amount_minor, transfer.currency),
        status=to_enum(ledger_pb2.PendingTransferStatus, transfer.status),
        user_id=transfer.user_id,
        type=tx_type_pb(transfer.type),
        description=transfer.description,
        related_entity_id=transfer.related_entity_id,
        expire_time=to_timestamp(transfer.expire_time),
        transaction_id=transfer.transaction_id or "",
        request_id=transfer.request_id,
        create_time=to_timestamp(transfer.create_time),
        update_time=to_timestamp(transfer.update_time),
    )
    if transfer.status is PendingStatus.POSTED:
        message.posted_amount.CopyFrom(to_money(transfer.posted_minor, transfer.currency))
    return message


def books_pb(report: BooksReport) -> ledger_pb2.VerifyBooksResponse:
    findings = [
        ledger_pb2.BooksFinding(
            kind=ledger_pb2.BOOKS_FINDING_KIND_TRIAL_BALANCE_UNBALANCED,
            subject_id=currency,
            detail=f"debits {debits} and credits {credits} differ by {debits - credits}",
        )
        for currency, debits, credits in report.totals
        if debits != credits
    ]
    if not report.chain.valid:
        findings.append(
            ledger_pb2.BooksFinding(
                kind=ledger_pb2.BOOKS_FINDING_KIND_CHAIN_BROKEN,
                subject_id=report.chain.first_broken_id,
                detail=f"sequence {report.chain.first_broken_sequence}: {report.chain.detail}",
            )
        )
    for drift in report.drifts:
        if drift.posted != drift.posted_from_postings:
            findings.append(
                ledger_pb2.BooksFinding(
                    kind=ledger_pb2.BOOKS_FINDING_KIND_BALANCE_MISMATCH,
                    subject_id=drift.account_id,
                    detail=f"posted balance {drift.posted}, postings sum to {drift.posted_from_postings}",
                )
            )
        if (drift.pending_debits, drift.pending_credits) != (drift.open_debits, drift.open_credits):
            findings.append(
                ledger_pb2.BooksFinding(
                    kind=ledger_pb2.BOOKS_FINDING_KIND_PENDING_MISMATCH,
                    subject_id=drift.account_id,
                    detail=f"pending debits/credits {drift.pending_debits}/{drift.pending_credits}, open "
                    f"pending transfers {drift.open_debits}/{drift.open_credits}",
                )
            )
    for hold in report.late_holds:
        findings.append(
            ledger_pb2.BooksFinding(
                kind=ledger_pb2.BOOKS_FINDING_KIND_HOLD_PAST_EXPIRY,
                subject_id=hold.id,
                detail=f"{hold.amount_minor} {hold.currency} for {hold.related_entity_id or 'no record'} "
                f"held past its expiry {hold.expire_time.isoformat()}",
            )
        )
    return ledger_pb2.VerifyBooksResponse(
        clean=not findings,
        findings=findings,
        entries_checked=report.chain.entries_checked,
        accounts_checked=report.accounts_checked,
        open_pending_transfers=report.open_pending,
        totals=[
            ledger_pb2.CurrencyTotals(
                currency=c, total_debits_minor=d, total_credits_minor=k, balanced=d == k
            )
            for c, d, k in report.totals
        ],
    )
