"""The state machine of two-phase transfers: PENDING -> POSTED | VOIDED | EXPIRED, nothing else."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.ledger.domain.model import PendingStatus, PendingTransfer
from services.runtime.errors import FailedPrecondition, InvalidArgument

_TERMINAL = frozenset({PendingStatus.POSTED, PendingStatus.VOIDED, PendingStatus.EXPIRED})


def is_expired(transfer: PendingTransfer, now: datetime) -> bool:
    """True when a still-pending transfer has passed its expire_time (it must be released)."""
    return transfer.status is PendingStatus.PENDING and now >= transfer.expire_time


def _require_pending(transfer: PendingTransfer, now: datetime) -> None:
    if transfer.status in _TERMINAL or is_expired(transfer, now):
        status = PendingStatus.EXPIRED if is_expired(transfer, now) else transfer.status
        raise FailedPrecondition(
            f"pending transfer {transfer.id} is {status.name.lower()}",
            "PENDING_TRANSFER_NOT_PENDING",
            {"pending_transfer_id": transfer.id, "status": status.name},
        )


def post(transfer: PendingTransfer, amount_minor: int | None, now: datetime) -> PendingTransfer:
    """Post ``amount_minor`` (None: in full); what is not posted is released."""
    _require_pending(transfer, now)
    amount = transfer.amount_minor if amount_minor is None else amount_minor
    if amount <= 0:
        raise InvalidArgument(
            "amount must be positive",
            field="amount.amount_minor",
            description="must be a positive integer number of minor units",
        )
    if amount > transfer.amount_minor:
        raise InvalidArgument(
            f"amount {amount} exceeds the reserved {transfer.amount_minor}",
            field="amount.amount_minor",
            reason="AMOUNT_EXCEEDS_RESERVATION",
            description="must be at most the reserved amount",
        )
    return replace(transfer, status=PendingStatus.POSTED, posted_minor=amount, update_time=now)


def void(transfer: PendingTransfer, now: datetime) -> PendingTransfer:
    _require_pending(transfer, now)
    return replace(transfer, status=PendingStatus.VOIDED, update_time=now)


def expire(transfer: PendingTransfer, now: datetime) -> PendingTransfer:
    if not is_expired(transfer, now):
        raise FailedPrecondition(
            f"pending transfer {transfer.id} has not expired", "PENDING_TRANSFER_NOT_EXPIRED"
        )
    return replace(transfer, status=PendingStatus.EXPIRED, update_time=now)
