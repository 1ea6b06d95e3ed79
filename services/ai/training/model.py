"""The result of training one model, handed to the artifact writer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class TrainedModel:
    """A fitted model, its ONNX export and everything its artifacts need.

    ``metadata`` holds the model-specific part of metadata.json; the writer
    adds name, version, hashes and dates. ``render_card`` turns the complete
    metadata into MODEL_CARD.md and ``plot`` draws the PNG at the given path.
    """

    name: str
    estimator: Any
    onnx_bytes: bytes
    metadata: dict[str, Any]
    plot_file: str
    plot: Callable[[Path], None]
    render_card: Callable[[dict[str, Any]], str]
    holdout_x: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)
