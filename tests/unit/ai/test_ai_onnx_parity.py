"""Each ONNX model reproduces scikit-learn on held-out rows."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from services.ai.training.common import OnnxModel
from services.ai.training.pipeline import PipelineResult


@pytest.mark.parametrize("name", ["fraud", "credit"])
def test_classifier_onnx_matches_sklearn(small_run: PipelineResult, name: str) -> None:
    trained = small_run.models[name]
    x = trained.holdout_x
    assert len(x) >= 500
    onnx_path = small_run.directories[name] / "model.onnx"
    session = OnnxModel(onnx_path.read_bytes())
    out = session.run(x)
    assert set(out) == {"label", "probabilities"}  # no ZipMap: plain tensors
    assert out["probabilities"].dtype == np.float32
    assert out["probabilities"].shape == (len(x), 2)
    expected = trained.estimator.predict_proba(x)
    np.testing.assert_array_equal(out["label"], trained.estimator.predict(x))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5, rtol=0)


def test_trend_onnx_matches_sklearn(small_run: PipelineResult) -> None:
    trained = small_run.models["trend"]
    out = OnnxModel((small_run.directories["trend"] / "model.onnx").read_bytes()).run(trained.holdout_x)
    assert set(out) == {"variable"}
    expected = trained.estimator.predict(trained.holdout_x.astype(np.float64))
    assert out["variable"].shape == expected.shape == (len(trained.holdout_x), 14)
    np.testing.assert_allclose(out["variable"], expected, atol=1e-5, rtol=1e-5)


def test_recommendations_onnx_matches_sklearn(small_run: PipelineResult) -> None:
    trained = small_run.models["recommendations"]
    x = trained.holdout_x
    out = OnnxModel((small_run.directories["recommendations"] / "model.onnx").read_bytes()).run(x)
    np.testing.assert_array_equal(out["label"], trained.estimator.predict(x.astype(np.float64)))
    np.testing.assert_allclose(out["scores"], trained.estimator.transform(x.astype(np.float64)), atol=1e-4)


@pytest.mark.parametrize("name", ["fraud", "credit", "trend", "recommendations"])
def test_onnx_files_are_valid_and_small(small_run: PipelineResult, name: str) -> None:
    path = small_run.directories[name] / "model.onnx"
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["input"]
    assert path.stat().st_size < 2_000_000
