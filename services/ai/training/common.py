"""Helpers shared by the training steps: progress output, ONNX export,
hashing and artifact writing."""

from __future__ import annotations

import hashlib
import json
import sys
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO, TypeVar

import numpy as np
import onnx
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType

T = TypeVar("T")

#: Opsets of the exported graphs; fixed so that exports are reproducible.
TARGET_OPSET: dict[str, int] = {"": 18, "ai.onnx.ml": 3}
INPUT_NAME = "input"
MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
CARD_FILE = "MODEL_CARD.md"
METADATA_SCHEMA_VERSION = 1


class Progress:
    """Timestamped progress lines on stderr (or any stream); silent when disabled."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._t0 = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def step(self, message: str) -> None:
        if self._enabled:
            print(f"[{self.elapsed:7.1f}s] {message}", file=self._stream, flush=True)

    def loop(self, items: Iterable[T], total: int, label: str, every: float = 0.2) -> Iterator[T]:
        """Yield ``items``, reporting each time another ``every`` share of ``total`` is done."""
        next_report = every
        for i, item in enumerate(items, start=1):
            yield item
            if total and i / total >= next_report:
                self.step(f"{label}: {i}/{total} ({100 * i // total}%)")
                while i / total >= next_report:
                    next_report += every


def export_onnx(
    model: Any, n_features: int, graph_name: str, options: Mapping[Any, Any] | None = None
) -> bytes:
    """Convert a fitted scikit-learn model to ONNX bytes, reproducibly.

    Input: one float32 tensor named ``input`` of shape [N, n_features].
    Classifiers must be given ``options`` with ``{'zipmap': False}`` so their
    outputs are ``label`` (int64) and ``probabilities`` (float32 [N, 2]).
    """
    with warnings.catch_warnings():
        # skl2onnx 1.20 passes booleans to onnx.helper for int attributes (harmless, deprecated)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="onnx.helper")
        onx = to_onnx(
            model,
            initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
            options=dict(options) if options else None,
            target_opset=dict(TARGET_OPSET),
        )
    assert isinstance(onx, onnx.ModelProto)
    onx.graph.name = graph_name
    onx.doc_string = ""
    onnx.checker.check_model(onx)
    return bytes(onx.SerializeToString(deterministic=True))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_hex(path.read_bytes())


def jsonable(value: Any) -> Any:
    """Plain JSON types from numpy scalars / arrays, tuples and dataclass-free mappings."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, float) and not np.isfinite(value):
        raise ValueError("metadata must not contain NaN or infinity")
    return value


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(jsonable(value), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def rounded(value: float, digits: int = 6) -> float:
    return round(float(value), digits)


class OnnxModel:
    """An onnxruntime session over exported bytes (evaluation and tests)."""

    def __init__(self, model_bytes: bytes) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self._session.get_outputs()]

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self._session.run(None, {INPUT_NAME: np.ascontiguousarray(x, dtype=np.float32)})
        return {name: np.asarray(value) for name, value in zip(self.output_names, outputs, strict=True)}

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities, float32 [N, n_classes] (classifiers only)."""
        return self.run(x)["probabilities"]
