"""The training pipeline end to end: artifacts, metadata, reproducibility."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.ai.training.pipeline import MODEL_NAMES, MODEL_VERSIONS, PipelineResult

REPO_ROOT = Path(__file__).resolve().parents[3]

COMMON_KEYS = {
    "schema_version",
    "name",
    "version",
    "model_file",
    "sha256",
    "size_bytes",
    "training_date",
    "seed",
    "profile",
    "frameworks",
    "onnx",
    "card_file",
    "plot_file",
    "task",
    "algorithm",
    "features",
    "feature_descriptions",
    "metrics",
    "thresholds",
    "scorecard",
    "data",
}


def check_model_dir(directory: Path, name: str) -> dict[str, object]:
    meta = json.loads((directory / "metadata.json").read_text())
    assert set(meta) >= COMMON_KEYS, COMMON_KEYS - set(meta)
    assert meta["name"] == name
    model = directory / meta["model_file"]
    assert hashlib.sha256(model.read_bytes()).hexdigest() == meta["sha256"]
    assert model.stat().st_size == meta["size_bytes"] < 2_000_000
    assert (directory / meta["plot_file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    card = (directory / meta["card_file"]).read_text()
    assert card.startswith(f"# Model card: {name} ")
    for section in ("## Data", "## Features", "## Metrics", "## Limitations"):
        assert section in card
    assert meta["plot_file"] in card and meta["sha256"] in card
    assert isinstance(meta["features"], list) and meta["features"]
    return meta


@pytest.mark.timeout(300)  # two small training runs on a shared machine
def test_cli_small_run_produces_all_artifacts_reproducibly(small_run: PipelineResult, tmp_path: Path) -> None:
    training_date = small_run.metadata["fraud"]["training_date"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.ai.training",
            "--small",
            "--seed",
            "7",
            "--out",
            str(tmp_path),
            "--training-date",
            training_date,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "fraud: ROC-AUC" in proc.stdout and "credit: ROC-AUC" in proc.stdout
    assert "fraud features (customers)" in proc.stderr  # progress on the long step
    for name in MODEL_NAMES:
        directory = tmp_path / name / MODEL_VERSIONS[name]
        meta = check_model_dir(directory, name)
        assert meta["training_date"] == training_date and meta["profile"] == "small"
        # same seed, same bytes: the CLI run equals the in-process run of the fixture
        in_process = small_run.directories[name]
        assert (directory / "model.onnx").read_bytes() == (in_process / "model.onnx").read_bytes()
        assert (directory / "metadata.json").read_text() == (in_process / "metadata.json").read_text()


def test_model_specific_metadata(small_run: PipelineResult) -> None:
    fraud = small_run.metadata["fraud"]
    assert fraud["onnx"]["outputs"] == ["label", "probabilities"]
    assert {"roc_auc", "average_precision", "card_precision_at_100"} <= set(fraud["metrics"])
    assert fraud["metrics"]["roc_auc"] >= 0.95
    assert len(fraud["explanation"]["baseline"]) == len(fraud["features"])
    assert fraud["scorecard"] is None and fraud["thresholds"]["review"] <= fraud["thresholds"]["decline"]
    assert fraud["version"] == "1.2.0" and fraud["feature_set"] == 3
    assert fraud["explanation"]["features"] == fraud["features"]
    cohorts = fraud["data"]["cohorts"]
    assert cohorts["established"] > 0 and cohorts["new_customer"] > 0 and cohorts["fraud_account"] > 0
    cold = fraud["metrics"]["cold_start"]
    assert cold["first_legitimate"]["transactions"] > 0
    assert {"new_account_card_testing", "new_account_cash_out"} <= set(fraud["metrics"]["recall_by_pattern"])
    assert {"top_up_card_testing", "p2p_account_takeover", "new_account_p2p_cash_out"} <= set(
        fraud["metrics"]["recall_by_pattern"]
    )
    ordinary = fraud["metrics"]["ordinary"]
    assert ordinary["held_out_customers"]["platform_payments"]["transactions"] > 1_000
    assert ordinary["scenario_grid"]["instances_per_scenario"] == 3 * 7 * 4  # four hours in the small profile
    assert set(fraud["data"]["platform"]["transactions_by_kind"]) == {"purchase", "top_up", "p2p", "payout"}
    credit = small_run.metadata["credit"]
    assert credit["metrics"]["roc_auc"] >= 0.75 and 0 < credit["metrics"]["ks"] < 1
    assert credit["scorecard"]["base_score"] == 600 and credit["scorecard"]["base_odds"] == 50
    assert credit["thresholds"] is None
    trend = small_run.metadata["trend"]
    assert 0 < trend["metrics"]["mape"] < 50
    assert len(trend["forecast"]["interval"]["lower"]) == trend["forecast"]["horizon_days"]
    recs = small_run.metadata["recommendations"]
    assert len(recs["recommendations"]["segments"]) == len(recs["metrics"]["segment_sizes"])
    for name in MODEL_NAMES:
        check_model_dir(small_run.directories[name], name)
