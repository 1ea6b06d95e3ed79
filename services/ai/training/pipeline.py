"""The training pipeline: generate data, train and evaluate every model, export
ONNX, and write ``<out>/<name>/<version>/`` with model.onnx, metadata.json,
MODEL_CARD.md and a PNG plot."""

from __future__ import annotations

import datetime as dt
import platform
import shutil
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from services.ai.training import credit, fraud, recommendations, trend
from services.ai.training.common import (
    CARD_FILE,
    INPUT_NAME,
    METADATA_FILE,
    METADATA_SCHEMA_VERSION,
    MODEL_FILE,
    TARGET_OPSET,
    Progress,
    sha256_file,
    write_json,
)
from services.ai.training.model import TrainedModel

DEFAULT_SEED = 7
MODEL_NAMES: tuple[str, ...] = ("fraud", "credit", "trend", "recommendations")
#: The version folder each model is written to unless ``--version`` says otherwise. Bump a
#: model's entry when its code or data change what it learns (a registered version's file
#: must never change); the others are rebuilt byte-identical into their current folder.
#: fraud 1.1.0: onboarding cohort and feature set 2 (explicit "no history yet").
#: fraud 1.2.0: the platform's own payments (top-ups, transfers, payouts) and feature set 3.
MODEL_VERSIONS: dict[str, str] = {
    "fraud": "1.2.0",
    "credit": "1.0.0",
    "trend": "1.0.0",
    "recommendations": "1.0.0",
}
DEFAULT_VERSION = "per model (" + ", ".join(f"{k} {v}" for k, v in MODEL_VERSIONS.items()) + ")"
FRAMEWORKS: tuple[str, ...] = ("scikit-learn", "skl2onnx", "onnx", "onnxruntime", "numpy")


@dataclass
class PipelineResult:
    models: dict[str, TrainedModel]
    directories: dict[str, Path]
    metadata: dict[str, dict[str, Any]]
    seconds: float


def default_training_date(source_date_epoch: str | None = None) -> str:
    """The UTC date of ``source_date_epoch`` (SOURCE_DATE_EPOCH, reproducible builds: the command line
    reads it) when given, else today's UTC date."""
    when = (
        dt.datetime.fromtimestamp(int(source_date_epoch), dt.UTC)
        if source_date_epoch
        else dt.datetime.now(dt.UTC)
    )
    return when.date().isoformat()


def _frameworks() -> dict[str, str]:
    versions = {name: importlib_metadata.version(name) for name in FRAMEWORKS}
    versions["python"] = platform.python_version()
    return versions


def write_artifacts(
    trained: TrainedModel, out: Path, version: str, seed: int, training_date: str, profile: str
) -> tuple[Path, dict[str, Any]]:
    """Write one model's folder and return it with the complete metadata."""
    directory = out / trained.name / version
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    model_path = directory / MODEL_FILE
    model_path.write_bytes(trained.onnx_bytes)
    graph = onnx.load_from_string(trained.onnx_bytes).graph
    meta: dict[str, Any] = {
        "schema_version": METADATA_SCHEMA_VERSION,
        "name": trained.name,
        "version": version,
        "model_file": MODEL_FILE,
        "sha256": sha256_file(model_path),
        "size_bytes": model_path.stat().st_size,
        "training_date": training_date,
        "seed": seed,
        "profile": profile,
        "frameworks": _frameworks(),
        "onnx": {
            "input": INPUT_NAME,
            "input_dtype": "float32",
            "input_shape": [None, len(trained.metadata["features"])],
            "outputs": [o.name for o in graph.output],
            "opsets": dict(TARGET_OPSET),
        },
        "card_file": CARD_FILE,
        "plot_file": trained.plot_file,
        **trained.metadata,
    }
    write_json(directory / METADATA_FILE, meta)
    trained.plot(directory / trained.plot_file)
    (directory / CARD_FILE).write_text(trained.render_card(meta), encoding="utf-8")
    return directory, meta


def run(
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    small: bool = False,
    version: str | None = None,
    training_date: str | None = None,
    progress: Progress | None = None,
) -> PipelineResult:
    """Train, evaluate, export and document all models into ``out``."""
    progress = progress or Progress()
    date = training_date or default_training_date()
    dt.date.fromisoformat(date)  # validate
    profile = "small" if small else "full"
    # Children 0-3 are the ones every earlier release drew from (spawn keys 0-3 do not change when more
    # children are spawned), so the credit, trend and recommendation models stay byte-identical.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    versions = {name: version or MODEL_VERSIONS[name] for name in MODEL_NAMES}
    shown = version or DEFAULT_VERSION
    progress.step(f"training pipeline: seed {seed}, {profile} profile, version {shown}, into {out}")

    models: dict[str, TrainedModel] = {}
    models["fraud"] = fraud.train_fraud(
        fraud.SMALL if small else fraud.FULL, streams[0], seed, progress, streams[4], streams[5]
    )
    models["credit"] = credit.train_credit(credit.SMALL if small else credit.FULL, streams[1], seed, progress)
    models["trend"] = trend.train_trend(trend.SMALL if small else trend.FULL, streams[2], seed, progress)
    models["recommendations"] = recommendations.train_recommendations(
        recommendations.SMALL if small else recommendations.FULL,
        models["fraud"].extras["card_data"],
        streams[3],
        seed,
        progress,
    )

    directories: dict[str, Path] = {}
    metadata: dict[str, dict[str, Any]] = {}
    for name in MODEL_NAMES:
        progress.step(f"writing {name} artifacts (model, metadata, card, plot)")
        directories[name], metadata[name] = write_artifacts(
            models[name], out, versions[name], seed, date, profile
        )
    progress.step("training pipeline done")
    return PipelineResult(models=models, directories=directories, metadata=metadata, seconds=progress.elapsed)


def summary(result: PipelineResult) -> str:
    """A human summary of the run: headline metrics, thresholds and file sizes."""
    f = result.metadata["fraud"]["metrics"]
    t = result.metadata["fraud"]["thresholds"]
    c = result.metadata["credit"]["metrics"]
    tr = result.metadata["trend"]["metrics"]
    r = result.metadata["recommendations"]["metrics"]
    lines = [
        f"fraud: ROC-AUC {f['roc_auc']:.4f}, AP {f['average_precision']:.4f}, "
        f"CP@100 {f['card_precision_at_100']:.4f} (oracle {f['card_precision_at_100_oracle']:.4f})",
    ]
    for name in ("review", "decline"):
        te = f[name]["test"]
        lines.append(
            f"  {name} >= {t[name]:.4f}: test precision {te['precision']:.3f}, recall {te['recall']:.3f}"
        )
    lines += [
        f"credit: ROC-AUC {c['roc_auc']:.4f}, KS {c['ks']:.4f}",
        f"trend: MAPE {tr['mape']:.2f}% (seasonal naive {tr['baseline_seasonal_naive_mape']:.2f}%), "
        f"interval coverage {tr['interval_coverage']:.3f}",
        f"recommendations: coverage {r['coverage']:.3f}, silhouette {r['silhouette']:.4f}",
        "files:",
    ]
    for directory in result.directories.values():
        for path in sorted(directory.iterdir()):
            lines.append(f"  {path} {path.stat().st_size:,} bytes")
    lines.append(f"total time {result.seconds:.1f}s")
    return "\n".join(lines)
