"""The first responses that idempotency keys store and replay, as the ledger's domain objects.

A replay returns what the first request returned, whatever happened to the entity since
(a later reversal, posting or balance change). Responses are stored as JSON of the domain
object, not as protobuf: the service returns domain objects and only the gRPC edge renders.
An entry's form is the one ``ledger_post_entries`` stores itself (its item's JSON with ``ii``,
the insert id, and ``ct``, the create time), so both write paths store the same thing. An
entry's seal is not stored: it is given after commit, never changes, and is looked up on replay.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from services.ledger.domain.model import (
    Account,
    AccountType,
    BalanceRule,
    Balances,
    Direction,
    Entry,
    PendingStatus,
    PendingTransfer,
    PostingLine,
    TransactionType,
)


def _time(value: datetime) -> str:
    return value.isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "u": entry.user_id,
        "ty": int(entry.type),
        "de": entry.description,
        "re": entry.related_entity_id,
        "am": entry.amount_minor,
        "cu": entry.currency,
        "md": entry.metadata,
        "rid": entry.request_id,
        "rv": entry.reverses_id or "",
        "pt": entry.pending_transfer_id or "",
        "p": [[p.account_id, int(p.direction), p.amount_minor, p.currency] for p in entry.postings],
        "ii": entry.insert_id,
        "ct": _time(entry.create_time),
    }


def _entry(data: dict[str, Any]) -> Entry:
    created = _parse(data["ct"])
    return Entry(
        id=data["id"],
        sequence=0,
        user_id=data["u"],
        type=TransactionType(data["ty"]),
        description=data["de"],
        related_entity_id=data["re"],
        amount_minor=data["am"],
        currency=data["cu"],
        metadata=dict(data["md"]),
        request_id=data["rid"],
        reverses_id=data["rv"] or None,
        pending_transfer_id=data["pt"] or None,
        create_time=created,
        previous_hash="",
        hash="",
        postings=tuple(PostingLine(a, Direction(d), amount, c) for a, d, amount, c in data["p"]),
        insert_id=data["ii"],
    )


def _account_json(account: Account) -> dict[str, Any]:
    balances = account.balances
    return {
        "id": account.id,
        "owner_id": account.owner_id,
        "name": account.name,
        "type": int(account.type),
        "currency": account.currency,
        "balance_rule": int(account.balance_rule),
        "credit_limit_minor": account.credit_limit_minor,
        "metadata": account.metadata,
        "create_time": _time(account.create_time),
        "balances": None
        if balances is None
        else {
            "currency": balances.currency,
            "posted": balances.posted,
            "pending_debits": balances.pending_debits,
            "pending_credits": balances.pending_credits,
            "available": balances.available,
            "as_of_time": _time(balances.as_of_time),
        },
    }


def _account(data: dict[str, Any]) -> Account:
    b = data["balances"]
    created = _parse(data["create_time"])
    balances = (
        None
        if b is None
        else Balances(
            b["currency"],
            b["posted"],
            b["pending_debits"],
            b["pending_credits"],
            b["available"],
            _parse(b["as_of_time"]),
        )
    )
    return Account(
        id=data["id"],
        owner_id=data["owner_id"],
        name=data["name"],
        type=AccountType(data["type"]),
        currency=data["currency"],
        balance_rule=BalanceRule(data["balance_rule"]),
        credit_limit_minor=data["credit_limit_minor"],
        metadata=dict(data["metadata"]),
        create_time=created,
        balances=balances,
    )


def _pending_json(transfer: PendingTransfer) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "debit": transfer.debit_account_id,
        "credit": transfer.credit_account_id,
        "amount_minor": transfer.amount_minor,
        "currency": transfer.currency,
        "posted_minor": transfer.posted_minor,
        "status": int(transfer.status),
        "user_id": transfer.user_id,
        "type": int(transfer.type),
        "description": transfer.description,
        "related": transfer.related_entity_id,
        "expire_time": _time(transfer.expire_time),
        "transaction_id": transfer.transaction_id,
        "request_id": transfer.request_id,
        "create_time": _time(transfer.create_time),
        "update_time": _time(transfer.update_time),
    }


def _pending(data: dict[str, Any]) -> PendingTransfer:
    expire, created, updated = (_parse(data[name]) for name in ("expire_time", "create_time", "update_time"))
    return PendingTransfer(
        id=data["id"],
        debit_account_id=data["debit"],
        credit_account_id=data["credit"],
        amount_minor=data["amount_minor"],
        currency=data["currency"],
        posted_minor=data["posted_minor"],
        status=PendingStatus(data["status"]),
        user_id=data["user_id"],
        type=TransactionType(data["type"]),
        description=data["description"],
        related_entity_id=data["related"],
        expire_time=expire,
        transaction_id=data["transaction_id"],
        request_id=data["request_id"],
        create_time=created,
        update_time=updated,
    )


def _dump(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def entry_response(entry: Entry) -> bytes:
    return _dump(_entry_json(entry))


def entry_from_response(response: bytes) -> Entry:
    return _entry(json.loads(response))


def account_response(account: Account) -> bytes:
    return _dump(_account_json(account))


def account_from_response(response: bytes) -> Account:
    return _account(json.loads(response))


def pending_response(transfer: PendingTransfer) -> bytes:
    return _dump(_pending_json(transfer))


def pending_from_response(response: bytes) -> PendingTransfer:
    return _pending(json.loads(response))


def posted_response(transfer: PendingTransfer, entry: Entry) -> bytes:
    return _dump({"pending_transfer": _pending_json(transfer), "transaction": _entry_json(entry)})


def posted_from_response(response: bytes) -> tuple[PendingTransfer, Entry]:
    data = json.loads(response)
    return _pending(data["pending_transfer"]), _entry(data["transaction"])
