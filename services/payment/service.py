"""Payment use cases: initiation and execution, reviews, cancellations, refunds, callbacks,
recovery, reconciliation and payment methods.

Every step that moves or reserves money is a ledger call whose idempotency key
is derived from the payment (or refund) id and the step, and every step's result
is persisted before the next one starts. A payment is driven by whoever holds its
lease (the initiating request, a review decision, a callback or the recovery
job), so two drivers never interleave, and a crashed driver's lease expires so
that the next one resumes from the last persisted step. That is what makes a
crash or a retry at any point unable to move money twice or leave a hold forever.

A ledger answer other than a definite refusal (``RemoteError.refused``) leaves its
step in doubt, never failed: the ledger may have committed before the answer was
lost. The payment keeps its status (the refund stays pending), the request's
idempotency key is left unfinished, and the client is told to retry; the retry or
the recovery job replays the step with the same key and gets what the ledger
recorded, so a lost answer can neither move money twice nor strand a hold behind
a FAILED payment.

Time: every "now" the service decides with comes from its injected clock (the fraud
check's transaction time, the stamps on payments, refunds and methods, the daily limit's
24-hour window, recovery ages, card expiry, callback signature age), and the SQL compares
those stamps with the clock's time passed as a parameter, never with the database's
``now()``. Leases and idempotency locks are the exception: they coordinate replicas, so
they are set and compared on the database's clock alone.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.payment import repository as repo
from services.payment.clients import Clients, FraudQuery
from services.payment.config import Config
from services.payment.connectors.base import (
    BankAccountData,
    CardData,
    Connector,
    ConnectorError,
    ConnectorTimeout,
    ConnectorUnavailable,
    GatewayResult,
    InvalidSignature,
    MalformedCallback,
    Outcome,
    TokenizationRefused,
)
from services.payment.domain import cards
from services.payment.domain.limits import Limits
from services.payment.domain.model import (
    BankFormat,
    Disposition,
    FraudDecision,
    MethodState,
    MethodType,
    Payment,
    PaymentMethod,
    Refund,
)
from services.payment.domain.postings import (
    ENTRY_TYPE,
    SYSTEM_OWNER,
    EntryType,
    HoldStatus,
    Purpose,
    account_rules,
    reservation_purposes,
    step_request_id,
)
from services.payment.domain.states import (
    Actor,
    Kind,
    Status,
    check_actor,
    check_transition,
)
from services.runtime import metrics
from services.runtime.audit import StaffAction
from services.runtime.clients import RemoteError
from services.runtime.clock import Clock, system_clock
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    Aborted,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from services.runtime.ids import new_id
from services.runtime.mcc import category_of_mcc, is_mcc
from services.runtime.money import Money

log = logging.getLogger("nexafi.payment")

# Counted after the transaction that made the change committed (never for a rolled-back one).
PAYMENTS = metrics.counter(
    "nexafi_payments", "Payments entering a status, by kind and status (PENDING: payments created).",
    ("kind", "status"))


def _count(kind: Kind, status: Status) -> None:
    PAYMENTS.labels(kind.name, status.name).inc()
T = TypeVar("T")

#: What a customer whose payment the fraud check declined reads: what happened, that no money moved,
#: and what to do. It never names the model's reasons (they would teach a fraudster what to change).
FRAUD_DECLINED_MESSAGE = (
    "We declined this payment to protect your account, and no money was moved. If you made it, "
    "contact support with the payment id so we can confirm it was you; you can then try again."
)

ACTOR_FLOW = "service:payment"
ACTOR_RECOVERY = "system:recovery"



class RequestKey(Protocol):
    """The idempotency key a request that creates something runs under, as a use case sees it.

    The edge owns the key (services.runtime.idempotency); the use case only reads what a crashed
    earlier attempt under it created, and records what it creates in the same transaction, so that
    a retry resumes that resource instead of creating another."""

    @property
    def resource_id(self) -> str: ...

    def record(self, session: Session, resource_id: str) -> None: ...


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


@dataclass(frozen=True)
class Recovered:
    payment_id: str
    previous_status: Status
    status: Status
    action: str  # COMPLETED | VOIDED | RESUMED | UNCHANGED


@dataclass(frozen=True)
class CallbackResult:
    event_id: str
    payment_id: str
    disposition: Disposition
    status: Status


def forbid_self_decision(payment: Payment, actor: str, action: str) -> None:
    """Separation of duties: nobody reviews, decides on or refunds a payment they are party to.

    ``actor`` is the staff member's user id (services and the system have other names), so a
    support agent cannot approve their own top-up held for review, nor pull back their own
    transfer by refunding it. PERMISSION_DENIED SELF_DECISION, as credit and documents answer.
    """
    if actor in (payment.user_id, payment.payee_user_id):
        raise PermissionDenied(f"staff may not {action} their own payment", "SELF_DECISION",
                               {"payment_id": payment.id})


class PaymentService:
    def __init__(
        self,
        engine: Engine,
        clients: Clients,
        connectors: dict[str, Connector],
        limits: Limits,
        config: Config,
        default_connector: str = "sandbox",
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.clients = clients
        self.connectors = connectors
        self.limits = limits
        self.config = config
        self.default_connector = default_connector

    # -- helpers ------------------------------------------------------------------------------
    def _tx(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.engine, work)

    def get(self, payment_id: str) -> Payment:
        return self._tx(lambda s: repo.get_payment(s, payment_id, full=True))

    @contextmanager
    def _lease(self, payment_id: str) -> Iterator[str]:
        token = secrets.token_hex(12)
        if not self._tx(lambda s: repo.acquire_lease(s, payment_id, token, self.config.lease_seconds)):
            raise Aborted(
                f"payment {payment_id} is being processed; retry later",
                "PAYMENT_BUSY",
                {"payment_id": payment_id},
            )
        try:
            yield token
        finally:
            self._tx(lambda s: repo.release_lease(s, payment_id, token))

    def _transition(
        self, payment: Payment, target: Status, reason: str, actor: str, **fields: object
    ) -> Payment:
        """Persist one status change (with its history row) if the payment is still where we saw it."""

        def work(session: Session) -> Payment:
            current = repo.get_payment(session, payment.id, lock=True)
            if current.status != payment.status:
                raise Aborted(f"payment {payment.id} changed concurrently", "CONCURRENT_MODIFICATION")
            check_transition(current.status, target)
            repo.update_payment(session, payment.id, self.clock(), status=target, **fields)
            repo.add_history(session, payment.id, current.status, target, reason, actor, self.clock())
            return repo.get_payment(session, payment.id)

        changed = self._tx(work)
        _count(changed.kind, target)
        return changed

    def _save(self, payment_id: str, **fields: object) -> Payment:
        def work(session: Session) -> Payment:
            repo.update_payment(session, payment_id, self.clock(), **fields)
            return repo.get_payment(session, payment_id)

        return self._tx(work)

    def _fail(self, payment: Payment, code: str, message: str, actor: str) -> Payment:
        return self._transition(
            payment, Status.FAILED, f"{code}: {message}", actor, failure_code=code, failure_message=message
        )

    # -- ledger accounts ----------------------------------------------------------------------
    def account(self, owner_id: str, purpose: Purpose, currency: str) -> str:
        """The ledger account for (owner, purpose, currency), opened in the ledger on first use.

        The request_id is derived from the triple, so concurrent first uses open one account.
        """
        existing = self._tx(lambda s: repo.ledger_account(s, owner_id, purpose.value, currency))
        if existing:
            return existing
        type_, rule = account_rules(purpose)
        try:
            account_id = self.clients.ledger.create_account(
                owner_id, purpose.value, type_, currency, rule, f"acct:{owner_id}:{purpose.value}:{currency}"
            )
        except RemoteError as exc:
            raise _unavailable(exc) from None
        self._tx(lambda s: repo.save_ledger_account(s, owner_id, purpose.value, currency, account_id))
        return account_id

    def _accounts(self, kind: Kind, payer: str, payee: str, currency: str) -> tuple[str, str]:
        debit, credit = reservation_purposes(kind)
        debit_owner = SYSTEM_OWNER if debit is not Purpose.WALLET else payer
        credit_owner = (
            SYSTEM_OWNER if credit is not Purpose.WALLET else (payee if kind is Kind.TRANSFER else payer)
        )
        return self.account(debit_owner, debit, currency), self.account(credit_owner, credit, currency)

    # -- initiation -----------------------------------------------------------------------------
    def initiate(self, new: NewPayment, key: RequestKey, actor: str) -> Payment:
        if key.resource_id:
            # An earlier attempt with this key created the payment and then died: resume it.
            return self._resume(key.resource_id, ACTOR_FLOW)
        method = self._check_method(new)
        if new.kind is Kind.TRANSFER:
            try:
                exists = self.clients.users.exists(new.payee_user_id)
            except RemoteError as exc:
                raise _unavailable(exc) from None
            if not exists:
                raise NotFound(
                    f"payee {new.payee_user_id} not found",
                    "PAYEE_NOT_FOUND",
                    {"payee_user_id": new.payee_user_id},
                )
        self.limits.check_amount(new.amount_minor, new.currency)
        debit, credit = self._accounts(new.kind, new.user_id, new.payee_user_id, new.currency)
        payment_id = new_id("pay")
        lease = secrets.token_hex(12)
        now = self.clock()
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
                repo.daily_used(session, new.user_id, new.currency, self.clock()),
                new.amount_minor,
                new.currency,
            )
            repo.insert_payment(session, payment, actor, lease, self.config.lease_seconds)
            key.record(session, payment_id)

        self._tx(create)
        _count(payment.kind, payment.status)
        try:
            self._drive(payment_id, ACTOR_FLOW)
        finally:
            self._tx(lambda s: repo.release_lease(s, payment_id, lease))
        return self.get(payment_id)

    def _check_method(self, new: NewPayment) -> PaymentMethod | None:
        if not new.payment_method_id:
            if new.kind is not Kind.TRANSFER:
                raise InvalidArgument(
                    "a top-up or payout needs a payment method",
                    field="payment_method_id",
                    description="required for top-ups and payouts",
                )
            return None
        method = self._tx(lambda s: repo.get_method(s, new.payment_method_id))
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
            method.exp_month, method.exp_year, self.clock().date()
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

    def _resume(self, payment_id: str, actor: str) -> Payment:
        with self._lease(payment_id):
            self._drive(payment_id, actor)
        return self.get(payment_id)

    def _drive(self, payment_id: str, actor: str) -> None:
        """Take the payment as far as it goes from its last persisted step. Caller holds the lease."""
        payment = self._tx(lambda s: repo.get_payment(s, payment_id))
        if payment.status is Status.PENDING:
            if not payment.fraud_checked:
                payment = self._fraud_check(payment)
                if payment.fraud_decision is FraudDecision.DECLINE:
                    self._fail(payment, "FRAUD_DECLINED", FRAUD_DECLINED_MESSAGE, actor)
                    return
                if (
                    payment.fraud_decision is FraudDecision.UNSPECIFIED
                    and self.config.fraud_unavailable_policy == "fail"
                ):
                    self._fail(
                        payment,
                        "FRAUD_CHECK_UNAVAILABLE",
                        "the fraud check could not be made; try again later",
                        actor,
                    )
                    return
            if not payment.reserved:
                reserved = self._reserve(payment, actor)
                if reserved is None:
                    return
                payment = reserved
            if payment.fraud_decision is not FraudDecision.APPROVE:
                reason = (
                    "fraud check asked for a review"
                    if payment.fraud_decision is FraudDecision.REVIEW
                    else "fraud check unavailable: held for review"
                )
                self._transition(payment, Status.REQUIRES_REVIEW, reason, actor)
                return
            payment = self._transition(
                payment, Status.PROCESSING, "fraud check approved, funds reserved", actor
            )
        if payment.status is Status.PROCESSING:
            self._execute(payment, actor)

    def _fraud_check(self, payment: Payment) -> Payment:
        query = FraudQuery(
            request_id=step_request_id(payment.id, "fraud"),
            user_id=payment.user_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            counterparty_id=payment.payee_user_id or payment.payment_method_id,
            kind=payment.kind,
            payment_id=payment.id,
            payment_method_id=payment.payment_method_id,
            transaction_time=payment.create_time,
            # Client signals, when the app sent them as payment metadata.
            device_id=payment.metadata.get("device_id", "")[:128],
            ip_country=payment.metadata.get("ip_country", "")[:2].upper(),
            time_zone=_time_zone(payment.metadata.get("time_zone", "")),
        )
        try:
            result = self.clients.ai.check_fraud(query)
        except RemoteError as exc:
            # Never approve blindly: record "checked, no decision" and let the policy hold or fail it.
            log.warning("fraud check unavailable for %s: %s %s", payment.id, exc.code.name, exc.reason)
            return self._save(payment.id, fraud_checked=True, fraud_decision=FraudDecision.UNSPECIFIED)
        # A decision the payment does not know is held for a person, never approved.
        decision = result.decision
        if decision is FraudDecision.UNSPECIFIED:
            decision = FraudDecision.REVIEW
        score = max(0, min(10000, round(result.probability * 10000)))
        return self._save(payment.id, fraud_checked=True, fraud_score_bps=score, fraud_decision=decision)

    def _reserve(self, payment: Payment, actor: str) -> Payment | None:
        """Phase one in the ledger; None when the payment failed (for example insufficient funds)."""
        try:
            pending_id = self.clients.ledger.reserve(
                debit=payment.debit_account_id,
                credit=payment.credit_account_id,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                user_id=payment.user_id,
                type_=ENTRY_TYPE[payment.kind],
                description=_ledger_description(payment),
                payment_id=payment.id,
                request_id=step_request_id(payment.id, "reserve"),
            )
        except RemoteError as exc:
            if not exc.refused:
                # In doubt: the hold may exist. The payment stays PENDING, its key unfinished; a
                # retry or recovery replays the reservation with the same key and gets that hold.
                raise _ledger_in_doubt(payment, exc, "the payment will be resumed") from None
            if exc.reason == "INSUFFICIENT_FUNDS":
                self._fail(payment, "INSUFFICIENT_FUNDS", "the wallet does not hold enough funds", actor)
            else:
                log.error(
                    "ledger refused the reservation of %s: %s %s", payment.id, exc.code.name, exc.reason
                )
                self._fail(payment, "LEDGER_REJECTED", "the payment could not be booked", actor)
            return None
        return self._save(payment.id, pending_transfer_id=pending_id, transaction_id=pending_id)

    def _execute(self, payment: Payment, actor: str) -> None:
        """PROCESSING: run the payment through the connector (none for transfers), then post or void."""
        if payment.kind is Kind.TRANSFER:
            self._succeed(payment, actor, "transfer completed")
            return
        connector = self._connector(payment.connector)
        method = self._tx(lambda s: repo.get_method(s, payment.payment_method_id))
        money = Money(payment.amount_minor, payment.currency)
        operation = "charge" if payment.kind is Kind.TOP_UP else "payout"
        try:
            if payment.kind is Kind.TOP_UP:
                result = connector.charge(payment.id, method.connector_token, money)
            else:
                result = connector.payout(payment.id, method.connector_token, money)
        except (ConnectorTimeout, ConnectorUnavailable) as exc:
            detail = str(exc)
            # Unknown outcome: stay PROCESSING; recovery asks the gateway by our reference.
            self._tx(
                lambda s: repo.record_attempt(
                    s, payment.id, connector.name, operation, payment.id, "timeout", detail=detail
                )
            )
            log.warning("connector %s did not answer for %s; left for recovery", connector.name, payment.id)
            return
        self._tx(
            lambda s: repo.record_attempt(
                s,
                payment.id,
                connector.name,
                operation,
                payment.id,
                result.outcome.value,
                result.external_reference,
                result.failure_code,
            )
        )
        self._apply_result(payment, result, actor)

    def _apply_result(self, payment: Payment, result: GatewayResult, actor: str) -> Payment:
        if result.external_reference and result.external_reference != payment.external_reference:
            payment = self._save(payment.id, external_reference=result.external_reference)
        if result.outcome is Outcome.SUCCEEDED:
            return self._succeed(payment, actor, "the gateway confirmed the payment")
        if result.outcome is Outcome.FAILED:
            self._void(payment)
            return self._fail(
                payment,
                result.failure_code or "PAYMENT_FAILED",
                result.failure_message or "the gateway declined the payment",
                actor,
            )
        return payment  # PENDING: the result arrives by callback (or recovery asks)

    def _succeed(self, payment: Payment, actor: str, reason: str) -> Payment:
        transaction_id = self._post(payment)
        return self._transition(payment, Status.SUCCEEDED, reason, actor, transaction_id=transaction_id)

    def _post(self, payment: Payment) -> str:
        try:
            return self.clients.ledger.post(
                pending_id=payment.pending_transfer_id,
                request_id=step_request_id(payment.id, "post"),
                metadata=ledger_metadata(payment.id, payment.metadata),
            )
        except RemoteError as exc:
            if not exc.refused:
                raise _ledger_in_doubt(payment, exc, "the payment will be completed by recovery") from None
            if exc.reason != "PENDING_TRANSFER_NOT_PENDING":
                # The gateway moved the money but the ledger refuses to post it: never mark such a
                # payment failed; it stays PROCESSING and reconciliation shows it.
                log.error("ledger refused to post %s: %s %s", payment.id, exc.code.name, exc.reason)
                raise FailedPrecondition(
                    f"the ledger refused to post the payment: {exc.reason or exc.code.name}",
                    "LEDGER_STATE_CONFLICT",
                    {"payment_id": payment.id},
                ) from None
        # The reservation lapsed (it expired) although the gateway moved the money: book it directly.
        log.error("reservation of %s lapsed before posting; booking it directly", payment.id)
        try:
            return self.clients.ledger.transfer(
                debit=payment.debit_account_id,
                credit=payment.credit_account_id,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                user_id=payment.user_id,
                type_=ENTRY_TYPE[payment.kind],
                description=_ledger_description(payment),
                payment_id=payment.id,
                metadata=ledger_metadata(payment.id, payment.metadata),
                request_id=step_request_id(payment.id, "post-direct"),
            )
        except RemoteError as exc:
            if not exc.refused:
                raise _ledger_in_doubt(payment, exc, "the payment will be completed by recovery") from None
            raise _unavailable(exc) from None

    def _void(self, payment: Payment) -> None:
        if not payment.pending_transfer_id:
            return
        try:
            self.clients.ledger.void(
                pending_id=payment.pending_transfer_id, reason=f"payment {payment.id} did not complete"
            )
        except RemoteError as exc:
            if not exc.refused:
                # In doubt: the payment keeps its status; voiding again is harmless (see below).
                raise _ledger_in_doubt(
                    payment, exc, "the reservation will be released by recovery"
                ) from None
            if exc.reason != "PENDING_TRANSFER_NOT_PENDING":
                raise _unavailable(exc) from None
            # Voided (or expired) before: a retry of this step. Posted would be a real inconsistency.
            try:
                status = self.clients.ledger.hold_status(payment.pending_transfer_id)
            except RemoteError as read_error:
                raise _unavailable(read_error) from None
            if status is HoldStatus.POSTED:
                raise FailedPrecondition(
                    "the reservation was already posted", "LEDGER_STATE_CONFLICT", {"payment_id": payment.id}
                ) from None

    def _connector(self, name: str) -> Connector:
        connector = self.connectors.get(name)
        if connector is None:
            raise NotFound(
                f"connector {name!r} is not configured", "CONNECTOR_NOT_FOUND", {"connector": name}
            )
        return connector

    # -- status changes by people and services --------------------------------------------------
    def update_status(
        self,
        payment_id: str,
        target: Status,
        reason: str,
        actor: str,
        role: Actor,
    ) -> Payment:
        """A status set by staff or a service (``role``), within what ``role`` may set."""
        payment = self._tx(lambda s: repo.get_payment(s, payment_id))
        forbid_self_decision(payment, actor, "decide on")
        check_transition(payment.status, target)
        check_actor(role, payment.status, target)
        with self._lease(payment_id):
            payment = self._tx(lambda s: repo.get_payment(s, payment_id))
            check_transition(payment.status, target)
            self._apply_transition(payment, target, reason, actor)
        return self.get(payment_id)

    def _apply_transition(self, payment: Payment, target: Status, reason: str, actor: str) -> None:
        if target is Status.PROCESSING:
            if not payment.reserved and self._reserve(payment, actor) is None:
                return
            payment = self._tx(lambda s: repo.get_payment(s, payment.id))
            if not self._reservation_alive(payment):
                self._fail(payment, "RESERVATION_EXPIRED", "the reservation lapsed before approval", actor)
                return
            payment = self._transition(payment, Status.PROCESSING, reason, actor)
            self._execute(payment, actor)
        elif target is Status.REQUIRES_REVIEW:
            if not payment.reserved and self._reserve(payment, actor) is None:
                return
            self._transition(self._tx(lambda s: repo.get_payment(s, payment.id)), target, reason, actor)
        elif target is Status.SUCCEEDED:
            self._succeed(payment, actor, reason)
        elif target in (Status.FAILED, Status.CANCELLED):
            self._void(payment)
            if target is Status.FAILED:
                code = "REVIEW_DECLINED" if payment.status is Status.REQUIRES_REVIEW else "DECLINED"
                self._transition(payment, target, reason, actor, failure_code=code, failure_message=reason)
            else:
                self._transition(payment, target, reason, actor)
        else:
            raise FailedPrecondition(
                f"{target.name} is set only by RefundPayment", "ILLEGAL_STATUS_TRANSITION"
            )

    def _reservation_alive(self, payment: Payment) -> bool:
        try:
            status = self.clients.ledger.hold_status(payment.pending_transfer_id)
        except RemoteError as exc:
            raise _unavailable(exc) from None
        return status is HoldStatus.PENDING

    def cancel(self, payment_id: str, reason: str, actor: str) -> Payment:
        payment = self._tx(lambda s: repo.get_payment(s, payment_id))
        if payment.status is Status.CANCELLED:
            return self.get(payment_id)
        if payment.status not in (Status.PENDING, Status.REQUIRES_REVIEW):
            raise FailedPrecondition(
                f"a {payment.status.name} payment cannot be cancelled",
                "PAYMENT_NOT_CANCELLABLE",
                {"status": payment.status.name},
            )
        with self._lease(payment_id):
            payment = self._tx(lambda s: repo.get_payment(s, payment_id))
            if payment.status is not Status.CANCELLED:
                check_transition(payment.status, Status.CANCELLED)
                self._void(payment)
                self._transition(payment, Status.CANCELLED, reason or "cancelled", actor)
        return self.get(payment_id)

    # -- the audit trail of staff actions ---------------------------------------------------------
    def staff_actions(self, actor_id: str | None, before: tuple[datetime, str] | None,
                      limit: int) -> list[StaffAction]:
        return self._tx(lambda s: repo.staff_actions(s, actor_id, before, limit))

    # -- refunds --------------------------------------------------------------------------------
    def refund(
        self, payment_id: str, amount: Money | None, reason: str, actor: str, request_id: str, key: RequestKey
    ) -> tuple[Payment, Refund]:
        refund_id = key.resource_id
        if not refund_id:
            refund_id = new_id("rfd")

            def open_refund(session: Session) -> None:
                payment = repo.get_payment(session, payment_id, lock=True)
                forbid_self_decision(payment, actor, "refund")
                if payment.status not in (Status.SUCCEEDED, Status.PARTIALLY_REFUNDED):
                    raise FailedPrecondition(
                        f"a {payment.status.name} payment cannot be refunded",
                        "PAYMENT_NOT_REFUNDABLE",
                        {"status": payment.status.name},
                    )
                if amount is not None and amount.currency != payment.currency:
                    raise InvalidArgument(
                        "the refund's currency differs from the payment's",
                        field="amount.currency",
                        description=f"must be {payment.currency}",
                    )
                remaining = (
                    payment.amount_minor
                    - payment.refunded_minor
                    - repo.refunds_in_flight(session, payment_id)
                )
                value = amount.amount_minor if amount is not None else remaining
                if value <= 0 or value > remaining:
                    raise FailedPrecondition(
                        f"at most {remaining} minor units remain refundable",
                        "REFUND_EXCEEDS_AMOUNT",
                        {"remaining_minor": str(remaining)},
                    )
                repo.insert_refund(
                    session,
                    Refund(
                        id=refund_id,
                        payment_id=payment_id,
                        amount_minor=value,
                        currency=payment.currency,
                        reason=reason,
                        state="pending",
                        transaction_id="",
                        external_reference="",
                        request_id=request_id,
                        actor=actor,
                        create_time=self.clock(),
                    ),
                )
                key.record(session, refund_id)

            self._tx(open_refund)
        return self._complete_refund(payment_id=payment_id, refund_id=refund_id)

    def _compensate_declined_refund(self, payment: Payment, refund: Refund) -> None:
        """Give the customer back what the refund's ledger step took, once, then mark it failed.

        The ledger step runs before the gateway call (so the wallet cannot be spent
        twice meanwhile); when the gateway then declines, the money must return to
        the wallet. The compensation has its own key, so a retry never books it twice.
        """
        try:
            self.clients.ledger.transfer(
                debit=payment.debit_account_id,
                credit=payment.credit_account_id,
                amount_minor=refund.amount_minor,
                currency=refund.currency,
                user_id=payment.user_id,
                type_=EntryType.ADJUSTMENT,
                description=f"Refund {refund.id} of {payment.id} declined by the gateway: amount returned",
                payment_id=payment.id,
                metadata={"refund_id": refund.id, "payment_id": payment.id, "compensates": "refund"},
                request_id=step_request_id(refund.id, "compensate"),
            )
        except RemoteError as exc:
            # The refund stays pending either way: recovery sends the gateway refund again (the
            # PSP replays its decline) and compensates with the same key.
            raise _unavailable(exc) from None
        self._tx(lambda s: repo.update_refund(s, refund.id, state="failed"))

    def _complete_refund(self, *, payment_id: str, refund_id: str) -> tuple[Payment, Refund]:
        payment = self._tx(lambda s: repo.get_payment(s, payment_id))
        refund = self._tx(lambda s: repo.get_refund(s, refund_id))
        if refund.state == "succeeded":
            return self.get(payment_id), refund
        whole = refund.amount_minor == payment.amount_minor
        try:
            if whole:
                # The whole amount at once: a true reversal of the posted entry.
                entry_id = self.clients.ledger.reverse(
                    transaction_id=payment.transaction_id,
                    reason=refund.reason or "refund",
                    request_id=step_request_id(refund.id, "reverse"),
                )
            else:
                # Part of it: a compensating entry, the payment's postings mirrored for the amount.
                entry_id = self.clients.ledger.transfer(
                    debit=payment.credit_account_id,
                    credit=payment.debit_account_id,
                    amount_minor=refund.amount_minor,
                    currency=refund.currency,
                    user_id=payment.user_id,
                    type_=EntryType.REFUND,
                    description=f"Refund {refund.id} of {payment.id}",
                    payment_id=payment.id,
                    metadata={"refund_id": refund.id, "payment_id": payment.id},
                    request_id=step_request_id(refund.id, "ledger"),
                )
        except RemoteError as exc:
            if not exc.refused:
                # In doubt: the entry may be recorded. The refund stays pending and its key open; the
                # client's retry or recovery replays the step with the same key.
                raise Unavailable(
                    "the ledger's answer to the refund was lost; retry with the same request_id "
                    "(or let recovery complete it)",
                    "LEDGER_UNAVAILABLE",
                    {"refund_id": refund.id, "payment_id": payment_id},
                ) from None
            self._tx(lambda s: repo.update_refund(s, refund_id, state="failed"))
            if exc.reason == "INSUFFICIENT_FUNDS":
                raise FailedPrecondition(
                    "the wallet no longer holds the funds to refund",
                    "INSUFFICIENT_FUNDS",
                    {"payment_id": payment_id},
                ) from None
            raise FailedPrecondition(
                f"the ledger refused the refund: {exc.reason}",
                exc.reason or "LEDGER_REJECTED",
                {"payment_id": payment_id},
            ) from None
        external = ""
        if payment.kind is Kind.TOP_UP and payment.connector:
            try:
                result = self._connector(payment.connector).refund(
                    refund.id, payment.id, Money(refund.amount_minor, refund.currency)
                )
            except ConnectorError:
                raise Unavailable(
                    "the gateway did not confirm the refund; retry with the same request_id",
                    "CONNECTOR_UNAVAILABLE",
                    {"refund_id": refund.id},
                ) from None
            external = result.external_reference
            self._tx(
                lambda s: repo.record_attempt(
                    s, payment.id, payment.connector, "refund", refund.id, result.outcome.value, external
                )
            )
            if result.outcome is Outcome.PENDING:
                raise Unavailable(
                    "the gateway has not confirmed the refund yet; recovery completes it",
                    "REFUND_PENDING",
                    {"refund_id": refund.id},
                )
            if result.outcome is Outcome.FAILED:
                self._compensate_declined_refund(payment, refund)
                raise FailedPrecondition(
                    f"the gateway declined the refund: {result.failure_message or result.failure_code}",
                    "REFUND_DECLINED",
                    {"refund_id": refund.id, "payment_id": payment.id},
                )

        def settle(session: Session) -> tuple[Kind, Status] | None:
            current = repo.get_payment(session, payment_id, lock=True)
            if repo.get_refund(session, refund_id).state == "succeeded":
                return None  # a concurrent driver (a retried request, recovery) settled it first
            refunded = current.refunded_minor + refund.amount_minor
            target = Status.REFUNDED if refunded == current.amount_minor else Status.PARTIALLY_REFUNDED
            check_transition(current.status, target)
            repo.update_refund(
                session, refund_id, state="succeeded", transaction_id=entry_id, external_reference=external
            )
            now = self.clock()
            repo.update_payment(session, payment_id, now, status=target, refunded_minor=refunded)
            repo.add_history(
                session,
                payment_id,
                current.status,
                target,
                f"refund {refund.id}: {refund.reason}",
                refund.actor,
                now,
            )
            return current.kind, target

        settled = self._tx(settle)
        if settled is not None:
            _count(*settled)
        return self.get(payment_id), self._tx(lambda s: repo.get_refund(s, refund_id))

    # -- connector callbacks ----------------------------------------------------------------------
    def handle_callback(self, connector_name: str, body: bytes, signature: str) -> CallbackResult:
        connector = self._connector(connector_name)
        if not signature:
            raise Unauthenticated("the callback has no signature", "SIGNATURE_MISSING")
        try:
            event = connector.parse_callback(body, signature, self.clock())
        except InvalidSignature as exc:
            raise Unauthenticated(
                f"the callback signature is not valid: {exc}", "SIGNATURE_INVALID"
            ) from None
        except MalformedCallback as exc:
            raise InvalidArgument(str(exc), field="payload", description="must be a gateway event") from None
        seen = self._tx(lambda s: repo.event_seen(s, connector_name, event.event_id))
        if seen is not None:
            return CallbackResult(
                event.event_id, seen.payment_id, Disposition.DUPLICATE, self._status_of(seen.payment_id)
            )
        if not self._tx(lambda s: repo.payment_exists(s, event.reference)):
            raise NotFound(
                f"the event refers to no payment of ours ({event.reference})",
                "PAYMENT_NOT_FOUND",
                {"payment_id": event.reference},
            )
        actor = f"connector:{connector_name}"
        with self._lease(event.reference):
            seen = self._tx(lambda s: repo.event_seen(s, connector_name, event.event_id))
            if seen is not None:
                return CallbackResult(
                    event.event_id, event.reference, Disposition.DUPLICATE, self._status_of(event.reference)
                )
            payment = self._tx(lambda s: repo.get_payment(s, event.reference))
            disposition = Disposition.STALE
            if payment.status is Status.PROCESSING:
                # Only a PROCESSING payment awaits a gateway result; any other status is already
                # further along (or never reached the gateway), so the event cannot move it back.
                disposition = Disposition.APPLIED
                if event.outcome is not Outcome.PENDING:
                    payment = self._apply_result(
                        payment,
                        GatewayResult(
                            event.outcome, event.external_reference, event.failure_code, event.failure_message
                        ),
                        actor,
                    )
                elif event.external_reference and not payment.external_reference:
                    payment = self._save(payment.id, external_reference=event.external_reference)
            status = payment.status
            recorded = self._tx(
                lambda s: repo.record_event(
                    s,
                    connector_name,
                    event.event_id,
                    event.reference,
                    event.outcome.value,
                    disposition,
                    status,
                )
            )
        if not recorded:
            disposition = Disposition.DUPLICATE
        return CallbackResult(event.event_id, event.reference, disposition, self._status_of(event.reference))

    def _status_of(self, payment_id: str) -> Status:
        return self._tx(lambda s: repo.get_payment(s, payment_id)).status

    # -- recovery -------------------------------------------------------------------------------
    def recover(self, stale_after_seconds: int, max_payments: int, dry_run: bool) -> list[Recovered]:
        """Settle stale in-flight payments, then resume stale pending refunds (both bounded by
        ``max_payments``). Every step repeats with its original idempotency key, so a run racing
        a retried request (or another run) never moves money twice."""
        stale = self._tx(lambda s: repo.stale_payments(s, self.clock(), stale_after_seconds, max_payments))
        out = []
        for payment in stale:
            try:
                out.append(self._recover_one(payment, dry_run))
            except Aborted:
                out.append(Recovered(payment.id, payment.status, payment.status, "UNCHANGED"))
            except DomainError as exc:
                log.warning("recovery of %s failed: %s %s", payment.id, exc.reason, exc.message)
                out.append(Recovered(payment.id, payment.status, payment.status, "UNCHANGED"))
        room = max(0, max_payments - len(out))
        if room:
            now = self.clock()
            refunds = self._tx(lambda s: repo.stale_pending_refunds(s, now, stale_after_seconds, room))
            out.extend(self._recover_refund(refund, dry_run) for refund in refunds)
        return out

    def _recover_refund(self, refund: Refund, dry_run: bool) -> Recovered:
        """Resume a refund left pending (its request died or the gateway failed after the ledger
        entry): the ledger step replays by its key, the gateway refund by our reference."""
        before = self._status_of(refund.payment_id)
        if dry_run:
            return Recovered(refund.payment_id, before, before, "RESUMED")
        try:
            with self._lease(refund.payment_id):
                payment, _ = self._complete_refund(payment_id=refund.payment_id, refund_id=refund.id)
        except Aborted:
            return Recovered(refund.payment_id, before, before, "UNCHANGED")
        except DomainError as exc:
            log.warning(
                "recovery of refund %s of %s failed: %s %s",
                refund.id,
                refund.payment_id,
                exc.reason,
                exc.message,
            )
            return Recovered(refund.payment_id, before, self._status_of(refund.payment_id), "UNCHANGED")
        return Recovered(refund.payment_id, before, payment.status, "COMPLETED")

    def _recover_one(self, payment: Payment, dry_run: bool) -> Recovered:
        before = payment.status
        if payment.status is Status.PENDING:
            if dry_run:
                return Recovered(payment.id, before, before, "RESUMED")
            with self._lease(payment.id):
                self._drive(payment.id, ACTOR_RECOVERY)
            after = self._status_of(payment.id)
            action = {Status.SUCCEEDED: "COMPLETED", Status.FAILED: "VOIDED"}.get(after, "RESUMED")
            return Recovered(payment.id, before, after, action)
        # PROCESSING: ask the gateway by our reference what happened.
        if payment.kind is Kind.TRANSFER:
            result: GatewayResult | None = GatewayResult(Outcome.SUCCEEDED)
        else:
            try:
                result = self._connector(payment.connector).fetch_status(payment.id)
            except ConnectorError:
                return Recovered(payment.id, before, before, "UNCHANGED")
        age = (self.clock() - payment.update_time).total_seconds()
        if result is not None and result.outcome is Outcome.PENDING:
            if age < self.config.processing_max_age_seconds:
                return Recovered(payment.id, before, before, "UNCHANGED")
            result = None  # the gateway never settled it: give the funds back
        planned = "COMPLETED" if result is not None and result.outcome is Outcome.SUCCEEDED else "VOIDED"
        if dry_run:
            return Recovered(payment.id, before, before, planned)
        with self._lease(payment.id):
            current = self._tx(lambda s: repo.get_payment(s, payment.id))
            if current.status is not Status.PROCESSING:
                return Recovered(payment.id, before, current.status, "UNCHANGED")
            if result is None:
                # The gateway never saw it (or never settled it): nothing was taken, release the hold.
                self._void(current)
                after = self._fail(
                    current,
                    "CONNECTOR_TIMEOUT",
                    "the payment gateway did not complete the payment",
                    ACTOR_RECOVERY,
                ).status
            else:
                after = self._apply_result(current, result, ACTOR_RECOVERY).status
        action = {Status.SUCCEEDED: "COMPLETED", Status.FAILED: "VOIDED"}.get(after, "UNCHANGED")
        return Recovered(payment.id, before, after, action)

    # -- payment methods --------------------------------------------------------------------------
    def add_method(self, new: NewMethod) -> PaymentMethod:
        existing = self._tx(lambda s: repo.active_method_by_dedup(s, new.user_id, new.dedup_key))
        if existing is not None:
            raise _duplicate(existing.id)
        connector = self._connector(self.default_connector)
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
            ledger_account = self.account(new.user_id, Purpose.WALLET, new.currency)
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
            create_time=self.clock(),
        )
        try:
            return self._tx(lambda s: repo.insert_method(s, method, new.dedup_key, connector.name))
        except IntegrityError:
            # A concurrent add of the same instrument won the unique index.
            winner = self._tx(lambda s: repo.active_method_by_dedup(s, new.user_id, new.dedup_key))
            raise _duplicate(winner.id if winner else "") from None

    def list_methods(self, user_id: str, type_: int, before_id: str, limit: int) -> list[PaymentMethod]:
        return self._tx(lambda s: repo.list_methods(s, user_id, type_, before_id, limit))

    def get_method(self, method_id: str) -> PaymentMethod:
        return self._tx(lambda s: repo.get_method(s, method_id))

    def remove_method(self, method_id: str) -> PaymentMethod:
        def work(session: Session) -> PaymentMethod:
            method = repo.get_method(session, method_id, lock=True)
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
            return repo.remove_method(session, method_id, self.clock())

        return self._tx(work)

    def list_payments(
        self,
        user_id: str,
        statuses: list[int],
        kind: int,
        start: datetime | None,
        end: datetime | None,
        include_incoming: bool,
        before_id: str,
        limit: int,
    ) -> list[Payment]:
        return self._tx(
            lambda s: repo.list_payments(
                s, user_id, statuses, kind, start, end, include_incoming, before_id, limit
            )
        )

    def review_queue(self, after_id: str, limit: int) -> list[Payment]:
        """The payments waiting for a staff decision, oldest first."""
        return self._tx(
            lambda s: repo.payments_in_status(s, Status.REQUIRES_REVIEW, after_id, limit)
        )


def _duplicate(existing_id: str) -> AlreadyExists:
    return AlreadyExists(
        "the user already has this payment method",
        "DUPLICATE_PAYMENT_METHOD",
        {"payment_method_id": existing_id},
    )


def _ledger_in_doubt(payment: Payment, exc: RemoteError, then: str) -> Unavailable:
    """The answer when a ledger step's outcome is unknown: retryable, and saying what happens next.

    Never a failure: the step may have been recorded, and only a replay with its key (or a read
    of the ledger) tells. The idempotency key is not finished, so a retry resumes the payment."""
    log.warning("ledger step of %s in doubt: %s %s", payment.id, exc.code.name, exc.reason)
    return Unavailable(
        f"the ledger's answer was lost or it cannot be reached; {then}; retry with the same request_id",
        "LEDGER_UNAVAILABLE",
        {"payment_id": payment.id},
    )


def _unavailable(exc: RemoteError) -> DomainError:
    """A failed call to another service: FAILED_PRECONDITION only for a definite refusal, since
    that is stored on the request's idempotency key; anything else may succeed on a retry."""
    if not exc.refused:
        return Unavailable(
            f"the {exc.service} service cannot be reached", f"{exc.service.upper()}_UNAVAILABLE"
        )
    error = FailedPrecondition(
        f"the {exc.service} service refused the request: {exc.reason or exc.code.name}",
        exc.reason or "DEPENDENCY_REFUSED",
    )
    return error


def _time_zone(name: str) -> str:
    """The customer's IANA time zone the app sent as payment metadata, or "" (UTC) when absent or unknown.

    The user service keeps no time zone, so the app's is the best signal; an unknown name is dropped
    rather than failing the fraud check.
    """
    if not name or len(name) > 64:
        return ""
    try:
        ZoneInfo(name)
    except (ValueError, LookupError):
        return ""
    return name


def _ledger_description(payment: Payment) -> str:
    label = {Kind.TOP_UP: "Top-up", Kind.TRANSFER: "Transfer", Kind.PAYOUT: "Payout"}[payment.kind]
    text = f"{label} {payment.id}" + (f": {payment.description}" if payment.description else "")
    return text[:500]


def ledger_metadata(payment_id: str, payment_metadata: Mapping[str, str]) -> dict[str, str]:
    """The metadata of the entry that books a payment: its id and, when the payment names one, its
    merchant category (an explicit ``category``, else the one its ``mcc`` maps to, by the table the AI
    models use) and ``mcc``, which analytics categorizes spending by. Both were validated on initiation."""
    metadata = {"payment_id": payment_id}
    mcc = payment_metadata.get("mcc", "")
    if is_mcc(mcc):
        metadata["mcc"] = mcc
    category = payment_metadata.get("category", "") or (category_of_mcc(mcc) if is_mcc(mcc) else None)
    if category:
        metadata["category"] = category
    return metadata
