"""The committed artifacts under services/ai/models are intact and meet their cards."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from services.ai.training.common import OnnxModel

MODELS = Path(__file__).resolve().parents[3] / "services" / "ai" / "models"
METADATA = sorted(MODELS.glob("*/*/metadata.json"))

pytestmark = pytest.mark.skipif(not METADATA, reason="no committed models")


@pytest.mark.parametrize("path", METADATA, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_committed_model_matches_its_metadata(path: Path) -> None:
    meta = json.loads(path.read_text())
    model = path.parent / meta["model_file"]
    data = model.read_bytes()
    assert hashlib.sha256(data).hexdigest() == meta["sha256"]
    assert len(data) == meta["size_bytes"] < 2_000_000
    assert (path.parent / meta["card_file"]).is_file() and (path.parent / meta["plot_file"]).is_file()
    out = OnnxModel(data).run(np.zeros((2, len(meta["features"])), dtype=np.float32))
    assert list(out) == meta["onnx"]["outputs"]
    if meta["name"] == "fraud":
        assert meta["metrics"]["roc_auc"] >= 0.95
    if meta["name"] == "credit":
        assert meta["metrics"]["roc_auc"] >= 0.75
