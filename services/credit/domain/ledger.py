"""What the credit service asks of the ledger, in the ledger's own vocabulary: the enums of the
shared ledger client, which translates them to the ledger's protobuf enums, so no use case compares
against generated constants."""

from __future__ import annotations

from services.runtime.ledger_client import AccountType, BalanceRule, EntryType

__all__ = ["AccountType", "BalanceRule", "EntryType"]
