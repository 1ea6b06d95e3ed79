"""Model version folders on disk: what each says about itself, scanning them, and loading one verified.

A version folder ``<root>/<model>/<version>/`` holds a ``metadata.json`` (the
model card, with the model file's SHA-256) and the model file. Nothing here
touches the database: :mod:`services.ai.registry` records and activates what
:func:`scan` finds and serves what :func:`load_verified` loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

# The registry's logger: refusals found while scanning belong to its story.
log = logging.getLogger("nexafi.ai.registry")

BUILTIN_MODELS_DIR = Path(__file__).resolve().parent / "models"
METADATA_FILE = "metadata.json"

#: Registry names are the contract's ("recommendation"); training writes the
#: folder and metadata name "recommendations".
NAME_ALIASES: dict[str, str] = {"recommendations": "recommendation"}
MODEL_NAMES: tuple[str, ...] = ("fraud", "credit", "trend", "recommendation")

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders "1.0.10" after "1.0.9" and "2025.01.15-2" after "2025.01.15-1"."""
    parts = re.split(r"[.\-_+]", version)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class IntegrityFailure(Exception):
    """A model file is missing, does not match its registered hash, or cannot be loaded."""


@dataclass(frozen=True)
class ModelRecord:
    """One registered version as stored in ``model_versions`` (plus its activation state)."""

    name: str
    version: str
    sha256: str
    path: str
    training_time: datetime
    metrics: dict[str, float]
    parameters: dict[str, float]
    feature_names: tuple[str, ...]
    description: str
    create_time: datetime
    active: bool = False
    activate_time: datetime | None = None


@dataclass(frozen=True)
class LoadedModel:
    """A verified, loaded version: its session and the metadata it was registered with."""

    name: str
    version: str
    sha256: str
    metadata: Mapping[str, Any]
    session: ort.InferenceSession
    input_name: str

    def run(self, x: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[Any]]:
        """Outputs by name for a float32 batch [N, n_features]."""
        batch = np.ascontiguousarray(x, dtype=np.float32)
        if batch.ndim == 1:
            batch = batch[None, :]
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(None, {self.input_name: batch}), strict=True))


# -- what a version folder says about itself -------------------------------------------------------


def _flatten_numbers(prefix: str, value: Any, out: dict[str, float]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        out[prefix] = float(value)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten_numbers(f"{prefix}_{key}" if prefix else str(key), inner, out)


def metrics_of(metadata: Mapping[str, Any]) -> dict[str, float]:
    """The numeric held-out metrics of a model card, flattened, plus the contract's common names."""
    metrics: dict[str, float] = {}
    _flatten_numbers("", metadata.get("metrics") or {}, metrics)
    # Aliases named in the contract (Model.metrics): same figures, stable names.
    aliases = {
        "pr_auc": "average_precision",
        "precision_at_review": "review_test_precision",
        "recall_at_review": "review_test_recall",
        "precision_at_decline": "decline_test_precision",
        "recall_at_decline": "decline_test_recall",
    }
    for alias, source in aliases.items():
        if source in metrics:
            metrics[alias] = metrics[source]
    return metrics


def parameters_of(metadata: Mapping[str, Any]) -> dict[str, float]:
    """Serving parameters fixed at training time (thresholds, scorecard scaling, forecast shape)."""
    params: dict[str, float] = {}
    thresholds = metadata.get("thresholds") or {}
    if "review" in thresholds:
        params["review_threshold"] = float(thresholds["review"])
        params["decline_threshold"] = float(thresholds["decline"])
    scorecard = metadata.get("scorecard") or {}
    for key in ("pdo", "base_score", "base_odds", "offset", "factor", "min_score", "max_score"):
        if key in scorecard:
            params[key] = float(scorecard[key])
    forecast = metadata.get("forecast") or {}
    for key in ("input_days", "horizon_days"):
        if key in forecast:
            params[key] = float(forecast[key])
    if "interval" in forecast:
        params["interval_level"] = float(forecast["interval"]["level"])
    recommendations = metadata.get("recommendations") or {}
    if "segments" in recommendations:
        params["segments"] = float(len(recommendations["segments"]))
    return params


def training_time_of(metadata: Mapping[str, Any]) -> datetime:
    raw = str(metadata.get("training_date") or "1970-01-01")
    moment = datetime.fromisoformat(raw)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class FoundVersion:
    """A version folder on disk whose file matched the hash in its metadata."""

    name: str
    version: str
    sha256: str
    model_path: Path
    metadata: dict[str, Any]
    builtin: bool


def scan(roots: Sequence[tuple[Path, bool]]) -> list[FoundVersion]:
    """Every loadable-looking version under ``roots`` (path, is_builtin); refused ones are logged.

    The folder name is the version (copying a folder under a new name is how a
    candidate version is made); metadata's own ``version`` is informative only.
    """
    found: dict[tuple[str, str], FoundVersion] = {}
    for root, builtin in roots:
        if not root.is_dir():
            if not builtin:
                log.warning("model folder %s does not exist; nothing registered from it", root)
            continue
        for meta_path in sorted(root.glob(f"*/*/{METADATA_FILE}")):
            folder = meta_path.parent
            version = folder.name
            try:
                metadata = json.loads(meta_path.read_text())
                raw_name = str(metadata.get("name") or folder.parent.name)
                name = NAME_ALIASES.get(raw_name, raw_name)
                model_path = folder / str(metadata.get("model_file") or "model.onnx")
                expected = str(metadata.get("sha256", ""))
                actual = sha256_hex(model_path.read_bytes())
            except (OSError, ValueError) as exc:
                log.error("refused model folder %s: unreadable (%s)", folder, exc)
                continue
            if name not in MODEL_NAMES or not _VERSION_RE.match(version):
                log.error(
                    "refused model folder %s: unknown model %r or bad version %r", folder, name, version
                )
                continue
            if not _SHA256_RE.match(expected) or actual != expected:
                log.error(
                    "refused %s %s at %s: model file sha256 %s does not match metadata %s",
                    name,
                    version,
                    model_path,
                    actual,
                    expected or "(none)",
                )
                continue
            key = (name, version)
            if key in found and found[key].sha256 != actual:
                log.error(
                    "refused %s %s at %s: the same version with another file is at %s",
                    name,
                    version,
                    model_path,
                    found[key].model_path,
                )
                continue
            found.setdefault(key, FoundVersion(name, version, actual, model_path, metadata, builtin))
    return list(found.values())


def load_verified(
    name: str, version: str, path: str, sha256: str, metadata: Mapping[str, Any]
) -> LoadedModel:
    """Read, verify and load one version; IntegrityFailure if anything is off."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IntegrityFailure(f"model file {path} cannot be read: {exc.strerror or exc}") from None
    actual = sha256_hex(data)
    if actual != sha256:
        raise IntegrityFailure(f"model file {path} has sha256 {actual}, registered {sha256}")
    options = ort.SessionOptions()
    # One thread per inference: the gRPC thread pool already runs requests in parallel, and
    # single-row inference is microseconds, where intra-op threading only adds overhead.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        width = len(metadata.get("features") or [])
        loaded = LoadedModel(name, version, sha256, metadata, session, input_name)
        if width:
            loaded.run(np.zeros((1, width), dtype=np.float32))  # a model that cannot run must not serve
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises many types; all mean "cannot load"
        raise IntegrityFailure(f"model file {path} cannot be loaded: {exc}") from None
    return loaded
