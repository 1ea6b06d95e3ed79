"""Service identities move money only on the accounts of their scope (services/ledger/domain/scopes.py).

Over real gRPC against the real ledger, with tokens as IssueServiceToken makes them: the RPC
allow-list of the ledger's spec lets payment and credit write; these tests show the accounts
they may write are narrowed further, and that the issue's attack (an analytics token moving a
customer's money) is refused at the RPC.
"""

from __future__ import annotations

import grpc
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.ids import new_id
from tests.integration.ledger.ledger_support import LedgerClient, money, rid
from tests.support.grpc_errors import failure

OUT_OF_SCOPE = (grpc.StatusCode.PERMISSION_DENIED, "ACCOUNT_NOT_IN_SCOPE")
NOT_ALLOWED = (grpc.StatusCode.PERMISSION_DENIED, "SERVICE_NOT_ALLOWED")


def _open_as(
    ledger: LedgerClient,
    metadata: object,
    owner: str,
    name: str,
    rule: int = ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
    type_: int = ledger_pb2.ACCOUNT_TYPE_LIABILITY,
) -> ledger_pb2.Account:
    request = ledger_pb2.CreateAccountRequest(
        owner_id=owner, name=name, type=type_, currency="USD", balance_rule=rule, request_id=rid()
    )
    return ledger.stub.CreateAccount(request, metadata=metadata, timeout=10).account


def _funded_wallet(ledger: LedgerClient, amount: int = 1_000) -> ledger_pb2.Account:
    wallet = ledger.wallet()
    ledger.transfer(ledger.clearing(), wallet.id, amount)
    return wallet


def test_a_service_opens_only_accounts_of_its_own_books(ledger: LedgerClient) -> None:
    payment, credit = ledger.tokens.service("payment"), ledger.tokens.service("credit")
    user = new_id("usr")
    assert _open_as(ledger, payment, user, "wallet").owner_id == user
    assert (
        _open_as(
            ledger,
            payment,
            "system",
            "external_clearing",
            ledger_pb2.BALANCE_RULE_UNBOUNDED,
            ledger_pb2.ACCOUNT_TYPE_ASSET,
        ).name
        == "external_clearing"
    )
    loan = _open_as(ledger, credit, user, "loan:apl_1", type_=ledger_pb2.ACCOUNT_TYPE_ASSET)
    assert loan.name == "loan:apl_1"
    for metadata, owner, name in (
        (payment, user, "loan:apl_2"),
        (credit, user, "wallet"),
        (payment, "system", "wallet"),
        (payment, user, "external_clearing"),
    ):
        refused = failure(lambda m=metadata, o=owner, n=name: _open_as(ledger, m, o, n))
        assert (refused.code, refused.reason) == OUT_OF_SCOPE


def test_payment_moves_money_only_between_wallets_and_its_clearing_accounts(ledger: LedgerClient) -> None:
    payment = ledger.tokens.service("payment")
    clearing = _open_as(
        ledger,
        payment,
        "system",
        "external_clearing",
        ledger_pb2.BALANCE_RULE_UNBOUNDED,
        ledger_pb2.ACCOUNT_TYPE_ASSET,
    )
    wallet = _open_as(ledger, payment, new_id("usr"), "wallet")
    payee = _open_as(ledger, payment, new_id("usr"), "wallet")
    ledger.transfer(clearing.id, wallet.id, 500, metadata=payment)
    assert ledger.transfer(wallet.id, payee.id, 200, metadata=payment).id.startswith("txn_")
    # A loan account (credit's books) and an account only staff opened are out of its reach.
    loan = ledger.open(
        new_id("usr"),
        name="loan:apl_x",
        type=ledger_pb2.ACCOUNT_TYPE_ASSET,
        rule=ledger_pb2.BALANCE_RULE_UNBOUNDED,
    )
    for debit, credit in ((loan.id, wallet.id), (wallet.id, ledger.clearing())):
        refused = failure(lambda d=debit, c=credit: ledger.transfer(d, c, 1, metadata=payment))
        assert (refused.code, refused.reason) == OUT_OF_SCOPE
    # Two-phase transfers likewise: reserving, and settling one staff made between other accounts.
    reserve = ledger_pb2.CreatePendingTransferRequest(
        debit_account_id=loan.id,
        credit_account_id=wallet.id,
        amount=money(1),
        type=ledger_pb2.TRANSACTION_TYPE_TRANSFER,
        request_id=rid(),
    )
    refused = failure(lambda: ledger.stub.CreatePendingTransfer(reserve, metadata=payment, timeout=10))
    assert (refused.code, refused.reason) == OUT_OF_SCOPE
    held = ledger.stub.CreatePendingTransfer(reserve, metadata=ledger.ops, timeout=10).pending_transfer
    for call in (
        lambda: ledger.stub.PostPendingTransfer(
            ledger_pb2.PostPendingTransferRequest(pending_transfer_id=held.id, request_id=rid()),
            metadata=payment,
            timeout=10,
        ),
        lambda: ledger.stub.VoidPendingTransfer(
            ledger_pb2.VoidPendingTransferRequest(pending_transfer_id=held.id), metadata=payment, timeout=10
        ),
    ):
        refused = failure(call)
        assert (refused.code, refused.reason) == OUT_OF_SCOPE
    # Nor may it reverse an entry of another book.
    other = ledger.transfer(loan.id, wallet.id, 1)
    refused = failure(
        lambda: ledger.stub.ReverseTransaction(
            ledger_pb2.ReverseTransactionRequest(transaction_id=other.id, reason="no", request_id=rid()),
            metadata=payment,
            timeout=10,
        )
    )
    assert (refused.code, refused.reason) == OUT_OF_SCOPE


def test_credit_touches_a_wallet_only_together_with_its_own_accounts(ledger: LedgerClient) -> None:
    credit = ledger.tokens.service("credit")
    user = new_id("usr")
    wallet = _funded_wallet(ledger)
    loan = _open_as(ledger, credit, user, "loan:apl_y", type_=ledger_pb2.ACCOUNT_TYPE_ASSET)
    line = _open_as(ledger, credit, user, "credit_line", ledger_pb2.BALANCE_RULE_CREDIT_LIMIT)
    # A disbursement (loan account to wallet) and a repayment (back).
    assert ledger.transfer(loan.id, wallet.id, 100, metadata=credit).id.startswith("txn_")
    assert ledger.transfer(wallet.id, loan.id, 100, metadata=credit).id.startswith("txn_")
    # Wallet to wallet touches none of credit's books.
    payee = ledger.wallet()
    refused = failure(lambda: ledger.transfer(wallet.id, payee.id, 1, metadata=credit))
    assert (refused.code, refused.reason) == OUT_OF_SCOPE
    # It sets limits on its credit lines only, never on a wallet.
    limit = ledger_pb2.UpdateAccountLimitRequest(
        account_id=line.id, credit_limit_minor=5_000, request_id=rid()
    )
    updated = ledger.stub.UpdateAccountLimit(limit, metadata=credit, timeout=10).account
    assert updated.credit_limit_minor == 5_000
    refused = failure(
        lambda: ledger.stub.UpdateAccountLimit(
            ledger_pb2.UpdateAccountLimitRequest(
                account_id=wallet.id, credit_limit_minor=5_000, request_id=rid()
            ),
            metadata=credit,
            timeout=10,
        )
    )
    assert (refused.code, refused.reason) == OUT_OF_SCOPE


def test_analytics_and_ai_may_not_move_money_at_all(ledger: LedgerClient) -> None:
    # The reproduction: an analytics token moved 1.23 EUR between customers.
    wallet, other = _funded_wallet(ledger), ledger.wallet()
    for client in ("analytics", "ai", "document", "unknown"):
        refused = failure(
            lambda c=client: ledger.transfer(wallet.id, other.id, 123, metadata=ledger.tokens.service(c))
        )
        assert (refused.code, refused.reason) == NOT_ALLOWED
    # Analytics reads what its reports need, and nothing more.
    analytics = ledger.tokens.service("analytics")
    assert (
        ledger.stub.GetAccount(
            ledger_pb2.GetAccountRequest(account_id=wallet.id), metadata=analytics, timeout=10
        ).account.id
        == wallet.id
    )
    refused = failure(
        lambda: ledger.stub.GetAccountStatement(
            ledger_pb2.GetAccountStatementRequest(account_id=wallet.id), metadata=analytics, timeout=10
        )
    )
    assert (refused.code, refused.reason) == NOT_ALLOWED
