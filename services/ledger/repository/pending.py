"""Pending transfers (two-phase: reserve, then post or void)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.ledger.domain.model import PendingStatus, PendingTransfer, TransactionType
from services.ledger.repository.rows import utc
from services.runtime.errors import NotFound

PENDING_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount_minor, currency, posted_minor, status, "
    "user_id, type, description, related_entity_id, expire_time, transaction_id, request_id, "
    "create_time, update_time"
)


def pending_row(row: Any) -> PendingTransfer:
    return PendingTransfer(
        id=row.id,
        debit_account_id=row.debit_account_id,
        credit_account_id=row.credit_account_id,
        amount_minor=row.amount_minor,
        currency=row.currency,
        posted_minor=row.posted_minor,
        status=PendingStatus(row.status),
        user_id=row.user_id,
        type=TransactionType(row.type),
        description=row.description,
        related_entity_id=row.related_entity_id,
        expire_time=utc(row.expire_time),
        transaction_id=row.transaction_id,
        request_id=row.request_id,
        create_time=utc(row.create_time),
        update_time=utc(row.update_time),
    )


def insert_pending(session: Session, transfer: PendingTransfer) -> None:
    session.execute(
        sa.text(
            f"INSERT INTO pending_transfers ({PENDING_COLUMNS}) VALUES (:id, :debit, :credit, :amount, "
            ":currency, :posted, :status, :user_id, :type, :description, :related, :expire, :txn, :rid, "
            ":created, :updated)"
        ),
        _pending_params(transfer),
    )


def _pending_params(transfer: PendingTransfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "debit": transfer.debit_account_id,
        "credit": transfer.credit_account_id,
        "amount": transfer.amount_minor,
        "currency": transfer.currency,
        "posted": transfer.posted_minor,
        "status": int(transfer.status),
        "user_id": transfer.user_id,
        "type": int(transfer.type),
        "description": transfer.description,
        "related": transfer.related_entity_id,
        "expire": transfer.expire_time,
        "txn": transfer.transaction_id,
        "rid": transfer.request_id,
        "created": transfer.create_time,
        "updated": transfer.update_time,
    }


def update_pending(session: Session, transfer: PendingTransfer) -> None:
    session.execute(
        sa.text(
            "UPDATE pending_transfers SET status = :status, posted_minor = :posted, transaction_id = :txn, "
            "update_time = :updated WHERE id = :id"
        ),
        _pending_params(transfer),
    )


def get_pending(session: Session, transfer_id: str, *, lock: bool = False) -> PendingTransfer:
    suffix = " FOR UPDATE" if lock else ""
    row = session.execute(
        sa.text(f"SELECT {PENDING_COLUMNS} FROM pending_transfers WHERE id = :id{suffix}"),
        {"id": transfer_id},
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"pending transfer {transfer_id} not found",
            "PENDING_TRANSFER_NOT_FOUND",
            {"pending_transfer_id": transfer_id},
        )
    return pending_row(row)


def due_pending_ids(session: Session, limit: int, account_ids: Sequence[str] | None = None) -> list[str]:
    """Ids of pending transfers past their expire_time (optionally touching ``account_ids``)."""
    rows = session.execute(
        sa.text(
            f"SELECT id FROM pending_transfers WHERE status = {int(PendingStatus.PENDING)} "
            "AND expire_time <= clock_timestamp() "
            "AND (CAST(:ids AS text[]) IS NULL OR debit_account_id = ANY(:ids) OR credit_account_id = "
            "ANY(:ids)) "
            "ORDER BY expire_time LIMIT :limit"
        ),
        {"limit": limit, "ids": list(account_ids) if account_ids is not None else None},
    ).all()
    return [r.id for r in rows]
