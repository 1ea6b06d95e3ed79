"""Credit score: range, monotonicity in the obvious inputs, reason codes."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ai.explain import credit_pd, credit_points, credit_reason_codes, credit_score_from_pd
from services.ai.features import Applicant, credit_features
from services.ai.training.common import OnnxModel
from services.ai.training.pipeline import PipelineResult

SCORECARD = {
    "factor": 20 / math.log(2),
    "offset": 600 - 20 / math.log(2) * math.log(50),
    "min_score": 300,
    "max_score": 850,
}

applicants = st.builds(
    Applicant,
    annual_income_minor=st.integers(0, 50_000_000),
    monthly_debt_payments_minor=st.integers(0, 1_000_000),
    credit_history_months=st.integers(0, 600),
    revolving_balance_minor=st.integers(0, 5_000_000),
    revolving_limit_minor=st.integers(0, 5_000_000),
    delinquencies_2y=st.integers(0, 15),
    inquiries_6m=st.integers(0, 25),
)

#: (field, +1 if increasing it must never lower the score, -1 if it must never raise it)
MONOTONE_FIELDS = [
    ("annual_income_minor", 1),
    ("monthly_debt_payments_minor", -1),
    ("revolving_balance_minor", -1),
    ("revolving_limit_minor", 1),
    ("credit_history_months", 1),
    ("delinquencies_2y", -1),
    ("inquiries_6m", -1),
]


class Scorer:
    def __init__(self, run: PipelineResult) -> None:
        self.meta: dict[str, Any] = run.metadata["credit"]
        self.session = OnnxModel((run.directories["credit"] / "model.onnx").read_bytes())

    def pd(self, a: Applicant) -> float:
        return float(self.session.predict_proba(credit_features(a)[None, :])[0, 1])

    def score(self, a: Applicant) -> int:
        return credit_score_from_pd(self.pd(a), self.meta["scorecard"])


@pytest.fixture(scope="module")
def scorer(small_run: PipelineResult) -> Scorer:
    return Scorer(small_run)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_score_in_range_and_monotone_in_pd(p: float, q: float) -> None:
    lo, hi = sorted((p, q))
    s_lo, s_hi = credit_score_from_pd(lo, SCORECARD), credit_score_from_pd(hi, SCORECARD)
    assert 300 <= s_hi <= s_lo <= 850


def test_scorecard_anchor_points() -> None:
    assert credit_score_from_pd(1 / 51, SCORECARD) == 600  # odds 50:1
    assert credit_score_from_pd(1 / 101, SCORECARD) == 620  # odds 100:1, one PDO higher
    assert credit_score_from_pd(0.0, SCORECARD) == 850
    assert credit_score_from_pd(1.0, SCORECARD) == 300
    with pytest.raises(ValueError):
        credit_score_from_pd(float("nan"), SCORECARD)
    with pytest.raises(ValueError):
        credit_score_from_pd(1.5, SCORECARD)


@settings(max_examples=150, deadline=None)
@given(applicants, st.sampled_from(MONOTONE_FIELDS), st.integers(1, 5_000_000))
def test_score_is_monotonic_in_the_obvious_inputs(
    scorer: Scorer, applicant: Applicant, field: tuple[str, int], step: int
) -> None:
    name, direction = field
    if name in ("credit_history_months", "delinquencies_2y", "inquiries_6m"):
        step = 1 + step % 60
    better = dataclasses.replace(applicant, **{name: getattr(applicant, name) + step})
    before, after = scorer.score(applicant), scorer.score(better)
    assert 300 <= before <= 850 and 300 <= after <= 850
    if direction > 0:
        assert after >= before, (name, applicant, step)
    else:
        assert after <= before, (name, applicant, step)


@settings(max_examples=60, deadline=None)
@given(applicants)
def test_numpy_scorecard_matches_onnx_and_points_add_up(scorer: Scorer, applicant: Applicant) -> None:
    meta = scorer.meta
    x = credit_features(applicant)
    pd_onnx = scorer.pd(applicant)
    pd_np = credit_pd(x, meta["explanation"])
    assert pd_np == pytest.approx(pd_onnx, abs=2e-6)
    card, expl = meta["scorecard"], meta["explanation"]
    z = (x.astype(np.float64) - np.asarray(expl["scaler_mean"])) / np.asarray(expl["scaler_scale"])
    logit = expl["intercept"] + float(np.dot(expl["coefficients"], z))
    raw = card["offset"] - card["factor"] * logit  # = offset + factor * ln(odds of good)
    total = expl["base_points"] + float(np.sum(credit_points(x, expl, card)))
    assert total == pytest.approx(raw, abs=1e-6)


def test_reason_codes_name_what_lowers_the_score(scorer: Scorer) -> None:
    meta = scorer.meta
    risky = Applicant(
        annual_income_minor=2_000_000,
        monthly_debt_payments_minor=90_000,
        credit_history_months=6,
        revolving_balance_minor=480_000,
        revolving_limit_minor=500_000,
        delinquencies_2y=4,
        inquiries_6m=5,
    )
    solid = Applicant(
        annual_income_minor=9_000_000,
        monthly_debt_payments_minor=50_000,
        credit_history_months=180,
        revolving_balance_minor=50_000,
        revolving_limit_minor=1_500_000,
        delinquencies_2y=0,
        inquiries_6m=0,
    )
    median = scorer.meta["metrics"]["score_percentiles"]["50"]
    assert scorer.score(risky) < median - 100 and scorer.score(solid) > median + 50
    reasons = credit_reason_codes(credit_features(risky), meta["explanation"], meta["scorecard"])
    codes = [r.code for r in reasons]
    assert 1 <= len(reasons) <= 4
    assert "UTILIZATION_HIGH" in codes and "DELINQUENCIES" in codes
    assert all(r.points < 0 for r in reasons)
    assert [r.points for r in reasons] == sorted(r.points for r in reasons)
    solid_reasons = credit_reason_codes(credit_features(solid), meta["explanation"], meta["scorecard"])
    assert "DELINQUENCIES" not in [r.code for r in solid_reasons]


def test_coefficient_signs_match_the_declared_directions(small_run: PipelineResult) -> None:
    meta = small_run.metadata["credit"]
    for name, w in zip(meta["features"], meta["explanation"]["coefficients"], strict=True):
        assert meta["monotonic"]["score_direction"][name] * w <= 0, name
