"""SQL of payments (with their status history and leases) and of the reads across payments and
refunds (staff actions, reconciliation); used only inside a unit of work (a Session). Methods,
refunds, ledger accounts and the connector log have their own *_repository modules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.payment import refund_repository
from services.payment.domain.model import (
    FraudDecision,
    MethodType,
    Payment,
    Refund,
    RefundState,
    StatusChange,
)
from services.payment.domain.states import IN_FLIGHT, RECOVERABLE, UNSUCCESSFUL, Kind, Status
from services.runtime import audit
from services.runtime.audit import StaffAction
from services.runtime.errors import NotFound


def _values(statuses: frozenset[Status]) -> list[int]:
    """A set of statuses as the list a ``= ANY(:param)`` / ``<> ALL(:param)`` compares with."""
    return sorted(int(s) for s in statuses)


# -- payments -----------------------------------------------------------------------------------
_PAYMENT_COLUMNS = (
    "id, user_id, kind, amount_minor, currency, status, payment_method_id, method_type, "
    "payee_user_id, description, metadata, request_id, failure_code, failure_message, "
    "fraud_checked, fraud_score_bps, fraud_decision, connector, external_reference, "
    "debit_account_id, credit_account_id, pending_transfer_id, transaction_id, refunded_minor, "
    "create_time, update_time"
)


def _payment(row: Any) -> Payment:
    m = row._mapping
    return Payment(
        id=m["id"],
        user_id=m["user_id"],
        kind=Kind(m["kind"]),
        amount_minor=m["amount_minor"],
        currency=m["currency"],
        status=Status(m["status"]),
        payment_method_id=m["payment_method_id"],
        method_type=MethodType(m["method_type"]),
        payee_user_id=m["payee_user_id"],
        description=m["description"],
        metadata=dict(m["metadata"]),
        request_id=m["request_id"],
        failure_code=m["failure_code"],
        failure_message=m["failure_message"],
        fraud_checked=m["fraud_checked"],
        fraud_score_bps=m["fraud_score_bps"],
        fraud_decision=FraudDecision(m["fraud_decision"]),
        connector=m["connector"],
        external_reference=m["external_reference"],
        debit_account_id=m["debit_account_id"],
        credit_account_id=m["credit_account_id"],
        pending_transfer_id=m["pending_transfer_id"],
        transaction_id=m["transaction_id"],
        refunded_minor=m["refunded_minor"],
        create_time=m["create_time"],
        update_time=m["update_time"],
    )


def insert_payment(session: Session, p: Payment, actor: str, lease_token: str, lease_seconds: int) -> None:
    session.execute(
        sa.text(
            "INSERT INTO payments (id, user_id, kind, amount_minor, currency, status, payment_method_id, "
            "method_type, payee_user_id, description, metadata, request_id, connector, debit_account_id, "
            "credit_account_id, lease_token, lease_until, create_time, update_time) VALUES (:id, :user_id, "
            ":kind, :amount, :currency, :status, "
            ":method, :method_type, :payee, :description, CAST(:metadata AS jsonb), :request_id, :connector, "
            ":debit, :credit, :lease, clock_timestamp() + make_interval(secs => :secs), :created, :updated)"
        ),
        {
            "id": p.id,
            "user_id": p.user_id,
            "kind": int(p.kind),
            "amount": p.amount_minor,
            "currency": p.currency,
            "status": int(p.status),
            "method": p.payment_method_id,
            "method_type": int(p.method_type),
            "payee": p.payee_user_id,
            "description": p.description,
            "metadata": json.dumps(p.metadata),
            "request_id": p.request_id,
            "connector": p.connector,
            "debit": p.debit_account_id,
            "credit": p.credit_account_id,
            "lease": lease_token,
            "secs": lease_seconds,
            "created": p.create_time,
            "updated": p.update_time,
        },
    )
    add_history(session, p.id, Status.UNSPECIFIED, p.status, "payment created", actor, p.create_time)


def get_payment(session: Session, payment_id: str, *, lock: bool = False, full: bool = False) -> Payment:
    row = session.execute(
        sa.text(f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE id = :id" + (" FOR UPDATE" if lock else "")),
        {"id": payment_id},
    ).first()
    if row is None:
        raise NotFound(f"payment {payment_id} not found", "PAYMENT_NOT_FOUND", {"payment_id": payment_id})
    payment = _payment(row)
    if full:
        payment.history.extend(history(session, payment_id))
        payment.refunds.extend(refund_repository.refunds_of(session, payment_id))
    return payment


_UPDATABLE = frozenset(
    {
        "status",
        "failure_code",
        "failure_message",
        "fraud_checked",
        "fraud_score_bps",
        "fraud_decision",
        "external_reference",
        "pending_transfer_id",
        "transaction_id",
        "refunded_minor",
        "debit_account_id",
        "credit_account_id",
        "amount_minor",
    }
)


def update_payment(session: Session, payment_id: str, now: datetime, **fields: Any) -> None:
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = :{name}" for name in fields)
    values = {k: int(v) if isinstance(v, Status | FraudDecision) else v for k, v in fields.items()}
    session.execute(
        sa.text(f"UPDATE payments SET {assignments}, update_time = :update_time WHERE id = :id"),
        {**values, "id": payment_id, "update_time": now},
    )


def add_history(
    session: Session,
    payment_id: str,
    from_status: Status,
    to_status: Status,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    session.execute(
        sa.text(
            "INSERT INTO payment_status_history (payment_id, from_status, to_status, reason, actor, "
            "change_time) VALUES (:p, :f, :t, :r, :a, :now)"
        ),
        {
            "p": payment_id,
            "f": int(from_status),
            "t": int(to_status),
            "r": reason[:500],
            "a": actor,
            "now": now,
        },
    )


def history(session: Session, payment_id: str) -> list[StatusChange]:
    rows = session.execute(
        sa.text(
            "SELECT from_status, to_status, reason, actor, change_time FROM payment_status_history "
            "WHERE payment_id = :p ORDER BY id"
        ),
        {"p": payment_id},
    ).all()
    return [
        StatusChange(Status(r.from_status), Status(r.to_status), r.reason, r.actor, r.change_time)
        for r in rows
    ]


# Staff actions: status changes and refund requests by a person other than the payer and payee.
# The status names are the contract's, so an entry reads the same in any client.
_STAFF_ACTIONS = """
    SELECT 'psh_' || h.id AS id, h.actor, 'payment.status_changed' AS action, h.payment_id AS resource_id,
           p.user_id, h.reason, h.change_time AS at, h.from_status, h.to_status,
           0::bigint AS amount_minor, '' AS currency, '' AS refund_id
      FROM payment_status_history h JOIN payments p ON p.id = h.payment_id
     WHERE h.actor LIKE :person AND h.actor <> p.user_id AND h.actor <> p.payee_user_id
    UNION ALL
    SELECT r.id, r.actor, 'payment.refund_requested', r.payment_id, p.user_id, r.reason, r.create_time,
           0, 0, r.amount_minor, r.currency, r.id
      FROM refunds r JOIN payments p ON p.id = r.payment_id
     WHERE r.actor LIKE :person AND r.actor <> p.user_id AND r.actor <> p.payee_user_id
"""


def staff_actions(
    session: Session, actor_id: str | None, before: tuple[datetime, str] | None, limit: int
) -> list[StaffAction]:
    """Newest first; ``before`` is the (time, id) of the last entry of the previous page."""
    return audit.read_trail(session, _STAFF_ACTIONS, actor_id, before, limit, _staff_details)


def _staff_details(row: Any) -> dict[str, str]:
    if row.action == "payment.status_changed":
        return {
            "from_status": audit.enum_label("PAYMENT_STATUS_", Status, row.from_status),
            "to_status": audit.enum_label("PAYMENT_STATUS_", Status, row.to_status),
        }
    return {"refund_id": row.refund_id, "amount_minor": str(row.amount_minor), "currency": row.currency}


def acquire_lease(session: Session, payment_id: str, token: str, seconds: int) -> bool:
    """Take the payment's lease unless someone else holds a live one; a crashed holder's lease expires."""
    row = session.execute(
        sa.text(
            "UPDATE payments SET lease_token = :t, lease_until = clock_timestamp() + make_interval(secs "
            "=> :s) "
            "WHERE id = :id AND (lease_until IS NULL OR lease_until < clock_timestamp() OR lease_token = :t) "
            "RETURNING id"
        ),
        {"id": payment_id, "t": token, "s": seconds},
    ).first()
    return row is not None


def release_lease(session: Session, payment_id: str, token: str) -> None:
    session.execute(
        sa.text(
            "UPDATE payments SET lease_token = '', lease_until = NULL WHERE id = :id AND lease_token = :t"
        ),
        {"id": payment_id, "t": token},
    )


def lock_user_limits(session: Session, user_id: str) -> None:
    """Serialize limit checks of one user, so concurrent payments cannot both slip under the daily limit."""
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtext('payment-limits:' || :u))"), {"u": user_id}
    )


def daily_used(session: Session, user_id: str, currency: str, now: datetime) -> int:
    value = session.execute(
        sa.text(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM payments WHERE user_id = :u AND currency = :c "
            "AND create_time > CAST(:now AS timestamptz) - interval '24 hours' AND status <> ALL(:ended)"
        ),
        {"u": user_id, "c": currency, "now": now, "ended": _values(UNSUCCESSFUL)},
    ).scalar_one()
    return int(value)


@dataclass(frozen=True)
class PaymentFilter:
    """Which of a user's payments a listing returns, newest first: empty ``statuses`` and a zero
    ``kind`` do not filter; ``include_incoming`` adds the payments of which the user is the payee."""

    user_id: str
    statuses: tuple[int, ...] = ()
    kind: int = 0
    start: datetime | None = None
    end: datetime | None = None
    include_incoming: bool = False


def list_payments(session: Session, where: PaymentFilter, before_id: str, limit: int) -> list[Payment]:
    owner = "(user_id = :u OR payee_user_id = :u)" if where.include_incoming else "user_id = :u"
    rows = session.execute(
        sa.text(
            f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE {owner} "
            "AND (cardinality(CAST(:st AS smallint[])) = 0 OR status = ANY(CAST(:st AS smallint[]))) "
            "AND (:k = 0 OR kind = :k) "
            "AND (CAST(:start AS timestamptz) IS NULL OR create_time >= :start) "
            "AND (CAST(:end AS timestamptz) IS NULL OR create_time < :end) "
            "AND (:b = '' OR id < :b) ORDER BY id DESC LIMIT :n"
        ),
        {
            "u": where.user_id,
            "st": list(where.statuses),
            "k": where.kind,
            "start": where.start,
            "end": where.end,
            "b": before_id,
            "n": limit,
        },
    ).all()
    return [_payment(r) for r in rows]


def payments_in_status(session: Session, status: Status, after_id: str, limit: int) -> list[Payment]:
    """Every user's payments in one status, oldest first (ids are time-ordered), each with its history:
    a staff queue. The page starts after ``after_id`` ("" for the first page)."""
    rows = session.execute(
        sa.text(
            f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE status = :st "
            "AND (:a = '' OR id > :a) ORDER BY id LIMIT :n"
        ),
        {"st": int(status), "a": after_id, "n": limit},
    ).all()
    payments = [_payment(r) for r in rows]
    for payment in payments:
        payment.history.extend(history(session, payment.id))
    return payments


def stale_payments(session: Session, now: datetime, stale_after_seconds: int, limit: int) -> list[Payment]:
    rows = session.execute(
        sa.text(
            f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE status = ANY(:st) "
            "AND update_time < CAST(:now AS timestamptz) - make_interval(secs => :s) "
            "ORDER BY update_time LIMIT :n"
        ),
        {"st": _values(RECOVERABLE), "s": stale_after_seconds, "n": limit, "now": now},
    ).all()
    return [_payment(r) for r in rows]


@dataclass(frozen=True)
class Booked:
    """What reconciliation needs of a payment: far cheaper to read than a whole Payment."""

    id: str
    status: Status
    amount_minor: int
    currency: str
    transaction_id: str
    pending_transfer_id: str
    refunded_minor: int
    update_time: datetime


def booked_in_range(session: Session, start: datetime, end: datetime) -> list[Booked]:
    rows = session.execute(
        sa.text(
            "SELECT id, status, amount_minor, currency, transaction_id, pending_transfer_id, refunded_minor, "
            "update_time FROM payments WHERE create_time >= :s AND create_time < :e ORDER BY create_time, id"
        ),
        {"s": start, "e": end},
    ).all()
    return [Booked(r[0], Status(r[1]), r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]


def method_in_use(session: Session, method_id: str) -> bool:
    return (
        session.execute(
            sa.text("SELECT 1 FROM payments WHERE payment_method_id = :m AND status = ANY(:st) LIMIT 1"),
            {"m": method_id, "st": _values(IN_FLIGHT)},
        ).first()
        is not None
    )


def payment_exists(session: Session, payment_id: str) -> bool:
    return (
        session.execute(sa.text("SELECT 1 FROM payments WHERE id = :id"), {"id": payment_id}).first()
        is not None
    )


def succeeded_refunds_of(session: Session, payment_ids: list[str]) -> list[Refund]:
    """The succeeded refunds of many payments in one query (reconciliation)."""
    rows = session.execute(
        sa.text("SELECT * FROM refunds WHERE payment_id = ANY(:ids) AND state = :succeeded"),
        {"ids": payment_ids, "succeeded": RefundState.SUCCEEDED.value},
    ).all()
    return [refund_repository.refund_from_row(r) for r in rows]


def existing_payment_ids(session: Session, payment_ids: list[str]) -> set[str]:
    rows = session.execute(sa.text("SELECT id FROM payments WHERE id = ANY(:ids)"), {"ids": payment_ids})
    return {r.id for r in rows}
