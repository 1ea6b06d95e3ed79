"""Reading a passport data page: OCR of the page, then of its MRZ band enlarged when needed.

The first pass reads the whole page. The recognizer sometimes drops or misreads characters in
the dense MRZ when it is small on the page; when the first pass yields no verified MRZ, the band
where MRZ-like lines were seen (or the bottom third of the page, where ICAO puts the MRZ) is cut
out, enlarged and read again. The reading that got furthest wins (a verified MRZ over a check
digit failure over nothing found). A verified reading whose line 1 came short (characters
lost) is also read again, and the reading of line 1 closest to its 44 characters kept.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from services.document.extraction.mrz import (
    LINE,
    MrzFailure,
    PassportMrz,
    failure_rank,
    find_td3,
    normalize,
)
from services.document.extraction.ocr import DET_LIMIT_SIDE, OcrEngine, TextBox

# The enlargement of the second pass; more makes OCR slower without reading better.
BAND_SCALE = 1.5
# Lines of the MRZ look like this after normalization: long, with filler runs.
_MIN_MRZ_LIKE = 20


def _band(image: np.ndarray, boxes: list[TextBox]) -> np.ndarray:
    import cv2  # with the engine (ocr.check_runtime), not at import: it needs system libraries

    height = image.shape[0]
    mrz_like = [b for b in boxes if len(normalize(b.text)) >= _MIN_MRZ_LIKE and "<<" in normalize(b.text)]
    if mrz_like:
        top = min(b.top for b in mrz_like)
        bottom = max(b.bottom for b in mrz_like)
        line = max(b.bottom - b.top for b in mrz_like)
        # A line the first pass missed entirely may sit just above or below the lines it found.
        start, end = int(max(0, top - 1.5 * line)), int(min(height, bottom + 2.5 * line))
    else:
        start, end = int(height * 2 / 3), height
    band = cv2.resize(image[start:end], None, fx=BAND_SCALE, fy=BAND_SCALE, interpolation=cv2.INTER_CUBIC)
    # White margins up to the detector's working height: otherwise it scales the whole wide band
    # up to that height, and its memory with it.
    missing = DET_LIMIT_SIDE - band.shape[0]
    if missing > 0:
        band = cv2.copyMakeBorder(
            band, missing // 2, missing - missing // 2, 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255)
        )
    return band


def read_passport(ocr: OcrEngine, image: np.ndarray, *, today: date) -> PassportMrz | MrzFailure:
    """The verified MRZ of the data page in ``image`` (BGR), or the most telling failure."""
    boxes = ocr.read(image)
    first = find_td3([b.text for b in boxes], today=today)
    if isinstance(first, PassportMrz) and first.line1_read_length == LINE:
        return first
    # Either nothing verified, or line 1 came short: the recognizer drops narrow letters next
    # to fillers ("<I", "<J") in small print, and names have no check digit to catch it.
    second = find_td3([b.text for b in ocr.read(_band(image, boxes))], today=today)
    if isinstance(first, PassportMrz):
        if isinstance(second, PassportMrz) and abs(second.line1_read_length - LINE) < abs(
            first.line1_read_length - LINE
        ):
            return second
        return first
    if isinstance(second, PassportMrz) or failure_rank(second) > failure_rank(first):
        return second
    return first
