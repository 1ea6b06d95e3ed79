"""Synthetic credit applicants with a 12-month default label (``generate_applicants``)."""

from __future__ import annotations

import numpy as np

from services.ai.features import (
    ApplicantColumns,
    IntArray,
)


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
