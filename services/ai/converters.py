"""The AI service's results as protobuf messages (the edge's half of proto <-> domain)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.ai.v1 import ai_pb2

from services.ai.domain import (
    CreditScoreResult,
    Decision,
    ForecastResult,
    FraudAssessment,
    InferenceRecord,
    RecommendationSetResult,
)
from services.ai.model_files import ModelRecord
from services.runtime.api import to_money, to_timestamp

#: The assessment's decision (a plain string in the stored result) -> the contract's FraudDecision.
_DECISIONS = {
    Decision.APPROVE.value: ai_pb2.FRAUD_DECISION_APPROVE,
    Decision.REVIEW.value: ai_pb2.FRAUD_DECISION_REVIEW,
    Decision.DECLINE.value: ai_pb2.FRAUD_DECISION_DECLINE,
}
_BANDS = {
    "poor": ai_pb2.CREDIT_BAND_POOR,
    "fair": ai_pb2.CREDIT_BAND_FAIR,
    "good": ai_pb2.CREDIT_BAND_GOOD,
    "very_good": ai_pb2.CREDIT_BAND_VERY_GOOD,
    "exceptional": ai_pb2.CREDIT_BAND_EXCEPTIONAL,
}


def day_timestamp(day: int) -> Timestamp:
    return Timestamp(seconds=day * 86_400)


def assessment_pb(a: FraudAssessment) -> ai_pb2.FraudAssessment:
    return ai_pb2.FraudAssessment(
        inference_id=a.inference_id,
        user_id=a.user_id,
        payment_id=a.payment_id,
        fraud_probability=a.fraud_probability,
        decision=_DECISIONS[a.decision],
        reasons=[
            ai_pb2.FraudReason(feature=r.feature, contribution=r.contribution, description=r.description)
            for r in a.reasons
        ],
        review_threshold=a.review_threshold,
        decline_threshold=a.decline_threshold,
        model_name=a.model_name,
        model_version=a.model_version,
        create_time=to_timestamp(a.create_time),
        exchange_rate=a.exchange_rate,
        exchange_rate_date=a.exchange_rate_date,
    )


def credit_pb(c: CreditScoreResult) -> ai_pb2.CreditScore:
    return ai_pb2.CreditScore(
        inference_id=c.inference_id,
        user_id=c.user_id,
        application_id=c.application_id,
        score=c.score,
        band=_BANDS[c.band],
        probability_of_default=c.probability_of_default,
        reason_codes=[
            ai_pb2.CreditReason(code=r.code, description=r.description, points_lost=r.points_lost)
            for r in c.reason_codes
        ],
        debt_to_income_bps=c.debt_to_income_bps,
        model_name=c.model_name,
        model_version=c.model_version,
        create_time=to_timestamp(c.create_time),
    )


def forecast_pb(f: ForecastResult) -> ai_pb2.Forecast:
    metric = f"TREND_METRIC_{f.metric or 'UNSPECIFIED'}"
    return ai_pb2.Forecast(
        inference_id=f.inference_id,
        user_id=f.user_id,
        metric=metric,
        currency=f.currency,
        points=[
            ai_pb2.ForecastPoint(
                time=day_timestamp(p.day),
                point=to_money(p.point_minor, f.currency),
                lower=to_money(p.lower_minor, f.currency),
                upper=to_money(p.upper_minor, f.currency),
            )
            for p in f.points
        ],
        interval_level_bps=f.interval_level_bps,
        history_days=f.history_days,
        model_mape=f.model_mape,
        model_name=f.model_name,
        model_version=f.model_version,
        create_time=to_timestamp(f.create_time),
    )


def recommendations_pb(s: RecommendationSetResult) -> ai_pb2.RecommendationSet:
    return ai_pb2.RecommendationSet(
        inference_id=s.inference_id,
        user_id=s.user_id,
        recommendations=[
            ai_pb2.Recommendation(
                id=r.id,
                kind=f"RECOMMENDATION_KIND_{r.kind}",
                title=r.title,
                explanation=r.explanation,
                estimated_monthly_saving=to_money(r.estimated_monthly_saving_minor, r.currency),
                confidence_bps=r.confidence_bps,
                category=r.category,
            )
            for r in s.recommendations
        ],
        model_name=s.model_name,
        model_version=s.model_version,
        create_time=to_timestamp(s.create_time),
    )


def model_pb(m: ModelRecord) -> ai_pb2.Model:
    model = ai_pb2.Model(
        name=m.name,
        version=m.version,
        sha256=m.sha256,
        training_time=to_timestamp(m.training_time),
        metrics=m.metrics,
        parameters=m.parameters,
        feature_names=list(m.feature_names),
        active=m.active,
        description=m.description,
        create_time=to_timestamp(m.create_time),
    )
    if m.activate_time is not None:
        model.activate_time.CopyFrom(to_timestamp(m.activate_time))
    return model


def inference_pb(r: InferenceRecord) -> ai_pb2.Inference:
    message = ai_pb2.Inference(
        id=r.id,
        kind=f"INFERENCE_KIND_{r.kind.value}",
        model_name=r.model_name,
        model_version=r.model_version,
        caller=r.caller,
        input_sha256=r.input_sha256,
        latency_micros=r.latency_micros,
        create_time=to_timestamp(r.create_time),
    )
    out = r.output
    if isinstance(out, FraudAssessment):
        message.fraud_assessment.CopyFrom(assessment_pb(out))
    elif isinstance(out, CreditScoreResult):
        message.credit_score.CopyFrom(credit_pb(out))
    elif isinstance(out, ForecastResult):
        message.forecast.CopyFrom(forecast_pb(out))
    else:
        message.recommendation_set.CopyFrom(recommendations_pb(out))
    return message
