"""Synthetic data generators: card transactions with labelled fraud, credit
applicants with a default label, and daily balance / spending series.

Everything is drawn from one ``numpy.random.Generator`` passed in by the
caller, in a fixed order, so a seed fully determines the data. Money is int64
minor units (EUR cents) throughout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from services.ai.features import (
    CATEGORIES,
    PAYMENT_KINDS,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    ApplicantColumns,
    IntArray,
    Txn,
    TxnColumns,
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
    """All transactions, sorted by (customer, timestamp). Codes index the tables above."""

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
class _Merchants:
    start: IntArray  # first merchant id of each category
    size: IntArray  # number of merchants of each category
    fraud_prone: IntArray  # number of fraud-prone merchants at the start of each category's range


def _merchants(n_merchants: int) -> _Merchants:
    weights = np.array([CATEGORY_MERCHANT_WEIGHT[c] for c in CATEGORIES], dtype=np.float64)
    size = np.maximum(3, np.floor(weights / weights.sum() * n_merchants)).astype(np.int64)
    start = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(size)[:-1]))
    prone = np.zeros(len(CATEGORIES), dtype=np.int64)
    for c in FRAUD_PRONE_CATEGORIES:
        prone[CAT[c]] = max(1, round(0.05 * size[CAT[c]]))
    return _Merchants(start=start, size=size, fraud_prone=prone)


class _Rows:
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


def _local_to_utc(day: npt.ArrayLike, local_seconds: npt.ArrayLike, offset: int) -> IntArray:
    return np.asarray(
        START_TIMESTAMP
        + np.asarray(day, dtype=np.int64) * SECONDS_PER_DAY
        + np.asarray(local_seconds, dtype=np.int64)
        - offset,
        dtype=np.int64,
    )


def generate_transactions(config: FraudDataConfig, rng: np.random.Generator) -> TransactionData:
    """Card transactions of ``config.n_customers`` customers over ``config.n_days`` days.

    Legitimate behaviour: archetype-specific categories and amounts, favourite
    merchants, daily rhythm (some night owls), monthly subscriptions and
    utilities, trips abroad, device changes, occasional large purchases and
    shopping sprees. Fraud: one episode for some customers, one of
    card testing, account takeover, unusual merchant / hour, velocity spike or
    mimicry (looks normal), often at fraud-prone merchants.
    """
    merchants = _merchants(config.n_merchants)
    n_cat = len(CATEGORIES)
    medians = np.array([CATEGORY_MEDIAN_MINOR[c] for c in CATEGORIES], dtype=np.float64)
    arch_p = np.array([ARCHETYPES[a][0] for a in ARCHETYPE_NAMES])
    arch_p = arch_p / arch_p.sum()
    home_codes = [COUNTRY[c] for c, _ in HOME_COUNTRIES]
    home_p = np.array([p for _, p in HOME_COUNTRIES])
    home_p = home_p / home_p.sum()
    rows = _Rows()
    incomes = np.zeros(config.n_customers, dtype=np.int64)
    archetypes = np.zeros(config.n_customers, dtype=np.int64)
    next_device = 1_000
    fraud_devices = np.arange(config.n_fraud_devices, dtype=np.int64) + 1  # 1..n, shared by fraud rings
    end_ts = START_TIMESTAMP + config.n_days * SECONDS_PER_DAY
    n_days = config.n_days

    def pick_merchant(cats: IntArray, favourites: IntArray | None, prone_share: float) -> IntArray:
        n = len(cats)
        size = merchants.size[cats]
        offset = rng.integers(0, size)
        if favourites is not None:
            use_fav = rng.random(n) < 0.8
            fav = favourites[cats, rng.integers(0, favourites.shape[1], n)]
            offset = np.where(use_fav, fav, offset)
        if prone_share > 0:
            prone = merchants.fraud_prone[cats]
            use_prone = (rng.random(n) < prone_share) & (prone > 0)
            offset = np.where(use_prone, rng.integers(0, np.maximum(prone, 1)), offset)
        return np.asarray(merchants.start[cats] + offset, dtype=np.int64)

    for c in range(config.n_customers):
        a = int(rng.choice(len(ARCHETYPE_NAMES), p=arch_p))
        archetypes[c] = a
        _, spend_mult, weights = ARCHETYPES[ARCHETYPE_NAMES[a]]
        w = np.array([weights.get(cat, 0.0) for cat in CATEGORIES], dtype=np.float64)
        w = w * rng.gamma(4.0, 0.25, n_cat)
        w = w / w.sum()
        wealth = spend_mult * float(rng.lognormal(0.0, 0.4))
        incomes[c] = int(round(250_000 * wealth * float(rng.lognormal(0.0, 0.25)), -2))
        home = int(rng.choice(home_codes, p=home_p))
        offset = UTC_OFFSET_SECONDS[COUNTRIES[home]]
        rate = config.mean_daily_txns * float(rng.gamma(4.0, 0.25))
        night_owl = bool(rng.random() < 0.12)
        primary = next_device
        second = next_device + 1 if rng.random() < 0.4 else -1
        replacement = next_device + 2
        next_device += 3
        change_day = int(rng.integers(0, n_days)) if rng.random() < 0.25 else n_days + 1
        favourites = rng.integers(0, merchants.size[:, None], size=(n_cat, 3))
        typical = float(medians[CAT["grocery"]] * wealth)

        def hours(n: int, owl: bool = night_owl) -> npt.NDArray[np.float64]:
            if owl:
                return np.asarray(np.mod(rng.normal(21.0, 4.5, n), 24.0))
            return np.asarray(np.clip(rng.normal(13.5, 3.8, n), 6.0, 23.99))

        def devices_for(
            day: IntArray,
            change_day: int = change_day,
            devices: tuple[int, int, int] = (primary, second, replacement),
        ) -> IntArray:
            """Device per transaction: sometimes the second one, a new one after a change."""
            first, other, new = devices
            base = np.where(day >= change_day, new, first)
            if other >= 0:
                base = np.where(rng.random(len(day)) < 0.15, other, base)
            return np.asarray(base, dtype=np.int64)

        # everyday purchases
        n = int(rng.poisson(rate * n_days))
        day = rng.integers(0, n_days, n)
        local = (hours(n) * SECONDS_PER_HOUR).astype(np.int64)
        cats = rng.choice(n_cat, n, p=w)
        amount = medians[cats] * wealth * rng.lognormal(0.0, 0.55, n)
        amount = np.where(
            cats == CAT["cash_withdrawal"], np.maximum(2_000, np.round(amount / 2_000) * 2_000), amount
        )
        country = np.full(n, home, dtype=np.int64)
        if rng.random() < 0.3:  # one trip abroad
            dest = COUNTRY[str(rng.choice(TRAVEL_COUNTRIES))]
            if dest != home:
                t0 = int(rng.integers(0, max(1, n_days - 3)))
                t1 = t0 + int(rng.integers(3, 13))
                away = (day >= t0) & (day < t1) & (rng.random(n) < 0.9)
                country = np.where(away, dest, country)
        rows.add(
            customer=c,
            timestamp=_local_to_utc(day, local, offset),
            amount=np.maximum(50, amount),
            category=cats,
            merchant=pick_merchant(cats, favourites, 0.0),
            country=country,
            device=devices_for(day),
            offset=offset,
            fraud=0,
            pattern=0,
        )

        # monthly subscriptions and utilities (fixed merchant, about fixed amount)
        n_subs = min(5, int(rng.poisson(1.3)))
        recurring = [
            ("subscriptions", int(rng.choice([499, 799, 999, 1299, 1499, 1799, 2499]))) for _ in range(n_subs)
        ]
        if rng.random() < 0.5:
            recurring.append(("utilities", int(round(float(rng.uniform(6_000, 15_000)) * wealth, -1))))
        for cat_name, amt in recurring:
            k = CAT[cat_name]
            merchant = int(merchants.start[k] + rng.integers(0, merchants.size[k]))
            first = int(rng.integers(0, 30))
            days = np.arange(first, n_days, 30, dtype=np.int64)
            local = np.full(len(days), int(rng.integers(6, 10)) * SECONDS_PER_HOUR, dtype=np.int64)
            jitter = rng.integers(-amt // 50, amt // 50 + 1, len(days)) if cat_name == "utilities" else 0
            rows.add(
                customer=c,
                timestamp=_local_to_utc(days, local, offset),
                amount=amt + jitter,
                category=k,
                merchant=merchant,
                country=home,
                device=devices_for(days),
                offset=offset,
                fraud=0,
                pattern=0,
            )

        # a legitimate large purchase
        if rng.random() < 0.6 * n_days / 150:
            k = CAT[str(rng.choice(["electronics", "travel", "jewelry"], p=[0.6, 0.3, 0.1]))]
            d = rng.integers(0, n_days, 1)
            rows.add(
                customer=c,
                timestamp=_local_to_utc(d, (hours(1, False) * 3600).astype(np.int64), offset),
                amount=int(typical * float(rng.uniform(5, 15))),
                category=k,
                merchant=pick_merchant(np.array([k]), None, 0.0),
                country=home,
                device=devices_for(d),
                offset=offset,
                fraud=0,
                pattern=0,
            )

        # a legitimate shopping spree
        if rng.random() < 0.25:
            m = int(rng.integers(4, 9))
            d = np.full(m, int(rng.integers(0, n_days)), dtype=np.int64)
            t = int(rng.integers(10, 18)) * SECONDS_PER_HOUR + np.cumsum(rng.integers(300, 2_400, m))
            spree_cats = rng.choice(
                [CAT["clothing"], CAT["online_retail"], CAT["restaurants"], CAT["entertainment"]], m
            )
            rows.add(
                customer=c,
                timestamp=_local_to_utc(d, t, offset),
                amount=np.maximum(50, medians[spree_cats] * wealth * rng.lognormal(0.0, 0.4, m)).astype(
                    np.int64
                ),
                category=spree_cats,
                merchant=pick_merchant(spree_cats, favourites, 0.0),
                country=home,
                device=devices_for(d),
                offset=offset,
                fraud=0,
                pattern=0,
            )

        # fraud episode
        if rng.random() < config.episode_probability:
            pattern = 1 + int(rng.choice(len(PATTERN_PROBABILITIES), p=PATTERN_PROBABILITIES))
            t_start = START_TIMESTAMP + int(rng.integers(SECONDS_PER_DAY, n_days * SECONDS_PER_DAY))
            fraud_device = int(rng.choice(fraud_devices))
            name = FRAUD_PATTERNS[pattern]
            if name == "card_testing":
                m = int(rng.integers(3, 11))
                ts = t_start + np.cumsum(rng.exponential(120.0, m)).astype(np.int64)
                ep_amt = rng.integers(50, 500, m)
                cats = rng.choice([CAT["online_retail"], CAT["subscriptions"]], m)
                if rng.random() < 0.6:  # cash out after the test
                    n_cash = int(rng.integers(1, 4))
                    ts = np.concatenate((ts, ts[-1] + np.cumsum(rng.integers(600, 6 * 3600, n_cash))))
                    ep_amt = np.concatenate((ep_amt, (typical * rng.uniform(2, 20, n_cash)).astype(np.int64)))
                    cats = np.concatenate((cats, rng.choice([CAT["electronics"], CAT["jewelry"]], n_cash)))
                m = len(ts)
                ctry = COUNTRY[str(rng.choice(FRAUD_COUNTRIES))] if rng.random() < 0.5 else home
                dev: IntArray | int = fraud_device
                prone_share = 0.7
            elif name == "account_takeover":
                m = int(rng.integers(1, 4))
                ts = t_start + np.cumsum(rng.integers(60, 7_200, m))
                ep_amt = (typical * rng.uniform(5, 25, m)).astype(np.int64)
                cats = rng.choice(
                    [CAT[x] for x in ("electronics", "jewelry", "travel", "crypto", "cash_withdrawal")], m
                )
                ctry = COUNTRY[str(rng.choice(FRAUD_COUNTRIES))] if rng.random() < 0.75 else home
                dev = fraud_device
                prone_share = 0.5
            elif name == "unusual_merchant_hour":
                m = int(rng.integers(1, 4))
                ep_day = (t_start - START_TIMESTAMP) // SECONDS_PER_DAY
                ep_local = int(rng.integers(0, 6 * SECONDS_PER_HOUR))
                ts = _local_to_utc(
                    np.full(m, ep_day), ep_local + np.cumsum(rng.integers(60, 1_800, m)), offset
                )
                ep_amt = (typical * rng.uniform(2, 8, m)).astype(np.int64)
                cats = rng.choice([CAT[x] for x in ("gambling", "crypto", "jewelry", "electronics")], m)
                ctry = home
                dev = fraud_device if rng.random() < 0.5 else primary
                prone_share = 0.5
            elif name == "velocity_spike":
                m = int(rng.integers(6, 16))
                ts = t_start + np.cumsum(rng.exponential(float(rng.uniform(300, 1_500)), m)).astype(np.int64)
                cats = rng.choice(n_cat, m, p=w)
                ep_amt = (medians[cats] * wealth * rng.uniform(0.8, 3.0, m)).astype(np.int64)
                ctry = home if rng.random() < 0.7 else COUNTRY[str(rng.choice(FRAUD_COUNTRIES))]
                dev = fraud_device if rng.random() < 0.5 else primary
                prone_share = 0.3
            else:  # mimicry: looks like the customer's own spending
                m = int(rng.integers(1, 3))
                ep_day = (t_start - START_TIMESTAMP) // SECONDS_PER_DAY
                ts = _local_to_utc(np.full(m, ep_day), (hours(m) * SECONDS_PER_HOUR).astype(np.int64), offset)
                cats = rng.choice(n_cat, m, p=w)
                ep_amt = (medians[cats] * wealth * rng.lognormal(0.0, 0.55, m)).astype(np.int64)
                ctry = home
                dev = primary
                prone_share = 0.2
            ts = np.asarray(ts, dtype=np.int64)
            cats = np.asarray(cats, dtype=np.int64)
            rows.add(
                customer=c,
                timestamp=ts,
                amount=np.maximum(50, ep_amt),
                category=cats,
                merchant=pick_merchant(cats, None, prone_share),
                country=ctry,
                device=dev,
                offset=offset,
                fraud=1,
                pattern=pattern,
            )

    # Drawn after every established customer, so those keep exactly the same data.
    n_new = round(config.new_customer_share * config.n_customers)
    n_bad = round(config.fraud_account_share * config.n_customers)
    cohorts = [np.zeros(config.n_customers, dtype=np.int64)]
    extra_income: list[int] = []
    extra_arch: list[int] = []
    c = config.n_customers
    for k in range(n_new + n_bad):
        legit = k < n_new
        a = int(rng.choice(len(ARCHETYPE_NAMES), p=arch_p))
        _, spend_mult, weights = ARCHETYPES[ARCHETYPE_NAMES[a]]
        w = np.array([weights.get(cat, 0.0) for cat in CATEGORIES], dtype=np.float64)
        w = w * rng.gamma(4.0, 0.25, n_cat)
        w = w / w.sum()
        wealth = spend_mult * float(rng.lognormal(0.0, 0.4))
        extra_income.append(int(round(250_000 * wealth * float(rng.lognormal(0.0, 0.25)), -2)))
        extra_arch.append(a)
        home = int(rng.choice(home_codes, p=home_p))
        offset = UTC_OFFSET_SECONDS[COUNTRIES[home]]
        join_day = int(rng.integers(0, n_days))
        join_local = int(np.clip(rng.normal(14.0, 4.0), 7.0, 23.5) * SECONDS_PER_HOUR)
        join_ts = int(_local_to_utc(join_day, join_local, offset))
        if legit:
            _onboard_customer(
                rows,
                rng,
                c,
                join_day,
                join_ts,
                n_days,
                home,
                offset,
                wealth,
                w,
                next_device,
                medians,
                pick_merchant,
            )
            cohorts.append(np.ones(1, dtype=np.int64))
        else:
            _fraud_account(
                rows,
                rng,
                c,
                join_ts,
                home,
                offset,
                wealth,
                next_device,
                int(rng.choice(fraud_devices)),
                medians,
                pick_merchant,
            )
            cohorts.append(np.full(1, 2, dtype=np.int64))
        next_device += 2
        c += 1
    incomes = np.concatenate((incomes, np.array(extra_income, dtype=np.int64)))
    archetypes = np.concatenate((archetypes, np.array(extra_arch, dtype=np.int64)))

    cols = rows.arrays()
    keep = (cols["timestamp"] >= START_TIMESTAMP) & (cols["timestamp"] < end_ts)
    cols = {k: v[keep] for k, v in cols.items()}
    order = np.lexsort((np.arange(len(cols["timestamp"])), cols["timestamp"], cols["customer"]))
    cols = {k: v[order] for k, v in cols.items()}
    return TransactionData(
        customer=cols["customer"],
        timestamp=cols["timestamp"],
        amount_minor=cols["amount"],
        category=cols["category"],
        merchant=cols["merchant"],
        country=cols["country"],
        device=cols["device"],
        utc_offset=cols["offset"],
        is_fraud=cols["fraud"],
        pattern=cols["pattern"],
        monthly_income_minor=incomes,
        archetype=archetypes,
        n_days=n_days,
        cohort=np.concatenate(cohorts),
    )


def _onboard_customer(
    rows: _Rows,
    rng: np.random.Generator,
    c: int,
    join_day: int,
    join_ts: int,
    n_days: int,
    home: int,
    offset: int,
    wealth: float,
    w: npt.NDArray[np.float64],
    device: int,
    medians: npt.NDArray[np.float64],
    pick_merchant: Callable[[IntArray, IntArray | None, float], IntArray],
) -> None:
    """A legitimate customer opening their account at ``join_ts``.

    Onboarding: a first top-up or purchase of an ordinary size (5 to 300
    euros), often followed
    within minutes by one to three more ordinary payments on the same device in
    the home country; then everyday spending from the
    join day on, and monthly subscriptions. No fraud: this cohort teaches the
    model what "no history yet" looks like for a good customer.
    """
    n_cat = len(CATEGORIES)
    second = device + 1 if rng.random() < 0.3 else -1
    first_cat = rng.choice(n_cat, 1, p=w)
    first_amt = np.clip(rng.lognormal(np.log(4_000.0 * max(wealth, 0.5)), 0.8, 1), 500, 30_000)
    n_quick = int(rng.choice([0, 1, 2, 3], p=[0.35, 0.35, 0.2, 0.1]))
    quick_ts = join_ts + np.cumsum(30 + rng.exponential(300.0, n_quick)).astype(np.int64)
    quick_cats = rng.choice(n_cat, n_quick, p=w)
    quick_amt = medians[quick_cats] * wealth * rng.lognormal(0.0, 0.55, n_quick)
    ts = np.concatenate((np.array([join_ts], dtype=np.int64), quick_ts))
    cats = np.concatenate((first_cat, quick_cats)).astype(np.int64)
    amt = np.concatenate((first_amt, quick_amt))
    rate = 0.55 * float(rng.gamma(4.0, 0.25))
    remaining = n_days - join_day
    n = int(rng.poisson(rate * remaining))
    day = join_day + rng.integers(0, remaining, n)
    hour = np.clip(rng.normal(13.5, 3.8, n), 6.0, 23.99)
    later = _local_to_utc(day, (hour * SECONDS_PER_HOUR).astype(np.int64), offset)
    later_cats = rng.choice(n_cat, n, p=w)
    later_amt = medians[later_cats] * wealth * rng.lognormal(0.0, 0.55, n)
    after = later > ts[-1]
    ts = np.concatenate((ts, later[after]))
    cats = np.concatenate((cats, later_cats[after]))
    amt = np.concatenate((amt, later_amt[after]))
    if rng.random() < 0.5:  # a subscription started after joining
        k = CAT["subscriptions"]
        days = np.arange(join_day + int(rng.integers(1, 20)), n_days, 30, dtype=np.int64)
        sub_ts = _local_to_utc(days, np.full(len(days), 8 * SECONDS_PER_HOUR), offset)
        ts = np.concatenate((ts, sub_ts))
        cats = np.concatenate((cats, np.full(len(days), k, dtype=np.int64)))
        amt = np.concatenate((amt, np.full(len(days), float(rng.choice([499, 999, 1299])))))
    dev = np.full(len(ts), device, dtype=np.int64)
    if second >= 0:
        dev = np.where((rng.random(len(ts)) < 0.15) & (ts > join_ts + 7 * SECONDS_PER_DAY), second, dev)
    rows.add(
        customer=c,
        timestamp=ts,
        amount=np.maximum(50, amt).astype(np.int64),
        category=cats,
        merchant=pick_merchant(cats, None, 0.0),
        country=home,
        device=dev,
        offset=offset,
        fraud=0,
        pattern=0,
    )


def _fraud_account(
    rows: _Rows,
    rng: np.random.Generator,
    c: int,
    join_ts: int,
    home: int,
    offset: int,
    wealth: float,
    own_device: int,
    ring_device: int,
    medians: npt.NDArray[np.float64],
    pick_merchant: Callable[[IntArray, IntArray | None, float], IntArray],
) -> None:
    """An account opened to commit fraud: every transaction is fraudulent.

    ``new_account_card_testing``: a burst of 3 to 12 attempts of 0.50 to 5 euros,
    seconds apart, at different (often fraud-prone) online merchants, sometimes
    cashed out minutes to hours later with large purchases.
    ``new_account_cash_out``: sometimes one small warm-up purchase, then two to
    five large purchases of risky goods within hours.
    Device and country are consistent within the account (the fraudster's own).
    """
    pattern_offset = FRAUD_PATTERNS.index("new_account_card_testing")
    kind = int(rng.choice(len(NEW_ACCOUNT_PATTERN_PROBABILITIES), p=NEW_ACCOUNT_PATTERN_PROBABILITIES))
    typical = float(medians[CAT["grocery"]] * max(wealth, 0.5))
    risky = [CAT[x] for x in ("electronics", "jewelry", "crypto", "gambling", "online_retail")]
    if kind == 0:
        m = int(rng.integers(3, 13))
        ts = join_ts + np.cumsum(5 + rng.exponential(40.0, m)).astype(np.int64) - 5
        amt = rng.integers(50, 500, m).astype(np.float64)
        cats = rng.choice([CAT["online_retail"], CAT["subscriptions"], CAT["entertainment"]], m)
        if rng.random() < 0.6:
            n_cash = int(rng.integers(1, 4))
            ts = np.concatenate((ts, ts[-1] + np.cumsum(rng.integers(300, 6 * SECONDS_PER_HOUR, n_cash))))
            amt = np.concatenate((amt, typical * rng.uniform(3, 30, n_cash)))
            cats = np.concatenate((cats, rng.choice(risky[:4], n_cash)))
        prone_share = 0.6
    else:
        m = int(rng.integers(2, 6))
        ts = join_ts + np.concatenate(([0], np.cumsum(rng.integers(120, 3 * SECONDS_PER_HOUR, m - 1))))
        amt = typical * rng.uniform(4, 30, m)
        cats = rng.choice(risky, m)
        if rng.random() < 0.3:  # a small warm-up purchase first
            amt[0] = float(rng.uniform(500, 3_000))
            cats[0] = CAT["online_retail"]
        prone_share = 0.5
    ctry = home if rng.random() < 0.7 else COUNTRY[str(rng.choice(FRAUD_COUNTRIES))]
    dev = own_device if rng.random() < 0.5 else ring_device
    cats = np.asarray(cats, dtype=np.int64)
    rows.add(
        customer=c,
        timestamp=np.asarray(ts, dtype=np.int64),
        amount=np.maximum(50, amt).astype(np.int64),
        category=cats,
        merchant=pick_merchant(cats, None, prone_share),
        country=ctry,
        device=dev,
        offset=offset,
        fraud=1,
        pattern=pattern_offset + kind,
    )


# ---------------------------------------------------------------------------
# Credit applicants
# ---------------------------------------------------------------------------


def generate_applicants(n: int, rng: np.random.Generator) -> tuple[ApplicantColumns, IntArray]:
    """``n`` credit applicants and whether each defaulted within 12 months.

    A latent (unobserved) creditworthiness drives both the observed inputs and
    the default; the default log-odds are monotone in every observed input,
    with a steeper penalty for utilization above 80 %.
    """
    z = rng.normal(0.0, 1.0, n)
    income = np.round(np.exp(rng.normal(np.log(4_500_000.0), 0.5, n) + 0.15 * z), -2)
    dti = np.clip(rng.beta(2.0, 5.0, n) * 0.8 - 0.05 * z, 0.0, 1.2)
    debt = np.round(dti * income / 12.0)
    thin = rng.random(n) < 0.1
    history = np.where(thin, rng.integers(0, 13, n), np.clip(rng.gamma(2.0, 45.0, n) + 12.0 * z, 0, 600))
    history = np.floor(history)
    limit = np.where(rng.random(n) < 0.08, 0.0, np.round(income * rng.uniform(0.05, 0.4, n), -2))
    util = np.clip(rng.beta(1.3, 3.0, n) - 0.12 * z, 0.0, 1.3)
    balance = np.round(util * limit)
    delinquencies = rng.poisson(np.exp(-1.6 - 0.8 * z))
    inquiries = rng.poisson(np.exp(-0.3 - 0.3 * z))
    observed_util = np.where(limit > 0, balance / np.maximum(limit, 1.0), 0.0)
    risk = (
        -0.55 * np.log(income / 4_500_000.0)
        + 2.2 * (12.0 * debt / income)
        + 2.0 * observed_util
        + 1.5 * np.maximum(observed_util - 0.8, 0.0)
        + 0.45 * delinquencies
        - 0.3 * np.log1p(history / 12.0)
        + 0.1 * inquiries
        - 0.3 * z
    )
    logit = -3.6 + 1.25 * (risk - 0.9)
    default = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    cols = ApplicantColumns(
        annual_income_minor=income.astype(np.int64),
        monthly_debt_payments_minor=debt.astype(np.int64),
        credit_history_months=history.astype(np.int64),
        revolving_balance_minor=balance.astype(np.int64),
        revolving_limit_minor=limit.astype(np.int64),
        delinquencies_2y=delinquencies.astype(np.int64),
        inquiries_6m=inquiries.astype(np.int64),
    )
    return cols, default


# ---------------------------------------------------------------------------
# Daily series
# ---------------------------------------------------------------------------

SERIES_KINDS: tuple[str, ...] = ("balance", "spending")


def _weekly(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    base = np.array([0.9, 0.9, 0.95, 1.0, 1.15, 1.35, 1.0]) * (1.0 + rng.normal(0.0, 0.1, 7))
    base = np.maximum(base, 0.3)
    return np.asarray(base / base.mean())


def generate_series(n_series: int, n_days: int, rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Daily series in cents: end-of-day balances and daily spending totals.

    Returns (series of shape (n_series, n_days), kind index into SERIES_KINDS).
    Spending: level x (1 + drift) x weekday pattern x noise, with rare spikes.
    Balance: salary monthly or every two weeks minus such spending, so the
    balance trends with the savings rate and saw-tooths around paydays.
    """
    out = np.zeros((n_series, n_days), dtype=np.int64)
    kinds = np.zeros(n_series, dtype=np.int64)
    t = np.arange(n_days, dtype=np.float64)
    for i in range(n_series):
        kind = int(rng.integers(0, 2))
        kinds[i] = kind
        weekly = np.roll(_weekly(rng), int(rng.integers(0, 7)))[np.arange(n_days) % 7]
        noise_sd = float(rng.uniform(0.08, 0.3))
        if SERIES_KINDS[kind] == "spending":
            level = float(rng.lognormal(np.log(6_000.0), 0.6))
            drift = 1.0 + float(np.clip(rng.normal(0.0, 0.004), -0.004, 0.01)) * t
            spikes = np.where(rng.random(n_days) < 0.02, rng.uniform(2.0, 4.0, n_days), 1.0)
            values = level * drift * weekly * rng.lognormal(0.0, noise_sd, n_days) * spikes
            out[i] = np.round(np.maximum(values, 0.0)).astype(np.int64)
        else:
            salary = float(rng.lognormal(np.log(250_000.0), 0.4))
            savings = float(np.clip(rng.normal(0.05, 0.15), -0.3, 0.5))
            period = 30 if rng.random() < 0.7 else 14
            pay = np.where(
                (np.arange(n_days) + int(rng.integers(0, period))) % period == 0, salary * period / 30.0, 0.0
            )
            spend = salary * (1.0 - savings) / 30.0 * weekly * rng.lognormal(0.0, noise_sd, n_days)
            balance = salary * float(rng.uniform(0.3, 2.0)) + np.cumsum(pay - spend)
            floor = salary * 0.5
            if balance.min() < floor:
                balance = balance + (floor - balance.min())
            out[i] = np.round(balance).astype(np.int64)
    return out, kinds
