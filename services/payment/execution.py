"""Driving a payment through its steps: fraud check, reservation, the gateway, then post or void.

Every step that moves or reserves money is a ledger call whose idempotency key is derived from the
payment id and the step, and every step's result is persisted before the next call whose effect
could not be found again by its key (the fraud answer and the hold id together, after the
reservation; the connector attempt before anything follows the charge). A payment
is driven by whoever holds its lease (the initiating request, a review decision, a callback or the
recovery job), so two drivers never interleave, and a crashed driver's lease expires so that the
next one resumes from the last persisted step. That is what makes a crash or a retry at any point
unable to move money twice or leave a hold forever.

A ledger answer other than a definite refusal (``RemoteError.refused``) leaves its step in doubt,
never failed: the ledger may have committed before the answer was lost. The payment keeps its
status, the request's idempotency key is left unfinished, and the client is told to retry; the
retry or the recovery job replays the step with the same key and gets what the ledger recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypedDict

from services.payment import connector_repository
from services.payment.connectors.base import (
    Connector,
    ConnectorTimeout,
    ConnectorUnavailable,
    GatewayResult,
    Outcome,
    connector_named,
)
from services.payment.domain.model import FraudDecision, Payment
from services.payment.domain.postings import ENTRY_TYPE, step_request_id
from services.payment.domain.states import Kind, Status
from services.payment.fraud import FRAUD_DECLINED_MESSAGE, FraudCheck
from services.payment.remote_errors import ledger_in_doubt, unavailable
from services.payment.store import PaymentStore
from services.runtime.clients import RemoteError
from services.runtime.errors import FailedPrecondition
from services.runtime.ledger_client import EntryType, HoldStatus, LedgerClient
from services.runtime.mcc import category_of_mcc, is_mcc
from services.runtime.money import Money

log = logging.getLogger("nexafi.payment")


class PaymentDriver:
    def __init__(
        self,
        store: PaymentStore,
        ledger: LedgerClient,
        fraud: FraudCheck,
        connectors: Mapping[str, Connector],
        fraud_unavailable_policy: str,
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.fraud = fraud
        self.connectors = connectors
        # "review" holds a payment the fraud check could not decide on, "fail" fails it.
        self.fraud_unavailable_policy = fraud_unavailable_policy

    def resume(self, payment_id: str, actor: str) -> Payment:
        with self.store.lease(payment_id) as token:
            self.drive(payment_id, actor, token)
        return self.store.get(payment_id, full=True)

    def drive(self, payment_id: str, actor: str, lease: str = "") -> None:
        """Take the payment as far as it goes from its last persisted step. Caller holds the lease;
        with its token in ``lease``, the status change that ends the drive also releases it.

        Before PROCESSING, the fraud answer and the reservation's hold id are persisted with the
        status they lead to, in one transaction: both calls are keyed by the payment and the step
        (``step_request_id``), so a driver that dies before that commit leaves the payment PENDING
        as created, and the next driver asks both again and gets the same answers (the same hold).
        """
        payment = self.store.get(payment_id)
        if payment.status is Status.PENDING:
            step: dict[str, Any] = {}
            if not payment.fraud_checked:
                step = self.fraud.check(payment)
                payment = replace(payment, **step)
                if payment.fraud_decision is FraudDecision.DECLINE:
                    self.store.fail(payment, "FRAUD_DECLINED", FRAUD_DECLINED_MESSAGE, actor, lease, **step)
                    return
                if (
                    payment.fraud_decision is FraudDecision.UNSPECIFIED
                    and self.fraud_unavailable_policy == "fail"
                ):
                    self.store.fail(
                        payment,
                        "FRAUD_CHECK_UNAVAILABLE",
                        "the fraud check could not be made; try again later",
                        actor,
                        lease,
                        **step,
                    )
                    return
            if not payment.reserved:
                pending_id = self._reserve(payment, actor, lease, step)
                if pending_id is None:
                    return
                step.update(pending_transfer_id=pending_id, transaction_id=pending_id)
            if payment.fraud_decision is not FraudDecision.APPROVE:
                reason = (
                    "fraud check asked for a review"
                    if payment.fraud_decision is FraudDecision.REVIEW
                    else "fraud check unavailable: held for review"
                )
                self.store.transition(payment, Status.REQUIRES_REVIEW, reason, actor, release=lease, **step)
                return
            payment = self.store.transition(
                payment, Status.PROCESSING, "fraud check approved, funds reserved", actor, **step
            )
        if payment.status is Status.PROCESSING:
            self.execute(payment, actor, lease)

    def reserve(self, payment: Payment, actor: str) -> Payment | None:
        """Phase one in the ledger, its hold id persisted; None when the payment failed (for
        example insufficient funds)."""
        pending_id = self._reserve(payment, actor, "", {})
        if pending_id is None:
            return None
        return self.store.save(payment.id, pending_transfer_id=pending_id, transaction_id=pending_id)

    def _reserve(self, payment: Payment, actor: str, lease: str, step: dict[str, Any]) -> str | None:
        """The reservation's hold id, not yet persisted; None when the payment failed, failed with
        ``step`` (the fields of the steps before, not yet persisted either)."""
        try:
            return self.ledger.reserve(
                **ledger_movement(payment), request_id=step_request_id(payment.id, "reserve")
            )
        except RemoteError as exc:
            if not exc.refused:
                # In doubt: the hold may exist. The payment stays PENDING, its key unfinished; a
                # retry or recovery replays the reservation with the same key and gets that hold.
                raise ledger_in_doubt(payment, exc, "the payment will be resumed") from None
            if exc.reason == "INSUFFICIENT_FUNDS":
                message = "the wallet does not hold enough funds"
                self.store.fail(payment, "INSUFFICIENT_FUNDS", message, actor, lease, **step)
            else:
                log.error(
                    "ledger refused the reservation of %s: %s %s", payment.id, exc.code.name, exc.reason
                )
                message = "the payment could not be booked"
                self.store.fail(payment, "LEDGER_REJECTED", message, actor, lease, **step)
            return None

    def execute(self, payment: Payment, actor: str, lease: str = "") -> None:
        """PROCESSING: run the payment through the connector (none for transfers), then post or void.

        The attempt is committed before anything else (a charge whose answer arrived must be found
        by recovery); the gateway's reference is persisted with the status it leads to."""
        if payment.kind is Kind.TRANSFER:
            self.succeed(payment, actor, "transfer completed", lease)
            return
        connector = connector_named(self.connectors, payment.connector)
        method = self.store.method(payment.payment_method_id)
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
            self.store.tx(
                lambda s: connector_repository.record_attempt(
                    s, payment.id, connector.name, operation, payment.id, "timeout", detail=detail
                )
            )
            log.warning("connector %s did not answer for %s; left for recovery", connector.name, payment.id)
            return
        self.store.tx(
            lambda s: connector_repository.record_attempt(
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
        self.apply_result(payment, result, actor, lease)

    def apply_result(self, payment: Payment, result: GatewayResult, actor: str, lease: str = "") -> Payment:
        """The gateway's result applied; its reference is persisted with the status it leads to
        (the connector's attempt and the gateway itself keep it meanwhile)."""
        found: dict[str, Any] = {}
        if result.external_reference and result.external_reference != payment.external_reference:
            found["external_reference"] = result.external_reference
        if result.outcome is Outcome.SUCCEEDED:
            return self.succeed(payment, actor, "the gateway confirmed the payment", lease, **found)
        if result.outcome is Outcome.FAILED:
            self.void(payment)
            return self.store.fail(
                payment,
                result.failure_code or "PAYMENT_FAILED",
                result.failure_message or "the gateway declined the payment",
                actor,
                lease,
                **found,
            )
        # PENDING: the result arrives by callback (or recovery asks).
        return self.store.save(payment.id, **found) if found else payment

    def succeed(
        self, payment: Payment, actor: str, reason: str, lease: str = "", **fields: object
    ) -> Payment:
        transaction_id = self._post(payment)
        return self.store.transition(
            payment, Status.SUCCEEDED, reason, actor, release=lease, transaction_id=transaction_id, **fields
        )

    def _post(self, payment: Payment) -> str:
        try:
            return self.ledger.post_reserved(
                pending_id=payment.pending_transfer_id,
                request_id=step_request_id(payment.id, "post"),
                metadata=ledger_metadata(payment.id, payment.metadata),
            )
        except RemoteError as exc:
            if not exc.refused:
                raise ledger_in_doubt(payment, exc, "the payment will be completed by recovery") from None
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
            return self.ledger.transfer(
                **ledger_movement(payment),
                metadata=ledger_metadata(payment.id, payment.metadata),
                request_id=step_request_id(payment.id, "post-direct"),
            )
        except RemoteError as exc:
            if not exc.refused:
                raise ledger_in_doubt(payment, exc, "the payment will be completed by recovery") from None
            raise unavailable(exc) from None

    def void(self, payment: Payment) -> None:
        if not payment.pending_transfer_id:
            return
        try:
            self.ledger.void(
                pending_id=payment.pending_transfer_id, reason=f"payment {payment.id} did not complete"
            )
        except RemoteError as exc:
            if not exc.refused:
                # In doubt: the payment keeps its status; voiding again is harmless (see below).
                raise ledger_in_doubt(payment, exc, "the reservation will be released by recovery") from None
            if exc.reason != "PENDING_TRANSFER_NOT_PENDING":
                raise unavailable(exc) from None
            # Voided (or expired) before: a retry of this step. Posted would be a real inconsistency.
            try:
                status = self.ledger.hold_status(payment.pending_transfer_id)
            except RemoteError as read_error:
                raise unavailable(read_error) from None
            if status is HoldStatus.POSTED:
                raise FailedPrecondition(
                    "the reservation was already posted", "LEDGER_STATE_CONFLICT", {"payment_id": payment.id}
                ) from None

    def reservation_alive(self, payment: Payment) -> bool:
        try:
            status = self.ledger.hold_status(payment.pending_transfer_id)
        except RemoteError as exc:
            raise unavailable(exc) from None
        return status is HoldStatus.PENDING


class LedgerMovement(TypedDict):
    """What the payment's reservation and its direct booking both move (the ledger client's
    keyword arguments), so a booking made when the reservation lapsed is the one reserved."""

    debit: str
    credit: str
    amount_minor: int
    currency: str
    user_id: str
    type_: EntryType
    description: str
    related_id: str


def ledger_movement(payment: Payment) -> LedgerMovement:
    return LedgerMovement(
        debit=payment.debit_account_id,
        credit=payment.credit_account_id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        user_id=payment.user_id,
        type_=ENTRY_TYPE[payment.kind],
        description=ledger_description(payment),
        related_id=payment.id,
    )


def ledger_description(payment: Payment) -> str:
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
