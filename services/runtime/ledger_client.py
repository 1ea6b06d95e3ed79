"""The one typed client of the ledger, for every service that calls it (payment, credit, analytics).

Callers pass and receive the ledger's vocabulary as plain enums and dataclasses of this module;
``ledger_pb2`` is translated here once, so no use case compares against generated constants.
Money-moving calls take keyword-only arguments and an idempotency key (``request_id``) the
caller derives from its own entity and step; retries, deadlines and error translation
(:class:`services.runtime.clients.RemoteError`) are those of :func:`services.runtime.clients.call`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, Self, TypeVar

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.runtime.api import to_money
from services.runtime.clients import ServiceChannels, UserClient, all_pages, call

# The ledger's largest batch read; one page of a reconciliation.
RELATED_BATCH = 1000
RECONCILIATION_TIMEOUT_SECONDS = 30.0
ACCOUNTS_PAGE_SIZE = 100


class AccountType(Enum):
    ASSET = "asset"  # e.g. a clearing account, a loan's receivable
    LIABILITY = "liability"  # e.g. a wallet (what NexaFi owes its user), a credit line
    INCOME = "income"  # e.g. the interest income of the loan book


class BalanceRule(Enum):
    UNBOUNDED = "unbounded"
    NON_NEGATIVE = "non_negative"
    CREDIT_LIMIT = "credit_limit"  # may go negative down to the account's credit limit


class EntryType(Enum):
    """The kind of a journal entry (the ledger's TransactionType)."""

    DEPOSIT = "deposit"
    TRANSFER = "transfer"
    WITHDRAWAL = "withdrawal"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    LOAN_DISBURSEMENT = "loan_disbursement"
    LOAN_REPAYMENT = "loan_repayment"
    FEE = "fee"
    OTHER = "other"  # any type no caller posts itself (a reversal, a payment, ...)


class HoldStatus(Enum):
    """The state of a reservation (the ledger's pending transfer)."""

    UNSPECIFIED = "unspecified"
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LedgerAccount:
    id: str
    owner_id: str
    name: str
    currency: str
    # The posted balance on the account's normal side, and what can be spent now.
    posted: int
    available: int
    credit_limit: int


@dataclass(frozen=True)
class RelatedEntry:
    """One journal entry naming an entity of the caller (basic view)."""

    id: str
    related_id: str
    type: EntryType
    amount_minor: int


_ACCOUNT_TYPES = {
    AccountType.ASSET: ledger_pb2.ACCOUNT_TYPE_ASSET,
    AccountType.LIABILITY: ledger_pb2.ACCOUNT_TYPE_LIABILITY,
    AccountType.INCOME: ledger_pb2.ACCOUNT_TYPE_INCOME,
}
_BALANCE_RULES = {
    BalanceRule.UNBOUNDED: ledger_pb2.BALANCE_RULE_UNBOUNDED,
    BalanceRule.NON_NEGATIVE: ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
    BalanceRule.CREDIT_LIMIT: ledger_pb2.BALANCE_RULE_CREDIT_LIMIT,
}
_ENTRY_TYPES = {
    EntryType.DEPOSIT: ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
    EntryType.TRANSFER: ledger_pb2.TRANSACTION_TYPE_TRANSFER,
    EntryType.WITHDRAWAL: ledger_pb2.TRANSACTION_TYPE_WITHDRAWAL,
    EntryType.REFUND: ledger_pb2.TRANSACTION_TYPE_REFUND,
    EntryType.ADJUSTMENT: ledger_pb2.TRANSACTION_TYPE_ADJUSTMENT,
    EntryType.LOAN_DISBURSEMENT: ledger_pb2.TRANSACTION_TYPE_LOAN_DISBURSEMENT,
    EntryType.LOAN_REPAYMENT: ledger_pb2.TRANSACTION_TYPE_LOAN_REPAYMENT,
    EntryType.FEE: ledger_pb2.TRANSACTION_TYPE_FEE,
}
_ENTRY_TYPES_BACK = {int(v): k for k, v in _ENTRY_TYPES.items()}
_HOLD_STATUS = {
    ledger_pb2.PENDING_TRANSFER_STATUS_PENDING: HoldStatus.PENDING,
    ledger_pb2.PENDING_TRANSFER_STATUS_POSTED: HoldStatus.POSTED,
    ledger_pb2.PENDING_TRANSFER_STATUS_VOIDED: HoldStatus.VOIDED,
    ledger_pb2.PENDING_TRANSFER_STATUS_EXPIRED: HoldStatus.EXPIRED,
}


def _account(account: ledger_pb2.Account) -> LedgerAccount:
    return LedgerAccount(
        account.id,
        account.owner_id,
        account.name,
        account.currency,
        account.balance.posted.amount_minor,
        account.balance.available.amount_minor,
        account.credit_limit_minor,
    )


def _postings(
    currency: str, debits: Sequence[tuple[str, int]], credits: Sequence[tuple[str, int]]
) -> list[ledger_pb2.Posting]:
    """The legs of an entry; a leg of zero moves nothing and is left out."""
    legs = [(a, m, ledger_pb2.POSTING_DIRECTION_DEBIT) for a, m in debits]
    legs += [(a, m, ledger_pb2.POSTING_DIRECTION_CREDIT) for a, m in credits]
    return [
        ledger_pb2.Posting(account_id=a, direction=d, amount=to_money(m, currency)) for a, m, d in legs if m
    ]


class LedgerClient:
    """Typed calls to the ledger on an authenticated channel (rebuilt by ``reconnect`` when the
    client was made with ``connect``)."""

    def __init__(self, channel: grpc.Channel, connect: Callable[[], grpc.Channel] | None = None) -> None:
        self.channel = channel
        self._connect = connect
        self.stub = ledger_pb2_grpc.LedgerServiceStub(channel)

    @classmethod
    def connecting(cls, connect: Callable[[], grpc.Channel]) -> Self:
        return cls(connect(), connect)

    def reconnect(self) -> None:
        """Replace the channel by a fresh one.

        A channel that failed to connect for a while waits out gRPC's own reconnect
        backoff (up to two minutes) before trying again; a caller with its own, shorter
        backoff starts each attempt after an outage on a new channel.
        """
        if self._connect is None:
            raise RuntimeError("this ledger client was given a channel, not a way to connect")
        old = self.channel
        self.channel = self._connect()
        self.stub = ledger_pb2_grpc.LedgerServiceStub(self.channel)
        old.close()

    def close(self) -> None:
        self.channel.close()

    # Accounts.

    def create_account(
        self,
        *,
        owner_id: str,
        name: str,
        type_: AccountType,
        currency: str,
        rule: BalanceRule,
        request_id: str,
        credit_limit: int = 0,
    ) -> LedgerAccount:
        reply = call(
            "ledger",
            self.stub.CreateAccount,
            ledger_pb2.CreateAccountRequest(
                owner_id=owner_id,
                name=name,
                type=_ACCOUNT_TYPES[type_],
                currency=currency,
                balance_rule=_BALANCE_RULES[rule],
                credit_limit_minor=credit_limit,
                request_id=request_id,
            ),
        )
        return _account(reply.account)

    def get_account(self, account_id: str) -> LedgerAccount:
        reply = call("ledger", self.stub.GetAccount, ledger_pb2.GetAccountRequest(account_id=account_id))
        return _account(reply.account)

    def accounts_of(self, owner_id: str) -> list[LedgerAccount]:
        def page(token: str) -> tuple[list[LedgerAccount], str]:
            reply = call(
                "ledger",
                self.stub.ListAccounts,
                ledger_pb2.ListAccountsRequest(
                    owner_id=owner_id, page_size=ACCOUNTS_PAGE_SIZE, page_token=token
                ),
            )
            return [_account(a) for a in reply.accounts], reply.next_page_token

        return list(all_pages(page))

    def first_account_currency(self, owner_id: str) -> str | None:
        """The currency of the owner's oldest account (ids are time-ordered, the ledger lists by id)."""
        request = ledger_pb2.ListAccountsRequest(owner_id=owner_id, page_size=1)
        accounts = call("ledger", self.stub.ListAccounts, request).accounts
        return accounts[0].currency if accounts else None

    def update_limit(self, *, account_id: str, credit_limit: int, request_id: str) -> LedgerAccount:
        reply = call(
            "ledger",
            self.stub.UpdateAccountLimit,
            ledger_pb2.UpdateAccountLimitRequest(
                account_id=account_id, credit_limit_minor=credit_limit, request_id=request_id
            ),
        )
        return _account(reply.account)

    # Journal entries.

    def post(
        self,
        *,
        user_id: str,
        type_: EntryType,
        description: str,
        related_id: str,
        currency: str,
        debits: Sequence[tuple[str, int]],
        credits: Sequence[tuple[str, int]],
        request_id: str,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Record one balanced journal entry; the transaction id (the original one on a replay)."""
        reply = call(
            "ledger",
            self.stub.CreateTransaction,
            ledger_pb2.CreateTransactionRequest(
                user_id=user_id,
                type=_ENTRY_TYPES[type_],
                description=description,
                related_entity_id=related_id,
                postings=_postings(currency, debits, credits),
                metadata=metadata or {},
                request_id=request_id,
            ),
        )
        return str(reply.transaction.id)

    def transfer(
        self,
        *,
        debit: str,
        credit: str,
        amount_minor: int,
        currency: str,
        user_id: str,
        type_: EntryType,
        description: str,
        related_id: str,
        metadata: dict[str, str],
        request_id: str,
    ) -> str:
        """One amount from ``debit`` to ``credit``; the new entry's id."""
        return self.post(
            user_id=user_id,
            type_=type_,
            description=description,
            related_id=related_id,
            currency=currency,
            debits=[(debit, amount_minor)],
            credits=[(credit, amount_minor)],
            request_id=request_id,
            metadata=metadata,
        )

    def reverse(self, *, transaction_id: str, reason: str, request_id: str) -> str:
        """The reversing entry's id."""
        reply = call(
            "ledger",
            self.stub.ReverseTransaction,
            ledger_pb2.ReverseTransactionRequest(
                transaction_id=transaction_id, reason=reason, request_id=request_id
            ),
        )
        return str(reply.transaction.id)

    # Reservations (pending transfers).

    def reserve(
        self,
        *,
        debit: str,
        credit: str,
        amount_minor: int,
        currency: str,
        user_id: str,
        type_: EntryType,
        description: str,
        related_id: str,
        request_id: str,
    ) -> str:
        """The reservation's (pending transfer's) id."""
        reply = call(
            "ledger",
            self.stub.CreatePendingTransfer,
            ledger_pb2.CreatePendingTransferRequest(
                debit_account_id=debit,
                credit_account_id=credit,
                amount=to_money(amount_minor, currency),
                user_id=user_id,
                type=_ENTRY_TYPES[type_],
                description=description,
                related_entity_id=related_id,
                request_id=request_id,
            ),
        )
        return str(reply.pending_transfer.id)

    def post_reserved(
        self, *, pending_id: str, request_id: str, metadata: dict[str, str] | None = None
    ) -> str:
        """Post a reservation; the posted entry's (transaction's) id."""
        reply = call(
            "ledger",
            self.stub.PostPendingTransfer,
            ledger_pb2.PostPendingTransferRequest(
                pending_transfer_id=pending_id, request_id=request_id, metadata=metadata or {}
            ),
        )
        return str(reply.transaction.id)

    def void(self, *, pending_id: str, reason: str) -> None:
        call(
            "ledger",
            self.stub.VoidPendingTransfer,
            ledger_pb2.VoidPendingTransferRequest(pending_transfer_id=pending_id, reason=reason),
        )

    def hold_status(self, pending_id: str) -> HoldStatus:
        reply = call(
            "ledger",
            self.stub.GetPendingTransfer,
            ledger_pb2.GetPendingTransferRequest(pending_transfer_id=pending_id),
        )
        return _HOLD_STATUS.get(reply.pending_transfer.status, HoldStatus.UNSPECIFIED)

    # Reconciliation reads.

    def related(self, related_ids: list[str]) -> list[RelatedEntry]:
        """Every entry naming one of ``related_ids`` (at most RELATED_BATCH)."""
        transactions, _ = self.related_messages(related_ids)
        return [
            RelatedEntry(
                t.id,
                t.related_entity_id,
                _ENTRY_TYPES_BACK.get(int(t.type), EntryType.OTHER),
                t.amount.amount_minor,
            )
            for t in transactions
        ]

    def related_messages(
        self, related_ids: list[str]
    ) -> tuple[list[ledger_pb2.Transaction], list[ledger_pb2.PendingTransfer]]:
        """Every entry (basic view) and pending transfer naming one of ``related_ids`` (at most
        RELATED_BATCH), as the ledger's messages: the payment reconciliation compares them field
        by field in bulk and keeps the compact form the ledger sends."""
        reply = call(
            "ledger",
            self.stub.BatchGetRelatedEntries,
            ledger_pb2.BatchGetRelatedEntriesRequest(
                related_entity_ids=related_ids, view=ledger_pb2.TRANSACTION_VIEW_BASIC
            ),
            RECONCILIATION_TIMEOUT_SECONDS,
        )
        return list(reply.transactions), list(reply.pending_transfers)

    def export_related(
        self, related_type: str, start: Any, end: Any, chunk_size: int
    ) -> list[ledger_pb2.RelatedEntryRecord]:
        """Every entry recorded in [start, end) whose related id is of ``related_type`` ("pay"), as
        compact records, from one ExportRelatedEntries stream of ``chunk_size`` records a message
        (read as the ledger sends it)."""

        def read(
            request: ledger_pb2.ExportRelatedEntriesRequest, timeout: float
        ) -> list[ledger_pb2.RelatedEntryRecord]:
            # Consumed inside call(): a failure mid-stream becomes a RemoteError like any other.
            return [
                record
                for chunk in self.stub.ExportRelatedEntries(request, timeout=timeout)
                for record in chunk.records
            ]

        return call(
            "ledger",
            read,
            ledger_pb2.ExportRelatedEntriesRequest(
                related_entity_type=related_type,
                time_range=common_pb2.TimeRange(start_time=start, end_time=end),
                chunk_size=chunk_size,
            ),
            RECONCILIATION_TIMEOUT_SECONDS,
        )


Ai = TypeVar("Ai")


@dataclass
class MoneyClients(Generic[Ai]):
    """The clients of a service that moves money: the ledger, its own AI client, the user
    service, on channels carrying the caller's service token."""

    ledger: LedgerClient
    ai: Ai
    users: UserClient
    channels: ServiceChannels

    @classmethod
    def open(cls, caller: str, ai: Callable[[grpc.Channel], Ai]) -> Self:
        """Channels to the ledger, AI and user services at the runtime's addresses, with its token."""
        channels = ServiceChannels(caller)
        return cls(
            LedgerClient(channels.open("ledger")),
            ai(channels.open("ai")),
            UserClient(channels.open("user")),
            channels,
        )

    def close(self) -> None:
        self.channels.close()
