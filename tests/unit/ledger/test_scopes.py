"""The ledger's account scopes of service identities (services/ledger/domain/scopes.py)."""

from __future__ import annotations

import pytest

from services.ledger.domain.scopes import check_new_account, check_own_account, check_postings
from services.runtime.errors import PermissionDenied

WALLET = ("acc_w", "usr_1", "wallet")
OTHER_WALLET = ("acc_w2", "usr_2", "wallet")
CLEARING = ("acc_c", "system", "external_clearing")
PAYOUT = ("acc_p", "system", "payout_clearing")
LOAN = ("acc_l", "usr_1", "loan:apl_1")
INCOME = ("acc_i", "system", "loan_interest_income")
STAFF_MADE = ("acc_s", "usr_1", "savings")


def refused(call: object) -> str:
    with pytest.raises(PermissionDenied) as caught:
        call()  # type: ignore[operator]
    return caught.value.reason


@pytest.mark.parametrize("accounts", [(CLEARING, WALLET), (WALLET, OTHER_WALLET), (WALLET, PAYOUT)])
def test_payment_moves_money_between_wallets_and_clearing_accounts(accounts: tuple) -> None:
    check_postings("payment", accounts)


@pytest.mark.parametrize("accounts", [(LOAN, WALLET), (WALLET, LOAN, INCOME), (CLEARING, STAFF_MADE)])
def test_payment_touches_nothing_else(accounts: tuple) -> None:
    assert refused(lambda: check_postings("payment", accounts)) == "ACCOUNT_NOT_IN_SCOPE"


def test_credit_reaches_a_wallet_only_with_its_own_accounts() -> None:
    check_postings("credit", [LOAN, WALLET])
    check_postings("credit", [WALLET, LOAN, INCOME])
    for accounts in ([WALLET, OTHER_WALLET], [CLEARING, WALLET], [WALLET]):
        assert refused(lambda a=accounts: check_postings("credit", a)) == "ACCOUNT_NOT_IN_SCOPE"


def test_services_without_a_scope_move_nothing() -> None:
    for service in ("analytics", "ai", "document", "nobody"):
        assert refused(lambda s=service: check_postings(s, [CLEARING, WALLET])) == "ACCOUNT_NOT_IN_SCOPE"


def test_accounts_are_opened_and_limited_only_in_the_service_s_own_books() -> None:
    check_new_account("payment", "usr_9", "wallet")
    check_new_account("credit", "usr_9", "credit_line")
    check_own_account("credit", "acc_x", "usr_9", "credit_line")
    assert refused(lambda: check_new_account("credit", "usr_9", "wallet")) == "ACCOUNT_NOT_IN_SCOPE"
    assert refused(lambda: check_new_account("payment", "system", "wallet")) == "ACCOUNT_NOT_IN_SCOPE"
    assert refused(lambda: check_own_account("credit", "acc_w", "usr_1", "wallet")) == "ACCOUNT_NOT_IN_SCOPE"
