"""The trend model's input: the last TREND_INPUT_DAYS daily values, scaled by their mean magnitude."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from services.ai.feature_vocabulary import Float64Array, FloatArray

#: The trend model reads the last TREND_INPUT_DAYS daily values (eight weeks)
#: and predicts the next TREND_HORIZON_DAYS.
TREND_INPUT_DAYS = 56
TREND_HORIZON_DAYS = 14
TREND_FEATURE_NAMES: tuple[str, ...] = tuple(f"lag_{TREND_INPUT_DAYS - i}" for i in range(TREND_INPUT_DAYS))


def trend_input_matrix(windows: npt.ArrayLike) -> tuple[FloatArray, Float64Array]:
    """Scale windows of ``TREND_INPUT_DAYS`` values by their mean absolute value.

    Returns the scaled float32 model inputs and the per-row scale (the model
    predicts future values divided by that scale).
    """
    w = np.asarray(windows, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != TREND_INPUT_DAYS:
        raise ValueError(f"windows must have shape (n, {TREND_INPUT_DAYS})")
    if not bool(np.all(np.isfinite(w))):
        raise ValueError("series values must be finite")
    scale = np.mean(np.abs(w), axis=1) + 1.0
    return (w / scale[:, None]).astype(np.float32), scale


def trend_input(series: Sequence[int] | Sequence[float] | npt.ArrayLike) -> tuple[FloatArray, float]:
    """Model input for a daily series (oldest first, at least TREND_INPUT_DAYS values)."""
    values = np.asarray(series, dtype=np.float64).reshape(-1)
    if len(values) < TREND_INPUT_DAYS:
        raise ValueError(f"a series needs at least {TREND_INPUT_DAYS} daily values, got {len(values)}")
    x, scale = trend_input_matrix(values[-TREND_INPUT_DAYS:][None, :])
    return x[0].copy(), float(scale[0])
