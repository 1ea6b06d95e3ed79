"""Shared fixtures: one small training run per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ai.training.common import Progress
from services.ai.training.pipeline import PipelineResult, run

REPO_ROOT = Path(__file__).resolve().parents[3]
TRAINING_DATE = "2026-01-01"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> PipelineResult:
    """The pipeline in --small mode, seed 7, into a temporary folder."""
    out = tmp_path_factory.mktemp("models")
    return run(out, seed=7, small=True, training_date=TRAINING_DATE, progress=Progress(enabled=False))
