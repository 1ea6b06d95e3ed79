"""The AI service's use cases: fraud checks, credit scores, forecasts, recommendations, the audit log.

Every inference runs the *same* functions as training (``services.ai.features``
for the model inputs, ``services.ai.explain`` for decisions, scores, reasons,
forecasts and recommendations); this module only gathers their inputs, calls
the active ONNX session and records the result. What each use case adds around
the model lives beside it: ``fraud_scoring`` (the check as the features see it,
the assessment and its reasons), ``credit_scoring`` (bands), ``forecasting``
(the series and the recursive forecast), ``recommendations`` (rule kinds, the
booked spending profile).

Where the inputs come from (the fraud history, category risk, spending profile and series,
balance and income series, currencies, kinds of payment, time zones) is told in ``services.ai.inputs``,
which also reads a user's history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.ai import explain, features, fx
from services.ai import repository as repo
from services.ai.credit_scoring import MAX_CREDIT_REASONS, UTILIZATION_LIMIT, credit_band
from services.ai.domain import (
    CreditApplication,
    CreditReasonResult,
    CreditScoreResult,
    ForecastPointResult,
    ForecastResult,
    FraudAssessment,
    FraudCheck,
    InferenceRecord,
    Kind,
    RecommendationResult,
    RecommendationSetResult,
    Result,
    canonical_sha256,
)
from services.ai.forecasting import (
    HistorySource,
    TrendSource,
    daily_values,
    forecast_series,
)
from services.ai.fraud_scoring import (
    KIND_OF_CHANNEL,
    assess,
    category_risk,
    fraud_feature_set,
    scored_minor,
    scored_transaction,
    utc_offset,
)
from services.ai.inputs import booked_spending, user_series
from services.ai.model_files import LoadedModel, ModelRecord
from services.ai.recommendations import RECOMMENDATION_KINDS, booked_profile
from services.ai.registry import ModelRegistry
from services.runtime import metrics
from services.runtime.clock import Clock, system_clock
from services.runtime.db import UnitOfWork, run_in_transaction
from services.runtime.errors import Aborted, DomainError, NotFound, Unavailable
from services.runtime.idempotency import Claim, IdempotencyStore
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.ai")

# Fresh decisions only (a replay of a request_id is answered at the edge and is not counted again).
FRAUD_DECISIONS = metrics.counter(
    "nexafi_ai_fraud_decisions", "Fraud checks decided, by decision and model.", ("decision", "model_version")
)

SECONDS_PER_DAY = features.SECONDS_PER_DAY
#: The AI service's idempotency keys (migration 0002; services/runtime/idempotency.py).
IDEMPOTENCY_TABLE = "idempotency_keys"


class AiService:
    """The use cases behind the gRPC adapter."""

    def __init__(
        self,
        engine: Engine,
        registry: ModelRegistry,
        clock: Clock = system_clock,
        history: HistorySource | None = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self.engine = engine
        # The keys of CheckFraud and ScoreCredit, claimed by the servicer (the edge).
        self.idempotency = idempotency or IdempotencyStore(engine, table=IDEMPOTENCY_TABLE)
        self.registry = registry
        self.clock = clock
        self.history = history
        self._read = UnitOfWork(engine)

    # -- idempotency and audit ---------------------------------------------------------------------

    def _resumed(self, claim: Claim | None) -> Result | None:
        """The result an earlier attempt under ``claim``'s key recorded before it crashed, if any.

        The key names the inference (``IdempotencyStore.attach``) in the transaction that logs it,
        so a retry that takes over an abandoned key returns that inference instead of scoring twice.
        """
        if claim is None or not claim.resource_id:
            return None
        with self._read() as session:
            record = repo.get_inference(session, claim.resource_id)
        return None if record is None else record.output

    def _attach(self, session: Session, claim: Claim | None, inference_id: str) -> None:
        if claim is not None:
            self.idempotency.attach(session, claim, inference_id)

    @staticmethod
    def _record(
        session: Session,
        kind: Kind,
        model: LoadedModel,
        caller: str,
        request_id: str | None,
        input_sha: str,
        result: Result,
        latency_micros: int,
    ) -> None:
        repo.insert_inference(
            session,
            InferenceRecord(
                id=result.inference_id,
                kind=kind,
                model_name=model.name,
                model_version=model.version,
                caller=caller,
                request_id=request_id,
                input_sha256=input_sha,
                output=result,
                latency_micros=latency_micros,
                create_time=result.create_time,
            ),
        )

    # -- fraud -------------------------------------------------------------------------------------

    def check_fraud(
        self,
        caller: str,
        request_id: str,
        check: FraudCheck,
        fingerprint: str,
        render: Callable[[FraudAssessment], bytes],
    ) -> bytes:
        """The response to ``check`` under ``caller``'s key ``request_id``, scored once in one transaction.

        The key is claimed, the check scored, its audit row, its history row and the rendered
        response (``render``) written, and all of it committed together: one commit per check
        instead of three (claim, work, response), and no inference can be logged without its
        key or its key without its inference, so there is nothing to resume after a crash.
        A replay returns the stored bytes. The user's lock, taken with the history read in one
        round trip (``repo.locked_history``), is what makes concurrent checks of one user see
        each other in the velocity features, across every process and replica of the service.
        """
        input_sha = check.input_hash()

        def work(session: Session) -> tuple[bytes, FraudAssessment | DomainError | None]:
            claim = self.idempotency.claim_in_transaction(
                session, caller, request_id, "CheckFraud", fingerprint
            )
            if isinstance(claim, bytes):
                return claim, None
            now = self.clock()
            when = check.transaction_time or now
            ts = int(when.timestamp())
            zone = ZoneInfo(check.time_zone) if check.time_zone else None
            since = when - timedelta(days=features.HISTORY_DAYS)
            history = repo.locked_history(session, check.user_id, since, when)
            try:
                model = self.registry.active("fraud")
                conversion = fx.to_model_currency(check.amount_minor, check.currency, when)
                txn = scored_transaction(check, ts, history, conversion.amount_minor, utc_offset(zone, when))
                past = [
                    features.Txn(
                        int(h.txn_time.timestamp()),
                        scored_minor(h),
                        h.merchant_id,
                        h.category,
                        h.country,
                        h.device_id,
                        utc_offset(zone, h.txn_time),
                        KIND_OF_CHANNEL.get(h.channel, "purchase"),
                    )
                    for h in history
                ]
                start = _now_ns()
                x = features.fraud_features(
                    txn,
                    past,
                    category_risk(model, txn.merchant_category),
                    feature_set=fraud_feature_set(model),
                )
                assessment = assess(model, x, check, new_id("inf"), now, conversion)
                latency = (_now_ns() - start) // 1_000
            except (Unavailable, Aborted):
                raise  # transient: nothing stored, a retry scores afresh
            except DomainError as exc:
                # An error after validation (no active model) is the key's result, replayed as such.
                self.idempotency.fail_in_transaction(session, claim, exc)
                return b"", exc
            response = render(assessment)
            repo.insert_fraud_check(
                session,
                InferenceRecord(
                    id=assessment.inference_id,
                    kind=Kind.FRAUD_CHECK,
                    model_name=model.name,
                    model_version=model.version,
                    caller=caller,
                    request_id=request_id,
                    input_sha256=input_sha,
                    output=assessment,
                    latency_micros=latency,
                    create_time=assessment.create_time,
                ),
                repo.CheckedTxn(
                    user_id=check.user_id,
                    inference_id=assessment.inference_id,
                    txn_time=when,
                    amount_minor=check.amount_minor,
                    currency=check.currency,
                    merchant_id=txn.merchant_id,
                    category=txn.merchant_category,
                    country=txn.country,
                    device_id=txn.device_id,
                    channel=check.channel,
                    decision=assessment.decision,
                ),
                self.idempotency.complete_statement(claim, response, assessment.inference_id),
            )
            return response, assessment

        response, fresh = run_in_transaction(self.engine, work)
        if isinstance(fresh, DomainError):
            raise fresh
        if fresh is not None:
            FRAUD_DECISIONS.labels(fresh.decision, fresh.model_version).inc()
        return response

    # -- credit ------------------------------------------------------------------------------------

    def score_credit(
        self, caller: str, request_id: str, app: CreditApplication, claim: Claim | None = None
    ) -> CreditScoreResult:
        """Score ``app`` once, under the idempotency key the edge claimed (``claim``)."""
        resumed = self._resumed(claim)
        if resumed is not None:
            assert isinstance(resumed, CreditScoreResult)
            return resumed
        input_sha = canonical_sha256(app)

        def work(session: Session) -> CreditScoreResult:
            model = self.registry.active("credit")
            now = self.clock()
            applicant = features.Applicant(
                annual_income_minor=app.annual_income_minor,
                monthly_debt_payments_minor=app.monthly_debt_payments_minor,
                credit_history_months=app.credit_history_months,
                revolving_balance_minor=app.utilization_bps,
                revolving_limit_minor=UTILIZATION_LIMIT,
                delinquencies_2y=app.delinquencies_24m,
                inquiries_6m=app.inquiries_6m,
            )
            start = _now_ns()
            x = features.credit_features(applicant)
            pd = float(model.run(x)["probabilities"][0, 1])
            meta = model.metadata
            score = explain.credit_score_from_pd(pd, meta["scorecard"])
            reasons = explain.credit_reason_codes(
                x, meta["explanation"], meta["scorecard"], top_k=MAX_CREDIT_REASONS
            )
            latency = (_now_ns() - start) // 1_000
            dti_column = features.CREDIT_FEATURE_NAMES.index("debt_to_income")
            result = CreditScoreResult(
                inference_id=new_id("inf"),
                user_id=app.user_id,
                application_id=app.application_id,
                score=score,
                band=credit_band(score),
                probability_of_default=pd,
                reason_codes=[CreditReasonResult(r.code, r.text, max(1, round(-r.points))) for r in reasons],
                debt_to_income_bps=round(float(x[dti_column]) * 10_000),
                model_name=model.name,
                model_version=model.version,
                create_time=now,
            )
            self._record(session, Kind.CREDIT_SCORE, model, caller, request_id, input_sha, result, latency)
            self._attach(session, claim, result.inference_id)
            return result

        return run_in_transaction(self.engine, work)

    # -- recommendations ---------------------------------------------------------------------------

    def recommendations(
        self, caller: str, user_id: str, limit: int, currency: str
    ) -> RecommendationSetResult:
        model = self.registry.active("recommendation")
        now = self.clock()
        input_sha = canonical_sha256({"user_id": user_id, "limit": limit, "currency": currency, "as_of": now})
        with self._read() as session:
            rows = repo.checked_history(
                session,
                user_id,
                now - timedelta(days=features.PROFILE_WINDOW_DAYS),
                now,
                exclude_declined=True,
            )
        rows = [r for r in rows if r.currency == currency]
        booked = booked_spending(self.history, user_id, currency, now)
        start = _now_ns()
        items: list[RecommendationResult] = []
        if rows or booked:
            profile = features.spending_profile(
                [int(r.txn_time.timestamp()) for r in rows],
                [r.amount_minor for r in rows],
                [r.category for r in rows],
                [r.merchant_id for r in rows],
                as_of=int(now.timestamp()) + 1,
            )
            if booked:
                profile = booked_profile(profile, *booked)
            params = model.metadata["recommendations"]
            segment = int(model.run(features.segment_features(profile))["label"][0])
            for rec in explain.recommend(profile, segment, params, limit=limit):
                kind, confidence = RECOMMENDATION_KINDS.get(rec.code, ("SET_BUDGET", 5_000))
                saving = rec.value_minor if rec.code != "USE_CARD_OVER_CASH" else 0
                items.append(
                    RecommendationResult(
                        id=new_id("rec"),
                        kind=kind,
                        code=rec.code,
                        title=rec.title,
                        explanation=rec.message,
                        estimated_monthly_saving_minor=saving,
                        currency=currency,
                        confidence_bps=confidence,
                        category=rec.category or "",
                    )
                )
        latency = (_now_ns() - start) // 1_000
        result = RecommendationSetResult(
            inference_id=new_id("inf"),
            user_id=user_id,
            recommendations=items,
            model_name=model.name,
            model_version=model.version,
            create_time=now,
        )
        run_in_transaction(
            self.engine,
            lambda s: self._record(s, Kind.RECOMMENDATIONS, model, caller, None, input_sha, result, latency),
        )
        return result

    # -- trend -------------------------------------------------------------------------------------

    def predict_trend(
        self, caller: str, source: TrendSource, currency: str, horizon: int, interval_bps: int
    ) -> ForecastResult:
        model = self.registry.active("trend")
        now = self.clock()
        minimum = int(model.metadata["forecast"]["input_days"])
        if source.points:
            series, last_day = daily_values(source.points)
        else:
            series, last_day = user_series(self._read, self.history, source, currency, now, minimum)
        input_sha = canonical_sha256(
            {
                "source": source,
                "currency": currency,
                "horizon": horizon,
                "interval_bps": interval_bps,
                "as_of_day": last_day,
            }
        )
        start = _now_ns()
        forecast = forecast_series(model, series, horizon, interval_bps / 10_000)
        latency = (_now_ns() - start) // 1_000
        result = ForecastResult(
            inference_id=new_id("inf"),
            user_id=source.user_id,
            metric=source.metric,
            currency=currency,
            points=[
                ForecastPointResult(last_day + 1 + i, round(p), round(lo), round(hi))
                for i, (p, lo, hi) in enumerate(forecast)
            ],
            interval_level_bps=interval_bps,
            history_days=min(len(series), minimum),
            # The card states MAPE in percent; the contract wants a fraction.
            model_mape=float(model.metadata["metrics"]["mape"]) / 100.0,
            model_name=model.name,
            model_version=model.version,
            create_time=now,
        )
        run_in_transaction(
            self.engine,
            lambda s: self._record(s, Kind.TREND_FORECAST, model, caller, None, input_sha, result, latency),
        )
        return result

    # -- registry and audit log --------------------------------------------------------------------

    def get_inference(self, inference_id: str) -> InferenceRecord:
        with self._read() as session:
            record = repo.get_inference(session, inference_id)
        if record is None:
            raise NotFound(
                f"inference {inference_id} not found", "INFERENCE_NOT_FOUND", {"inference_id": inference_id}
            )
        return record

    def list_models(self, name: str, active_only: bool) -> list[ModelRecord]:
        return self.registry.list(name, active_only)

    def get_model(self, name: str, version: str) -> ModelRecord:
        return self.registry.get(name, version)

    def activate(self, name: str, version: str, reason: str, caller: str) -> tuple[ModelRecord, str]:
        return self.registry.activate(name, version, reason, caller)


def _now_ns() -> int:
    return time.perf_counter_ns()
