"""Synthetic daily balance and spending series (``generate_series``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.ai.features import (
    IntArray,
)

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
