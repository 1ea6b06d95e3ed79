"""The payment service's settings: one value, built once at start (``spec.load_config`` reads the
environment) and passed to everything that needs a setting; nothing else reads the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.payment.domain.limits import Limits


@dataclass(frozen=True)
class Config:
    # HMAC key of card/bank fingerprints and of request fingerprints (a SHA-256 digest).
    fingerprint_key: bytes
    # Signs the sandbox connector's callbacks.
    sandbox_webhook_secret: str
    # "review": hold the payment (with its reservation) for a person when the AI service
    # cannot be reached; "fail": fail it with FRAUD_CHECK_UNAVAILABLE. Never approve blindly.
    fraud_unavailable_policy: str = "review"
    # How long a crashed driver's lease (and its request's idempotency lock) keeps others out.
    lease_seconds: int = 60
    stale_after_seconds: int = 300
    # A PROCESSING payment the gateway still calls pending after this long is voided.
    processing_max_age_seconds: int = 86400
    idempotency_retention_hours: int = 24
    ai_timeout_seconds: float = 2.0
    # The background recovery job's period; 0 disables it.
    recovery_interval_seconds: float = 30.0
    # The sandbox settles 3-D Secure charges by a signed callback after this delay; 0 turns that off.
    sandbox_callback_delay_seconds: float = 2.0
    limits: Limits = field(default_factory=Limits.default)
