"""Typed clients of the ledger, AI and user services, injected into the credit service.

Calls carry the credit service's own service token (``ServiceTokenProvider``,
secret ``CREDIT_CLIENT_SECRET``) and a deadline; money-moving calls carry an
idempotency key derived from the application id and step. gRPC errors become
:class:`RemoteError` with the callee's ``ErrorInfo.reason``. The ledger's client is the shared
one (:mod:`services.runtime.ledger_client`).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc

from services.credit.domain.model import Financials, Reason
from services.runtime.api import to_money
from services.runtime.clients import call
from services.runtime.ledger_client import MoneyClients


@dataclass(frozen=True)
class ScoreResult:
    score: int
    default_probability_bps: int
    reasons: tuple[Reason, ...]
    model_version: str


class AiClient:
    def __init__(self, channel: grpc.Channel, timeout_seconds: float) -> None:
        self.stub = ai_pb2_grpc.AiServiceStub(channel)
        self.timeout_seconds = timeout_seconds

    def score(
        self,
        request_id: str,
        user_id: str,
        application_id: str,
        financials: Financials,
        requested_amount: int,
    ) -> ScoreResult:
        currency = financials.currency
        reply = call(
            "ai",
            self.stub.ScoreCredit,
            ai_pb2.ScoreCreditRequest(
                request_id=request_id,
                user_id=user_id,
                application_id=application_id,
                annual_income=to_money(financials.monthly_income * 12, currency),
                monthly_debt_payments=to_money(financials.monthly_debt, currency),
                total_debt=to_money(financials.total_debt, currency),
                credit_history_months=financials.credit_history_months,
                utilization_bps=financials.utilization_bps,
                delinquencies_24m=financials.delinquencies_24m,
                open_accounts=financials.open_accounts,
                inquiries_6m=financials.inquiries_6m,
                employment_months=financials.employment_months,
                requested_amount=to_money(requested_amount, currency),
            ),
            self.timeout_seconds,
        )
        score = reply.credit_score
        # The model's probability is a float; the contract stores it as integer basis points.
        probability_bps = min(10_000, max(0, round(score.probability_of_default * 10_000)))
        return ScoreResult(
            score.score,
            probability_bps,
            tuple(Reason(r.code, r.description) for r in score.reason_codes),
            score.model_version,
        )


class Clients(MoneyClients[AiClient]):
    @classmethod
    def connect(cls, *, ai_timeout_seconds: float) -> Clients:
        """Channels to the ledger, AI and user services at the runtime's addresses, with credit's token."""
        return cls.open("credit", lambda channel: AiClient(channel, ai_timeout_seconds))
