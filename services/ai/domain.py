"""The AI service's requests and results as plain Python (no gRPC, no SQL).

Results round-trip through JSON (``to_json`` / ``result_from_json``) because the
inference audit log stores exactly what was returned, and an idempotent replay
returns that stored result even after the active model changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any


class Kind(StrEnum):
    """Which model an inference used (stored as text in the audit log)."""

    FRAUD_CHECK = "FRAUD_CHECK"
    CREDIT_SCORE = "CREDIT_SCORE"
    TREND_FORECAST = "TREND_FORECAST"
    RECOMMENDATIONS = "RECOMMENDATIONS"


MODEL_OF_KIND: dict[Kind, str] = {
    Kind.FRAUD_CHECK: "fraud",
    Kind.CREDIT_SCORE: "credit",
    Kind.TREND_FORECAST: "trend",
    Kind.RECOMMENDATIONS: "recommendation",
}


class Channel(IntEnum):
    """The contract's TransactionChannel numbers, kept here so the domain needs no proto import;
    stored as this number in ``checked_transactions.channel``."""

    CARD_PRESENT = 1
    CARD_NOT_PRESENT = 2
    BANK_TRANSFER = 3
    P2P_TRANSFER = 4
    ATM_WITHDRAWAL = 5
    DIRECT_DEBIT = 6
    WALLET_TOP_UP = 7


CHANNELS = frozenset(int(c) for c in Channel)


class Decision(StrEnum):
    """A fraud decision, as the assessment, the audit log and ``checked_transactions`` store it."""

    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


#: The currency the models were trained in (metadata ``data.currency``).
MODEL_CURRENCY = "EUR"


def canonical_sha256(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (sorted keys, no spaces, datetimes as ISO 8601 UTC)."""
    text = json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


# -- requests --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FraudCheck:
    """One transaction to check, validated. ``transaction_time`` None means "now"."""

    user_id: str
    amount_minor: int
    currency: str
    merchant_category_code: str
    counterparty_id: str
    channel: int
    device_id: str
    ip_country: str
    counterparty_country: str
    payment_id: str
    payment_method_id: str
    transaction_time: datetime | None
    #: the customer's IANA time zone; "" is UTC
    time_zone: str = ""

    def input_hash(self) -> str:
        """The idempotency hash of the request; without an empty time zone, as before the field existed."""
        fields_ = {f.name: getattr(self, f.name) for f in fields(self)}
        if not self.time_zone:
            del fields_["time_zone"]
        return canonical_sha256(fields_)


@dataclass(frozen=True)
class CreditApplication:
    """An applicant to score, validated; amounts in minor units of ``currency``."""

    user_id: str
    application_id: str
    currency: str
    annual_income_minor: int
    monthly_debt_payments_minor: int
    total_debt_minor: int
    credit_history_months: int
    utilization_bps: int
    delinquencies_24m: int
    open_accounts: int
    inquiries_6m: int
    employment_months: int
    requested_amount_minor: int


@dataclass(frozen=True)
class SeriesPoint:
    day: int  # days since the Unix epoch (UTC)
    value_minor: int


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FraudReasonResult:
    feature: str
    contribution: float  # log-odds
    description: str


@dataclass(frozen=True)
class FraudAssessment:
    inference_id: str
    user_id: str
    payment_id: str
    fraud_probability: float
    decision: str  # approve / review / decline
    reasons: list[FraudReasonResult]
    review_threshold: float
    decline_threshold: float
    model_name: str
    model_version: str
    create_time: datetime
    #: the exchange rate (units of the request's currency per 1 EUR, a decimal string) and its table's
    #: date that converted the amount into MODEL_CURRENCY. The converted amount is not kept: the audit
    #: log stores no inputs. Empty in assessments made before conversions existed (all EUR then).
    exchange_rate: str = ""
    exchange_rate_date: str = ""


@dataclass(frozen=True)
class CreditReasonResult:
    code: str
    description: str
    points_lost: int


@dataclass(frozen=True)
class CreditScoreResult:
    inference_id: str
    user_id: str
    application_id: str
    score: int
    band: str  # poor / fair / good / very_good / exceptional
    probability_of_default: float
    reason_codes: list[CreditReasonResult]
    debt_to_income_bps: int
    model_name: str
    model_version: str
    create_time: datetime


@dataclass(frozen=True)
class ForecastPointResult:
    day: int  # days since the Unix epoch (UTC)
    point_minor: int
    lower_minor: int
    upper_minor: int


@dataclass(frozen=True)
class ForecastResult:
    inference_id: str
    user_id: str
    metric: str  # "" for a supplied series, else BALANCE / SPENDING / INCOME
    currency: str
    points: list[ForecastPointResult]
    interval_level_bps: int
    history_days: int
    model_mape: float
    model_name: str
    model_version: str
    create_time: datetime


@dataclass(frozen=True)
class RecommendationResult:
    id: str
    kind: str  # the contract's RecommendationKind without its prefix, e.g. "SET_BUDGET"
    code: str  # the rule that produced it (explain.recommend), e.g. "CATEGORY_BUDGET"
    title: str
    explanation: str
    estimated_monthly_saving_minor: int
    currency: str
    confidence_bps: int
    category: str


@dataclass(frozen=True)
class RecommendationSetResult:
    inference_id: str
    user_id: str
    recommendations: list[RecommendationResult]
    model_name: str
    model_version: str
    create_time: datetime


Result = FraudAssessment | CreditScoreResult | ForecastResult | RecommendationSetResult


@dataclass(frozen=True)
class InferenceRecord:
    """One entry of the inference audit log."""

    id: str
    kind: Kind
    model_name: str
    model_version: str
    caller: str
    request_id: str | None
    input_sha256: str
    output: Result
    latency_micros: int
    create_time: datetime


def to_json(result: Result) -> str:
    return json.dumps(_plain(asdict(result)), sort_keys=True)


def result_from_json(kind: Kind, document: dict[str, Any]) -> Result:
    """Rebuild a stored result (the inverse of ``to_json``)."""
    d = dict(document)
    d["create_time"] = datetime.fromisoformat(d["create_time"])
    if kind is Kind.FRAUD_CHECK:
        d["reasons"] = [FraudReasonResult(**r) for r in d["reasons"]]
        return FraudAssessment(**d)
    if kind is Kind.CREDIT_SCORE:
        d["reason_codes"] = [CreditReasonResult(**r) for r in d["reason_codes"]]
        return CreditScoreResult(**d)
    if kind is Kind.TREND_FORECAST:
        d["points"] = [ForecastPointResult(**p) for p in d["points"]]
        return ForecastResult(**d)
    d["recommendations"] = [RecommendationResult(**r) for r in d["recommendations"]]
    return RecommendationSetResult(**d)
