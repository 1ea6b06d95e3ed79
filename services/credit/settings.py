"""The credit service's own settings, read once at start (spec.settings_from_env) and passed in.

Tests build one explicitly. The service's addresses and client secret are the runtime's
(services/runtime/clients.py ServiceChannels), shared by every service."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CreditSettings:
    # The deadline of a scoring call, after which an application is referred to review.
    ai_timeout_seconds: float = 2.0
    # Which credit bureau applications are checked with (spec.build_bureau knows the names).
    bureau: str = "sandbox"
    # How often the recovery job runs (0 disables it) and how old a disbursement or repayment
    # intent must be before it completes it.
    recovery_interval_seconds: float = 30.0
    stale_after_seconds: int = 60
    # How long a request's idempotency key stays locked to it: a duplicate within it is ABORTED
    # (REQUEST_IN_PROGRESS); after a crash, the retry after it resumes the request. It must outlast
    # a request (several ledger calls of up to 5 s each).
    idempotency_lock_seconds: int = 60
    # How often credit lines are settled (daily interest, statements); 0 disables the job.
    line_accrual_interval_seconds: float = 3600.0
