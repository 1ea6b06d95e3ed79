"""Initiating a payment: the request checked against the payer's method, the payee and the limits,
the payment created (bound to the request's idempotency key) and driven as far as it goes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.payment import repository as repo
from services.payment.accounts import LedgerAccounts
from services.payment.domain import cards
from services.payment.domain.limits import Limits
from services.payment.domain.model import FraudDecision, MethodState, MethodType, Payment, PaymentMethod
from services.payment.domain.states import Kind, Status
from services.payment.execution import PaymentDriver
from services.payment.remote_errors import unavailable
from services.payment.store import PaymentStore, RequestKey, count_status
from services.runtime.clients import RemoteError, UserClient
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.runtime.ids import new_id

#: Who drives a payment in its own flow (the initiating request, a resumed one).
ACTOR_FLOW = "service:payment"


@dataclass(frozen=True)
class NewPayment:
    user_id: str
    kind: Kind
    amount_minor: int
    currency: str
    payment_method_id: str
    payee_user_id: str
    description: str
    metadata: dict[str, str]
    request_id: str


class Initiation:
    def __init__(
        self,
        store: PaymentStore,
        accounts: LedgerAccounts,
        driver: PaymentDriver,
        users: UserClient,
        limits: Limits,
        default_connector: str,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.driver = driver
        self.users = users
        self.limits = limits
        self.default_connector = default_connector

    def initiate(self, new: NewPayment, key: RequestKey, actor: str) -> Payment:
        if key.resource_id:
            # An earlier attempt with this key created the payment and then died: resume it.
            return self.driver.resume(key.resource_id, ACTOR_FLOW)
        method = self._check_method(new)
        if new.kind is Kind.TRANSFER:
            try:
                exists = self.users.exists(new.payee_user_id)
            except RemoteError as exc:
                raise unavailable(exc) from None
            if not exists:
                raise NotFound(
                    f"payee {new.payee_user_id} not found",
                    "PAYEE_NOT_FOUND",
                    {"payee_user_id": new.payee_user_id},
                )
        self.limits.check_amount(new.amount_minor, new.currency)
        debit, credit = self.accounts.of_payment(new.kind, new.user_id, new.payee_user_id, new.currency)
        payment_id = new_id("pay")
        lease = secrets.token_hex(12)
        now = self.store.clock()
        payment = Payment(
            id=payment_id,
            user_id=new.user_id,
            kind=new.kind,
            amount_minor=new.amount_minor,
            currency=new.currency,
            status=Status.PENDING,
            payment_method_id=method.id if method else "",
            method_type=method.type if method else MethodType.WALLET,
            payee_user_id=new.payee_user_id,
            description=new.description,
            metadata=new.metadata,
            request_id=new.request_id,
            failure_code="",
            failure_message="",
            fraud_checked=False,
            fraud_score_bps=0,
            fraud_decision=FraudDecision.UNSPECIFIED,
            connector="" if new.kind is Kind.TRANSFER else self.default_connector,
            external_reference="",
            debit_account_id=debit,
            credit_account_id=credit,
            pending_transfer_id="",
            transaction_id="",
            refunded_minor=0,
            create_time=now,
            update_time=now,
        )

        def create(session: Session) -> None:
            repo.lock_user_limits(session, new.user_id)
            self.limits.check_daily(
                repo.daily_used(session, new.user_id, new.currency, self.store.clock()),
                new.amount_minor,
                new.currency,
            )
            repo.insert_payment(session, payment, actor, lease, self.store.lease_seconds)
            key.record(session, payment_id)

        self.store.tx(create)
        count_status(payment.kind, payment.status)
        try:
            self.driver.drive(payment_id, ACTOR_FLOW, lease)
        except BaseException:
            self.store.release(payment_id, lease)
            raise
        return self.store.release_and_get(payment_id, lease)

    def _check_method(self, new: NewPayment) -> PaymentMethod | None:
        if not new.payment_method_id:
            if new.kind is not Kind.TRANSFER:
                raise InvalidArgument(
                    "a top-up or payout needs a payment method",
                    field="payment_method_id",
                    description="required for top-ups and payouts",
                )
            return None
        method = self.store.method(new.payment_method_id)
        if method.user_id != new.user_id:
            # Someone else's method is reported as missing, not as forbidden: ids do not leak.
            raise NotFound(
                f"payment method {new.payment_method_id} not found",
                "PAYMENT_METHOD_NOT_FOUND",
                {"payment_method_id": new.payment_method_id},
            )
        allowed = {
            Kind.TOP_UP: {MethodType.CARD, MethodType.BANK_ACCOUNT},
            Kind.PAYOUT: {MethodType.BANK_ACCOUNT},
            Kind.TRANSFER: {MethodType.WALLET},
        }[new.kind]
        if method.type not in allowed:
            raise InvalidArgument(
                f"a {new.kind.name} cannot use a {method.type.name} payment method",
                field="payment_method_id",
                description="does not fit the kind of payment",
                reason="PAYMENT_METHOD_KIND_MISMATCH",
            )
        if method.state is MethodState.REMOVED:
            raise FailedPrecondition(
                "the payment method was removed", "PAYMENT_METHOD_REMOVED", {"payment_method_id": method.id}
            )
        if method.type is MethodType.CARD and cards.is_expired(
            method.exp_month, method.exp_year, self.store.clock().date()
        ):
            raise FailedPrecondition("the card has expired", "EXPIRED_CARD", {"payment_method_id": method.id})
        if method.type is MethodType.WALLET and method.currency != new.currency:
            raise InvalidArgument(
                "the wallet's currency differs from the payment's",
                field="amount.currency",
                description="must be the wallet's currency",
                reason="CURRENCY_MISMATCH",
            )
        return method
