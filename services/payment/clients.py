"""Typed clients of the ledger, AI and user services, injected into the payment service.

Calls carry the payment service's own service token (``ServiceTokenProvider``),
a deadline, and an idempotency key derived from the payment id and step. gRPC
errors become :class:`RemoteError` with the callee's ``ErrorInfo.reason``, so the
service decides on reasons (INSUFFICIENT_FUNDS), never on message text.

The ledger's client is the shared one (:mod:`services.runtime.ledger_client`); this module is
where the AI service's protobuf enums meet the payment domain's (``FraudDecision``, ``Kind``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc

from services.payment.domain.model import FraudDecision
from services.payment.domain.states import Kind
from services.runtime.api import to_money, to_timestamp
from services.runtime.clients import call
from services.runtime.ledger_client import MoneyClients

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


class Clients(MoneyClients[AiClient]):
    @classmethod
    def from_env(cls, ai_timeout_seconds: float) -> Clients:
        return cls.open("payment", lambda channel: AiClient(channel, ai_timeout_seconds))
