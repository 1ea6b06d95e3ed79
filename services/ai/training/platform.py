"""The platform's own payments, added to the card data for the fraud model (fraud 1.2.0 on).

The card generator (``data.generate_transactions``) only knows card purchases at
merchants. A NexaFi customer also loads their wallet from a card, pays friends,
splits bills and sends money out to their bank account; without those in the
data, ordinary platform use looked like fraud (a first 4.50 EUR transfer, five
friends paid in a row seconds apart, repeated 10 to 50 EUR top-ups). This module
draws, for the same customers, in their home time zone, on every day of the week
and at every hour:

* **wallet top-ups** from one or two funding cards: ordinary amounts, sometimes a
  few in a row within seconds from the same card (a customer topping up again);
* **salary-day top-ups**: once a month on the customer's payday, 20 to 70 % of
  their monthly income, often in the small hours when the salary arrives;
* **P2P transfers** to a circle of friends that grows over time (a first
  transfer to a friend is a new payee), small amounts included;
* **paying several friends in a row**: two to seven transfers of the same amount
  0 to 40 seconds apart (splitting a bill), mostly evenings and weekends;
* **payouts** to the customer's own bank account;
* for customers who join during the period, a **first payment** at any hour
  before their first card purchase: mostly a first top-up (1 to 200 euros, one
  in five 200 to 1,500 euros when a salary is moved over; sometimes repeated from
  the same card within seconds), else a first transfer of 1 to 20 euros; often
  followed by paying friends.

And fraud on the platform's payments (pattern codes after the card patterns):

* ``top_up_card_testing``: a fraudulent account loads the wallet from several
  different stolen cards within minutes, then sends the money out to a new payee
  or a new bank account;
* ``p2p_account_takeover``: an established customer's account, taken over from a
  new device (often abroad, often at night), sends large transfers or a payout
  to new counterparties;
* ``new_account_p2p_cash_out``: a fraudulent account tops up a large amount from
  one card and sends it on within minutes.

Everything is drawn from the generator passed in, after the card data, so the
card data (and the models trained on them alone) are unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from services.ai.features import KIND_CODE, SECONDS_PER_DAY, SECONDS_PER_HOUR, IntArray
from services.ai.training.data import (
    COHORTS,
    COUNTRY,
    FRAUD_COUNTRIES,
    FRAUD_PATTERNS,
    START_TIMESTAMP,
    TRANSFER_CATEGORY_CODE,
    TRAVEL_COUNTRIES,
    TransactionData,
)

#: Fraud pattern codes of the platform's payments, after data.FRAUD_PATTERNS.
PLATFORM_FRAUD_PATTERNS: tuple[str, ...] = (
    "top_up_card_testing",
    "p2p_account_takeover",
    "new_account_p2p_cash_out",
)
ALL_FRAUD_PATTERNS: tuple[str, ...] = (*FRAUD_PATTERNS, *PLATFORM_FRAUD_PATTERNS)
PATTERN_CODE = {name: i for i, name in enumerate(ALL_FRAUD_PATTERNS)}

#: Ordinary-behaviour scenarios tagged on legitimate platform rows (0 = none), for the
#: held-out evaluation of what a customer meets first.
SCENARIOS: tuple[str, ...] = (
    "none",
    "first_payment",
    "top_up",
    "repeat_top_up",
    "salary_top_up",
    "p2p",
    "friends_in_a_row",
    "payout",
)
SCENARIO = {name: i for i, name in enumerate(SCENARIOS)}

# Counterparty codes live in their own ranges, apart from merchant codes.
_CARD_BASE = 20_000_000
_BANK_BASE = 30_000_000
_FRIEND_BASE = 40_000_000
_FRAUD_DEVICE_BASE = 90_000_000

TOP_UP_AMOUNTS_EUR = (10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200, 250, 300)


@dataclass(frozen=True)
class PlatformConfig:
    """How much of the platform each customer uses."""

    #: share of established customers who also use the wallet (new customers all do)
    wallet_share: float = 0.6
    top_ups_per_day: float = 0.08
    p2p_per_day: float = 0.1
    splits_per_day: float = 1 / 25
    payouts_per_day: float = 1 / 40
    #: established customers whose account is taken over during the period
    takeover_probability: float = 0.03
    #: fraudulent accounts opened to cash out through the wallet, per established customer
    fraud_account_share: float = 0.012


@dataclass
class PlatformData:
    """The card data with the platform's payments merged in, and per-row scenario tags."""

    data: TransactionData
    scenario: IntArray


class _Out:
    def __init__(self) -> None:
        self.cols: dict[str, list[IntArray]] = {
            k: []
            for k in (
                "customer",
                "timestamp",
                "amount",
                "country",
                "device",
                "offset",
                "fraud",
                "pattern",
                "kind",
                "counterparty",
                "scenario",
            )
        }

    def add(self, **values: npt.ArrayLike) -> None:
        n = len(np.atleast_1d(np.asarray(values["timestamp"])))
        for k, v in values.items():
            arr = np.asarray(v, dtype=np.int64)
            self.cols[k].append(np.broadcast_to(arr, (n,)).copy() if arr.ndim == 0 else arr)

    def arrays(self) -> dict[str, IntArray]:
        return {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in self.cols.items()}


def _mode(values: IntArray) -> int:
    uniq, counts = np.unique(values, return_counts=True)
    return int(uniq[np.argmax(counts)])


def _local_hours(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """Any hour of the day: mostly daytime, a fifth spread over all 24 hours (nights included)."""
    day = np.mod(rng.normal(15.0, 4.5, n), 24.0)
    anytime = rng.uniform(0.0, 24.0, n)
    return np.asarray(np.where(rng.random(n) < 0.2, anytime, day))


def _evening_hours(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    """Splitting a bill: after lunch or dinner, late nights included."""
    lunch = rng.uniform(12.0, 15.0, n)
    evening = np.mod(rng.uniform(19.0, 27.0, n), 24.0)
    anytime = rng.uniform(0.0, 24.0, n)
    pick = rng.random(n)
    return np.asarray(np.where(pick < 0.25, lunch, np.where(pick < 0.85, evening, anytime)))


def _round_eur(amount_cents: npt.ArrayLike, step_eur: int) -> IntArray:
    step = step_eur * 100
    return np.maximum(step, np.round(np.asarray(amount_cents, dtype=np.float64) / step) * step).astype(
        np.int64
    )


def add_platform_payments(
    card: TransactionData, config: PlatformConfig, rng: np.random.Generator
) -> PlatformData:
    """``card`` plus every customer's wallet payments (and platform fraud), sorted by (customer, time)."""
    n_days = card.n_days
    end_ts = card.start_timestamp + n_days * SECONDS_PER_DAY
    calendar = np.datetime64("2025-01-06") + np.arange(n_days + 40)
    day_of_month = (calendar - calendar.astype("datetime64[M]")).astype(np.int64) + 1
    out = _Out()
    n_card_customers = len(card.monthly_income_minor)
    next_card = _CARD_BASE
    next_bank = _BANK_BASE
    next_fraud_device = _FRAUD_DEVICE_BASE
    friend_pool = max(50, 3 * n_card_customers)
    home_offsets = np.zeros(n_card_customers, dtype=np.int64)

    def when(day: npt.ArrayLike, hours: npt.ArrayLike, offset: int) -> IntArray:
        local = (np.asarray(hours, dtype=np.float64) * SECONDS_PER_HOUR).astype(np.int64)
        return np.asarray(
            START_TIMESTAMP + np.asarray(day, dtype=np.int64) * SECONDS_PER_DAY + local - offset,
            dtype=np.int64,
        )

    for c in range(n_card_customers):
        rows = card.customer_rows(c)
        if rows.stop == rows.start:
            continue
        cohort = COHORTS[int(card.cohort[c])]
        offset = int(card.utc_offset[rows.start])
        home_offsets[c] = offset
        if cohort == "fraud_account":
            continue
        if cohort == "established" and rng.random() >= config.wallet_share:
            continue
        home = _mode(card.country[rows])
        device = _mode(card.device[rows])
        wealth = float(card.monthly_income_minor[c]) / 250_000.0
        first_ts = int(card.timestamp[rows.start])
        start_day = 0 if cohort == "established" else int((first_ts - START_TIMESTAMP) // SECONDS_PER_DAY)
        days_active = max(1, n_days - start_day)
        cards = [next_card] + ([next_card + 1] if rng.random() < 0.3 else [])
        next_card += 2
        bank = next_bank
        next_bank += 1
        friends = rng.integers(0, friend_pool, int(rng.integers(3, 16))) + _FRIEND_BASE
        friend_w = 1.0 / np.arange(1, len(friends) + 1)
        friend_w /= friend_w.sum()
        activity = float(rng.gamma(3.0, 1.0 / 3.0))

        def device_col(n: int, device: int = device) -> IntArray:
            return np.where(rng.random(n) < 0.1, device + 1, device).astype(np.int64)

        def country_col(n: int, home: int = home) -> IntArray:
            away = rng.random(n) < 0.04
            return np.where(away, COUNTRY[str(rng.choice(TRAVEL_COUNTRIES))], home).astype(np.int64)

        def add(
            ts: IntArray,
            amount: IntArray,
            kind: str,
            counterparty: npt.ArrayLike,
            scenario: str,
            c: int = c,
            offset: int = offset,
        ) -> None:
            n = len(ts)
            out.add(
                customer=c,
                timestamp=ts,
                amount=np.maximum(1, amount),
                country=country_col(n),
                device=device_col(n),
                offset=offset,
                fraud=0,
                pattern=0,
                kind=KIND_CODE[kind],
                counterparty=counterparty,
                scenario=SCENARIO[scenario],
            )

        # The first payment on the platform, before the first card purchase and at any hour: mostly a
        # first top-up (a wallet starts empty), small ones included, sometimes repeated from the same
        # card within seconds; else a first small transfer of money received from a friend. Often
        # followed by paying friends.
        if cohort == "new_customer" and rng.random() < 0.9:
            join_day = (first_ts - START_TIMESTAMP) // SECONDS_PER_DAY - int(rng.integers(0, 3))
            t0 = int(when(np.array([join_day]), _local_hours(rng, 1), offset)[0])
            if t0 >= first_ts:
                t0 = first_ts - int(rng.integers(60, 1_800))
            if rng.random() < 0.25:
                amount = np.array([int(rng.integers(100, 2_001))])
                add(np.array([t0]), amount, "p2p", friends[0], "first_payment")
            else:
                size = rng.random()  # tiny (1 to 10 euros), ordinary (10 to 200), or a salary moved over
                low, high = (
                    (100, 1_001) if size < 0.3 else (1_000, 20_001) if size < 0.8 else (20_000, 150_001)
                )
                amount = np.array([int(rng.integers(low, high))])
                add(np.array([t0]), amount, "top_up", cards[0], "first_payment")
                if rng.random() < 0.3:
                    k = int(rng.integers(1, 4))
                    again = t0 + np.cumsum(rng.integers(1, 60, k))
                    add(
                        again.astype(np.int64),
                        rng.integers(1_000, 5_001, k),
                        "top_up",
                        cards[0],
                        "first_payment",
                    )
                    t0 = int(again[-1])
            if rng.random() < 0.3:
                k = int(rng.integers(2, 6))
                gaps = np.where(rng.random(k) < 0.2, 0, rng.integers(1, 41, k))
                ts = t0 + int(rng.integers(30, 600)) + np.cumsum(gaps)
                each = int(rng.integers(300, 4_001))
                add(
                    ts.astype(np.int64),
                    np.full(k, each),
                    "p2p",
                    friends[np.arange(k) % len(friends)],
                    "friends_in_a_row",
                )

        # wallet top-ups, sometimes repeated within seconds from the same card
        n = int(rng.poisson(config.top_ups_per_day * activity * days_active))
        day = start_day + rng.integers(0, days_active, n)
        ts = when(day, _local_hours(rng, n), offset)
        round_amounts = np.array(TOP_UP_AMOUNTS_EUR)[rng.integers(0, len(TOP_UP_AMOUNTS_EUR), n)] * 100
        odd = rng.integers(1_000, 5_000, n)
        amount = np.where(
            rng.random(n) < 0.3, odd, (round_amounts * max(0.5, min(wealth, 3.0))).astype(np.int64)
        )
        funding = np.asarray(cards)[np.where(rng.random(n) < 0.8, 0, len(cards) - 1)]
        add(ts, amount, "top_up", funding, "top_up")
        repeat = rng.random(n) < 0.12
        for t, f in zip(ts[repeat], funding[repeat], strict=True):
            k = int(rng.integers(1, 4))
            rts = int(t) + np.cumsum(rng.integers(0, 120, k))
            add(rts.astype(np.int64), rng.integers(1_000, 5_000, k), "top_up", f, "repeat_top_up")

        # salary-day top-ups
        payday = int(rng.choice([1, 15, 25, 28]))
        pay_days = np.flatnonzero(day_of_month[:n_days] == payday)
        pay_days = pay_days[(pay_days >= start_day) & (rng.random(len(pay_days)) < 0.8)]
        if len(pay_days):
            night = rng.random(len(pay_days)) < 0.4
            hours = np.where(night, rng.uniform(0.0, 7.0, len(pay_days)), _local_hours(rng, len(pay_days)))
            share = rng.uniform(0.2, 0.7, len(pay_days))
            amount = _round_eur(share * float(card.monthly_income_minor[c]), 10)
            add(when(pay_days, hours, offset), amount, "top_up", cards[0], "salary_top_up")

        # transfers to friends
        n = int(rng.poisson(config.p2p_per_day * activity * days_active))
        day = start_day + rng.integers(0, days_active, n)
        amount = np.where(
            rng.random(n) < 0.15,
            rng.integers(100, 500, n),
            np.clip(rng.lognormal(np.log(2_000.0), 0.8, n), 100, 50_000),
        ).astype(np.int64)
        payee = friends[rng.choice(len(friends), n, p=friend_w)]
        add(when(day, _local_hours(rng, n), offset), amount, "p2p", payee, "p2p")

        # paying several friends in a row (splitting a bill)
        n = int(rng.poisson(config.splits_per_day * days_active))
        for _ in range(n):
            k = int(rng.integers(2, 8))
            d = start_day + int(rng.integers(0, days_active))
            t0 = int(when(np.array([d]), _evening_hours(rng, 1), offset)[0])
            gaps = np.where(rng.random(k) < 0.25, 0, rng.integers(1, 41, k))
            gaps[0] = 0
            each = int(rng.integers(300, 8_001))
            who = (
                friends[rng.permutation(len(friends))[:k]]
                if k <= len(friends)
                else friends[np.arange(k) % len(friends)]
            )
            add((t0 + np.cumsum(gaps)).astype(np.int64), np.full(k, each), "p2p", who, "friends_in_a_row")

        # payouts to the customer's own bank account
        n = int(rng.poisson(config.payouts_per_day * days_active))
        day = start_day + rng.integers(0, days_active, n)
        amount = _round_eur(rng.uniform(0.1, 1.2, n) * float(card.monthly_income_minor[c]), 10)
        add(
            when(day, np.clip(rng.normal(13.0, 4.0, n), 0.0, 23.99), offset), amount, "payout", bank, "payout"
        )

        # account takeover through the wallet
        if cohort == "established" and rng.random() < config.takeover_probability:
            t0 = START_TIMESTAMP + int(rng.integers(7 * SECONDS_PER_DAY, n_days * SECONDS_PER_DAY))
            if rng.random() < 0.4:  # at night, local time
                day0 = (t0 + offset - START_TIMESTAMP) // SECONDS_PER_DAY
                t0 = int(when(np.array([day0]), rng.uniform(0.0, 6.0, 1), offset)[0])
            m = int(rng.integers(1, 5))
            ts = t0 + np.concatenate(([0], np.cumsum(rng.integers(30, 3_600, m - 1)))).astype(np.int64)
            amount = (rng.uniform(5.0, 30.0, m) * 2_500 * max(wealth, 0.5)).astype(np.int64)
            payout = rng.random(m) < 0.3
            mule = rng.integers(0, 10_000_000, m) + _FRIEND_BASE + friend_pool
            ctp = np.where(payout, next_bank + 5_000_000, mule)
            abroad = rng.random() < 0.6
            ctry = COUNTRY[str(rng.choice(FRAUD_COUNTRIES))] if abroad else home
            out.add(
                customer=c,
                timestamp=ts,
                amount=amount,
                country=ctry,
                device=next_fraud_device,
                offset=offset,
                fraud=1,
                pattern=PATTERN_CODE["p2p_account_takeover"],
                kind=np.where(payout, KIND_CODE["payout"], KIND_CODE["p2p"]),
                counterparty=ctp,
                scenario=0,
            )
            next_fraud_device += 1

    # fraudulent accounts that cash out through the wallet (new customer ids)
    n_bad = round(config.fraud_account_share * n_card_customers)
    incomes = [int(v) for v in card.monthly_income_minor]
    archetypes = [int(v) for v in card.archetype]
    cohorts = [int(v) for v in card.cohort]
    fraud_cohort = COHORTS.index("fraud_account")
    c = n_card_customers
    for _ in range(n_bad):
        offset = int(rng.choice(home_offsets)) if n_card_customers else 0
        join = START_TIMESTAMP + int(rng.integers(0, n_days * SECONDS_PER_DAY))
        device = next_fraud_device
        next_fraud_device += 1
        ctry = COUNTRY[str(rng.choice(FRAUD_COUNTRIES))] if rng.random() < 0.4 else COUNTRY["DE"]
        if rng.random() < 0.5:
            pattern = PATTERN_CODE["top_up_card_testing"]
            m = int(rng.integers(3, 9))
            ts = join + np.cumsum(rng.integers(5, 120, m))
            amount = rng.integers(500, 10_000, m)
            ctp = np.arange(next_card, next_card + m)
            next_card += m
            kinds = np.full(m, KIND_CODE["top_up"])
        else:
            pattern = PATTERN_CODE["new_account_p2p_cash_out"]
            m = 1
            ts = np.array([join])
            amount = np.array([int(rng.integers(10_000, 200_000))])
            ctp = np.array([next_card])
            next_card += 1
            kinds = np.full(1, KIND_CODE["top_up"])
        total = int(amount.sum())
        n_out = int(rng.integers(1, 4))
        out_ts = int(ts[-1]) + np.cumsum(rng.integers(20, 1_800, n_out))
        out_amount = np.full(n_out, max(100, total // n_out))
        out_kind = np.where(rng.random(n_out) < 0.3, KIND_CODE["payout"], KIND_CODE["p2p"])
        out_ctp = rng.integers(0, 10_000_000, n_out) + _FRIEND_BASE + friend_pool
        out.add(
            customer=c,
            timestamp=np.concatenate((ts, out_ts)).astype(np.int64),
            amount=np.concatenate((amount, out_amount)),
            country=ctry,
            device=device,
            offset=offset,
            fraud=1,
            pattern=pattern,
            kind=np.concatenate((kinds, out_kind)),
            counterparty=np.concatenate((ctp, out_ctp)),
            scenario=0,
        )
        incomes.append(int(round(250_000 * float(rng.lognormal(0.0, 0.4)), -2)))
        archetypes.append(0)
        cohorts.append(fraud_cohort)
        c += 1

    extra = out.arrays()
    keep = (extra["timestamp"] >= card.start_timestamp) & (extra["timestamp"] < end_ts)
    extra = {k: v[keep] for k, v in extra.items()}
    n_extra = len(extra["timestamp"])
    merged = {
        "customer": np.concatenate((card.customer, extra["customer"])),
        "timestamp": np.concatenate((card.timestamp, extra["timestamp"])),
        "amount_minor": np.concatenate((card.amount_minor, extra["amount"])),
        "category": np.concatenate((card.category, np.full(n_extra, TRANSFER_CATEGORY_CODE, dtype=np.int64))),
        "merchant": np.concatenate((card.merchant, np.full(n_extra, -1, dtype=np.int64))),
        "country": np.concatenate((card.country, extra["country"])),
        "device": np.concatenate((card.device, extra["device"])),
        "utc_offset": np.concatenate((card.utc_offset, extra["offset"])),
        "is_fraud": np.concatenate((card.is_fraud, extra["fraud"])),
        "pattern": np.concatenate((card.pattern, extra["pattern"])),
        "kind": np.concatenate((card.kind, extra["kind"])),
        "counterparty": np.concatenate((card.counterparty, extra["counterparty"])),
        "scenario": np.concatenate((np.zeros(len(card), dtype=np.int64), extra["scenario"])),
    }
    order = np.lexsort((np.arange(len(merged["timestamp"])), merged["timestamp"], merged["customer"]))
    merged = {k: v[order] for k, v in merged.items()}
    scenario = merged.pop("scenario")
    data = TransactionData(
        **merged,
        monthly_income_minor=np.array(incomes, dtype=np.int64),
        archetype=np.array(archetypes, dtype=np.int64),
        n_days=n_days,
        start_timestamp=card.start_timestamp,
        cohort=np.array(cohorts, dtype=np.int64),
    )
    return PlatformData(data=data, scenario=scenario)
