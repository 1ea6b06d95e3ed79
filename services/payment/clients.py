"""Typed clients of the ledger, AI and user services, injected into the payment service.

Calls carry the payment service's own service token (``ServiceTokenProvider``),
a deadline, and an idempotency key derived from the payment id and step. gRPC
errors become :class:`RemoteError` with the callee's ``ErrorInfo.reason``, so the
service decides on reasons (INSUFFICIENT_FUNDS), never on message text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.runtime.api import to_money
from services.runtime.clients import ServiceChannels, UserClient, call

# The ledger's largest batch read; one page of a reconciliation.
RELATED_BATCH = 1000
RECONCILIATION_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class FraudResult:
    probability: float
    decision: int  # ai_pb2.FraudDecision value; the same numbering as the payment proto's
    reasons: tuple[str, ...]


class LedgerClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = ledger_pb2_grpc.LedgerServiceStub(channel)

    def create_account(
        self, owner_id: str, name: str, type_: int, currency: str, rule: int, request_id: str
    ) -> str:
        reply = call(
            "ledger",
            self.stub.CreateAccount,
            ledger_pb2.CreateAccountRequest(
                owner_id=owner_id,
                name=name,
                type=ledger_pb2.AccountType.ValueType(type_),
                currency=currency,
                balance_rule=ledger_pb2.BalanceRule.ValueType(rule),
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
        type_: int,
        description: str,
        payment_id: str,
        request_id: str,
    ) -> ledger_pb2.PendingTransfer:
        reply = call(
            "ledger",
            self.stub.CreatePendingTransfer,
            ledger_pb2.CreatePendingTransferRequest(
                debit_account_id=debit,
                credit_account_id=credit,
                amount=to_money(amount_minor, currency),
                user_id=user_id,
                type=ledger_pb2.TransactionType.ValueType(type_),
                description=description,
                related_entity_id=payment_id,
                request_id=request_id,
            ),
        )
        return reply.pending_transfer

    def post(
        self, *, pending_id: str, request_id: str, metadata: dict[str, str] | None = None
    ) -> ledger_pb2.Transaction:
        reply = call(
            "ledger",
            self.stub.PostPendingTransfer,
            ledger_pb2.PostPendingTransferRequest(
                pending_transfer_id=pending_id, request_id=request_id, metadata=metadata or {}
            ),
        )
        return reply.transaction

    def void(self, *, pending_id: str, reason: str) -> None:
        call(
            "ledger",
            self.stub.VoidPendingTransfer,
            ledger_pb2.VoidPendingTransferRequest(pending_transfer_id=pending_id, reason=reason),
        )

    def get_pending(self, pending_id: str) -> ledger_pb2.PendingTransfer:
        reply = call(
            "ledger",
            self.stub.GetPendingTransfer,
            ledger_pb2.GetPendingTransferRequest(pending_transfer_id=pending_id),
        )
        return reply.pending_transfer

    def get_transaction(self, transaction_id: str) -> ledger_pb2.Transaction:
        reply = call(
            "ledger",
            self.stub.GetTransaction,
            ledger_pb2.GetTransactionRequest(transaction_id=transaction_id),
        )
        return reply.transaction

    def reverse(self, *, transaction_id: str, reason: str, request_id: str) -> ledger_pb2.Transaction:
        reply = call(
            "ledger",
            self.stub.ReverseTransaction,
            ledger_pb2.ReverseTransactionRequest(
                transaction_id=transaction_id, reason=reason, request_id=request_id
            ),
        )
        return reply.transaction

    def transfer(
        self,
        *,
        debit: str,
        credit: str,
        amount_minor: int,
        currency: str,
        user_id: str,
        type_: int,
        description: str,
        payment_id: str,
        metadata: dict[str, str],
        request_id: str,
    ) -> ledger_pb2.Transaction:
        money = to_money(amount_minor, currency)
        reply = call(
            "ledger",
            self.stub.CreateTransaction,
            ledger_pb2.CreateTransactionRequest(
                user_id=user_id,
                type=ledger_pb2.TransactionType.ValueType(type_),
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
        return reply.transaction

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

    def entries_of_type(self, related_type: str, start: Any, end: Any) -> Iterator[ledger_pb2.Transaction]:
        """The entries (basic view) recorded in [start, end) whose related id is of ``related_type``
        ("pay"), page by page."""
        token = ""
        while True:
            reply = call(
                "ledger",
                self.stub.ListRelatedEntries,
                ledger_pb2.ListRelatedEntriesRequest(
                    related_entity_type=related_type,
                    time_range=common_pb2.TimeRange(start_time=start, end_time=end),
                    page_size=RELATED_BATCH,
                    page_token=token,
                    view=ledger_pb2.TRANSACTION_VIEW_BASIC,
                ),
                RECONCILIATION_TIMEOUT_SECONDS,
            )
            yield from reply.transactions
            token = reply.next_page_token
            if not token:
                return


class AiClient:
    def __init__(self, channel: grpc.Channel, timeout_seconds: float) -> None:
        self.stub = ai_pb2_grpc.AiServiceStub(channel)
        self.timeout_seconds = timeout_seconds

    def check_fraud(self, request: ai_pb2.CheckFraudRequest) -> FraudResult:
        reply = call("ai", self.stub.CheckFraud, request, self.timeout_seconds)
        assessment = reply.assessment
        return FraudResult(
            assessment.fraud_probability,
            int(assessment.decision),
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
