"""Typed clients of the ledger, AI and user services, injected into the payment service.

Calls carry the payment service's own service token (``ServiceTokenProvider``),
a deadline, and an idempotency key derived from the payment id and step. gRPC
errors become :class:`RemoteError` with the callee's ``ErrorInfo.reason``, so the
service decides on reasons (INSUFFICIENT_FUNDS), never on message text.

This module is where the other services' protobuf enums meet the payment domain's: the
service passes and receives domain types (``EntryType``, ``HoldStatus``, ``FraudDecision``,
``Kind``) and ids, and the translation both ways is written here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.payment.domain.model import FraudDecision
from services.payment.domain.postings import AccountType, BalanceRule, EntryType, HoldStatus
from services.payment.domain.states import Kind
from services.runtime.api import to_money, to_timestamp
from services.runtime.clients import ServiceChannels, UserClient, call

# The ledger's largest batch read; one page of a reconciliation.
RELATED_BATCH = 1000
RECONCILIATION_TIMEOUT_SECONDS = 30.0


_ACCOUNT_TYPE = {
    AccountType.ASSET: ledger_pb2.ACCOUNT_TYPE_ASSET,
    AccountType.LIABILITY: ledger_pb2.ACCOUNT_TYPE_LIABILITY,
}
_BALANCE_RULE = {
    BalanceRule.UNBOUNDED: ledger_pb2.BALANCE_RULE_UNBOUNDED,
    BalanceRule.NON_NEGATIVE: ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
}
_ENTRY_TYPE = {
    EntryType.DEPOSIT: ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
    EntryType.TRANSFER: ledger_pb2.TRANSACTION_TYPE_TRANSFER,
    EntryType.WITHDRAWAL: ledger_pb2.TRANSACTION_TYPE_WITHDRAWAL,
    EntryType.REFUND: ledger_pb2.TRANSACTION_TYPE_REFUND,
    EntryType.ADJUSTMENT: ledger_pb2.TRANSACTION_TYPE_ADJUSTMENT,
}
_HOLD_STATUS = {
    ledger_pb2.PENDING_TRANSFER_STATUS_PENDING: HoldStatus.PENDING,
    ledger_pb2.PENDING_TRANSFER_STATUS_POSTED: HoldStatus.POSTED,
    ledger_pb2.PENDING_TRANSFER_STATUS_VOIDED: HoldStatus.VOIDED,
    ledger_pb2.PENDING_TRANSFER_STATUS_EXPIRED: HoldStatus.EXPIRED,
}
_CHANNEL = {
    Kind.TOP_UP: ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP,
    Kind.TRANSFER: ai_pb2.TRANSACTION_CHANNEL_P2P_TRANSFER,
    Kind.PAYOUT: ai_pb2.TRANSACTION_CHANNEL_BANK_TRANSFER,
}
_FRAUD_DECISION = {
    ai_pb2.FRAUD_DECISION_APPROVE: FraudDecision.APPROVE,
    ai_pb2.FRAUD_DECISION_REVIEW: FraudDecision.REVIEW,
    ai_pb2.FRAUD_DECISION_DECLINE: FraudDecision.DECLINE,
}


@dataclass(frozen=True)
class FraudQuery:
    """What the fraud check of one payment sends to the AI service."""

    request_id: str
    user_id: str
    amount_minor: int
    currency: str
    counterparty_id: str
    kind: Kind
    payment_id: str
    payment_method_id: str
    transaction_time: datetime
    # Client signals, when the app sent them.
    device_id: str
    ip_country: str
    time_zone: str


@dataclass(frozen=True)
class FraudResult:
    probability: float
    decision: FraudDecision  # UNSPECIFIED when the AI service named none the payment knows
    reasons: tuple[str, ...]


class LedgerClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = ledger_pb2_grpc.LedgerServiceStub(channel)

    def create_account(
        self, owner_id: str, name: str, type_: AccountType, currency: str, rule: BalanceRule, request_id: str
    ) -> str:
        reply = call(
            "ledger",
            self.stub.CreateAccount,
            ledger_pb2.CreateAccountRequest(
                owner_id=owner_id,
                name=name,
                type=_ACCOUNT_TYPE[type_],
                currency=currency,
                balance_rule=_BALANCE_RULE[rule],
                request_id=request_id,
            ),
        )
        return reply.account.id

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
        payment_id: str,
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
                type=_ENTRY_TYPE[type_],
                description=description,
                related_entity_id=payment_id,
                request_id=request_id,
            ),
        )
        return str(reply.pending_transfer.id)

    def post(self, *, pending_id: str, request_id: str, metadata: dict[str, str] | None = None) -> str:
        """The posted entry's (transaction's) id."""
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
        payment_id: str,
        metadata: dict[str, str],
        request_id: str,
    ) -> str:
        """The new entry's id."""
        money = to_money(amount_minor, currency)
        reply = call(
            "ledger",
            self.stub.CreateTransaction,
            ledger_pb2.CreateTransactionRequest(
                user_id=user_id,
                type=_ENTRY_TYPE[type_],
                description=description,
                related_entity_id=payment_id,
                postings=[
                    ledger_pb2.Posting(
                        account_id=debit, direction=ledger_pb2.POSTING_DIRECTION_DEBIT, amount=money
                    ),
                    ledger_pb2.Posting(
                        account_id=credit, direction=ledger_pb2.POSTING_DIRECTION_CREDIT, amount=money
                    ),
                ],
                metadata=metadata,
                request_id=request_id,
            ),
        )
        return str(reply.transaction.id)

    def related(
        self, payment_ids: list[str]
    ) -> tuple[list[ledger_pb2.Transaction], list[ledger_pb2.PendingTransfer]]:
        """Every entry (basic view) and pending transfer naming one of ``payment_ids`` (at most
        RELATED_BATCH)."""
        reply = call(
            "ledger",
            self.stub.BatchGetRelatedEntries,
            ledger_pb2.BatchGetRelatedEntriesRequest(
                related_entity_ids=payment_ids, view=ledger_pb2.TRANSACTION_VIEW_BASIC
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
            return [record for chunk in self.stub.ExportRelatedEntries(request, timeout=timeout)
                    for record in chunk.records]

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


class AiClient:
    def __init__(self, channel: grpc.Channel, timeout_seconds: float) -> None:
        self.stub = ai_pb2_grpc.AiServiceStub(channel)
        self.timeout_seconds = timeout_seconds

    def check_fraud(self, query: FraudQuery) -> FraudResult:
        request = ai_pb2.CheckFraudRequest(
            request_id=query.request_id,
            user_id=query.user_id,
            amount=to_money(query.amount_minor, query.currency),
            counterparty_id=query.counterparty_id,
            channel=_CHANNEL[query.kind],
            payment_id=query.payment_id,
            payment_method_id=query.payment_method_id,
            transaction_time=to_timestamp(query.transaction_time),
            device_id=query.device_id,
            ip_country=query.ip_country,
            time_zone=query.time_zone,
        )
        reply = call("ai", self.stub.CheckFraud, request, self.timeout_seconds)
        assessment = reply.assessment
        return FraudResult(
            assessment.fraud_probability,
            _FRAUD_DECISION.get(assessment.decision, FraudDecision.UNSPECIFIED),
            tuple(r.feature for r in assessment.reasons),
        )


@dataclass
class Clients:
    ledger: LedgerClient
    ai: AiClient
    users: UserClient
    channels: ServiceChannels

    @classmethod
    def from_env(cls, ai_timeout_seconds: float) -> Clients:
        channels = ServiceChannels("payment")
        return cls(
            LedgerClient(channels.open("ledger")),
            AiClient(channels.open("ai"), ai_timeout_seconds),
            UserClient(channels.open("user")),
            channels,
        )

    def close(self) -> None:
        self.channels.close()
