"""The ledger accounts payments book on: found in our table, opened in the ledger on first use."""

from __future__ import annotations

from services.payment.domain.postings import SYSTEM_OWNER, Purpose, account_rules, reservation_purposes
from services.payment.domain.states import Kind
from services.payment.remote_errors import unavailable
from services.payment.store import PaymentStore
from services.runtime import ledger_accounts
from services.runtime.clients import RemoteError
from services.runtime.ledger_client import LedgerClient


class LedgerAccounts:
    def __init__(self, store: PaymentStore, ledger: LedgerClient) -> None:
        self.store = store
        self.ledger = ledger

    def account(self, owner_id: str, purpose: Purpose, currency: str) -> str:
        """The ledger account for (owner, purpose, currency), opened in the ledger on first use.

        The request_id is derived from the triple, so concurrent first uses open one account.
        """
        type_, rule = account_rules(purpose)
        try:
            return ledger_accounts.opened_account(
                self.store.engine,
                self.ledger,
                owner_id=owner_id,
                purpose=purpose.value,
                currency=currency,
                type_=type_,
                rule=rule,
                request_id=f"acct:{owner_id}:{purpose.value}:{currency}",
            )
        except RemoteError as exc:
            raise unavailable(exc) from None

    def of_payment(self, kind: Kind, payer: str, payee: str, currency: str) -> tuple[str, str]:
        """The (debit, credit) accounts of a payment's reservation."""
        debit, credit = reservation_purposes(kind)
        debit_owner = SYSTEM_OWNER if debit is not Purpose.WALLET else payer
        credit_owner = (
            SYSTEM_OWNER if credit is not Purpose.WALLET else (payee if kind is Kind.TRANSFER else payer)
        )
        return self.account(debit_owner, debit, currency), self.account(credit_owner, credit, currency)
