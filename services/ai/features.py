"""Feature engineering shared by training and serving: one code path.

Every model input is computed here, by plain functions over Python values and
numpy arrays (no scikit-learn, no I/O). The training pipeline calls the
*batch* functions over its synthetic data; serving calls the *single* functions,
which wrap the very same batch code, so the two cannot drift apart.

Money arrives as integer minor units (int64) in the models' reference currency
(EUR, two decimals); it becomes a float only inside the float32 feature vector.

The code lives in one module per model (``fraud_features`` with ``fraud_feature_names`` and
``fraud_risk``, ``credit_features``, ``trend_features``, ``spending_features``, over the shared
``feature_vocabulary``); this module is their one entry point, so training, serving, the tests and
the model cards name a single place.

Serving entry points:

* :func:`fraud_features` (one transaction + the customer's recent history +
  label-delayed risk counts) -> ``float32[len(FRAUD_FEATURE_NAMES)]``
* :func:`credit_features` (one applicant) -> ``float32[len(CREDIT_FEATURE_NAMES)]``
* :func:`trend_input` (a daily series) -> scaled ``float32[TREND_INPUT_DAYS]`` and its scale
* :func:`spending_profile` and :func:`segment_features` (a user's transactions)
  -> the profile used by the recommendations and its ``float32`` segment vector
"""

from __future__ import annotations

from services.ai.credit_features import (
    CREDIT_FEATURE_NAMES,
    CREDIT_REASON_CODES,
    CREDIT_SCORE_DIRECTION,
    MAX_DEBT_TO_INCOME,
    MAX_DELINQUENCIES,
    MAX_INQUIRIES,
    MAX_UTILIZATION,
    Applicant,
    ApplicantColumns,
    credit_feature_matrix,
    credit_features,
)
from services.ai.feature_vocabulary import (
    CATEGORIES,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    Float64Array,
    FloatArray,
    IntArray,
)
from services.ai.fraud_feature_names import (
    CATEGORY_PRIOR_STRENGTH,
    FRAUD_FEATURE_NAMES,
    FRAUD_FEATURE_NAMES_V1,
    FRAUD_FEATURE_NAMES_V2,
    FRAUD_FEATURE_NAMES_V3,
    FRAUD_FEATURE_SET,
    FRAUD_FEATURE_SETS,
    FRAUD_REASON_TEXT,
    GLOBAL_FRAUD_PRIOR,
    HISTORY_DAYS,
    KIND_CODE,
    LABEL_DELAY_DAYS,
    MAX_AMOUNT_RATIO,
    MERCHANT_PRIOR_STRENGTH,
    NIGHT_END_HOUR,
    PAYMENT_KINDS,
    RISK_WINDOW_DAYS,
)
from services.ai.fraud_features import (
    RiskColumns,
    RiskCounts,
    Txn,
    TxnColumns,
    fraud_feature_matrix,
    fraud_features,
)
from services.ai.fraud_risk import (
    DelayedLabelIndex,
)
from services.ai.spending_features import (
    PROFILE_WINDOW_DAYS,
    RECENT_DAYS,
    SEGMENT_FEATURE_NAMES,
    RecurringCharge,
    SpendingProfile,
    segment_feature_matrix,
    segment_features,
    spending_profile,
)
from services.ai.trend_features import (
    TREND_FEATURE_NAMES,
    TREND_HORIZON_DAYS,
    TREND_INPUT_DAYS,
    trend_input,
    trend_input_matrix,
)

__all__ = [
    "CATEGORIES",
    "CATEGORY_PRIOR_STRENGTH",
    "CREDIT_FEATURE_NAMES",
    "CREDIT_REASON_CODES",
    "CREDIT_SCORE_DIRECTION",
    "FRAUD_FEATURE_NAMES",
    "FRAUD_FEATURE_NAMES_V1",
    "FRAUD_FEATURE_NAMES_V2",
    "FRAUD_FEATURE_NAMES_V3",
    "FRAUD_FEATURE_SET",
    "FRAUD_FEATURE_SETS",
    "FRAUD_REASON_TEXT",
    "GLOBAL_FRAUD_PRIOR",
    "HISTORY_DAYS",
    "KIND_CODE",
    "LABEL_DELAY_DAYS",
    "MAX_AMOUNT_RATIO",
    "MAX_DEBT_TO_INCOME",
    "MAX_DELINQUENCIES",
    "MAX_INQUIRIES",
    "MAX_UTILIZATION",
    "MERCHANT_PRIOR_STRENGTH",
    "NIGHT_END_HOUR",
    "PAYMENT_KINDS",
    "PROFILE_WINDOW_DAYS",
    "RECENT_DAYS",
    "RISK_WINDOW_DAYS",
    "SECONDS_PER_DAY",
    "SECONDS_PER_HOUR",
    "SEGMENT_FEATURE_NAMES",
    "TREND_FEATURE_NAMES",
    "TREND_HORIZON_DAYS",
    "TREND_INPUT_DAYS",
    "Applicant",
    "ApplicantColumns",
    "DelayedLabelIndex",
    "Float64Array",
    "FloatArray",
    "IntArray",
    "RecurringCharge",
    "RiskColumns",
    "RiskCounts",
    "SpendingProfile",
    "Txn",
    "TxnColumns",
    "credit_feature_matrix",
    "credit_features",
    "fraud_feature_matrix",
    "fraud_features",
    "segment_feature_matrix",
    "segment_features",
    "spending_profile",
    "trend_input",
    "trend_input_matrix",
]
