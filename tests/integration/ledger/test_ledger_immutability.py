"""History cannot be altered: the database refuses it, and the hash chain exposes a superuser who did it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.integration.ledger.ledger_support import LedgerClient, failure

ALTERATIONS = [
    "UPDATE entries SET description = 'rewritten' WHERE id = :txn",
    "DELETE FROM entries WHERE id = :txn",
    "UPDATE postings SET amount_minor = amount_minor + 1 WHERE entry_id = :txn",
    "DELETE FROM postings WHERE entry_id = :txn",
    "UPDATE entry_seals SET hash = repeat('0', 64) WHERE entry_id = :txn",
    "DELETE FROM entry_seals WHERE entry_id = :txn",
    "TRUNCATE entries CASCADE",
    "TRUNCATE entry_seals",
    "TRUNCATE postings",
]


@pytest.mark.parametrize("statement", ALTERATIONS)
def test_the_database_refuses_to_alter_history(ledger: LedgerClient, ledger_db, statement: str) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 10)
    txn = ledger.transfer(a.id, b.id, 10)
    with ledger_db.connect() as connection, pytest.raises(DBAPIError) as caught:
        connection.execute(sa.text(statement), {"txn": txn.id})
    assert "append-only" in str(caught.value.orig)
    fetched = ledger.stub.GetTransaction(
        ledger_pb2.GetTransactionRequest(transaction_id=txn.id), metadata=ledger.ops, timeout=10
    ).transaction
    assert fetched == txn


def test_the_database_refuses_a_balance_below_its_floor(ledger: LedgerClient, ledger_db) -> None:
    wallet = ledger.wallet()
    with ledger_db.connect() as connection, pytest.raises(IntegrityError) as caught:
        connection.execute(
            sa.text("UPDATE balances SET posted = -1 WHERE account_id = :id"), {"id": wallet.id}
        )
    assert "balances_within_limit" in str(caught.value.orig)


def verify(ledger: LedgerClient) -> ledger_pb2.VerifyChainResponse:
    return ledger.stub.VerifyChain(ledger_pb2.VerifyChainRequest(), metadata=ledger.admin, timeout=30)


def test_chain_verification_finds_a_row_a_superuser_tampered_with(ledger: LedgerClient, ledger_db) -> None:
    a, b = ledger.wallet(), ledger.wallet()
    ledger.fund(a.id, 500)
    target = ledger.transfer(a.id, b.id, 100)
    ledger.transfer(a.id, b.id, 50)
    intact = verify(ledger)
    assert intact.valid and intact.entries_checked >= target.sequence + 1

    def tamper(amount: int) -> None:
        with ledger_db.begin() as connection:
            connection.execute(sa.text("ALTER TABLE postings DISABLE TRIGGER postings_append_only"))
            connection.execute(
                sa.text("UPDATE postings SET amount_minor = :amount WHERE entry_id = :txn"),
                {"amount": amount, "txn": target.id},
            )
            connection.execute(sa.text("ALTER TABLE postings ENABLE TRIGGER postings_append_only"))

    tamper(1)
    try:
        report = verify(ledger)
        assert not report.valid
        assert (report.first_broken_transaction_id, report.first_broken_sequence) == (
            target.id,
            target.sequence,
        )
        assert "content hash" in report.detail and report.entries_checked == target.sequence
    finally:
        tamper(100)  # restore, so the rest of the session sees an intact ledger
    assert verify(ledger).valid


def test_a_rewritten_link_is_found_too(ledger: LedgerClient, ledger_db) -> None:
    target = ledger.fund(ledger.wallet().id, 5)
    ledger.fund(ledger.wallet().id, 6)

    def relink(previous: str) -> None:
        # The links live in entry_seals (written by the sealer after commit), append-only too.
        with ledger_db.begin() as connection:
            connection.execute(sa.text("ALTER TABLE entry_seals DISABLE TRIGGER entry_seals_append_only"))
            connection.execute(
                sa.text("UPDATE entry_seals SET previous_hash = :p WHERE entry_id = :txn"),
                {"p": previous, "txn": target.id},
            )
            connection.execute(sa.text("ALTER TABLE entry_seals ENABLE TRIGGER entry_seals_append_only"))

    relink("f" * 64)
    try:
        report = verify(ledger)
        assert report.first_broken_transaction_id == target.id and "previous hash" in report.detail
    finally:
        relink(target.previous_hash)
    assert verify(ledger).valid


def test_only_admin_and_compliance_verify(ledger: LedgerClient) -> None:
    compliance = ledger.tokens.metadata("usr_auditor", ["compliance"])
    assert ledger.stub.VerifyChain(ledger_pb2.VerifyChainRequest(), metadata=compliance, timeout=30).valid
    for caller in (ledger.tokens.service("analytics"), ledger.customer("usr_1")):
        result = failure(
            lambda caller=caller: ledger.stub.VerifyChain(
                ledger_pb2.VerifyChainRequest(), metadata=caller, timeout=30
            )
        )
        assert result.code.name == "PERMISSION_DENIED"
