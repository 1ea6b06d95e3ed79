"""The document service's settings, read once at start (``spec.settings_from_env``) and passed in.

The environment variables are listed in spec.py's docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.document import crypto
from services.document.storage import StorageSettings

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ExtractionSettings:
    """The background KYC extraction (extraction/worker.py)."""

    # Off: passports stay PENDING until a replica with it on picks them up.
    enabled: bool = True
    poll_seconds: float = 2.0
    # A version RUNNING longer than this is re-claimed: its worker died.
    running_timeout_seconds: int = 600
    max_attempts: int = 3
    # onnxruntime threads for OCR: 1, so extraction never starves the gRPC server.
    ocr_threads: int = 1


@dataclass(frozen=True)
class DocumentSettings:
    storage: StorageSettings
    keys: crypto.MasterKeys
    # The largest document accepted, in bytes (Envoy does not limit streamed upload bodies).
    max_bytes: int = DEFAULT_MAX_BYTES
    segment_size: int = crypto.DEFAULT_SEGMENT_SIZE
    extraction: ExtractionSettings = field(default_factory=ExtractionSettings)
