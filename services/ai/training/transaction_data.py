"""The synthetic card data set (``TransactionData``), its size (``FraudDataConfig``) and the
building blocks its generators share: merchant ranges per category, a row buffer, local time."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.ai.features import (
    CATEGORIES,
    PAYMENT_KINDS,
    SECONDS_PER_DAY,
    IntArray,
    Txn,
    TxnColumns,
)
from services.ai.training.synthetic_population import (
    CAT,
    CATEGORY_MERCHANT_WEIGHT,
    COUNTRIES,
    FRAUD_PRONE_CATEGORIES,
    START_TIMESTAMP,
    TRANSFER_CATEGORY,
)


@dataclass(frozen=True)
class FraudDataConfig:
    """Size of a synthetic transaction data set."""

    n_customers: int
    n_days: int
    n_merchants: int
    mean_daily_txns: float = 0.55
    #: probability that a customer's card is compromised once in the period
    episode_probability: float = 0.2
    n_fraud_devices: int = 300
    #: customers who open their account during the period, per established customer
    new_customer_share: float = 0.0
    #: fraudulent accounts opened during the period, per established customer
    fraud_account_share: float = 0.0


@dataclass
class TransactionData:
    """All transactions, sorted by (customer, timestamp); codes index ``synthetic_population``."""

    customer: IntArray
    timestamp: IntArray
    amount_minor: IntArray
    category: IntArray
    merchant: IntArray
    country: IntArray
    device: IntArray
    utc_offset: IntArray
    is_fraud: IntArray
    pattern: IntArray
    monthly_income_minor: IntArray
    archetype: IntArray
    n_days: int
    start_timestamp: int = START_TIMESTAMP
    boundaries: IntArray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    #: per customer: index into COHORTS (all established when not given)
    cohort: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: per row: features.KIND_CODE (all card purchases when not given)
    kind: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: per row: the counterparty (merchant code, or a payee / funding instrument code); the merchant
    #: when not given
    counterparty: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n_customers = len(self.monthly_income_minor)
        self.boundaries = np.searchsorted(self.customer, np.arange(n_customers + 1)).astype(np.int64)
        if len(self.cohort) != n_customers:
            self.cohort = np.zeros(n_customers, dtype=np.int64)
        if len(self.kind) != len(self.timestamp):
            self.kind = np.zeros(len(self.timestamp), dtype=np.int64)
        if len(self.counterparty) != len(self.timestamp):
            self.counterparty = self.merchant.copy()

    def __len__(self) -> int:
        return len(self.timestamp)

    @property
    def day(self) -> IntArray:
        return (self.timestamp - self.start_timestamp) // SECONDS_PER_DAY

    def customer_rows(self, customer: int) -> slice:
        return slice(int(self.boundaries[customer]), int(self.boundaries[customer + 1]))

    def columns(self, rows: slice) -> TxnColumns:
        """One customer's rows as integer-coded feature columns (training path)."""
        return TxnColumns(
            timestamps=self.timestamp[rows],
            amounts_minor=self.amount_minor[rows],
            utc_offsets=self.utc_offset[rows],
            categories=self.category[rows],
            countries=self.country[rows],
            devices=self.device[rows],
            kinds=self.kind[rows],
            counterparties=self.counterparty[rows],
        )

    def txn(self, i: int) -> Txn:
        """Row ``i`` as the string-typed transaction serving receives."""
        kind = PAYMENT_KINDS[int(self.kind[i])]
        purchase = kind == "purchase"
        return Txn(
            timestamp=int(self.timestamp[i]),
            amount_minor=int(self.amount_minor[i]),
            merchant_id=merchant_id(int(self.merchant[i])) if purchase else f"cp_{int(self.counterparty[i])}",
            merchant_category=CATEGORIES[int(self.category[i])] if purchase else TRANSFER_CATEGORY,
            country=COUNTRIES[int(self.country[i])],
            device_id=f"dev_{int(self.device[i]):07d}",
            utc_offset_seconds=int(self.utc_offset[i]),
            kind=kind,
        )


def merchant_id(code: int) -> str:
    return f"mer_{code:05d}"


@dataclass(frozen=True)
class MerchantRanges:
    start: IntArray  # first merchant id of each category
    size: IntArray  # number of merchants of each category
    fraud_prone: IntArray  # number of fraud-prone merchants at the start of each category's range


def merchant_ranges(n_merchants: int) -> MerchantRanges:
    weights = np.array([CATEGORY_MERCHANT_WEIGHT[c] for c in CATEGORIES], dtype=np.float64)
    size = np.maximum(3, np.floor(weights / weights.sum() * n_merchants)).astype(np.int64)
    start = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(size)[:-1]))
    prone = np.zeros(len(CATEGORIES), dtype=np.int64)
    for c in FRAUD_PRONE_CATEGORIES:
        prone[CAT[c]] = max(1, round(0.05 * size[CAT[c]]))
    return MerchantRanges(start=start, size=size, fraud_prone=prone)


class RowBuffer:
    """Accumulates generated rows as Python lists (cheap appends), then arrays."""

    def __init__(self) -> None:
        self.cols: dict[str, list[npt.NDArray[np.int64]]] = {
            k: []
            for k in (
                "customer",
                "timestamp",
                "amount",
                "category",
                "merchant",
                "country",
                "device",
                "offset",
                "fraud",
                "pattern",
            )
        }

    def add(self, **values: npt.ArrayLike) -> None:
        n = len(np.atleast_1d(np.asarray(values["timestamp"])))
        for k, v in values.items():
            arr = np.asarray(v, dtype=np.int64)
            self.cols[k].append(np.broadcast_to(arr, (n,)) if arr.ndim == 0 else arr)

    def arrays(self) -> dict[str, IntArray]:
        return {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in self.cols.items()}


def local_to_utc(day: npt.ArrayLike, local_seconds: npt.ArrayLike, offset: int) -> IntArray:
    return np.asarray(
        START_TIMESTAMP
        + np.asarray(day, dtype=np.int64) * SECONDS_PER_DAY
        + np.asarray(local_seconds, dtype=np.int64)
        - offset,
        dtype=np.int64,
    )
