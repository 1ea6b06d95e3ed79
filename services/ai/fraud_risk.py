"""Label-delayed merchant and category risk counts for the fraud features.

A fraud label is known only some days after its transaction (chargebacks,
customer claims), so risk counted for a transaction may use only labels old
enough to have been known then.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.ai.feature_vocabulary import SECONDS_PER_DAY, IntArray
from services.ai.fraud_feature_names import LABEL_DELAY_DAYS, RISK_WINDOW_DAYS


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
