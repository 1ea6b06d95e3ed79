"""Text recognition with RapidOCR (PP-OCRv4 models in ONNX, shipped inside the wheel).

The engine is loaded on first use (about 5 s and 16 MB of models), once per process, and runs
one image at a time under a lock: the worker is a single background thread anyway, and
onnxruntime is limited to a few threads so extraction never starves the gRPC server's threads.
Recognized text is returned to the caller only; nothing here logs it.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

# Larger images are refused before decoding (a small file may inflate to gigabytes of pixels).
MAX_PIXELS = 40_000_000
# OCR works on a downscaled copy beyond this side: the detector's memory grows with the pixels
# (a 4000x3000 photo peaked at 840 MB unscaled), and a data page filling 1400 pixels still has
# MRZ characters over 25 pixels wide.
MAX_SIDE = 1400
# The text detector scales an image's short side to this many pixels. Its working memory grows
# with it: 736 (RapidOCR's default) peaked near 800 MB on a small page, 480 near 450 MB, and
# still finds MRZ lines printed at passport proportions.
DET_LIMIT_SIDE = 480


class UnreadableImage(Exception):
    """The content is not a decodable image, or is too large to decode safely."""


def decode_image(data: bytes) -> np.ndarray:
    """The image in ``data`` (PNG or JPEG) as a BGR array (the engine's order); UnreadableImage if not one."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadableImage(f"the image has {width}x{height} pixels, more than {MAX_PIXELS}")
            rgb = image.convert("RGB")
            if max(rgb.size) > MAX_SIDE:
                rgb.thumbnail((MAX_SIDE, MAX_SIDE))
            return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])
    except UnreadableImage:
        raise
    # Pillow raises many types on bad files (SyntaxError, struct.error, OSError...).
    except Exception as exc:  # noqa: BLE001
        raise UnreadableImage(type(exc).__name__) from None


def check_runtime() -> str | None:
    """Why the OCR runtime cannot load here (e.g. OpenCV's libGL/libglib missing), or None."""
    try:
        import cv2  # noqa: F401
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None


class OcrEngine:
    """A lazily loaded, thread-safe RapidOCR engine."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._engine: Any = None

    def _load(self) -> Any:
        import cv2
        from rapidocr_onnxruntime import RapidOCR

        # OpenCV's own pool would otherwise take every core during pre-processing.
        cv2.setNumThreads(self.threads)
        return RapidOCR(
            intra_op_num_threads=self.threads, inter_op_num_threads=1, det_limit_side_len=DET_LIMIT_SIDE
        )

    def read(self, image: np.ndarray) -> list[TextBox]:
        """The text lines recognized in ``image``, top to bottom."""
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
            # No angle classifier: it turned upright MRZ lines upside down in our tests, and a
            # data page is photographed upright (a rotated one fails as MRZ_NOT_FOUND).
            result, _ = self._engine(image, use_cls=False)
        boxes = []
        for points, text, _ in result or []:
            ys = [float(point[1]) for point in points]
            boxes.append(TextBox(str(text), min(ys), max(ys)))
        return boxes


@dataclass(frozen=True)
class TextBox:
    text: str
    top: float
    bottom: float


_shared: OcrEngine | None = None
_shared_lock = threading.Lock()


def shared_engine(threads: int = 1) -> OcrEngine:
    """The process's engine: the models are loaded once however many workers start."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = OcrEngine(threads)
        return _shared
