"""The generator of the synthetic card transactions with labelled fraud (``generate_transactions``).

Everything is drawn from the one ``numpy.random.Generator`` passed in, in a
fixed order, so a seed fully determines the data."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.ai.features import (
    CATEGORIES,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    IntArray,
)
from services.ai.training.account_cohorts import fraud_account, onboard_customer
from services.ai.training.synthetic_population import (
    ARCHETYPE_NAMES,
    ARCHETYPES,
    CAT,
    CATEGORY_MEDIAN_MINOR,
    COUNTRIES,
    COUNTRY,
    FRAUD_COUNTRIES,
    FRAUD_PATTERNS,
    HOME_COUNTRIES,
    PATTERN_PROBABILITIES,
    START_TIMESTAMP,
    TRAVEL_COUNTRIES,
    UTC_OFFSET_SECONDS,
)
from services.ai.training.transaction_data import (
    FraudDataConfig,
    RowBuffer,
    TransactionData,
    local_to_utc,
    merchant_ranges,
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
    merchants = merchant_ranges(config.n_merchants)
    n_cat = len(CATEGORIES)
    medians = np.array([CATEGORY_MEDIAN_MINOR[c] for c in CATEGORIES], dtype=np.float64)
    arch_p = np.array([ARCHETYPES[a][0] for a in ARCHETYPE_NAMES])
    arch_p = arch_p / arch_p.sum()
    home_codes = [COUNTRY[c] for c, _ in HOME_COUNTRIES]
    home_p = np.array([p for _, p in HOME_COUNTRIES])
    home_p = home_p / home_p.sum()
    rows = RowBuffer()
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
            timestamp=local_to_utc(day, local, offset),
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
                timestamp=local_to_utc(days, local, offset),
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
                timestamp=local_to_utc(d, (hours(1, False) * 3600).astype(np.int64), offset),
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
                timestamp=local_to_utc(d, t, offset),
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
                ts = local_to_utc(
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
                ts = local_to_utc(np.full(m, ep_day), (hours(m) * SECONDS_PER_HOUR).astype(np.int64), offset)
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
        join_ts = int(local_to_utc(join_day, join_local, offset))
        if legit:
            onboard_customer(
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
            fraud_account(
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
