"""Helpers of the analytics tests: post real ledger entries and wait until analytics has applied them."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.runtime.api import to_timestamp
from services.runtime.ids import new_id
from tests.support.harness import TokenFactory

Metadata = tuple[tuple[str, str], ...]
WAIT_SECONDS = 20.0


def money(amount: int, currency: str = "EUR") -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency=currency)


def time_range(start: datetime, end: datetime) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_time=to_timestamp(start), end_time=to_timestamp(end))


class Books:
    """Real ledger accounts and entries for fresh users, and the analytics API to read them."""

    def __init__(
        self,
        ledger: ledger_pb2_grpc.LedgerServiceStub,
        analytics: analytics_pb2_grpc.AnalyticsServiceStub,
        tokens: TokenFactory,
    ) -> None:
        self.ledger = ledger
        self.analytics = analytics
        self.tokens = tokens
        # Tests post on arbitrary accounts: an admin may, a service only within its scope.
        self.ops = tokens.metadata("usr_analytics_operator", ["admin"])
        self.admin = tokens.metadata("usr_analytics_admin", ["admin"])
        self._clearing: dict[str, str] = {}

    def customer(self, user_id: str) -> Metadata:
        return self.tokens.metadata(user_id, ["customer"])

    def open(self, owner: str, currency: str = "EUR", *, asset: bool = False) -> str:
        request = ledger_pb2.CreateAccountRequest(
            owner_id=owner,
            name="clearing" if asset else "wallet",
            currency=currency,
            type=ledger_pb2.ACCOUNT_TYPE_ASSET if asset else ledger_pb2.ACCOUNT_TYPE_LIABILITY,
            balance_rule=ledger_pb2.BALANCE_RULE_UNBOUNDED if asset else ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
            request_id=f"req-{uuid.uuid4().hex}",
        )
        return self.ledger.CreateAccount(request, metadata=self.ops, timeout=10).account.id

    def clearing(self, currency: str = "EUR") -> str:
        if currency not in self._clearing:
            self._clearing[currency] = self.open("system", currency, asset=True)
        return self._clearing[currency]

    def user(self, currency: str = "EUR") -> tuple[str, str]:
        """A fresh user id and their wallet."""
        user_id = new_id("usr")
        return user_id, self.open(user_id, currency)

    def post(
        self,
        debit: str,
        credit: str,
        amount: int,
        type_: int,
        *,
        currency: str = "EUR",
        user_id: str = "",
        metadata: dict[str, str] | None = None,
        description: str = "",
    ) -> ledger_pb2.Transaction:
        request = ledger_pb2.CreateTransactionRequest(
            user_id=user_id,
            type=ledger_pb2.TransactionType.ValueType(type_),
            description=description,
            metadata=metadata or {},
            request_id=f"req-{uuid.uuid4().hex}",
            postings=[
                ledger_pb2.Posting(
                    account_id=debit,
                    direction=ledger_pb2.POSTING_DIRECTION_DEBIT,
                    amount=money(amount, currency),
                ),
                ledger_pb2.Posting(
                    account_id=credit,
                    direction=ledger_pb2.POSTING_DIRECTION_CREDIT,
                    amount=money(amount, currency),
                ),
            ],
        )
        return self.ledger.CreateTransaction(request, metadata=self.ops, timeout=10).transaction

    def deposit(
        self,
        wallet: str,
        amount: int,
        currency: str = "EUR",
        *,
        metadata: dict[str, str] | None = None,
        description: str = "",
    ) -> ledger_pb2.Transaction:
        return self.post(
            self.clearing(currency),
            wallet,
            amount,
            ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
            currency=currency,
            metadata=metadata,
            description=description,
        )

    def spend(
        self,
        wallet: str,
        amount: int,
        currency: str = "EUR",
        *,
        metadata: dict[str, str] | None = None,
        description: str = "",
    ) -> ledger_pb2.Transaction:
        return self.post(
            wallet,
            self.clearing(currency),
            amount,
            ledger_pb2.TRANSACTION_TYPE_PAYMENT,
            currency=currency,
            metadata=metadata,
            description=description,
        )

    def sequence_of(self, transaction_id: str) -> int:
        """The entry's feed sequence, once the ledger has sealed it (a few milliseconds after commit)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            request = ledger_pb2.GetTransactionRequest(transaction_id=transaction_id)
            entry = self.ledger.GetTransaction(request, metadata=self.ops, timeout=10).transaction
            if entry.sequence:
                return entry.sequence
            if time.monotonic() > deadline:
                raise AssertionError(f"{transaction_id} was never sealed")
            time.sleep(0.02)

    def checkpoint(self) -> analytics_pb2.FeedCheckpoint:
        return self.analytics.GetFeedCheckpoint(
            analytics_pb2.GetFeedCheckpointRequest(), metadata=self.ops, timeout=10
        ).checkpoint

    def wait_applied(self, *entries: ledger_pb2.Transaction) -> int:
        """Wait (bounded) until the analytics checkpoint covers every entry; its sequence then."""
        target = max(self.sequence_of(e.id) for e in entries)
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            reached = self.checkpoint().last_sequence
            if reached >= target:
                return reached
            if time.monotonic() > deadline:
                raise AssertionError(f"analytics stayed at sequence {reached}, below {target}")
            time.sleep(0.05)
