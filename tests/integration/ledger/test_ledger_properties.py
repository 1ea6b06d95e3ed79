"""Property: after any sequence of transfers, reversals and two-phase operations, the ledger's books hold.

Each example opens fresh accounts and runs the operations through gRPC against a
simple model of what must happen; then every currency sums to zero, every
balance equals the sum of its postings and its open reservations, no account is
beyond its limit, and every outcome (success or refusal) is the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.ids import new_id
from tests.integration.ledger.ledger_support import (
    LedgerClient,
    assert_ledger_invariants,
    describe,
    money,
    rid,
)

CLEARING = 4  # index of the unbounded asset account; 0-2 are wallets, 3 a credit line
CREDIT_LIMIT = 300

amounts = st.integers(min_value=1, max_value=400)
wallet = st.integers(min_value=0, max_value=3)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("deposit"), wallet, amounts),
        st.tuples(st.just("transfer"), wallet, wallet, amounts),
        st.tuples(st.just("withdraw"), wallet, amounts),
        st.tuples(st.just("reverse"), st.integers(0, 50)),
        st.tuples(st.just("pend"), wallet, wallet, amounts),
        st.tuples(st.just("post"), st.integers(0, 50), st.integers(1, 100)),
        st.tuples(st.just("void"), st.integers(0, 50)),
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class Model:
    floors: list[int | None]
    normal_credit: list[bool]
    posted: list[int] = field(default_factory=lambda: [0] * 5)
    pending_debits: list[int] = field(default_factory=lambda: [0] * 5)
    pending_credits: list[int] = field(default_factory=lambda: [0] * 5)

    def available(self, i: int) -> int:
        return self.posted[i] - (self.pending_debits[i] if self.normal_credit[i] else self.pending_credits[i])

    def can_lower(self, i: int, amount: int) -> bool:
        floor = self.floors[i]
        return floor is None or self.available(i) - amount >= floor

    def move(self, debit: int, credit: int, amount: int) -> None:
        self.posted[debit] += -amount if self.normal_credit[debit] else amount
        self.posted[credit] += amount if self.normal_credit[credit] else -amount

    def lowers(self, i: int, direction: str) -> bool:
        return (direction == "debit") == self.normal_credit[i]

    def can_move(self, debit: int, credit: int, amount: int) -> bool:
        return (not self.lowers(debit, "debit") or self.can_lower(debit, amount)) and (
            not self.lowers(credit, "credit") or self.can_lower(credit, amount)
        )


def outcome(call) -> tuple[str, object]:
    try:
        return "ok", call()
    except grpc.RpcError as error:
        return describe(error).reason, None


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_books_balance_after_any_operations(ledger: LedgerClient, ledger_db, ops: list[tuple]) -> None:
    owner = new_id("usr")
    ids = [ledger.wallet(owner).id for _ in range(3)]
    ids.append(ledger.open(owner, rule=ledger_pb2.BALANCE_RULE_CREDIT_LIMIT, limit=CREDIT_LIMIT).id)
    ids.append(
        ledger.open("system", type=ledger_pb2.ACCOUNT_TYPE_ASSET, rule=ledger_pb2.BALANCE_RULE_UNBOUNDED).id
    )
    model = Model(floors=[0, 0, 0, -CREDIT_LIMIT, None], normal_credit=[True] * 4 + [False])
    entries: list[tuple[str, int, int, int, bool]] = []  # id, debit, credit, amount, reversible
    reversed_ids: set[str] = set()
    holds: list[tuple[str, int, int, int]] = []
    open_holds: set[str] = set()

    for op in ops:
        kind = op[0]
        if kind in ("deposit", "withdraw", "transfer"):
            if kind == "deposit":
                debit, credit, amount = CLEARING, op[1], op[2]
            elif kind == "withdraw":
                debit, credit, amount = op[1], CLEARING, op[2]
            else:
                debit, credit, amount = op[1], op[2], op[3]
                if debit == credit:
                    continue
            expected = model.can_move(debit, credit, amount)
            status, txn = outcome(lambda d=debit, c=credit, a=amount: ledger.transfer(ids[d], ids[c], a))
            assert status == ("ok" if expected else "INSUFFICIENT_FUNDS")
            if expected:
                model.move(debit, credit, amount)
                entries.append((txn.id, debit, credit, amount, True))
        elif kind == "reverse" and entries:
            txn_id, debit, credit, amount, _ = entries[op[1] % len(entries)]
            status, _ = outcome(
                lambda t=txn_id: ledger.stub.ReverseTransaction(
                    ledger_pb2.ReverseTransactionRequest(transaction_id=t, request_id=rid()),
                    metadata=ledger.ops,
                    timeout=10,
                )
            )
            if txn_id in reversed_ids:
                assert status == "ALREADY_REVERSED"
            elif model.can_move(credit, debit, amount):
                assert status == "ok"
                model.move(credit, debit, amount)
                reversed_ids.add(txn_id)
            else:
                assert status == "INSUFFICIENT_FUNDS"
        elif kind == "pend":
            debit, credit, amount = op[1], op[2], op[3]
            if debit == credit:
                continue
            expected = model.can_lower(debit, amount)
            status, hold = outcome(lambda d=debit, c=credit, a=amount: ledger.pend(ids[d], ids[c], a))
            assert status == ("ok" if expected else "INSUFFICIENT_FUNDS")
            if expected:
                model.pending_debits[debit] += amount
                model.pending_credits[credit] += amount
                holds.append((hold.id, debit, credit, amount))
                open_holds.add(hold.id)
        elif kind in ("post", "void") and holds:
            hold_id, debit, credit, amount = holds[op[1] % len(holds)]
            if kind == "post":
                part = max(1, amount * op[2] // 100)
                status, response = outcome(
                    lambda h=hold_id, p=part: ledger.stub.PostPendingTransfer(
                        ledger_pb2.PostPendingTransferRequest(
                            pending_transfer_id=h, amount=money(p), request_id=rid()
                        ),
                        metadata=ledger.ops,
                        timeout=10,
                    )
                )
            else:
                status, _ = outcome(
                    lambda h=hold_id: ledger.stub.VoidPendingTransfer(
                        ledger_pb2.VoidPendingTransferRequest(pending_transfer_id=h),
                        metadata=ledger.ops,
                        timeout=10,
                    )
                )
            if hold_id not in open_holds:
                assert status == "PENDING_TRANSFER_NOT_PENDING"
                continue
            assert status == "ok"
            open_holds.discard(hold_id)
            model.pending_debits[debit] -= amount
            model.pending_credits[credit] -= amount
            if kind == "post":
                model.move(debit, credit, part)
                entries.append((response.transaction.id, debit, credit, part, True))

    for i, account_id in enumerate(ids):
        balance = ledger.balance(account_id)
        assert (
            balance.posted.amount_minor,
            balance.pending_debits.amount_minor,
            balance.pending_credits.amount_minor,
            balance.available.amount_minor,
        ) == (model.posted[i], model.pending_debits[i], model.pending_credits[i], model.available(i))
    assert sum(model.posted[:4]) == model.posted[CLEARING]  # the wallets hold what came in from outside
    assert_ledger_invariants(ledger_db)
    report = ledger.stub.GetTrialBalance(ledger_pb2.GetTrialBalanceRequest(), metadata=ledger.ops, timeout=10)
    assert all(total.balanced for total in report.totals)
