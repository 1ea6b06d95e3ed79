"""The synthetic population the card data are drawn from: categories and their amounts,
customer archetypes, countries and time zones, fraud patterns and cohorts."""

from __future__ import annotations

from services.ai.features import (
    CATEGORIES,
)

#: What serving calls the category of a payment without a merchant (``services.ai.mcc``), and its
#: code in the data (after the card categories).
TRANSFER_CATEGORY = "transfer"
TRANSFER_CATEGORY_CODE = len(CATEGORIES)

#: 2025-01-06T00:00:00Z, a Monday: day 0 of every synthetic data set.
START_TIMESTAMP = 1_736_121_600
CURRENCY = "EUR"

CAT = {name: i for i, name in enumerate(CATEGORIES)}

#: Typical amount per category, in cents.
CATEGORY_MEDIAN_MINOR: dict[str, int] = {
    "grocery": 4_500,
    "restaurants": 2_500,
    "transport": 1_000,
    "fuel": 5_500,
    "utilities": 9_000,
    "subscriptions": 1_200,
    "entertainment": 3_000,
    "clothing": 6_000,
    "health": 4_000,
    "travel": 25_000,
    "online_retail": 4_000,
    "electronics": 15_000,
    "cash_withdrawal": 8_000,
    "fees": 1_500,
    "jewelry": 25_000,
    "gambling": 4_000,
    "crypto": 20_000,
}

#: Relative number of merchants per category.
CATEGORY_MERCHANT_WEIGHT: dict[str, float] = {
    "grocery": 10,
    "restaurants": 14,
    "transport": 4,
    "fuel": 4,
    "utilities": 2,
    "subscriptions": 3,
    "entertainment": 6,
    "clothing": 8,
    "health": 5,
    "travel": 5,
    "online_retail": 10,
    "electronics": 5,
    "cash_withdrawal": 4,
    "fees": 1,
    "jewelry": 2,
    "gambling": 2,
    "crypto": 2,
}

#: Customer archetypes: (probability, spend multiplier, category weights).
ARCHETYPES: dict[str, tuple[float, float, dict[str, float]]] = {
    "commuter": (
        0.20,
        1.0,
        {
            "grocery": 3,
            "restaurants": 2,
            "transport": 4,
            "fuel": 1,
            "utilities": 0.3,
            "entertainment": 1,
            "clothing": 0.7,
            "health": 0.5,
            "online_retail": 1,
            "cash_withdrawal": 0.8,
            "fees": 0.1,
        },
    ),
    "family": (
        0.22,
        1.1,
        {
            "grocery": 6,
            "restaurants": 1.5,
            "transport": 1,
            "fuel": 2.5,
            "utilities": 0.5,
            "entertainment": 1,
            "clothing": 1.5,
            "health": 1.2,
            "online_retail": 1.5,
            "electronics": 0.2,
            "cash_withdrawal": 0.6,
            "fees": 0.2,
        },
    ),
    "student": (
        0.14,
        0.6,
        {
            "grocery": 2.5,
            "restaurants": 3.5,
            "transport": 2.5,
            "entertainment": 2,
            "clothing": 1,
            "online_retail": 2,
            "electronics": 0.3,
            "cash_withdrawal": 1,
            "fees": 0.3,
            "gambling": 0.1,
        },
    ),
    "traveler": (
        0.10,
        1.3,
        {
            "grocery": 2,
            "restaurants": 3,
            "transport": 2,
            "travel": 1.5,
            "entertainment": 1,
            "clothing": 1,
            "online_retail": 1,
            "electronics": 0.3,
            "cash_withdrawal": 1,
            "jewelry": 0.1,
        },
    ),
    "online_shopper": (
        0.14,
        1.0,
        {
            "grocery": 2.5,
            "restaurants": 1.5,
            "transport": 1,
            "online_retail": 5,
            "electronics": 1,
            "clothing": 2,
            "entertainment": 1,
            "health": 0.5,
        },
    ),
    "gamer": (
        0.06,
        0.9,
        {
            "grocery": 2,
            "restaurants": 2,
            "transport": 1,
            "online_retail": 2,
            "entertainment": 2,
            "electronics": 0.8,
            "gambling": 1.5,
            "crypto": 0.8,
            "cash_withdrawal": 0.6,
        },
    ),
    "high_earner": (
        0.14,
        1.8,
        {
            "grocery": 3,
            "restaurants": 3,
            "transport": 1.5,
            "fuel": 1,
            "travel": 1,
            "clothing": 1.5,
            "entertainment": 1.5,
            "electronics": 0.5,
            "jewelry": 0.2,
            "health": 1,
            "online_retail": 1.5,
        },
    ),
}
ARCHETYPE_NAMES: tuple[str, ...] = tuple(ARCHETYPES)

#: Countries: code, UTC offset of its main time zone (no DST in this model).
COUNTRIES: tuple[str, ...] = (
    "GB",
    "IE",
    "PT",
    "DE",
    "FR",
    "ES",
    "NL",
    "IT",
    "PL",
    "GR",
    "TR",
    "US",
    "MX",
    "BR",
    "TH",
    "JP",
    "NG",
    "RU",
    "CN",
    "PH",
    "UA",
    "RO",
    "ID",
    "VN",
)
COUNTRY = {c: i for i, c in enumerate(COUNTRIES)}
UTC_OFFSET_SECONDS: dict[str, int] = {
    "GB": 0,
    "IE": 0,
    "PT": 0,
    "DE": 3600,
    "FR": 3600,
    "ES": 3600,
    "NL": 3600,
    "IT": 3600,
    "PL": 3600,
}
HOME_COUNTRIES: tuple[tuple[str, float], ...] = (
    ("GB", 0.2),
    ("DE", 0.2),
    ("FR", 0.18),
    ("ES", 0.12),
    ("NL", 0.08),
    ("IT", 0.12),
    ("IE", 0.04),
    ("PL", 0.06),
)
TRAVEL_COUNTRIES: tuple[str, ...] = ("ES", "IT", "FR", "PT", "GR", "TR", "US", "TH", "JP", "MX", "GB", "DE")
FRAUD_COUNTRIES: tuple[str, ...] = ("NG", "RU", "CN", "PH", "UA", "RO", "ID", "VN", "BR", "US")

#: Fraud pattern codes stored per transaction (0 = legitimate). The first five
#: are episodes on established customers' cards (drawn with PATTERN_PROBABILITIES);
#: the ``new_account_*`` ones are fraudulent accounts opened during the period
#: (NEW_ACCOUNT_PATTERN_PROBABILITIES).
FRAUD_PATTERNS: tuple[str, ...] = (
    "legitimate",
    "card_testing",
    "account_takeover",
    "unusual_merchant_hour",
    "velocity_spike",
    "mimicry",
    "new_account_card_testing",
    "new_account_cash_out",
)
PATTERN_PROBABILITIES: tuple[float, ...] = (0.26, 0.22, 0.2, 0.2, 0.12)
NEW_ACCOUNT_PATTERN_PROBABILITIES: tuple[float, ...] = (0.65, 0.35)

#: Customer cohorts (``TransactionData.cohort``): customers active from day 0,
#: customers who open their account during the period (onboarding: their first
#: transactions have no history), and fraudulent accounts opened during the period.
COHORTS: tuple[str, ...] = ("established", "new_customer", "fraud_account")
FRAUD_PRONE_CATEGORIES: tuple[str, ...] = (
    "online_retail",
    "electronics",
    "jewelry",
    "crypto",
    "gambling",
    "subscriptions",
    "travel",
)
