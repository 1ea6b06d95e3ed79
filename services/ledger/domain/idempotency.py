"""Fingerprints of requests, so a replayed idempotency key can be told from a reused one."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def fingerprint(operation: str, body: dict[str, Any]) -> str:
    """SHA-256 of the operation and its canonical body (sorted keys, no whitespace)."""
    canonical = json.dumps({"op": operation, "body": body}, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
