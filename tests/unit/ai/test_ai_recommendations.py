"""Recommendations: deterministic, personalized and self-explaining."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from services.ai.explain import Recommendation, format_minor, recommend
from services.ai.features import CATEGORIES, SpendingProfile, segment_features, spending_profile
from services.ai.training.common import OnnxModel
from services.ai.training.pipeline import PipelineResult


def params_of(run: PipelineResult) -> dict[str, Any]:
    return run.metadata["recommendations"]["recommendations"]


def profile(
    monthly: dict[str, int], *, income: int | None = None, recent: dict[str, int] | None = None
) -> SpendingProfile:
    full = {c: monthly.get(c, 0) for c in CATEGORIES}
    return SpendingProfile(
        monthly_minor=full,
        recent_minor={c: (recent or full).get(c, 0) for c in CATEGORIES},
        earlier_monthly_minor=full,
        monthly_income_minor=income,
    )


def segment_of(run: PipelineResult, p: SpendingProfile) -> int:
    session = OnnxModel((run.directories["recommendations"] / "model.onnx").read_bytes())
    return int(session.run(segment_features(p)[None, :])["label"][0])


def test_recommendations_are_deterministic(small_run: PipelineResult) -> None:
    trained = small_run.models["recommendations"]
    params = params_of(small_run)
    for p, label in list(zip(trained.extras["profiles"], trained.extras["labels"], strict=True))[:200]:
        first = recommend(p, int(label), params)
        assert first == recommend(p, int(label), params)
        keys = [(-r.value_minor, r.code, r.category or "") for r in first]
        assert keys == sorted(keys) and len(first) <= 5


def test_overspending_gets_an_explained_budget(small_run: PipelineResult) -> None:
    params = params_of(small_run)
    heavy = profile({"grocery": 40_000, "restaurants": 90_000, "transport": 8_000}, income=300_000)
    segment = segment_of(small_run, heavy)
    peer = params["segments"][segment]
    recs = recommend(heavy, segment, params)
    budget = [r for r in recs if r.code == "CATEGORY_BUDGET" and r.category == "restaurants"]
    assert budget, recs
    rec = budget[0]
    assert rec.evidence["monthly_spend_minor"] == 90_000
    assert rec.evidence["peer_median_minor"] == peer["monthly_median_minor"]["restaurants"]
    assert rec.value_minor == 90_000 - peer["monthly_median_minor"]["restaurants"]
    assert format_minor(90_000) in rec.message and format_minor(rec.value_minor) in rec.message
    assert "similar spending profile" in rec.message


def test_each_rule_explains_itself(small_run: PipelineResult) -> None:
    params = params_of(small_run)
    p = SpendingProfile(
        monthly_minor={
            **{c: 0 for c in CATEGORIES},
            "grocery": 30_000,
            "fees": 1_500,
            "cash_withdrawal": 40_000,
            "subscriptions": 4_500,
        },
        recent_minor={**{c: 0 for c in CATEGORIES}, "grocery": 60_000},
        earlier_monthly_minor={**{c: 0 for c in CATEGORIES}, "grocery": 20_000},
        recurring=tuple(),
        monthly_income_minor=70_000,
    )
    recs = recommend(p, 0, params, limit=10)
    codes = {r.code for r in recs}
    assert {"RISING_SPEND", "AVOID_FEES", "SPENDING_ABOVE_INCOME", "USE_CARD_OVER_CASH"} <= codes
    for r in recs:
        assert isinstance(r, Recommendation)
        assert r.title and r.message and r.evidence
        assert "EUR" in r.message or "%" in r.message


def test_same_transactions_in_any_order_give_the_same_recommendations(small_run: PipelineResult) -> None:
    params = params_of(small_run)
    as_of = 1_736_121_600 + 120 * 86_400
    rng = np.random.default_rng(3)
    n = 200
    ts = (as_of - rng.integers(1, 90 * 86_400, n)).tolist()
    amounts = rng.integers(500, 20_000, n).tolist()
    cats = [CATEGORIES[i] for i in rng.integers(0, 8, n)]
    merchants = [f"mer_{i:03d}" for i in rng.integers(0, 40, n)]
    base = spending_profile(ts, amounts, cats, merchants, as_of=as_of, monthly_income_minor=250_000)
    order = rng.permutation(n)
    shuffled = spending_profile(
        [ts[i] for i in order],
        [amounts[i] for i in order],
        [cats[i] for i in order],
        [merchants[i] for i in order],
        as_of=as_of,
        monthly_income_minor=250_000,
    )
    assert dataclasses.asdict(base) == dataclasses.asdict(shuffled)
    seg = segment_of(small_run, base)
    assert seg == segment_of(small_run, shuffled)
    assert recommend(base, seg, params) == recommend(shuffled, seg, params)


def test_unknown_segment_is_refused(small_run: PipelineResult) -> None:
    params = params_of(small_run)
    try:
        recommend(profile({}), len(params["segments"]), params)
    except ValueError as e:
        assert "segment" in str(e)
    else:
        raise AssertionError("expected ValueError")
