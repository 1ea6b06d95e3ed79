"""The gRPC adapter of the AI service: proto <-> domain, syntactic validation and authorization.

Who may call what is the table in access.py, as the contract says; the principal comes from
the runtime's interceptor.

Every request is validated in full before any work, and all of its bad fields
are reported at once as BadRequest field violations. CheckFraud scores every
currency the service's exchange-rate table converts (``services.ai.fx``: every
currency the platform knows); the credit, trend and recommendation models take
only their training currency (EUR). Other currencies are refused with reason
UNSUPPORTED_CURRENCY.

CheckFraud and ScoreCredit run under the shared idempotency contract
(``services.runtime.idempotency``): the rendered response is stored per caller
and ``request_id`` and replayed byte for byte; a duplicate arriving while the
first is still running is ABORTED ``REQUEST_IN_PROGRESS`` at once. ScoreCredit
claims its key here at the edge around the service call (its error after
validation is stored too). CheckFraud claims it inside the check's one database
transaction (the contract's in-transaction variant, see ``AiService.check_fraud``):
key, audit row, history row and response commit together, one commit per check;
an error after validation (no active model) is stored under the key in that
transaction instead, and a transient one commits nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc

from services.ai.access import ACCESS
from services.ai.converters import (
    assessment_pb,
    credit_pb,
    forecast_pb,
    inference_pb,
    model_pb,
    recommendations_pb,
)
from services.ai.domain import (
    CHANNELS,
    MODEL_CURRENCY,
    CreditApplication,
    FraudCheck,
    SeriesPoint,
)
from services.ai.forecasting import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INTERVAL_BPS,
    DEFAULT_LOOKBACK_DAYS,
    TrendSource,
)
from services.ai.fx import supported_currencies
from services.ai.service import AiService
from services.runtime import api
from services.runtime.api import MAX_ID_LENGTH, FieldChecks, from_timestamp
from services.runtime.auth import current_principal
from services.runtime.errors import InvalidArgument
from services.runtime.fingerprints import request_fingerprint
from services.runtime.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR
from services.runtime.request_keys import RequestKeys

MAX_REFERENCE_LENGTH = 128
MAX_REASON_LENGTH = 500
MAX_FUTURE = timedelta(minutes=5)
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
MAX_MONTHS = 1_200
MAX_COUNT = 1_000
MAX_UTILIZATION_BPS = 100_000
DEFAULT_RECOMMENDATIONS = 5
MAX_RECOMMENDATIONS = 20
MIN_SERIES_POINTS = 14
MAX_SERIES_POINTS = 3_660
MAX_HORIZON_DAYS = 365
MIN_LOOKBACK_DAYS = 56  # the trend model reads eight weeks
MAX_LOOKBACK_DAYS = 1_825
DEFAULT_PAGE_SIZE = 50  # ListModels; the shared default (20) and cap (100) are smaller
MAX_PAGE_SIZE = 200
UNSUPPORTED_CURRENCY = "UNSUPPORTED_CURRENCY"
MAX_TIME_ZONE_LENGTH = 64
#: CheckFraud converts these into the fraud model's currency.
FRAUD_CURRENCIES = supported_currencies()

_MCC_RE = re.compile(r"^[0-9]{4}$")
# ISO 3166-1 alpha-2, officially assigned codes.
_COUNTRY_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR
IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK
ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
_COUNTRIES = frozenset(_COUNTRY_CODES.split())
_METRICS = {
    ai_pb2.TREND_METRIC_BALANCE: "BALANCE",
    ai_pb2.TREND_METRIC_SPENDING: "SPENDING",
    ai_pb2.TREND_METRIC_INCOME: "INCOME",
}


# -- validation ------------------------------------------------------------------------------------


class _Checks(FieldChecks):
    """The shared field checks plus the AI service's own: the models' currency, countries, counts."""

    def __init__(self) -> None:
        super().__init__()
        self.unsupported_currency = False

    def currency(
        self, code: str, field: str, *, required: bool = True, accepted: Collection[str] = (MODEL_CURRENCY,)
    ) -> str:
        if not code:
            if required:
                self.add(field, "is required: an upper-case ISO 4217 code")
        elif code not in CURRENCY_EXPONENTS:
            super().currency(code, field)
        elif code not in accepted:
            self.add(field, f"{code} is not supported: the models were trained on {MODEL_CURRENCY} amounts")
            self.unsupported_currency = True
        return code

    def time_zone(self, name: str, field: str) -> str:
        if not name:
            return name
        try:
            ok = len(name) <= MAX_TIME_ZONE_LENGTH and ZoneInfo(name) is not None
        except (ValueError, LookupError):
            ok = False
        if not ok:
            self.add(field, "must be an IANA time zone name such as Europe/Berlin, or empty for UTC")
        return name

    def country(self, code: str, field: str) -> str:
        if code and code not in _COUNTRIES:
            self.add(field, "must be an upper-case ISO 3166-1 alpha-2 code, or empty when unknown")
        return code

    def count(self, value: int, field: str, maximum: int) -> int:
        if not 0 <= value <= maximum:
            self.add(field, f"must be between 0 and {maximum}")
        return value

    def done(self, message: str = "invalid request") -> None:
        # The specific reason only when the currency is the request's one problem.
        if self.unsupported_currency and len(self.violations) == 1:
            raise InvalidArgument(
                self.violations[0].description, violations=self.violations, reason=UNSUPPORTED_CURRENCY
            )
        super().done(message)


# -- the servicer ----------------------------------------------------------------------------------


class AiServicer(ai_pb2_grpc.AiServiceServicer):
    """Adapts AiService to the generated gRPC interface."""

    def __init__(self, service: AiService, fingerprint_key: bytes) -> None:
        """``fingerprint_key`` keys the request fingerprints of CheckFraud and ScoreCredit
        (services.runtime.fingerprints), the same on every replica."""
        self.service = service
        self.keys = RequestKeys(service.idempotency, fingerprint_key)

    def CheckFraud(
        self, request: ai_pb2.CheckFraudRequest, context: grpc.ServicerContext
    ) -> ai_pb2.CheckFraudResponse:
        principal = current_principal()
        ACCESS.check("CheckFraud", principal)
        c = _Checks()
        c.request_id(request.request_id)
        c.identifier(request.user_id, "user_id")
        if not request.HasField("amount"):
            c.add("amount", "is required")
        else:
            if not 0 < request.amount.amount_minor <= MAX_AMOUNT_MINOR:
                c.add("amount.amount_minor", f"must be a positive integer up to {MAX_AMOUNT_MINOR}")
            c.currency(request.amount.currency, "amount.currency", accepted=FRAUD_CURRENCIES)
        c.time_zone(request.time_zone, "time_zone")
        if request.merchant_category_code and not _MCC_RE.match(request.merchant_category_code):
            c.add(
                "merchant_category_code",
                "must be four digits (ISO 18245), or empty when there is no merchant",
            )
        c.text(request.counterparty_id, "counterparty_id", max_length=MAX_REFERENCE_LENGTH)
        if request.channel not in CHANNELS:
            c.add("channel", "must be a specified TransactionChannel")
        c.text(request.device_id, "device_id", max_length=MAX_REFERENCE_LENGTH)
        c.country(request.ip_country, "ip_country")
        c.country(request.counterparty_country, "counterparty_country")
        c.text(request.payment_id, "payment_id", max_length=MAX_REFERENCE_LENGTH)
        c.text(request.payment_method_id, "payment_method_id", max_length=MAX_REFERENCE_LENGTH)
        when: datetime | None = None
        if request.HasField("transaction_time"):
            when = from_timestamp(request.transaction_time)
            if when > self.service.clock() + MAX_FUTURE:
                c.add("transaction_time", "must not be more than 5 minutes in the future")
            elif when < EARLIEST_TIME:
                c.add("transaction_time", "must be after 2000-01-01")
        c.done("invalid fraud check request")
        check = FraudCheck(
            user_id=request.user_id,
            amount_minor=request.amount.amount_minor,
            currency=request.amount.currency,
            merchant_category_code=request.merchant_category_code,
            counterparty_id=request.counterparty_id,
            channel=int(request.channel),
            device_id=request.device_id,
            ip_country=request.ip_country,
            counterparty_country=request.counterparty_country,
            payment_id=request.payment_id,
            payment_method_id=request.payment_method_id,
            transaction_time=when,
            time_zone=request.time_zone,
        )
        response = self.service.check_fraud(
            principal.subject,
            request.request_id,
            check,
            request_fingerprint(self.keys.fingerprint_key, "CheckFraud", asdict(check)),
            lambda assessment: ai_pb2.CheckFraudResponse(
                assessment=assessment_pb(assessment)
            ).SerializeToString(),
        )
        return ai_pb2.CheckFraudResponse.FromString(response)

    def ScoreCredit(
        self, request: ai_pb2.ScoreCreditRequest, context: grpc.ServicerContext
    ) -> ai_pb2.ScoreCreditResponse:
        principal = current_principal()
        ACCESS.check("ScoreCredit", principal)
        c = _Checks()
        c.request_id(request.request_id)
        c.identifier(request.user_id, "user_id")
        c.text(request.application_id, "application_id", max_length=MAX_REFERENCE_LENGTH)
        amounts: dict[str, int] = {}
        currencies: set[str] = set()
        for name in ("annual_income", "monthly_debt_payments", "total_debt", "requested_amount"):
            money = getattr(request, name)
            amounts[name] = money.amount_minor
            if not 0 <= money.amount_minor <= MAX_AMOUNT_MINOR:
                c.add(f"{name}.amount_minor", f"must be between 0 and {MAX_AMOUNT_MINOR}")
            if money.currency:
                currencies.add(money.currency)
            elif money.amount_minor:
                c.add(f"{name}.currency", "is required when the amount is not zero")
        currency = next(iter(currencies)) if len(currencies) == 1 else ""
        if len(currencies) > 1:
            c.add("annual_income.currency", f"all amounts must share one currency, got {sorted(currencies)}")
        elif not currencies:
            c.add("annual_income.currency", "is required: an upper-case ISO 4217 code")
        else:
            c.currency(currency, "annual_income.currency")
        c.count(request.credit_history_months, "credit_history_months", MAX_MONTHS)
        c.count(request.utilization_bps, "utilization_bps", MAX_UTILIZATION_BPS)
        c.count(request.delinquencies_24m, "delinquencies_24m", MAX_COUNT)
        c.count(request.open_accounts, "open_accounts", MAX_COUNT)
        c.count(request.inquiries_6m, "inquiries_6m", MAX_COUNT)
        c.count(request.employment_months, "employment_months", MAX_MONTHS)
        c.done("invalid credit scoring request")
        application = CreditApplication(
            user_id=request.user_id,
            application_id=request.application_id,
            currency=currency,
            annual_income_minor=amounts["annual_income"],
            monthly_debt_payments_minor=amounts["monthly_debt_payments"],
            total_debt_minor=amounts["total_debt"],
            credit_history_months=request.credit_history_months,
            utilization_bps=request.utilization_bps,
            delinquencies_24m=request.delinquencies_24m,
            open_accounts=request.open_accounts,
            inquiries_6m=request.inquiries_6m,
            employment_months=request.employment_months,
            requested_amount_minor=amounts["requested_amount"],
        )
        return self.keys.respond(
            principal.subject,
            request.request_id,
            "ScoreCredit",
            asdict(application),
            ai_pb2.ScoreCreditResponse,
            lambda claim: ai_pb2.ScoreCreditResponse(
                credit_score=credit_pb(
                    self.service.score_credit(principal.subject, request.request_id, application, claim)
                )
            ),
        )

    def GetRecommendations(
        self, request: ai_pb2.GetRecommendationsRequest, context: grpc.ServicerContext
    ) -> ai_pb2.GetRecommendationsResponse:
        principal = current_principal()
        c = _Checks()
        c.identifier(request.user_id, "user_id")
        c.count(request.limit, "limit", MAX_RECOMMENDATIONS)
        # Empty selects the user's most used currency: every amount this service holds is in EUR.
        currency = c.currency(request.currency, "currency", required=False) or MODEL_CURRENCY
        c.done("invalid recommendations request")
        ACCESS.check("GetRecommendations", principal, request.user_id)
        result = self.service.recommendations(
            principal.subject, request.user_id, request.limit or DEFAULT_RECOMMENDATIONS, currency
        )
        return ai_pb2.GetRecommendationsResponse(recommendation_set=recommendations_pb(result))

    def PredictTrend(
        self, request: ai_pb2.PredictTrendRequest, context: grpc.ServicerContext
    ) -> ai_pb2.PredictTrendResponse:
        principal = current_principal()
        c = _Checks()
        which = request.WhichOneof("source")
        source = TrendSource()
        if which is None:
            c.add("source", "set user_series or supplied_series")
        elif which == "user_series":
            series = request.user_series
            c.identifier(series.user_id, "user_series.user_id")
            if series.metric not in _METRICS:
                c.add("user_series.metric", "must be a specified TrendMetric")
            lookback = series.lookback_days or DEFAULT_LOOKBACK_DAYS
            if not MIN_LOOKBACK_DAYS <= lookback <= MAX_LOOKBACK_DAYS:
                c.add(
                    "user_series.lookback_days",
                    f"must be 0 (180) or between {MIN_LOOKBACK_DAYS} and {MAX_LOOKBACK_DAYS}: "
                    f"the model reads the last {MIN_LOOKBACK_DAYS} days",
                )
            currency = c.currency(request.currency, "currency", required=False) or MODEL_CURRENCY
            source = TrendSource(
                user_id=series.user_id, metric=_METRICS.get(series.metric, ""), lookback_days=lookback
            )
        else:
            currency = c.currency(request.currency, "currency")
            source = TrendSource(points=self._supplied_points(request.supplied_series, c))
        horizon = request.horizon_days or DEFAULT_HORIZON_DAYS
        if not 0 <= request.horizon_days <= MAX_HORIZON_DAYS:
            c.add("horizon_days", f"must be between 0 ({DEFAULT_HORIZON_DAYS}) and {MAX_HORIZON_DAYS}")
        level = request.interval_level_bps or DEFAULT_INTERVAL_BPS
        if not 5_000 <= level <= 9_900:
            c.add("interval_level_bps", f"must be 0 ({DEFAULT_INTERVAL_BPS}) or between 5000 and 9900")
        c.done("invalid trend request")
        if source.user_id:
            ACCESS.check("PredictTrend", principal, source.user_id, case="user_series")
        else:
            ACCESS.check("PredictTrend", principal, case="supplied_series")
        forecast = self.service.predict_trend(principal.subject, source, currency, horizon, level)
        return ai_pb2.PredictTrendResponse(forecast=forecast_pb(forecast))

    @staticmethod
    def _supplied_points(supplied: ai_pb2.SuppliedSeries, c: _Checks) -> list[SeriesPoint]:
        n = len(supplied.points)
        if not MIN_SERIES_POINTS <= n <= MAX_SERIES_POINTS:
            c.add(
                "supplied_series.points",
                f"must have between {MIN_SERIES_POINTS} and {MAX_SERIES_POINTS} points, got {n}",
            )
            return []
        points: list[SeriesPoint] = []
        previous: int | None = None
        for i, point in enumerate(supplied.points):
            field = f"supplied_series.points[{i}]"
            if not point.HasField("time"):
                c.add(f"{field}.time", "is required")
                return []
            seconds = point.time.seconds
            day = seconds // 86_400
            if previous is not None and seconds <= previous:
                c.add(f"{field}.time", "must be after the previous point's time")
                return []
            if points and day == points[-1].day:
                c.add(f"{field}.time", "must be on another UTC day than the previous point")
                return []
            if abs(point.value_minor) > MAX_AMOUNT_MINOR:
                c.add(f"{field}.value_minor", f"must be at most {MAX_AMOUNT_MINOR} in absolute value")
                return []
            previous = seconds
            points.append(SeriesPoint(day=day, value_minor=point.value_minor))
        span = points[-1].day - points[0].day + 1
        if span < MIN_LOOKBACK_DAYS:
            c.add(
                "supplied_series.points",
                f"must span at least {MIN_LOOKBACK_DAYS} days (the model reads the last "
                f"{MIN_LOOKBACK_DAYS} daily values; missing days are carried forward), got {span}",
            )
            return []
        return points

    def ListModels(
        self, request: ai_pb2.ListModelsRequest, context: grpc.ServicerContext
    ) -> ai_pb2.ListModelsResponse:
        ACCESS.check("ListModels", current_principal())
        size = api.page_size(request.page_size, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
        query = api.query_key(request.name, request.active_only)
        records = self.service.list_models(request.name, request.active_only)
        page = api.paginate_list(records, page_token=request.page_token, query=query, size=size)
        return ai_pb2.ListModelsResponse(
            models=[model_pb(m) for m in page.items], next_page_token=page.next_page_token
        )

    def GetModel(
        self, request: ai_pb2.GetModelRequest, context: grpc.ServicerContext
    ) -> ai_pb2.GetModelResponse:
        ACCESS.check("GetModel", current_principal())
        c = _Checks()
        c.identifier(request.name, "name")
        c.text(request.version, "version", max_length=MAX_ID_LENGTH)
        c.done("invalid model request")
        return ai_pb2.GetModelResponse(model=model_pb(self.service.get_model(request.name, request.version)))

    def ActivateModelVersion(
        self, request: ai_pb2.ActivateModelVersionRequest, context: grpc.ServicerContext
    ) -> ai_pb2.ActivateModelVersionResponse:
        principal = current_principal()
        ACCESS.check("ActivateModelVersion", principal)
        c = _Checks()
        c.identifier(request.name, "name")
        c.identifier(request.version, "version")
        c.text(request.reason, "reason", max_length=MAX_REASON_LENGTH, required=True)
        c.done("invalid activation request")
        record, previous = self.service.activate(
            request.name, request.version, request.reason, principal.subject
        )
        return ai_pb2.ActivateModelVersionResponse(model=model_pb(record), previous_version=previous)

    def GetInference(
        self, request: ai_pb2.GetInferenceRequest, context: grpc.ServicerContext
    ) -> ai_pb2.GetInferenceResponse:
        ACCESS.check("GetInference", current_principal())
        c = _Checks()
        c.identifier(request.inference_id, "inference_id")
        c.done("invalid inference request")
        record = self.service.get_inference(request.inference_id)
        return ai_pb2.GetInferenceResponse(inference=inference_pb(record))
