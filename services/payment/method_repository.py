"""SQL of payment methods; used only inside a unit of work (a Session)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.payment.domain.model import BankFormat, MethodState, MethodType, PaymentMethod
from services.runtime.errors import NotFound

_METHOD_COLUMNS = (
    "id, user_id, type, state, fingerprint, connector_token, brand, last4, exp_month, exp_year, "
    "holder_name, bank_format, masked_number, country_code, currency, ledger_account_id, "
    "create_time, update_time"
)


def _method(row: Any) -> PaymentMethod:
    m = row._mapping
    return PaymentMethod(
        id=m["id"],
        user_id=m["user_id"],
        type=MethodType(m["type"]),
        state=MethodState(m["state"]),
        fingerprint=m["fingerprint"],
        connector_token=m["connector_token"],
        brand=m["brand"],
        last4=m["last4"],
        exp_month=m["exp_month"],
        exp_year=m["exp_year"],
        holder_name=m["holder_name"],
        bank_format=BankFormat(m["bank_format"]),
        masked_number=m["masked_number"],
        country_code=m["country_code"],
        currency=m["currency"],
        ledger_account_id=m["ledger_account_id"],
        create_time=m["create_time"],
        update_time=m["update_time"],
    )


def insert_method(session: Session, method: PaymentMethod, dedup_key: str, connector: str) -> PaymentMethod:
    row = session.execute(
        sa.text(
            f"INSERT INTO payment_methods (id, user_id, type, state, fingerprint, dedup_key, connector, "
            f"connector_token, brand, last4, exp_month, exp_year, holder_name, bank_format, masked_number, "
            f"country_code, currency, ledger_account_id, create_time, update_time) VALUES (:id, :user_id, "
            f":type, :state, :fingerprint, "
            f":dedup_key, :connector, :token, :brand, :last4, :exp_month, :exp_year, :holder_name, "
            f":bank_format, "
            f":masked, :country, :currency, :ledger, :now, :now) RETURNING {_METHOD_COLUMNS}"
        ),
        {
            "id": method.id,
            "user_id": method.user_id,
            "type": int(method.type),
            "state": int(method.state),
            "fingerprint": method.fingerprint,
            "dedup_key": dedup_key,
            "connector": connector,
            "token": method.connector_token,
            "brand": method.brand,
            "last4": method.last4,
            "exp_month": method.exp_month,
            "exp_year": method.exp_year,
            "holder_name": method.holder_name,
            "bank_format": int(method.bank_format),
            "masked": method.masked_number,
            "country": method.country_code,
            "currency": method.currency,
            "ledger": method.ledger_account_id,
            "now": method.create_time,
        },
    ).one()
    return _method(row)


def active_method_by_dedup(session: Session, user_id: str, dedup_key: str) -> PaymentMethod | None:
    row = session.execute(
        sa.text(
            f"SELECT {_METHOD_COLUMNS} FROM payment_methods WHERE user_id = :u AND dedup_key = :d AND "
            "state = :active"
        ),
        {"u": user_id, "d": dedup_key, "active": int(MethodState.ACTIVE)},
    ).first()
    return _method(row) if row else None


def get_method(session: Session, method_id: str, *, lock: bool = False) -> PaymentMethod:
    row = session.execute(
        sa.text(
            f"SELECT {_METHOD_COLUMNS} FROM payment_methods WHERE id = :id" + (" FOR UPDATE" if lock else "")
        ),
        {"id": method_id},
    ).first()
    if row is None:
        raise NotFound(
            f"payment method {method_id} not found",
            "PAYMENT_METHOD_NOT_FOUND",
            {"payment_method_id": method_id},
        )
    return _method(row)


def list_methods(
    session: Session, user_id: str, type_: int, before_id: str, limit: int
) -> list[PaymentMethod]:
    rows = session.execute(
        sa.text(
            f"SELECT {_METHOD_COLUMNS} FROM payment_methods WHERE user_id = :u AND state = :active "
            "AND (:t = 0 OR type = :t) AND (:b = '' OR id < :b) ORDER BY id DESC LIMIT :n"
        ),
        {"u": user_id, "active": int(MethodState.ACTIVE), "t": type_, "b": before_id, "n": limit},
    ).all()
    return [_method(r) for r in rows]


def remove_method(session: Session, method_id: str, now: datetime) -> PaymentMethod:
    row = session.execute(
        sa.text(
            f"UPDATE payment_methods SET state = :removed, update_time = :now WHERE id = :id RETURNING "
            f"{_METHOD_COLUMNS}"
        ),
        {"id": method_id, "now": now, "removed": int(MethodState.REMOVED)},
    ).one()
    return _method(row)
