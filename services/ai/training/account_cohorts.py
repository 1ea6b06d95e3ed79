"""The rows of accounts opened during the period: an onboarding customer's first weeks and a
fraudulent account's cash-out (cohorts of ``generate_transactions``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from services.ai.features import (
    CATEGORIES,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    IntArray,
)
from services.ai.training.synthetic_population import (
    CAT,
    COUNTRY,
    FRAUD_COUNTRIES,
    FRAUD_PATTERNS,
    NEW_ACCOUNT_PATTERN_PROBABILITIES,
)
from services.ai.training.transaction_data import RowBuffer, local_to_utc


def onboard_customer(
    rows: RowBuffer,
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
    later = local_to_utc(day, (hour * SECONDS_PER_HOUR).astype(np.int64), offset)
    later_cats = rng.choice(n_cat, n, p=w)
    later_amt = medians[later_cats] * wealth * rng.lognormal(0.0, 0.55, n)
    after = later > ts[-1]
    ts = np.concatenate((ts, later[after]))
    cats = np.concatenate((cats, later_cats[after]))
    amt = np.concatenate((amt, later_amt[after]))
    if rng.random() < 0.5:  # a subscription started after joining
        k = CAT["subscriptions"]
        days = np.arange(join_day + int(rng.integers(1, 20)), n_days, 30, dtype=np.int64)
        sub_ts = local_to_utc(days, np.full(len(days), 8 * SECONDS_PER_HOUR), offset)
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


def fraud_account(
    rows: RowBuffer,
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
