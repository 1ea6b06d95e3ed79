"""Feature engineering shared by training and serving: one code path.

Every model input is computed here, by plain functions over Python values and
numpy arrays (no scikit-learn, no I/O). The training pipeline calls the
*batch* functions over its synthetic data; serving calls the *single* functions,
which wrap the very same batch code, so the two cannot drift apart.

Money arrives as integer minor units (int64) in the models' reference currency
(EUR, two decimals); it becomes a float only inside the float32 feature vector.

Serving entry points:

* :func:`fraud_features` (one transaction + the customer's recent history +
  label-delayed risk counts) -> ``float32[len(FRAUD_FEATURE_NAMES)]``
* :func:`credit_features` (one applicant) -> ``float32[len(CREDIT_FEATURE_NAMES)]``
* :func:`trend_input` (a daily series) -> scaled ``float32[TREND_INPUT_DAYS]`` and its scale
* :func:`spending_profile` and :func:`segment_features` (a user's transactions)
  -> the profile used by the recommendations and its ``float32`` segment vector
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400

# ---------------------------------------------------------------------------
# Shared vocabulary
# ---------------------------------------------------------------------------

#: Merchant categories known to the models. Unknown categories are accepted and
#: simply never match a customer's history (and get the global risk prior).
CATEGORIES: tuple[str, ...] = (
    "grocery",
    "restaurants",
    "transport",
    "fuel",
    "utilities",
    "subscriptions",
    "entertainment",
    "clothing",
    "health",
    "travel",
    "online_retail",
    "electronics",
    "cash_withdrawal",
    "fees",
    "jewelry",
    "gambling",
    "crypto",
)

# ---------------------------------------------------------------------------
# Fraud
# ---------------------------------------------------------------------------

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


@dataclass(frozen=True, slots=True)
class Txn:
    """One card transaction as serving receives it.

    ``timestamp`` is Unix seconds (UTC); ``utc_offset_seconds`` is the offset of
    the customer's home time zone, used for the night / weekend / hour features.
    """

    timestamp: int
    amount_minor: int
    merchant_id: str
    merchant_category: str
    country: str
    device_id: str
    utc_offset_seconds: int = 0
    #: one of PAYMENT_KINDS; ``merchant_id`` is then the counterparty (merchant,
    #: payee, funding card or bank account)
    kind: str = "purchase"


@dataclass(frozen=True, slots=True)
class RiskCounts:
    """Label-delayed counts for one transaction's merchant and category.

    Counted over transactions with a timestamp in
    ``[t - LABEL_DELAY_DAYS - RISK_WINDOW_DAYS, t - LABEL_DELAY_DAYS)``; see
    :class:`DelayedLabelIndex`. All zero means "unknown merchant": the features
    then fall back to the priors.
    """

    merchant_txns: int = 0
    merchant_frauds: int = 0
    category_txns: int = 0
    category_frauds: int = 0


@dataclass(frozen=True)
class TxnColumns:
    """One customer's transactions as columns, sorted by timestamp, oldest first.

    ``categories``, ``countries`` and ``devices`` may hold strings or integer
    codes: the features only compare them for equality.
    """

    timestamps: IntArray
    amounts_minor: IntArray
    utc_offsets: IntArray
    categories: npt.NDArray[np.generic]
    countries: npt.NDArray[np.generic]
    devices: npt.NDArray[np.generic]
    #: KIND_CODE per row (all purchases when None)
    kinds: IntArray | None = None
    #: merchant, payee or funding instrument per row (compared for equality; none known when None)
    counterparties: npt.NDArray[np.generic] | None = None

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        for name in ("amounts_minor", "utc_offsets", "categories", "countries", "devices", "kinds",
                     "counterparties"):
            if getattr(self, name) is not None and len(getattr(self, name)) != n:
                raise ValueError(f"TxnColumns.{name} has {len(getattr(self, name))} rows, expected {n}")
        if n > 1 and bool(np.any(np.diff(self.timestamps) < 0)):
            raise ValueError("TxnColumns.timestamps must be sorted ascending")

    def __len__(self) -> int:
        return len(self.timestamps)

    @classmethod
    def from_txns(cls, txns: Sequence[Txn]) -> TxnColumns:
        """Columns from transactions already sorted by timestamp."""
        return cls(
            timestamps=np.array([t.timestamp for t in txns], dtype=np.int64),
            amounts_minor=np.array([t.amount_minor for t in txns], dtype=np.int64),
            utc_offsets=np.array([t.utc_offset_seconds for t in txns], dtype=np.int64),
            categories=np.array([t.merchant_category for t in txns], dtype=np.str_),
            countries=np.array([t.country for t in txns], dtype=np.str_),
            devices=np.array([t.device_id for t in txns], dtype=np.str_),
            kinds=np.array([KIND_CODE[t.kind] for t in txns], dtype=np.int64),
            counterparties=np.array([t.merchant_id for t in txns], dtype=np.str_),
        )


@dataclass(frozen=True)
class RiskColumns:
    """:class:`RiskCounts` for each row of a :class:`TxnColumns`, as columns."""

    merchant_txns: IntArray
    merchant_frauds: IntArray
    category_txns: IntArray
    category_frauds: IntArray

    @classmethod
    def from_counts(cls, counts: Sequence[RiskCounts]) -> RiskColumns:
        return cls(
            merchant_txns=np.array([c.merchant_txns for c in counts], dtype=np.int64),
            merchant_frauds=np.array([c.merchant_frauds for c in counts], dtype=np.int64),
            category_txns=np.array([c.category_txns for c in counts], dtype=np.int64),
            category_frauds=np.array([c.category_frauds for c in counts], dtype=np.int64),
        )


def _range_max(values: IntArray, starts: IntArray, ends: IntArray) -> IntArray:
    """max(values[s:e]) for each (s, e), 0 where empty, by a sparse table (exact)."""
    out = np.zeros(len(starts), dtype=np.int64)
    lengths = ends - starts
    nonempty = lengths > 0
    if not bool(nonempty.any()):
        return out
    # level k holds max(values[j : j + 2**k]) for every j
    levels = [values]
    while (1 << len(levels)) <= len(values):
        prev = levels[-1]
        half = 1 << (len(levels) - 1)
        levels.append(np.maximum(prev[:-half], prev[half:]))
    k = np.zeros(len(starts), dtype=np.int64)
    span = np.ones(len(starts), dtype=np.int64)
    while True:
        grow = nonempty & (span * 2 <= lengths)
        if not bool(grow.any()):
            break
        k[grow] += 1
        span[grow] *= 2
    for level, table in enumerate(levels):
        rows = nonempty & (k == level)
        if bool(rows.any()):
            s, e = starts[rows], ends[rows]
            out[rows] = np.maximum(table[s], table[e - (1 << level)])
    return out


def _same_value_counts(values: npt.NDArray[np.generic], starts: IntArray) -> tuple[IntArray, IntArray]:
    """For each row i, the rows j in [starts[i], i) with values[j] == values[i].

    Returns (how many there are, index of the first of them or -1 when none).
    """
    n = len(values)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    _, codes = np.unique(values, return_inverse=True)
    codes = codes.astype(np.int64).reshape(-1)
    idx = np.arange(n, dtype=np.int64)
    order = np.lexsort((idx, codes))
    keys = codes[order] * (n + 1) + idx[order]
    own = codes * (n + 1)
    lo = np.searchsorted(keys, own + starts, side="left")
    hi = np.searchsorted(keys, own + idx, side="left")
    count = (hi - lo).astype(np.int64)
    first = np.where(count > 0, order[np.minimum(lo, n - 1)], -1).astype(np.int64)
    return count, first


def _log1p_major(amount_minor: Float64Array) -> Float64Array:
    return np.log1p(np.maximum(amount_minor, 0.0) / 100.0)


def fraud_feature_matrix(
    cols: TxnColumns, risk: RiskColumns, feature_set: int = FRAUD_FEATURE_SET
) -> FloatArray:
    """Fraud features of every row of one customer's transaction sequence.

    Row ``i`` sees as history exactly the rows ``j < i`` whose timestamp is
    within the last ``HISTORY_DAYS`` days, so the features of the last row are
    those of a new transaction given its history. All windowed sums are exact
    integer arithmetic, so the result does not depend on how much older
    history is passed in. ``feature_set`` picks the columns and encoding of
    :data:`FRAUD_FEATURE_SETS` (the one the model was trained on).
    """
    if feature_set not in FRAUD_FEATURE_SETS:
        raise ValueError(f"unknown fraud feature set {feature_set!r}")
    n = len(cols)
    if len(risk.merchant_txns) != n:
        raise ValueError("risk columns must have one row per transaction")
    ts = np.asarray(cols.timestamps, dtype=np.int64)
    amt = np.asarray(cols.amounts_minor, dtype=np.int64)
    if bool(np.any(amt < 0)):
        raise ValueError("amounts_minor must be non-negative")
    idx = np.arange(n, dtype=np.int64)
    cum_amt = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(amt)))
    amount = amt.astype(np.float64)

    def window(seconds: int) -> tuple[IntArray, Float64Array, Float64Array]:
        start = np.searchsorted(ts, ts - seconds, side="right").astype(np.int64)
        count = idx - start
        total = (cum_amt[idx] - cum_amt[start]).astype(np.float64)
        avg = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        return start, count.astype(np.float64), avg

    _, n_1h, _ = window(SECONDS_PER_HOUR)
    _, n_1d, avg_1d = window(SECONDS_PER_DAY)
    _, n_7d, avg_7d = window(7 * SECONDS_PER_DAY)
    _, n_30d, avg_30d = window(30 * SECONDS_PER_DAY)
    start_90, n_90d, _ = window(HISTORY_DAYS * SECONDS_PER_DAY)
    has_history = n_90d > 0

    def ratio(avg: Float64Array) -> Float64Array:
        r = np.where(avg > 0, amount / np.maximum(avg, 1.0), 1.0)
        return np.clip(r, 0.0, MAX_AMOUNT_RATIO)

    max_90 = _range_max(amt, start_90, idx).astype(np.float64)
    to_max_90 = np.clip(np.where(max_90 > 0, amount / np.maximum(max_90, 1.0), 1.0), 0.0, MAX_AMOUNT_RATIO)

    prev_ts = np.concatenate((ts[:1], ts[:-1]))
    gap = np.where(has_history, ts - prev_ts, HISTORY_DAYS * SECONDS_PER_DAY).astype(np.float64)

    local = ts + np.asarray(cols.utc_offsets, dtype=np.int64)
    hour = (local // SECONDS_PER_HOUR) % 24
    weekday = (local // SECONDS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    is_night = (hour < NIGHT_END_HOUR).astype(np.float64)
    is_weekend = (weekday >= 5).astype(np.float64)

    # share of the 90-day history within one hour of this local hour
    hour_counts = np.zeros((n + 1, 24), dtype=np.int64)
    if n:
        hour_counts[idx + 1, hour] = 1
    hour_counts = np.cumsum(hour_counts, axis=0)
    near = np.zeros(n, dtype=np.int64)
    for shift in (-1, 0, 1):
        h = (hour + shift) % 24
        near += hour_counts[idx, h] - hour_counts[start_90, h]
    hour_share = np.where(has_history, near / np.maximum(n_90d, 1.0), 0.0)

    same_category, _ = _same_value_counts(np.asarray(cols.categories), start_90)
    category_share = np.where(has_history, same_category / np.maximum(n_90d, 1.0), 0.0)

    def novelty(values: npt.NDArray[np.generic]) -> tuple[Float64Array, Float64Array]:
        """(1.0 if never seen in the 90-day history, log1p of seconds since first seen there)."""
        seen, first = _same_value_counts(values, start_90)
        age = np.where(seen > 0, ts - ts[np.maximum(first, 0)], 0).astype(np.float64)
        unseen = seen == 0
        if feature_set >= 2:  # nothing to compare with is not "new"
            unseen &= has_history
        return unseen.astype(np.float64), np.log1p(age)

    new_device, device_age = novelty(np.asarray(cols.devices))
    new_country, country_age = novelty(np.asarray(cols.countries))

    m_txns = np.asarray(risk.merchant_txns, dtype=np.float64)
    m_frauds = np.asarray(risk.merchant_frauds, dtype=np.float64)
    c_txns = np.asarray(risk.category_txns, dtype=np.float64)
    c_frauds = np.asarray(risk.category_frauds, dtype=np.float64)
    category_risk = (c_frauds + CATEGORY_PRIOR_STRENGTH * GLOBAL_FRAUD_PRIOR) / (
        c_txns + CATEGORY_PRIOR_STRENGTH
    )
    merchant_risk = (m_frauds + MERCHANT_PRIOR_STRENGTH * category_risk) / (m_txns + MERCHANT_PRIOR_STRENGTH)

    span = np.where(has_history, ts - ts[np.minimum(start_90, np.maximum(idx - 1, 0))], 0).astype(np.float64)

    kinds = np.zeros(n, dtype=np.int64) if cols.kinds is None else np.asarray(cols.kinds, dtype=np.int64)
    if cols.counterparties is None:
        new_counterparty = np.zeros(n, dtype=np.float64)
    else:
        new_counterparty, _ = novelty(np.asarray(cols.counterparties))

    columns: dict[str, Float64Array] = {
        "amount_log": _log1p_major(amount),
        "n_txn_1h": n_1h,
        "n_txn_1d": n_1d,
        "n_txn_7d": n_7d,
        "n_txn_30d": n_30d,
        "avg_amount_1d_log": _log1p_major(avg_1d),
        "avg_amount_7d_log": _log1p_major(avg_7d),
        "avg_amount_30d_log": _log1p_major(avg_30d),
        "amount_to_avg_7d": ratio(avg_7d),
        "amount_to_avg_30d": ratio(avg_30d),
        "amount_to_max_90d": to_max_90,
        "secs_since_prev_log": np.log1p(gap),
        "is_night": is_night,
        "is_weekend": is_weekend,
        "hour_share_90d": hour_share,
        "category_share_90d": category_share,
        "new_device": new_device,
        "device_age_log": device_age,
        "new_country": new_country,
        "country_age_log": country_age,
        "merchant_risk": merchant_risk,
        "merchant_volume_log": np.log1p(m_txns),
        "category_risk": category_risk,
        "history_len_log": np.log1p(n_90d),
        "has_history": has_history.astype(np.float64),
        "history_span_log": np.log1p(span),
        "kind_top_up": (kinds == KIND_CODE["top_up"]).astype(np.float64),
        "kind_p2p": (kinds == KIND_CODE["p2p"]).astype(np.float64),
        "kind_payout": (kinds == KIND_CODE["payout"]).astype(np.float64),
        "new_counterparty": new_counterparty,
    }
    names = FRAUD_FEATURE_SETS[feature_set]
    out = np.empty((n, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        out[:, j] = columns[name]
    return out


def fraud_features(
    txn: Txn, history: Sequence[Txn], risk: RiskCounts, feature_set: int = FRAUD_FEATURE_SET
) -> FloatArray:
    """The fraud feature vector of ``txn`` (serving).

    ``history`` is the customer's earlier transactions, in any order; only those
    at or before ``txn.timestamp`` and within ``HISTORY_DAYS`` count, so
    passing more is harmless. ``risk`` are the label-delayed counts of the
    merchant and the category (see :class:`DelayedLabelIndex`). ``feature_set``
    is the model's (``metadata.json`` ``feature_set``, 1 when absent).
    """
    if txn.amount_minor < 0:
        raise ValueError("amount_minor must be non-negative")
    horizon = txn.timestamp - HISTORY_DAYS * SECONDS_PER_DAY
    recent = sorted(
        (h for h in history if horizon < h.timestamp <= txn.timestamp),
        key=lambda h: h.timestamp,
    )
    rows = [*recent, txn]
    zero = np.zeros(len(rows), dtype=np.int64)
    risk_cols = RiskColumns(
        merchant_txns=zero.copy(),
        merchant_frauds=zero.copy(),
        category_txns=zero.copy(),
        category_frauds=zero.copy(),
    )
    risk_cols.merchant_txns[-1] = risk.merchant_txns
    risk_cols.merchant_frauds[-1] = risk.merchant_frauds
    risk_cols.category_txns[-1] = risk.category_txns
    risk_cols.category_frauds[-1] = risk.category_frauds
    return np.array(
        fraud_feature_matrix(TxnColumns.from_txns(rows), risk_cols, feature_set)[-1], dtype=np.float32
    )


class DelayedLabelIndex:
    """Label-delayed transaction and fraud counts per key (merchant or category).

    A transaction at time ``u`` with a fraud label counts for a query at time
    ``t`` only when ``t - LABEL_DELAY_DAYS - RISK_WINDOW_DAYS <= u < t -
    LABEL_DELAY_DAYS``: its label is then known and recent. Built from a
    labelled transaction log (training, or a serving-side feed of confirmed
    labels), it answers :class:`RiskCounts` queries in bulk.
    """

    def __init__(
        self,
        keys: npt.ArrayLike,
        timestamps: npt.ArrayLike,
        is_fraud: npt.ArrayLike,
        *,
        delay_seconds: int = LABEL_DELAY_DAYS * SECONDS_PER_DAY,
        window_seconds: int = RISK_WINDOW_DAYS * SECONDS_PER_DAY,
    ) -> None:
        keys_arr = np.asarray(keys)
        ts = np.asarray(timestamps, dtype=np.int64)
        fraud = np.asarray(is_fraud, dtype=np.int64)
        if not len(keys_arr) == len(ts) == len(fraud):
            raise ValueError("keys, timestamps and is_fraud must have the same length")
        self._delay = int(delay_seconds)
        self._window = int(window_seconds)
        self._uniques, codes = np.unique(keys_arr, return_inverse=True)
        codes = codes.astype(np.int64).reshape(-1)
        self._t0 = int(ts.min()) - 1 if len(ts) else 0
        self._span = (int(ts.max()) - self._t0 + 2) if len(ts) else 2
        order = np.lexsort((ts, codes))
        self._keys = codes[order] * self._span + (ts[order] - self._t0)
        self._cum_fraud = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(fraud[order])))

    def counts(self, keys: npt.ArrayLike, timestamps: npt.ArrayLike) -> tuple[IntArray, IntArray]:
        """(transactions, frauds) in the delayed window of each (key, time) query."""
        q_keys = np.asarray(keys)
        q_ts = np.asarray(timestamps, dtype=np.int64)
        n_unique = len(self._uniques)
        if n_unique == 0:
            zero = np.zeros(len(q_ts), dtype=np.int64)
            return zero, zero.copy()
        pos = np.searchsorted(self._uniques, q_keys)
        pos_c = np.minimum(pos, n_unique - 1)
        known = (pos < n_unique) & (self._uniques[pos_c] == q_keys)
        base = pos_c.astype(np.int64) * self._span

        def rank(t: IntArray) -> IntArray:
            rel = np.clip(t - self._t0, 0, self._span - 1)
            return np.searchsorted(self._keys, base + rel, side="left").astype(np.int64)

        hi_t = q_ts - self._delay
        lo = rank(hi_t - self._window)
        hi = rank(hi_t)
        txns = np.where(known, hi - lo, 0).astype(np.int64)
        frauds = np.where(known, self._cum_fraud[hi] - self._cum_fraud[lo], 0).astype(np.int64)
        return txns, frauds

    def count(self, key: object, timestamp: int) -> tuple[int, int]:
        """(transactions, frauds) for one key at one time."""
        txns, frauds = self.counts(np.array([key]), np.array([timestamp], dtype=np.int64))
        return int(txns[0]), int(frauds[0])


# ---------------------------------------------------------------------------
# Credit
# ---------------------------------------------------------------------------

CREDIT_FEATURE_NAMES: tuple[str, ...] = (
    "log_annual_income",
    "debt_to_income",
    "utilization",
    "log_history_months",
    "delinquencies_2y",
    "inquiries_6m",
)

#: Direction in which each credit feature must move the score (+1: a higher
#: value never lowers the score). Checked on the fitted coefficients.
CREDIT_SCORE_DIRECTION: dict[str, int] = {
    "log_annual_income": 1,
    "debt_to_income": -1,
    "utilization": -1,
    "log_history_months": 1,
    "delinquencies_2y": -1,
    "inquiries_6m": -1,
}

#: Adverse-action reason codes, one per feature, used when it lowers the score.
CREDIT_REASON_CODES: dict[str, tuple[str, str]] = {
    "log_annual_income": ("INCOME_LOW", "Income is low"),
    "debt_to_income": ("DEBT_TO_INCOME_HIGH", "Debt payments are high relative to income"),
    "utilization": ("UTILIZATION_HIGH", "Revolving credit utilization is high"),
    "log_history_months": ("HISTORY_SHORT", "Credit history is short"),
    "delinquencies_2y": ("DELINQUENCIES", "Delinquencies in the last two years"),
    "inquiries_6m": ("INQUIRIES_MANY", "Many credit inquiries in the last six months"),
}

MAX_DEBT_TO_INCOME = 2.0
MAX_UTILIZATION = 1.5
MAX_DELINQUENCIES = 10
MAX_INQUIRIES = 20


@dataclass(frozen=True, slots=True)
class Applicant:
    """A credit applicant. Money in integer minor units (reference currency)."""

    annual_income_minor: int
    monthly_debt_payments_minor: int
    credit_history_months: int
    revolving_balance_minor: int
    revolving_limit_minor: int
    delinquencies_2y: int
    inquiries_6m: int

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Applicant.{name} must be an int")
            if value < 0:
                raise ValueError(f"Applicant.{name} must be non-negative")


@dataclass(frozen=True)
class ApplicantColumns:
    """Applicants as integer columns (training and batch scoring)."""

    annual_income_minor: IntArray
    monthly_debt_payments_minor: IntArray
    credit_history_months: IntArray
    revolving_balance_minor: IntArray
    revolving_limit_minor: IntArray
    delinquencies_2y: IntArray
    inquiries_6m: IntArray

    def __len__(self) -> int:
        return len(self.annual_income_minor)

    @classmethod
    def from_applicants(cls, applicants: Sequence[Applicant]) -> ApplicantColumns:
        def col(name: str) -> IntArray:
            return np.array([getattr(a, name) for a in applicants], dtype=np.int64)

        return cls(
            annual_income_minor=col("annual_income_minor"),
            monthly_debt_payments_minor=col("monthly_debt_payments_minor"),
            credit_history_months=col("credit_history_months"),
            revolving_balance_minor=col("revolving_balance_minor"),
            revolving_limit_minor=col("revolving_limit_minor"),
            delinquencies_2y=col("delinquencies_2y"),
            inquiries_6m=col("inquiries_6m"),
        )

    def row(self, i: int) -> Applicant:
        return Applicant(
            annual_income_minor=int(self.annual_income_minor[i]),
            monthly_debt_payments_minor=int(self.monthly_debt_payments_minor[i]),
            credit_history_months=int(self.credit_history_months[i]),
            revolving_balance_minor=int(self.revolving_balance_minor[i]),
            revolving_limit_minor=int(self.revolving_limit_minor[i]),
            delinquencies_2y=int(self.delinquencies_2y[i]),
            inquiries_6m=int(self.inquiries_6m[i]),
        )


def credit_feature_matrix(cols: ApplicantColumns) -> FloatArray:
    """Credit features of many applicants; each is a monotone transform of one input."""
    income = np.asarray(cols.annual_income_minor, dtype=np.float64)
    debt = np.asarray(cols.monthly_debt_payments_minor, dtype=np.float64)
    balance = np.asarray(cols.revolving_balance_minor, dtype=np.float64)
    limit = np.asarray(cols.revolving_limit_minor, dtype=np.float64)
    dti = np.where(
        income > 0, 12.0 * debt / np.maximum(income, 1.0), np.where(debt > 0, MAX_DEBT_TO_INCOME, 0.0)
    )
    utilization = np.where(
        limit > 0, balance / np.maximum(limit, 1.0), np.where(balance > 0, MAX_UTILIZATION, 0.0)
    )
    columns = (
        np.log1p(income / 100.0),
        np.clip(dti, 0.0, MAX_DEBT_TO_INCOME),
        np.clip(utilization, 0.0, MAX_UTILIZATION),
        np.log1p(np.asarray(cols.credit_history_months, dtype=np.float64)),
        np.minimum(np.asarray(cols.delinquencies_2y, dtype=np.float64), MAX_DELINQUENCIES),
        np.minimum(np.asarray(cols.inquiries_6m, dtype=np.float64), MAX_INQUIRIES),
    )
    out = np.empty((len(cols), len(CREDIT_FEATURE_NAMES)), dtype=np.float32)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def credit_features(applicant: Applicant) -> FloatArray:
    """The credit feature vector of one applicant (serving)."""
    return np.array(credit_feature_matrix(ApplicantColumns.from_applicants([applicant]))[0], dtype=np.float32)


# ---------------------------------------------------------------------------
# Trend
# ---------------------------------------------------------------------------

#: The trend model reads the last TREND_INPUT_DAYS daily values (eight weeks)
#: and predicts the next TREND_HORIZON_DAYS.
TREND_INPUT_DAYS = 56
TREND_HORIZON_DAYS = 14
TREND_FEATURE_NAMES: tuple[str, ...] = tuple(f"lag_{TREND_INPUT_DAYS - i}" for i in range(TREND_INPUT_DAYS))


def trend_input_matrix(windows: npt.ArrayLike) -> tuple[FloatArray, Float64Array]:
    """Scale windows of ``TREND_INPUT_DAYS`` values by their mean absolute value.

    Returns the scaled float32 model inputs and the per-row scale (the model
    predicts future values divided by that scale).
    """
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != TREND_INPUT_DAYS:
        raise ValueError(f"windows must have shape (n, {TREND_INPUT_DAYS})")
    if not bool(np.all(np.isfinite(w))):
        raise ValueError("series values must be finite")
    scale = np.mean(np.abs(w), axis=1) + 1.0
    return (w / scale[:, None]).astype(np.float32), scale


def trend_input(series: Sequence[int] | Sequence[float] | npt.ArrayLike) -> tuple[FloatArray, float]:
    """Model input for a daily series (oldest first, at least TREND_INPUT_DAYS values)."""
    values = np.asarray(series, dtype=np.float64).reshape(-1)
    if len(values) < TREND_INPUT_DAYS:
        raise ValueError(f"a series needs at least {TREND_INPUT_DAYS} daily values, got {len(values)}")
    x, scale = trend_input_matrix(values[-TREND_INPUT_DAYS:][None, :])
    return x[0].copy(), float(scale[0])


# ---------------------------------------------------------------------------
# Spending profile (recommendations)
# ---------------------------------------------------------------------------

PROFILE_WINDOW_DAYS = 90
RECENT_DAYS = 30
SEGMENT_FEATURE_NAMES: tuple[str, ...] = (*(f"share_{c}" for c in CATEGORIES), "spend_level")


@dataclass(frozen=True)
class RecurringCharge:
    """A merchant charging about the same amount about every month."""

    merchant_id: str
    category: str
    amount_minor: int
    occurrences: int


@dataclass(frozen=True)
class SpendingProfile:
    """A user's spending by category over the last PROFILE_WINDOW_DAYS days.

    ``monthly_minor`` is the average per 30 days over the window;
    ``recent_minor`` the last RECENT_DAYS days; ``earlier_monthly_minor`` the
    average per 30 days over the rest of the window. Integer minor units.
    """

    monthly_minor: dict[str, int]
    recent_minor: dict[str, int]
    earlier_monthly_minor: dict[str, int]
    recurring: tuple[RecurringCharge, ...] = ()
    monthly_income_minor: int | None = None
    n_transactions: int = 0
    window_days: int = PROFILE_WINDOW_DAYS

    @property
    def monthly_total_minor(self) -> int:
        return sum(self.monthly_minor.values())


def _find_recurring(
    timestamps: IntArray, amounts: IntArray, categories: Sequence[str], merchants: Sequence[str]
) -> tuple[RecurringCharge, ...]:
    by_merchant: dict[str, list[int]] = {}
    for i, merchant in enumerate(merchants):
        by_merchant.setdefault(merchant, []).append(i)
    found: list[RecurringCharge] = []
    for merchant in sorted(by_merchant):
        rows = sorted(by_merchant[merchant], key=lambda i: (int(timestamps[i]), i))
        if len(rows) < 2:
            continue
        amts = [int(amounts[i]) for i in rows]
        gaps = [
            (int(timestamps[b]) - int(timestamps[a])) / SECONDS_PER_DAY for a, b in itertools.pairwise(rows)
        ]
        similar = max(amts) - min(amts) <= max(amts) // 20  # within 5 %
        monthly = all(25.0 <= g <= 35.0 for g in gaps)
        if similar and monthly:
            found.append(RecurringCharge(merchant, categories[rows[-1]], amts[-1], len(rows)))
    return tuple(found)


def spending_profile(
    timestamps: Sequence[int] | IntArray,
    amounts_minor: Sequence[int] | IntArray,
    categories: Sequence[str],
    merchant_ids: Sequence[str],
    *,
    as_of: int,
    monthly_income_minor: int | None = None,
) -> SpendingProfile:
    """A user's spending profile from their (debit) transactions before ``as_of``."""
    ts = np.asarray(timestamps, dtype=np.int64)
    amt = np.asarray(amounts_minor, dtype=np.int64)
    if not len(ts) == len(amt) == len(categories) == len(merchant_ids):
        raise ValueError("timestamps, amounts_minor, categories and merchant_ids must have the same length")
    if bool(np.any(amt < 0)):
        raise ValueError("amounts_minor must be non-negative")
    start = as_of - PROFILE_WINDOW_DAYS * SECONDS_PER_DAY
    recent_start = as_of - RECENT_DAYS * SECONDS_PER_DAY
    keep = (ts >= start) & (ts < as_of)
    rows: list[int] = np.flatnonzero(keep).tolist()
    total: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    recent: dict[str, int] = dict.fromkeys(CATEGORIES, 0)
    for i in rows:
        cat = categories[i]
        if cat not in total:
            continue
        total[cat] += int(amt[i])
        if ts[i] >= recent_start:
            recent[cat] += int(amt[i])
    earlier_days = PROFILE_WINDOW_DAYS - RECENT_DAYS
    monthly = {c: total[c] * 30 // PROFILE_WINDOW_DAYS for c in CATEGORIES}
    earlier = {c: (total[c] - recent[c]) * 30 // earlier_days for c in CATEGORIES}
    recurring = _find_recurring(
        ts[rows], amt[rows], [categories[i] for i in rows], [merchant_ids[i] for i in rows]
    )
    return SpendingProfile(
        monthly_minor=monthly,
        recent_minor=recent,
        earlier_monthly_minor=earlier,
        recurring=recurring,
        monthly_income_minor=monthly_income_minor,
        n_transactions=len(rows),
    )


def segment_feature_matrix(monthly: npt.ArrayLike) -> FloatArray:
    """Segment features from monthly spend per category (columns in CATEGORIES order)."""
    m = np.asarray(monthly, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] != len(CATEGORIES):
        raise ValueError(f"monthly spend must have shape (n, {len(CATEGORIES)})")
    total = m.sum(axis=1)
    shares = np.where(total[:, None] > 0, m / np.maximum(total, 1.0)[:, None], 0.0)
    level = np.log1p(total / 100.0) / 10.0
    return np.column_stack((shares, level)).astype(np.float32)


def segment_features(profile: SpendingProfile) -> FloatArray:
    """The segment (clustering) input of one spending profile (serving)."""
    row = [[profile.monthly_minor.get(c, 0) for c in CATEGORIES]]
    return np.array(segment_feature_matrix(np.array(row, dtype=np.int64))[0], dtype=np.float32)
