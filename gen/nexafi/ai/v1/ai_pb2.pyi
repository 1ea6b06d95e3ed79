import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nexafi.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransactionChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRANSACTION_CHANNEL_UNSPECIFIED: _ClassVar[TransactionChannel]
    TRANSACTION_CHANNEL_CARD_PRESENT: _ClassVar[TransactionChannel]
    TRANSACTION_CHANNEL_CARD_NOT_PRESENT: _ClassVar[TransactionChannel]
    TRANSACTION_CHANNEL_BANK_TRANSFER: _ClassVar[TransactionChannel]
    TRANSACTION_CHANNEL_P2P_TRANSFER: _ClassVar[TransactionChannel]
    TRANSACTION_CHANNEL_ATM_WITHDRAWAL: _ClassVar[TransactionChannel]
    TRANSACTION_CHANNEL_DIRECT_DEBIT: _ClassVar[TransactionChannel]
    TRANSACTION_CHANNEL_WALLET_TOP_UP: _ClassVar[TransactionChannel]

class FraudDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAUD_DECISION_UNSPECIFIED: _ClassVar[FraudDecision]
    FRAUD_DECISION_APPROVE: _ClassVar[FraudDecision]
    FRAUD_DECISION_REVIEW: _ClassVar[FraudDecision]
    FRAUD_DECISION_DECLINE: _ClassVar[FraudDecision]

class CreditBand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_BAND_UNSPECIFIED: _ClassVar[CreditBand]
    CREDIT_BAND_POOR: _ClassVar[CreditBand]
    CREDIT_BAND_FAIR: _ClassVar[CreditBand]
    CREDIT_BAND_GOOD: _ClassVar[CreditBand]
    CREDIT_BAND_VERY_GOOD: _ClassVar[CreditBand]
    CREDIT_BAND_EXCEPTIONAL: _ClassVar[CreditBand]

class RecommendationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOMMENDATION_KIND_UNSPECIFIED: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_REDUCE_CATEGORY_SPENDING: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_CANCEL_SUBSCRIPTION: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_BUILD_EMERGENCY_FUND: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_AUTOMATE_SAVINGS: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_PAY_DOWN_DEBT: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_AVOID_FEES: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_SET_BUDGET: _ClassVar[RecommendationKind]

class TrendMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TREND_METRIC_UNSPECIFIED: _ClassVar[TrendMetric]
    TREND_METRIC_BALANCE: _ClassVar[TrendMetric]
    TREND_METRIC_SPENDING: _ClassVar[TrendMetric]
    TREND_METRIC_INCOME: _ClassVar[TrendMetric]

class InferenceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INFERENCE_KIND_UNSPECIFIED: _ClassVar[InferenceKind]
    INFERENCE_KIND_FRAUD_CHECK: _ClassVar[InferenceKind]
    INFERENCE_KIND_CREDIT_SCORE: _ClassVar[InferenceKind]
    INFERENCE_KIND_TREND_FORECAST: _ClassVar[InferenceKind]
    INFERENCE_KIND_RECOMMENDATIONS: _ClassVar[InferenceKind]
TRANSACTION_CHANNEL_UNSPECIFIED: TransactionChannel
TRANSACTION_CHANNEL_CARD_PRESENT: TransactionChannel
TRANSACTION_CHANNEL_CARD_NOT_PRESENT: TransactionChannel
TRANSACTION_CHANNEL_BANK_TRANSFER: TransactionChannel
TRANSACTION_CHANNEL_P2P_TRANSFER: TransactionChannel
TRANSACTION_CHANNEL_ATM_WITHDRAWAL: TransactionChannel
TRANSACTION_CHANNEL_DIRECT_DEBIT: TransactionChannel
TRANSACTION_CHANNEL_WALLET_TOP_UP: TransactionChannel
FRAUD_DECISION_UNSPECIFIED: FraudDecision
FRAUD_DECISION_APPROVE: FraudDecision
FRAUD_DECISION_REVIEW: FraudDecision
FRAUD_DECISION_DECLINE: FraudDecision
CREDIT_BAND_UNSPECIFIED: CreditBand
CREDIT_BAND_POOR: CreditBand
CREDIT_BAND_FAIR: CreditBand
CREDIT_BAND_GOOD: CreditBand
CREDIT_BAND_VERY_GOOD: CreditBand
CREDIT_BAND_EXCEPTIONAL: CreditBand
RECOMMENDATION_KIND_UNSPECIFIED: RecommendationKind
RECOMMENDATION_KIND_REDUCE_CATEGORY_SPENDING: RecommendationKind
RECOMMENDATION_KIND_CANCEL_SUBSCRIPTION: RecommendationKind
RECOMMENDATION_KIND_BUILD_EMERGENCY_FUND: RecommendationKind
RECOMMENDATION_KIND_AUTOMATE_SAVINGS: RecommendationKind
RECOMMENDATION_KIND_PAY_DOWN_DEBT: RecommendationKind
RECOMMENDATION_KIND_AVOID_FEES: RecommendationKind
RECOMMENDATION_KIND_SET_BUDGET: RecommendationKind
TREND_METRIC_UNSPECIFIED: TrendMetric
TREND_METRIC_BALANCE: TrendMetric
TREND_METRIC_SPENDING: TrendMetric
TREND_METRIC_INCOME: TrendMetric
INFERENCE_KIND_UNSPECIFIED: InferenceKind
INFERENCE_KIND_FRAUD_CHECK: InferenceKind
INFERENCE_KIND_CREDIT_SCORE: InferenceKind
INFERENCE_KIND_TREND_FORECAST: InferenceKind
INFERENCE_KIND_RECOMMENDATIONS: InferenceKind

class FraudReason(_message.Message):
    __slots__ = ("feature", "contribution", "description")
    FEATURE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    feature: str
    contribution: float
    description: str
    def __init__(self, feature: _Optional[str] = ..., contribution: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...

class FraudAssessment(_message.Message):
    __slots__ = ("inference_id", "user_id", "payment_id", "fraud_probability", "decision", "reasons", "review_threshold", "decline_threshold", "model_name", "model_version", "create_time", "exchange_rate", "exchange_rate_date")
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FRAUD_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DECLINE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_RATE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_RATE_DATE_FIELD_NUMBER: _ClassVar[int]
    inference_id: str
    user_id: str
    payment_id: str
    fraud_probability: float
    decision: FraudDecision
    reasons: _containers.RepeatedCompositeFieldContainer[FraudReason]
    review_threshold: float
    decline_threshold: float
    model_name: str
    model_version: str
    create_time: _timestamp_pb2.Timestamp
    exchange_rate: str
    exchange_rate_date: str
    def __init__(self, inference_id: _Optional[str] = ..., user_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., fraud_probability: _Optional[float] = ..., decision: _Optional[_Union[FraudDecision, str]] = ..., reasons: _Optional[_Iterable[_Union[FraudReason, _Mapping]]] = ..., review_threshold: _Optional[float] = ..., decline_threshold: _Optional[float] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., exchange_rate: _Optional[str] = ..., exchange_rate_date: _Optional[str] = ...) -> None: ...

class CheckFraudRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "amount", "merchant_category_code", "counterparty_id", "channel", "device_id", "ip_country", "transaction_time", "payment_id", "payment_method_id", "counterparty_country", "time_zone")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    MERCHANT_CATEGORY_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    IP_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_TIME_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_METHOD_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTY_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    amount: _common_pb2.Money
    merchant_category_code: str
    counterparty_id: str
    channel: TransactionChannel
    device_id: str
    ip_country: str
    transaction_time: _timestamp_pb2.Timestamp
    payment_id: str
    payment_method_id: str
    counterparty_country: str
    time_zone: str
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., merchant_category_code: _Optional[str] = ..., counterparty_id: _Optional[str] = ..., channel: _Optional[_Union[TransactionChannel, str]] = ..., device_id: _Optional[str] = ..., ip_country: _Optional[str] = ..., transaction_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payment_id: _Optional[str] = ..., payment_method_id: _Optional[str] = ..., counterparty_country: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class CheckFraudResponse(_message.Message):
    __slots__ = ("assessment",)
    ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    assessment: FraudAssessment
    def __init__(self, assessment: _Optional[_Union[FraudAssessment, _Mapping]] = ...) -> None: ...

class CreditReason(_message.Message):
    __slots__ = ("code", "description", "points_lost")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POINTS_LOST_FIELD_NUMBER: _ClassVar[int]
    code: str
    description: str
    points_lost: int
    def __init__(self, code: _Optional[str] = ..., description: _Optional[str] = ..., points_lost: _Optional[int] = ...) -> None: ...

class CreditScore(_message.Message):
    __slots__ = ("inference_id", "user_id", "application_id", "score", "band", "probability_of_default", "reason_codes", "debt_to_income_bps", "model_name", "model_version", "create_time")
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BAND_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_OF_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    REASON_CODES_FIELD_NUMBER: _ClassVar[int]
    DEBT_TO_INCOME_BPS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    inference_id: str
    user_id: str
    application_id: str
    score: int
    band: CreditBand
    probability_of_default: float
    reason_codes: _containers.RepeatedCompositeFieldContainer[CreditReason]
    debt_to_income_bps: int
    model_name: str
    model_version: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, inference_id: _Optional[str] = ..., user_id: _Optional[str] = ..., application_id: _Optional[str] = ..., score: _Optional[int] = ..., band: _Optional[_Union[CreditBand, str]] = ..., probability_of_default: _Optional[float] = ..., reason_codes: _Optional[_Iterable[_Union[CreditReason, _Mapping]]] = ..., debt_to_income_bps: _Optional[int] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScoreCreditRequest(_message.Message):
    __slots__ = ("request_id", "user_id", "application_id", "annual_income", "monthly_debt_payments", "total_debt", "credit_history_months", "utilization_bps", "delinquencies_24m", "open_accounts", "inquiries_6m", "employment_months", "requested_amount")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_INCOME_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_DEBT_PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_DEBT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_HISTORY_MONTHS_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_BPS_FIELD_NUMBER: _ClassVar[int]
    DELINQUENCIES_24M_FIELD_NUMBER: _ClassVar[int]
    OPEN_ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    INQUIRIES_6M_FIELD_NUMBER: _ClassVar[int]
    EMPLOYMENT_MONTHS_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    user_id: str
    application_id: str
    annual_income: _common_pb2.Money
    monthly_debt_payments: _common_pb2.Money
    total_debt: _common_pb2.Money
    credit_history_months: int
    utilization_bps: int
    delinquencies_24m: int
    open_accounts: int
    inquiries_6m: int
    employment_months: int
    requested_amount: _common_pb2.Money
    def __init__(self, request_id: _Optional[str] = ..., user_id: _Optional[str] = ..., application_id: _Optional[str] = ..., annual_income: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., monthly_debt_payments: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., total_debt: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., credit_history_months: _Optional[int] = ..., utilization_bps: _Optional[int] = ..., delinquencies_24m: _Optional[int] = ..., open_accounts: _Optional[int] = ..., inquiries_6m: _Optional[int] = ..., employment_months: _Optional[int] = ..., requested_amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class ScoreCreditResponse(_message.Message):
    __slots__ = ("credit_score",)
    CREDIT_SCORE_FIELD_NUMBER: _ClassVar[int]
    credit_score: CreditScore
    def __init__(self, credit_score: _Optional[_Union[CreditScore, _Mapping]] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("id", "kind", "title", "explanation", "estimated_monthly_saving", "confidence_bps", "category")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_SAVING_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_BPS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: RecommendationKind
    title: str
    explanation: str
    estimated_monthly_saving: _common_pb2.Money
    confidence_bps: int
    category: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[RecommendationKind, str]] = ..., title: _Optional[str] = ..., explanation: _Optional[str] = ..., estimated_monthly_saving: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., confidence_bps: _Optional[int] = ..., category: _Optional[str] = ...) -> None: ...

class RecommendationSet(_message.Message):
    __slots__ = ("inference_id", "user_id", "recommendations", "model_name", "model_version", "create_time")
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    inference_id: str
    user_id: str
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    model_name: str
    model_version: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, inference_id: _Optional[str] = ..., user_id: _Optional[str] = ..., recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetRecommendationsRequest(_message.Message):
    __slots__ = ("user_id", "limit", "currency")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    limit: int
    currency: str
    def __init__(self, user_id: _Optional[str] = ..., limit: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class GetRecommendationsResponse(_message.Message):
    __slots__ = ("recommendation_set",)
    RECOMMENDATION_SET_FIELD_NUMBER: _ClassVar[int]
    recommendation_set: RecommendationSet
    def __init__(self, recommendation_set: _Optional[_Union[RecommendationSet, _Mapping]] = ...) -> None: ...

class UserSeries(_message.Message):
    __slots__ = ("user_id", "metric", "lookback_days")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    LOOKBACK_DAYS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    metric: TrendMetric
    lookback_days: int
    def __init__(self, user_id: _Optional[str] = ..., metric: _Optional[_Union[TrendMetric, str]] = ..., lookback_days: _Optional[int] = ...) -> None: ...

class SeriesPoint(_message.Message):
    __slots__ = ("time", "value_minor")
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_MINOR_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    value_minor: int
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value_minor: _Optional[int] = ...) -> None: ...

class SuppliedSeries(_message.Message):
    __slots__ = ("points",)
    POINTS_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[SeriesPoint]
    def __init__(self, points: _Optional[_Iterable[_Union[SeriesPoint, _Mapping]]] = ...) -> None: ...

class ForecastPoint(_message.Message):
    __slots__ = ("time", "point", "lower", "upper")
    TIME_FIELD_NUMBER: _ClassVar[int]
    POINT_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    point: _common_pb2.Money
    lower: _common_pb2.Money
    upper: _common_pb2.Money
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., point: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., lower: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., upper: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class Forecast(_message.Message):
    __slots__ = ("inference_id", "user_id", "metric", "currency", "points", "interval_level_bps", "history_days", "model_mape", "model_name", "model_version", "create_time")
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_LEVEL_BPS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_DAYS_FIELD_NUMBER: _ClassVar[int]
    MODEL_MAPE_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    inference_id: str
    user_id: str
    metric: TrendMetric
    currency: str
    points: _containers.RepeatedCompositeFieldContainer[ForecastPoint]
    interval_level_bps: int
    history_days: int
    model_mape: float
    model_name: str
    model_version: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, inference_id: _Optional[str] = ..., user_id: _Optional[str] = ..., metric: _Optional[_Union[TrendMetric, str]] = ..., currency: _Optional[str] = ..., points: _Optional[_Iterable[_Union[ForecastPoint, _Mapping]]] = ..., interval_level_bps: _Optional[int] = ..., history_days: _Optional[int] = ..., model_mape: _Optional[float] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PredictTrendRequest(_message.Message):
    __slots__ = ("user_series", "supplied_series", "currency", "horizon_days", "interval_level_bps")
    USER_SERIES_FIELD_NUMBER: _ClassVar[int]
    SUPPLIED_SERIES_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_LEVEL_BPS_FIELD_NUMBER: _ClassVar[int]
    user_series: UserSeries
    supplied_series: SuppliedSeries
    currency: str
    horizon_days: int
    interval_level_bps: int
    def __init__(self, user_series: _Optional[_Union[UserSeries, _Mapping]] = ..., supplied_series: _Optional[_Union[SuppliedSeries, _Mapping]] = ..., currency: _Optional[str] = ..., horizon_days: _Optional[int] = ..., interval_level_bps: _Optional[int] = ...) -> None: ...

class PredictTrendResponse(_message.Message):
    __slots__ = ("forecast",)
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    forecast: Forecast
    def __init__(self, forecast: _Optional[_Union[Forecast, _Mapping]] = ...) -> None: ...

class Model(_message.Message):
    __slots__ = ("name", "version", "sha256", "training_time", "metrics", "parameters", "feature_names", "active", "description", "create_time", "activate_time")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TRAINING_TIME_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_NAMES_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACTIVATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    sha256: str
    training_time: _timestamp_pb2.Timestamp
    metrics: _containers.ScalarMap[str, float]
    parameters: _containers.ScalarMap[str, float]
    feature_names: _containers.RepeatedScalarFieldContainer[str]
    active: bool
    description: str
    create_time: _timestamp_pb2.Timestamp
    activate_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ..., training_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metrics: _Optional[_Mapping[str, float]] = ..., parameters: _Optional[_Mapping[str, float]] = ..., feature_names: _Optional[_Iterable[str]] = ..., active: bool = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., activate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ("name", "active_only", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    active_only: bool
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., active_only: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "next_page_token")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[Model]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[Model, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class GetModelResponse(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: Model
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ...) -> None: ...

class ActivateModelVersionRequest(_message.Message):
    __slots__ = ("name", "version", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ActivateModelVersionResponse(_message.Message):
    __slots__ = ("model", "previous_version")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    model: Model
    previous_version: str
    def __init__(self, model: _Optional[_Union[Model, _Mapping]] = ..., previous_version: _Optional[str] = ...) -> None: ...

class Inference(_message.Message):
    __slots__ = ("id", "kind", "model_name", "model_version", "caller", "input_sha256", "fraud_assessment", "credit_score", "forecast", "recommendation_set", "latency_micros", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CALLER_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHA256_FIELD_NUMBER: _ClassVar[int]
    FRAUD_ASSESSMENT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_SCORE_FIELD_NUMBER: _ClassVar[int]
    FORECAST_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_SET_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MICROS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: InferenceKind
    model_name: str
    model_version: str
    caller: str
    input_sha256: str
    fraud_assessment: FraudAssessment
    credit_score: CreditScore
    forecast: Forecast
    recommendation_set: RecommendationSet
    latency_micros: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[InferenceKind, str]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., caller: _Optional[str] = ..., input_sha256: _Optional[str] = ..., fraud_assessment: _Optional[_Union[FraudAssessment, _Mapping]] = ..., credit_score: _Optional[_Union[CreditScore, _Mapping]] = ..., forecast: _Optional[_Union[Forecast, _Mapping]] = ..., recommendation_set: _Optional[_Union[RecommendationSet, _Mapping]] = ..., latency_micros: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetInferenceRequest(_message.Message):
    __slots__ = ("inference_id",)
    INFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    inference_id: str
    def __init__(self, inference_id: _Optional[str] = ...) -> None: ...

class GetInferenceResponse(_message.Message):
    __slots__ = ("inference",)
    INFERENCE_FIELD_NUMBER: _ClassVar[int]
    inference: Inference
    def __init__(self, inference: _Optional[_Union[Inference, _Mapping]] = ...) -> None: ...
