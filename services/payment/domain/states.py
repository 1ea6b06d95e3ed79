"""The payment state machine: which transitions are legal, and who may apply each.

The values mirror ``nexafi.payment.v1.PaymentStatus`` so the servicer converts by
value; the domain never imports the generated code.
"""

from __future__ import annotations

from enum import IntEnum

from services.runtime.errors import FailedPrecondition, PermissionDenied


class Status(IntEnum):
    UNSPECIFIED = 0
    PENDING = 1
    REQUIRES_REVIEW = 2
    PROCESSING = 3
    SUCCEEDED = 4
    FAILED = 5
    CANCELLED = 6
    REFUNDED = 7
    PARTIALLY_REFUNDED = 8


class Kind(IntEnum):
    UNSPECIFIED = 0
    TOP_UP = 1
    TRANSFER = 2
    PAYOUT = 3


class Actor(IntEnum):
    """Who asks for a transition; decides which legal transitions are allowed."""

    OWNER = 1
    STAFF = 2  # admin or support: review decisions only
    SERVICE = 3  # another NexaFi service
    SYSTEM = 4  # the payment service itself: its own flow, connector results, recovery


LEGAL: dict[Status, frozenset[Status]] = {
    Status.UNSPECIFIED: frozenset({Status.PENDING}),
    Status.PENDING: frozenset({Status.REQUIRES_REVIEW, Status.PROCESSING, Status.FAILED, Status.CANCELLED}),
    Status.REQUIRES_REVIEW: frozenset({Status.PROCESSING, Status.FAILED, Status.CANCELLED}),
    Status.PROCESSING: frozenset({Status.SUCCEEDED, Status.FAILED}),
    Status.SUCCEEDED: frozenset({Status.PARTIALLY_REFUNDED, Status.REFUNDED}),
    Status.PARTIALLY_REFUNDED: frozenset({Status.PARTIALLY_REFUNDED, Status.REFUNDED}),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.REFUNDED: frozenset(),
}

TERMINAL = frozenset({Status.FAILED, Status.CANCELLED, Status.REFUNDED})
# Statuses in which a payment may still hold a ledger reservation or be executing.
IN_FLIGHT = frozenset({Status.PENDING, Status.REQUIRES_REVIEW, Status.PROCESSING})
# Statuses recovery settles once stale: PENDING resumes, PROCESSING asks the gateway what happened.
RECOVERABLE = frozenset({Status.PENDING, Status.PROCESSING})
# Statuses that ended without moving money; the daily limit does not count them.
UNSUCCESSFUL = frozenset({Status.FAILED, Status.CANCELLED})
# Statuses whose ledger reservation must have been posted.
MONEY_MOVED = frozenset({Status.SUCCEEDED, Status.PARTIALLY_REFUNDED, Status.REFUNDED})
REFUND_STATUSES = frozenset({Status.PARTIALLY_REFUNDED, Status.REFUNDED})

# Staff decide reviews and nothing else: approve, decline or cancel a held payment.
_STAFF_ALLOWED = frozenset(
    {
        (Status.REQUIRES_REVIEW, Status.PROCESSING),
        (Status.REQUIRES_REVIEW, Status.FAILED),
        (Status.REQUIRES_REVIEW, Status.CANCELLED),
    }
)


def is_legal(current: Status, target: Status) -> bool:
    return target in LEGAL[current]


def check_transition(current: Status, target: Status) -> None:
    """FAILED_PRECONDITION ILLEGAL_STATUS_TRANSITION unless ``current -> target`` is legal."""
    if not is_legal(current, target):
        raise FailedPrecondition(
            f"a payment cannot go from {current.name} to {target.name}",
            "ILLEGAL_STATUS_TRANSITION",
            {"from_status": current.name, "to_status": target.name},
        )


def check_actor(actor: Actor, current: Status, target: Status) -> None:
    """PERMISSION_DENIED unless ``actor`` may apply this (legal) transition by UpdatePaymentStatus.

    Owners never use UpdatePaymentStatus (they cancel with CancelPayment); refunds
    only happen through RefundPayment, whoever asks, so that a refund always has
    its ledger reversal.
    """
    if target in REFUND_STATUSES and actor is not Actor.SYSTEM:
        raise PermissionDenied("refund statuses are set only by RefundPayment")
    if actor is Actor.OWNER:
        raise PermissionDenied("payment owners cannot set a status; use CancelPayment")
    if actor is Actor.STAFF and (current, target) not in _STAFF_ALLOWED:
        raise PermissionDenied("admins and support agents may only decide payments under review")
