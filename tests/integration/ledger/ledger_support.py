"""Helpers for the ledger's integration tests: a client with admin credentials and error details."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from sqlalchemy.engine import Engine

from services.ledger.domain.model import Direction, NewEntry, PostingLine, TransactionType
from services.runtime.ids import new_id

# Re-exported: the ledger tests read failures through the shared reader.
from tests.support.grpc_errors import Failure as Failure
from tests.support.grpc_errors import describe as describe
from tests.support.grpc_errors import failure as failure
from tests.support.harness import TokenFactory

Metadata = tuple[tuple[str, str], ...]


def rid() -> str:
    return f"req-{uuid.uuid4().hex}"


def money(amount: int, currency: str = "USD") -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency=currency)


class LedgerClient:
    """The ledger stub with credentials: an admin by default, or any principal."""

    def __init__(self, stub: ledger_pb2_grpc.LedgerServiceStub, tokens: TokenFactory) -> None:
        self.stub = stub
        self.tokens = tokens
        # Tests open and post on arbitrary accounts: an admin may, a service only within its scope.
        self.ops = tokens.metadata("usr_ledger_operator", ["admin"])
        self.admin = tokens.metadata("usr_admin", ["admin"])
        self._clearing: dict[str, str] = {}

    def customer(self, user_id: str) -> Metadata:
        return self.tokens.metadata(user_id, ["customer"])

    def open(
        self,
        owner: str,
        *,
        type: int = ledger_pb2.ACCOUNT_TYPE_LIABILITY,
        rule: int = ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
        limit: int = 0,
        currency: str = "USD",
        name: str = "wallet",
    ) -> ledger_pb2.Account:
        return self.stub.CreateAccount(
            ledger_pb2.CreateAccountRequest(
                owner_id=owner,
                name=name,
                type=type,
                currency=currency,
                balance_rule=rule,
                credit_limit_minor=limit,
                request_id=rid(),
            ),
            metadata=self.ops,
            timeout=10,
        ).account

    def wallet(self, owner: str | None = None, currency: str = "USD") -> ledger_pb2.Account:
        return self.open(owner or new_id("usr"), currency=currency)

    def clearing(self, currency: str = "USD") -> str:
        """An unbounded asset account that funds wallets (money coming from outside)."""
        if currency not in self._clearing:
            self._clearing[currency] = self.open(
                "system",
                type=ledger_pb2.ACCOUNT_TYPE_ASSET,
                rule=ledger_pb2.BALANCE_RULE_UNBOUNDED,
                currency=currency,
                name="external clearing",
            ).id
        return self._clearing[currency]

    def transfer(
        self,
        debit: str,
        credit: str,
        amount: int,
        currency: str = "USD",
        *,
        request_id: str | None = None,
        user_id: str = "",
        type: int = ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        description: str = "",
        metadata: Metadata | None = None,
    ) -> ledger_pb2.Transaction:
        return self.stub.CreateTransaction(
            self.transfer_request(
                debit,
                credit,
                amount,
                currency,
                request_id=request_id,
                user_id=user_id,
                type=type,
                description=description,
            ),
            metadata=metadata or self.ops,
            timeout=10,
        ).transaction

    @staticmethod
    def transfer_request(
        debit: str,
        credit: str,
        amount: int,
        currency: str = "USD",
        *,
        request_id: str | None = None,
        user_id: str = "",
        type: int = ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        description: str = "",
    ) -> ledger_pb2.CreateTransactionRequest:
        return ledger_pb2.CreateTransactionRequest(
            user_id=user_id,
            type=type,
            description=description,
            request_id=request_id or rid(),
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

    def fund(self, wallet_id: str, amount: int, currency: str = "USD") -> ledger_pb2.Transaction:
        return self.transfer(
            self.clearing(currency), wallet_id, amount, currency, type=ledger_pb2.TRANSACTION_TYPE_DEPOSIT
        )

    def balance(self, account_id: str) -> ledger_pb2.Balance:
        return self.stub.GetBalance(
            ledger_pb2.GetBalanceRequest(account_id=account_id), metadata=self.ops, timeout=10
        ).balance

    def pend(
        self,
        debit: str,
        credit: str,
        amount: int,
        currency: str = "USD",
        *,
        request_id: str | None = None,
        expire_time: Any = None,
    ) -> ledger_pb2.PendingTransfer:
        request = ledger_pb2.CreatePendingTransferRequest(
            debit_account_id=debit,
            credit_account_id=credit,
            amount=money(amount, currency),
            type=ledger_pb2.TRANSACTION_TYPE_PAYMENT,
            description="card hold",
            request_id=request_id or rid(),
        )
        if expire_time is not None:
            request.expire_time.FromDatetime(expire_time)
        return self.stub.CreatePendingTransfer(request, metadata=self.ops, timeout=10).pending_transfer


def posting_sums(engine: Engine, account_ids: list[str] | None = None) -> dict[str, int]:
    """Each account's posted balance (normal side) recomputed from its postings."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT a.id, COALESCE(SUM(CASE WHEN p.direction = b.normal_side THEN p.amount_minor "
                "ELSE -p.amount_minor END), 0) AS total "
                "FROM accounts a JOIN balances b ON b.account_id = a.id "
                "LEFT JOIN postings p ON p.account_id = a.id "
                "WHERE CAST(:ids AS text[]) IS NULL OR a.id = ANY(:ids) GROUP BY a.id"
            ),
            {"ids": account_ids},
        ).all()
    return {row.id: int(row.total) for row in rows}


def stored_balances(engine: Engine, account_ids: list[str] | None = None) -> dict[str, tuple[int, int, int]]:
    """Each account's balance row: (posted, pending debits, pending credits)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT account_id, posted, pending_debits, pending_credits FROM balances "
                "WHERE CAST(:ids AS text[]) IS NULL OR account_id = ANY(:ids)"
            ),
            {"ids": account_ids},
        ).all()
    return {
        row.account_id: (int(row.posted), int(row.pending_debits), int(row.pending_credits)) for row in rows
    }


def open_pending_sums(engine: Engine) -> dict[str, tuple[int, int]]:
    """Per account, the amounts reserved by still-pending transfers: (as debit side, as credit side)."""
    sums: dict[str, list[int]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT debit_account_id, credit_account_id, amount_minor "
                "FROM pending_transfers WHERE status = 1"
            )
        )
        for row in rows:
            sums.setdefault(row.debit_account_id, [0, 0])[0] += row.amount_minor
            sums.setdefault(row.credit_account_id, [0, 0])[1] += row.amount_minor
    return {k: (v[0], v[1]) for k, v in sums.items()}


def assert_ledger_invariants(engine: Engine) -> None:
    """Every currency sums to zero, each balance equals its postings and its open reservations,
    and no account is beyond its limit."""
    with engine.connect() as connection:
        unbalanced = connection.execute(
            sa.text(
                "SELECT currency, "
                "SUM(CASE WHEN direction = 1 THEN amount_minor ELSE -amount_minor END) AS net "
                "FROM postings GROUP BY currency HAVING SUM(CASE WHEN direction = 1 THEN amount_minor "
                "ELSE -amount_minor END) <> 0"
            )
        ).all()
        assert unbalanced == []
        breaches = connection.execute(
            sa.text(
                "SELECT account_id FROM balances WHERE floor_minor IS NOT NULL AND posted - CASE WHEN "
                "normal_side = 2 THEN pending_debits ELSE pending_credits END < floor_minor"
            )
        ).all()
        assert breaches == []
    sums = posting_sums(engine)
    stored = stored_balances(engine)
    reserved = open_pending_sums(engine)
    assert {k: v[0] for k, v in stored.items()} == sums
    assert {k: (v[1], v[2]) for k, v in stored.items() if v[1] or v[2]} == reserved


def usd_transfer(debit: str, credit: str, amount: int = 1) -> NewEntry:
    """A USD transfer as the ledger's own callers build it (for tests that drive ``Ledger`` directly)."""
    return NewEntry(
        user_id="",
        type=TransactionType.TRANSFER,
        description="",
        related_entity_id="",
        postings=(
            PostingLine(debit, Direction.DEBIT, amount, "USD"),
            PostingLine(credit, Direction.CREDIT, amount, "USD"),
        ),
        request_id=rid(),
    )
