"""The fraud features' names per feature set, their tuning constants and their human wording.

A model's ``metadata.json`` names its feature set; serving builds exactly that
vector (``services.ai.fraud_features``), so an older version stays servable.
"""

from __future__ import annotations

#: Only transactions newer than this are history for the fraud features.
HISTORY_DAYS = 90
#: A fraud label becomes known this long after its transaction (chargebacks,
#: customer claims). Merchant and category risk only use labels this old.
LABEL_DELAY_DAYS = 7
#: Width of the window (ending LABEL_DELAY_DAYS ago) over which risk is counted.
RISK_WINDOW_DAYS = 30
#: Local hours [0, NIGHT_END_HOUR) count as night.
NIGHT_END_HOUR = 6
#: Bayesian smoothing of risk rates: pseudo-counts pulling a merchant's rate to
#: its category's rate, and a category's rate to the global prior.
MERCHANT_PRIOR_STRENGTH = 20.0
CATEGORY_PRIOR_STRENGTH = 200.0
GLOBAL_FRAUD_PRIOR = 0.01
#: Ratios of the amount to the customer's averages are clipped to this.
MAX_AMOUNT_RATIO = 1_000.0

#: Version 1 of the fraud features (models without ``feature_set`` in their
#: metadata, fraud 1.0.0): the novelty flags are 1 for a customer without history.
FRAUD_FEATURE_NAMES_V1: tuple[str, ...] = (
    "amount_log",
    "n_txn_1h",
    "n_txn_1d",
    "n_txn_7d",
    "n_txn_30d",
    "avg_amount_1d_log",
    "avg_amount_7d_log",
    "avg_amount_30d_log",
    "amount_to_avg_7d",
    "amount_to_avg_30d",
    "amount_to_max_90d",
    "secs_since_prev_log",
    "is_night",
    "is_weekend",
    "hour_share_90d",
    "category_share_90d",
    "new_device",
    "device_age_log",
    "new_country",
    "country_age_log",
    "merchant_risk",
    "merchant_volume_log",
    "category_risk",
    "history_len_log",
)

#: Version 2 of the fraud features (fraud 1.1.0). "No history yet" is explicit:
#: ``has_history`` and ``history_span_log`` tell a new customer from an
#: established one, and the novelty flags ``new_device`` / ``new_country`` are
#: 1 only when there *is* history and it disagrees (a first transaction has no
#: device or country to compare with, so it is not "new"). Amount ratios are 1
#: and shares 0 without history, as in version 1.
FRAUD_FEATURE_NAMES_V2: tuple[str, ...] = (
    *FRAUD_FEATURE_NAMES_V1,
    "has_history",
    "history_span_log",
)

#: Kinds of payment the platform makes (``Txn.kind``). Card purchases at merchants
#: are what the card data hold; the others are the wallet's own payments: money
#: loaded from the customer's card or bank account, transfers to other customers,
#: payouts to the customer's bank account.
PAYMENT_KINDS: tuple[str, ...] = ("purchase", "top_up", "p2p", "payout")
KIND_CODE: dict[str, int] = {k: i for i, k in enumerate(PAYMENT_KINDS)}

#: Version 3 (fraud 1.2.0): the platform's own payments. ``kind_*`` say what kind
#: of payment it is (all 0 for a card purchase), ``new_counterparty`` whether the
#: merchant, payee or funding card is new to the customer's 90-day history (0
#: without history, like the other novelty flags). ``is_weekend`` is gone: the
#: day of the week carries no fraud signal in the data, and a decision that
#: changes between Friday and Saturday for the same payment is one a customer
#: cannot understand.
FRAUD_FEATURE_NAMES_V3: tuple[str, ...] = (
    *(name for name in FRAUD_FEATURE_NAMES_V2 if name != "is_weekend"),
    "kind_top_up",
    "kind_p2p",
    "kind_payout",
    "new_counterparty",
)
#: The current fraud features.
FRAUD_FEATURE_NAMES: tuple[str, ...] = FRAUD_FEATURE_NAMES_V3

#: Feature set version -> names in input order. A model's metadata.json names its
#: version in ``feature_set``; serving builds exactly that vector.
FRAUD_FEATURE_SETS: dict[int, tuple[str, ...]] = {
    1: FRAUD_FEATURE_NAMES_V1,
    2: FRAUD_FEATURE_NAMES_V2,
    3: FRAUD_FEATURE_NAMES_V3,
}
#: The feature set the training pipeline builds now.
FRAUD_FEATURE_SET = 3

#: Human wording of each fraud feature when it pushes the fraud probability up.
FRAUD_REASON_TEXT: dict[str, str] = {
    "amount_log": "Large amount",
    "n_txn_1h": "Many transactions in the last hour",
    "n_txn_1d": "Many transactions in the last day",
    "n_txn_7d": "Unusual number of transactions in the last 7 days",
    "n_txn_30d": "Unusual number of transactions in the last 30 days",
    "avg_amount_1d_log": "Unusual amounts in the last day",
    "avg_amount_7d_log": "Unusual amounts in the last 7 days",
    "avg_amount_30d_log": "Unusual amounts in the last 30 days",
    "amount_to_avg_7d": "Amount far above the customer's 7-day average",
    "amount_to_avg_30d": "Amount far above the customer's 30-day average",
    "amount_to_max_90d": "Amount above the customer's largest in 90 days",
    "secs_since_prev_log": "Very short time since the previous transaction",
    "is_night": "Transaction at night (customer's local time)",
    "is_weekend": "Transaction at the weekend",
    "hour_share_90d": "Unusual hour for this customer",
    "category_share_90d": "Merchant category new or rare for this customer",
    "new_device": "Device not seen in the last 90 days",
    "device_age_log": "Device first seen only recently",
    "new_country": "Country not seen in the last 90 days",
    "country_age_log": "Country first seen only recently",
    "merchant_risk": "Merchant with recent confirmed fraud",
    "merchant_volume_log": "Merchant with little recent history",
    "category_risk": "High-risk merchant category",
    "history_len_log": "Little customer history",
    "has_history": "No earlier transactions of this customer",
    "history_span_log": "Customer history only recently started",
    "kind_top_up": "Wallet top-up",
    "kind_p2p": "Transfer to another customer",
    "kind_payout": "Payout to a bank account",
    "new_counterparty": "Payee, merchant or funding card new for this customer",
}
