"""Fraud decisions and reasons."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ai.explain import DECISIONS, fraud_decision, fraud_reasons
from services.ai.features import FRAUD_FEATURE_NAMES
from services.ai.training.common import OnnxModel
from services.ai.training.pipeline import PipelineResult

SEVERITY = {d: i for i, d in enumerate(DECISIONS)}
probabilities = st.floats(0.0, 1.0, allow_nan=False)


@given(probabilities, probabilities, probabilities, probabilities)
def test_higher_probability_never_gives_a_milder_decision(p: float, q: float, a: float, b: float) -> None:
    thresholds = {"review": min(a, b), "decline": max(a, b)}
    lo, hi = sorted((p, q))
    assert SEVERITY[fraud_decision(lo, thresholds)] <= SEVERITY[fraud_decision(hi, thresholds)]


def test_decisions_at_the_trained_thresholds(small_run: PipelineResult) -> None:
    t = small_run.metadata["fraud"]["thresholds"]
    assert 0.0 < t["review"] <= t["decline"] <= 1.0
    assert fraud_decision(0.0, t) == "approve"
    assert fraud_decision(t["review"], t) == "review"
    assert fraud_decision(np.nextafter(t["review"], 0.0), t) == "approve"
    assert fraud_decision(t["decline"], t) == "decline"
    assert fraud_decision(1.0, t) == "decline"
    grid = np.linspace(0.0, 1.0, 2_001)
    severities = [SEVERITY[fraud_decision(float(p), t)] for p in grid]
    assert severities == sorted(severities)
    for bad in (-0.1, 1.1, float("nan")):
        with pytest.raises(ValueError):
            fraud_decision(bad, t)


def test_thresholds_meet_their_precision_targets_on_validation(small_run: PipelineResult) -> None:
    meta = small_run.metadata["fraud"]
    for name in ("review", "decline"):
        if meta["thresholds"][f"{name}_target_reached"]:
            got = meta["metrics"][name]["validation"]["precision"]
            assert got >= meta["thresholds"][f"{name}_target_precision"]


def test_reasons_explain_a_card_testing_burst(small_run: PipelineResult) -> None:
    trained = small_run.models["fraud"]
    meta = small_run.metadata["fraud"]
    session = OnnxModel((small_run.directories["fraud"] / "model.onnx").read_bytes())
    data, x = trained.extras["data"], trained.extras["features"].x
    burst = np.flatnonzero((data.pattern == 1) & (x[:, FRAUD_FEATURE_NAMES.index("n_txn_1h")] >= 3))
    assert len(burst) > 0
    row = x[burst[0]]
    p = float(session.predict_proba(row[None, :])[0, 1])
    reasons = fraud_reasons(row, session.predict_proba, meta["explanation"])
    assert 1 <= len(reasons) <= 3
    contributions = [r.contribution for r in reasons]
    assert contributions == sorted(contributions, reverse=True)
    assert all(0 < c <= p + 1e-6 for c in contributions)
    assert all(r.text == meta["explanation"]["reason_text"][r.feature] for r in reasons)
    # scikit-learn and ONNX give the same reasons: the method only needs a predict function
    same = fraud_reasons(row, trained.estimator.predict_proba, meta["explanation"])
    assert [r.feature for r in same] == [r.feature for r in reasons]


def test_reasons_of_an_ordinary_transaction_are_few(small_run: PipelineResult) -> None:
    meta = small_run.metadata["fraud"]
    session = OnnxModel((small_run.directories["fraud"] / "model.onnx").read_bytes())
    baseline = np.asarray(meta["explanation"]["baseline"], dtype=np.float32)
    assert fraud_reasons(baseline, session.predict_proba, meta["explanation"]) == []
    with pytest.raises(ValueError, match="features"):
        fraud_reasons(baseline[:-1], session.predict_proba, meta["explanation"])
