"""The payment service's layering, checked on its source: the environment is read by the spec alone,
protobuf stays at the edges, the idempotency store is the servicer's, SQL names no status by number,
and the clients translate every downstream value the domain can meet."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from nexafi.ai.v1 import ai_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.payment import clients
from services.payment.domain.model import FraudDecision
from services.payment.domain.states import Kind
from services.runtime import ledger_client
from services.runtime.ledger_client import AccountType, BalanceRule, EntryType, HoldStatus

PAYMENT = Path(__file__).resolve().parents[3] / "services" / "payment"
# Where protobuf is spoken: the gRPC edge, the downstream clients and reconciliation, which compares
# the ledger's own entries (services/payment/reconciliation.py, owned by its own change).
PROTOBUF_MODULES = {
    "servicer.py",
    "converters.py",
    "validation.py",
    "clients.py",
    "spec.py",
    "reconciliation.py",
}


def _modules() -> list[tuple[str, ast.Module]]:
    paths = sorted(p for p in PAYMENT.rglob("*.py") if "migrations" not in p.parts)
    return [(str(p.relative_to(PAYMENT)), ast.parse(p.read_text())) for p in paths]


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_only_the_spec_reads_the_environment() -> None:
    for name, tree in _modules():
        if name == "spec.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("environ", "getenv"), (name, node.lineno)
        assert not {i for i in _imported(tree) if i.startswith("services.runtime.config.env_")}, name


def test_protobuf_stays_at_the_edges() -> None:
    for name, tree in _modules():
        if name in PROTOBUF_MODULES:
            continue
        assert not {i for i in _imported(tree) if i.startswith("nexafi.")}, name


def test_the_servicer_alone_uses_the_idempotency_store() -> None:
    for name, tree in _modules():
        if name in ("servicer.py", "spec.py"):  # the spec builds the store and hands it over
            continue
        assert not {i for i in _imported(tree) if i.startswith("services.runtime.idempotency")}, name


def test_sql_names_no_status_state_or_kind_by_number() -> None:
    literal = re.compile(r"\b(status|state|kind|type|disposition)\s*(=|<>|!=|IN|NOT IN)\s*\(?\s*\d", re.I)
    for name, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not literal.search(node.value), (name, node.lineno, node.value)


def test_the_clients_translate_every_value_both_ways() -> None:
    # The ledger's vocabulary is translated by the shared ledger client.
    assert set(ledger_client._ENTRY_TYPES) == set(EntryType) - {EntryType.OTHER}
    assert set(ledger_client._ENTRY_TYPES_BACK.values()) == set(EntryType) - {EntryType.OTHER}
    assert set(ledger_client._ACCOUNT_TYPES) == set(AccountType)
    assert set(ledger_client._BALANCE_RULES) == set(BalanceRule)
    assert set(clients._CHANNEL) == set(Kind) - {Kind.UNSPECIFIED}
    named_holds = {v for _, v in ledger_pb2.PendingTransferStatus.items()} - {0}
    assert set(ledger_client._HOLD_STATUS) == named_holds
    assert set(ledger_client._HOLD_STATUS.values()) == set(HoldStatus) - {HoldStatus.UNSPECIFIED}
    named_decisions = {v for _, v in ai_pb2.FraudDecision.items()} - {0}
    assert set(clients._FRAUD_DECISION) == named_decisions
    assert set(clients._FRAUD_DECISION.values()) == set(FraudDecision) - {FraudDecision.UNSPECIFIED}
