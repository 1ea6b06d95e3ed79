"""Syntactic checks of the ledger's requests, and requests to domain commands."""

from __future__ import annotations

import enum
from typing import Any

from nexafi.ledger.v1 import ledger_pb2

from services.ledger.domain.model import Direction, NewEntry, PostingLine, TransactionType
from services.runtime import api
from services.runtime.api import FieldChecks

MAX_BATCH = 1000
MAX_DESCRIPTION = 500


class TransactionView(enum.IntEnum):
    """How much of each entry a bulk read returns (the proto's TransactionView)."""

    UNSPECIFIED = 0
    BASIC = 1
    FULL = 2


# -- validation ------------------------------------------------------------------------------------


class LedgerChecks(FieldChecks):
    """The shared field checks plus the ledger's own."""

    def transaction_type(self, value: int, field: str = "type") -> TransactionType:
        if value == TransactionType.REVERSAL:
            self.add(field, "REVERSAL entries are recorded by ReverseTransaction")
            return TransactionType.REVERSAL
        self.enum(value, TransactionType, field)
        known = value in TransactionType._value2member_map_
        return TransactionType(value) if known else TransactionType.ADJUSTMENT


def postings_from(messages: Any, checks: LedgerChecks) -> tuple[PostingLine, ...]:
    lines = []
    for i, posting in enumerate(messages):
        field = f"postings[{i}]"
        checks.identifier(posting.account_id, f"{field}.account_id")
        checks.enum(posting.direction, Direction, f"{field}.direction")
        known = posting.direction in Direction._value2member_map_
        direction = Direction(posting.direction) if known else Direction.DEBIT
        lines.append(
            PostingLine(posting.account_id, direction, posting.amount.amount_minor, posting.amount.currency)
        )
    return tuple(lines)


def transfer_entry(transfer: ledger_pb2.Transfer) -> NewEntry:
    checks = LedgerChecks()
    checks.identifier(transfer.debit_account_id, "debit_account_id")
    checks.identifier(transfer.credit_account_id, "credit_account_id")
    amount, currency = checks.money(transfer.amount, "amount")
    new = NewEntry(
        user_id=checks.text(transfer.user_id, "user_id", max_length=api.MAX_ID_LENGTH),
        type=checks.transaction_type(transfer.type),
        description=checks.text(transfer.description, "description", max_length=MAX_DESCRIPTION),
        related_entity_id=checks.text(
            transfer.related_entity_id, "related_entity_id", max_length=api.MAX_REQUEST_ID_LENGTH
        ),
        postings=(
            PostingLine(transfer.debit_account_id, Direction.DEBIT, amount, currency),
            PostingLine(transfer.credit_account_id, Direction.CREDIT, amount, currency),
        ),
        request_id=checks.request_id(transfer.request_id),
    )
    checks.done()
    return new
