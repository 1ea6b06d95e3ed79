"""How a failed call to another service is answered: a definite refusal is final (and stored on the
request's idempotency key), anything else is retryable, and a ledger step in doubt is never failed."""

from __future__ import annotations

import logging

from services.payment.domain.model import Payment
from services.runtime.clients import RemoteError
from services.runtime.errors import DomainError, FailedPrecondition, Unavailable

log = logging.getLogger("nexafi.payment")


def unavailable(exc: RemoteError) -> DomainError:
    """A failed call to another service: FAILED_PRECONDITION only for a definite refusal, since
    that is stored on the request's idempotency key; anything else may succeed on a retry."""
    if not exc.refused:
        return Unavailable(
            f"the {exc.service} service cannot be reached", f"{exc.service.upper()}_UNAVAILABLE"
        )
    return FailedPrecondition(
        f"the {exc.service} service refused the request: {exc.reason or exc.code.name}",
        exc.reason or "DEPENDENCY_REFUSED",
    )


def ledger_in_doubt(payment: Payment, exc: RemoteError, then: str) -> Unavailable:
    """The answer when a ledger step's outcome is unknown: retryable, and saying what happens next.

    Never a failure: the step may have been recorded, and only a replay with its key (or a read
    of the ledger) tells. The idempotency key is not finished, so a retry resumes the payment."""
    log.warning("ledger step of %s in doubt: %s %s", payment.id, exc.code.name, exc.reason)
    return Unavailable(
        f"the ledger's answer was lost or it cannot be reached; {then}; retry with the same request_id",
        "LEDGER_UNAVAILABLE",
        {"payment_id": payment.id},
    )
