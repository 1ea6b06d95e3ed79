"""Idempotency request fingerprints, shared by every service that keeps keys.

A key is bound to the exact request it was first used with: the same key with
another body is rejected. The fingerprint is a keyed hash (HMAC-SHA256) of the
canonical request, so requests holding card details (AddPaymentMethod) leave
nothing reversible behind, and the stored value is useless without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message


def canonical(body: Mapping[str, Any]) -> bytes:
    """Key-sorted, whitespace-free JSON: equal requests give equal bytes."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def request_fingerprint(key: bytes, operation: str, body: Mapping[str, Any]) -> str:
    return hmac.new(key, operation.encode() + b"\x00" + canonical(body), hashlib.sha256).hexdigest()


def derived_fingerprint_key(page_token_key: bytes) -> bytes:
    """A fingerprint key for a service without a key of its own: derived from its page-token key
    (secret, the same on every replica; server.page_token_key) for this one use."""
    return hmac.new(page_token_key, b"nexafi-request-fingerprints", hashlib.sha256).digest()


def message_fields(request: Message, key_field: str = "request_id") -> dict[str, Any]:
    """The fields of ``request`` without its idempotency key, as a fingerprint's body (to tell a
    replay from a reuse of the key)."""
    body = type(request)()
    body.CopyFrom(request)
    body.ClearField(key_field)
    return json_format.MessageToDict(body, preserving_proto_field_name=True)
