"""Synthetic data generators: card transactions with labelled fraud, credit
applicants with a default label, and daily balance / spending series.

Everything is drawn from one ``numpy.random.Generator`` passed in by the
caller, in a fixed order, so a seed fully determines the data. Money is int64
minor units (EUR cents) throughout.

The generators live in one module each (``card_transactions`` with
``account_cohorts`` over ``synthetic_population`` and ``transaction_data``;
``applicant_data``; ``series_data``); this module is their one entry point, the
name the model cards and ``metadata.json`` give as each model's generator.
"""

from __future__ import annotations

from services.ai.training.applicant_data import (
    generate_applicants,
)
from services.ai.training.card_transactions import (
    generate_transactions,
)
from services.ai.training.series_data import (
    SERIES_KINDS,
    generate_series,
)
from services.ai.training.synthetic_population import (
    ARCHETYPE_NAMES,
    ARCHETYPES,
    CAT,
    CATEGORY_MEDIAN_MINOR,
    CATEGORY_MERCHANT_WEIGHT,
    COHORTS,
    COUNTRIES,
    COUNTRY,
    CURRENCY,
    FRAUD_COUNTRIES,
    FRAUD_PATTERNS,
    FRAUD_PRONE_CATEGORIES,
    HOME_COUNTRIES,
    NEW_ACCOUNT_PATTERN_PROBABILITIES,
    PATTERN_PROBABILITIES,
    START_TIMESTAMP,
    TRANSFER_CATEGORY,
    TRANSFER_CATEGORY_CODE,
    TRAVEL_COUNTRIES,
    UTC_OFFSET_SECONDS,
)
from services.ai.training.transaction_data import (
    FraudDataConfig,
    TransactionData,
    merchant_id,
)

__all__ = [
    "ARCHETYPES",
    "ARCHETYPE_NAMES",
    "CAT",
    "CATEGORY_MEDIAN_MINOR",
    "CATEGORY_MERCHANT_WEIGHT",
    "COHORTS",
    "COUNTRIES",
    "COUNTRY",
    "CURRENCY",
    "FRAUD_COUNTRIES",
    "FRAUD_PATTERNS",
    "FRAUD_PRONE_CATEGORIES",
    "HOME_COUNTRIES",
    "NEW_ACCOUNT_PATTERN_PROBABILITIES",
    "PATTERN_PROBABILITIES",
    "SERIES_KINDS",
    "START_TIMESTAMP",
    "TRANSFER_CATEGORY",
    "TRANSFER_CATEGORY_CODE",
    "TRAVEL_COUNTRIES",
    "UTC_OFFSET_SECONDS",
    "FraudDataConfig",
    "TransactionData",
    "generate_applicants",
    "generate_series",
    "generate_transactions",
    "merchant_id",
]
