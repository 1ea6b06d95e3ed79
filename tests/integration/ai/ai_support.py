"""Helpers for the AI service's integration tests: a client with credentials, requests, error details."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc
from nexafi.common.v1 import common_pb2

from services.runtime.ids import new_id
from tests.support import grpc_errors
from tests.support.harness import TokenFactory

Metadata = tuple[tuple[str, str], ...]
NOW = datetime.now(UTC).replace(microsecond=0)


def rid() -> str:
    return f"req-{uuid.uuid4().hex}"


def user() -> str:
    return new_id("usr")


@dataclass(frozen=True)
class Failure(grpc_errors.Failure):
    """The shared reading of a failure, with ``fields`` as a set: the AI tests compare unordered fields."""

    @property
    def fields(self) -> set[str]:  # type: ignore[override]
        return {name for name, _ in self.violations}


def failure(call: Callable[[], Any]) -> Failure:
    """Run ``call``, which must fail, and describe its failure (code, ErrorInfo reason, violations)."""
    return Failure(**vars(grpc_errors.failure(call)))


def money(amount: int, currency: str = "EUR") -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency=currency)


def ts(moment: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(moment)
    return out


def fraud_request(
    user_id: str, /, *, when: datetime | None = None, **fields: Any
) -> ai_pb2.CheckFraudRequest:
    """A normal card-present grocery purchase unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "request_id": rid(),
        "user_id": user_id,
        "amount": money(4_200),
        "merchant_category_code": "5411",
        "counterparty_id": "mer_grocer_1",
        "channel": ai_pb2.TRANSACTION_CHANNEL_CARD_PRESENT,
        "device_id": "dev_phone_1",
        "ip_country": "DE",
        "counterparty_country": "DE",
        "payment_id": new_id("pay"),
    }
    values.update(fields)
    if when is not None:
        values["transaction_time"] = ts(when)
    return ai_pb2.CheckFraudRequest(**values)


def credit_request(user_id: str, /, **fields: Any) -> ai_pb2.ScoreCreditRequest:
    values: dict[str, Any] = {
        "request_id": rid(),
        "user_id": user_id,
        "application_id": new_id("app"),
        "annual_income": money(5_400_000),
        "monthly_debt_payments": money(90_000),
        "total_debt": money(1_500_000),
        "credit_history_months": 96,
        "utilization_bps": 2_500,
        "delinquencies_24m": 0,
        "open_accounts": 4,
        "inquiries_6m": 1,
        "employment_months": 40,
        "requested_amount": money(1_000_000),
    }
    values.update(fields)
    return ai_pb2.ScoreCreditRequest(**values)


def days_ago(days: float, hour: int = 12) -> datetime:
    base = (NOW - timedelta(days=days)).replace(hour=hour, minute=0, second=0)
    return base


class AiClient:
    """The AI stub with credentials: the calling service's by default, or any principal."""

    def __init__(self, stub: ai_pb2_grpc.AiServiceStub, tokens: TokenFactory) -> None:
        self.stub = stub
        self.tokens = tokens
        # The services that call the AI service: payment checks fraud, credit scores applicants.
        self.service = tokens.service("payment")
        self.credit_service = tokens.service("credit")
        self.admin = tokens.metadata("usr_admin", ["admin"])
        self.compliance = tokens.metadata("usr_compliance", ["compliance"])
        self.support = tokens.metadata("usr_support", ["support"])

    def customer(self, user_id: str) -> Metadata:
        return self.tokens.metadata(user_id, ["customer"])

    def check(
        self, request: ai_pb2.CheckFraudRequest, metadata: Metadata | None = None
    ) -> ai_pb2.FraudAssessment:
        return self.stub.CheckFraud(request, metadata=metadata or self.service, timeout=10).assessment

    def score(
        self, request: ai_pb2.ScoreCreditRequest, metadata: Metadata | None = None
    ) -> ai_pb2.CreditScore:
        caller = metadata or self.credit_service
        return self.stub.ScoreCredit(request, metadata=caller, timeout=10).credit_score

    def history(self, user_id: str, days: int = 60, per_day: int = 2) -> list[ai_pb2.CheckFraudRequest]:
        """Checks ``days`` days of an ordinary customer's purchases (oldest first); returns the requests."""
        sent = []
        shops = [
            ("5411", "mer_grocer_1", 3_800),
            ("5812", "mer_cafe_2", 1_450),
            ("5541", "mer_fuel_3", 6_100),
            ("5411", "mer_grocer_4", 5_200),
        ]
        for d in range(days, 0, -1):
            for k in range(per_day):
                mcc, merchant, amount = shops[(d + k) % len(shops)]
                request = fraud_request(
                    user_id,
                    when=days_ago(d, hour=9 + 5 * k),
                    merchant_category_code=mcc,
                    counterparty_id=merchant,
                    amount=money(amount + 37 * ((d * 7 + k) % 11)),
                )
                self.check(request)
                sent.append(request)
        return sent
