"""Separation of duties between staff and the payments they are party to."""

from __future__ import annotations

from services.payment.domain.model import Payment
from services.runtime.errors import PermissionDenied


def forbid_self_decision(payment: Payment, actor: str, action: str) -> None:
    """Nobody reviews, decides on or refunds a payment they are party to.

    ``actor`` is the staff member's user id (services and the system have other names), so a
    support agent cannot approve their own top-up held for review, nor pull back their own
    transfer by refunding it. PERMISSION_DENIED SELF_DECISION, as credit and documents answer.
    """
    if actor in (payment.user_id, payment.payee_user_id):
        raise PermissionDenied(
            f"staff may not {action} their own payment", "SELF_DECISION", {"payment_id": payment.id}
        )
