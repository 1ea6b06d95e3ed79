"""Payment methods: cards and bank accounts tokenized at the gateway (the raw details never stored),
wallets backed by a ledger account; one active method per instrument and user."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.payment import method_repository
from services.payment import repository as repo
from services.payment.accounts import LedgerAccounts
from services.payment.connectors.base import (
    BankAccountData,
    CardData,
    Connector,
    ConnectorError,
    TokenizationRefused,
    connector_named,
)
from services.payment.domain.model import BankFormat, MethodState, MethodType, PaymentMethod
from services.payment.domain.postings import Purpose
from services.payment.store import PaymentStore
from services.runtime.errors import AlreadyExists, FailedPrecondition, NotFound, Unavailable
from services.runtime.ids import new_id


@dataclass(frozen=True)
class NewMethod:
    """A validated payment method, ready to tokenize.

    ``card`` and ``bank`` hold raw details (hidden from repr)."""

    user_id: str
    type: MethodType
    fingerprint: str
    dedup_key: str
    card: CardData | None = None
    brand: int = 0
    bank: BankAccountData | None = None
    bank_format: BankFormat = BankFormat.UNSPECIFIED
    masked_number: str = ""
    last4: str = ""
    country_code: str = ""
    currency: str = ""


class PaymentMethods:
    def __init__(
        self,
        store: PaymentStore,
        accounts: LedgerAccounts,
        connectors: Mapping[str, Connector],
        default_connector: str,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.connectors = connectors
        self.default_connector = default_connector

    def add(self, new: NewMethod) -> PaymentMethod:
        existing = self._active_by_dedup(new)
        if existing is not None:
            raise _duplicate(existing.id)
        connector = connector_named(self.connectors, self.default_connector)
        token = ""
        ledger_account = ""
        try:
            if new.card is not None:
                token = connector.tokenize_card(new.card)
            elif new.bank is not None:
                token = connector.tokenize_bank_account(new.bank)
        except TokenizationRefused as exc:
            raise FailedPrecondition(
                f"the gateway refused the card: {exc}", "CARD_REFUSED", {"code": exc.code}
            ) from None
        except ConnectorError:
            raise Unavailable("the payment gateway cannot be reached", "CONNECTOR_UNAVAILABLE") from None
        if new.type is MethodType.WALLET:
            ledger_account = self.accounts.account(new.user_id, Purpose.WALLET, new.currency)
        method = PaymentMethod(
            id=new_id("pm"),
            user_id=new.user_id,
            type=new.type,
            state=MethodState.ACTIVE,
            fingerprint=new.fingerprint,
            connector_token=token,
            brand=new.brand,
            last4=new.last4,
            exp_month=new.card.exp_month if new.card else 0,
            exp_year=new.card.exp_year if new.card else 0,
            holder_name=(new.card.holder_name if new.card else new.bank.holder_name if new.bank else ""),
            bank_format=new.bank_format,
            masked_number=new.masked_number,
            country_code=new.country_code,
            currency=new.currency,
            ledger_account_id=ledger_account,
            create_time=self.store.clock(),
        )
        try:
            return self.store.tx(
                lambda s: method_repository.insert_method(s, method, new.dedup_key, connector.name)
            )
        except IntegrityError:
            # A concurrent add of the same instrument won the unique index.
            winner = self._active_by_dedup(new)
            raise _duplicate(winner.id if winner else "") from None

    def _active_by_dedup(self, new: NewMethod) -> PaymentMethod | None:
        user_id, dedup_key = new.user_id, new.dedup_key
        return self.store.tx(lambda s: method_repository.active_method_by_dedup(s, user_id, dedup_key))

    def of_user(self, user_id: str, type_: int, before_id: str, limit: int) -> list[PaymentMethod]:
        return self.store.tx(lambda s: method_repository.list_methods(s, user_id, type_, before_id, limit))

    def get(self, method_id: str) -> PaymentMethod:
        return self.store.method(method_id)

    def remove(self, method_id: str) -> PaymentMethod:
        def work(session: Session) -> PaymentMethod:
            method = method_repository.get_method(session, method_id, lock=True)
            if method.state is not MethodState.ACTIVE:
                raise NotFound(
                    f"payment method {method_id} not found",
                    "PAYMENT_METHOD_NOT_FOUND",
                    {"payment_method_id": method_id},
                )
            if repo.method_in_use(session, method_id):
                raise FailedPrecondition(
                    "a payment using this method is still in progress",
                    "PAYMENT_METHOD_IN_USE",
                    {"payment_method_id": method_id},
                )
            return method_repository.remove_method(session, method_id, self.store.clock())

        return self.store.tx(work)


def _duplicate(existing_id: str) -> AlreadyExists:
    return AlreadyExists(
        "the user already has this payment method",
        "DUPLICATE_PAYMENT_METHOD",
        {"payment_method_id": existing_id},
    )
