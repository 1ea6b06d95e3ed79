"""The fraud features of one customer's transaction sequence (training) and of one new transaction
given its history (serving): one batch implementation, which the serving function wraps.

All windowed sums are exact integer arithmetic; money stays in integer minor
units until it becomes a float inside the float32 feature vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.ai.feature_vocabulary import (
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    Float64Array,
    FloatArray,
    IntArray,
)
from services.ai.fraud_feature_names import (
    CATEGORY_PRIOR_STRENGTH,
    FRAUD_FEATURE_SET,
    FRAUD_FEATURE_SETS,
    GLOBAL_FRAUD_PRIOR,
    HISTORY_DAYS,
    KIND_CODE,
    MAX_AMOUNT_RATIO,
    MERCHANT_PRIOR_STRENGTH,
    NIGHT_END_HOUR,
)


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
        for name in (
            "amounts_minor",
            "utc_offsets",
            "categories",
            "countries",
            "devices",
            "kinds",
            "counterparties",
        ):
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
