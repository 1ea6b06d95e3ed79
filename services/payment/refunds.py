"""Refunds: opened against what remains refundable, booked in the ledger before the gateway is
asked (so the wallet cannot be spent twice meanwhile), and settled once.

A full refund is a ledger reversal of the posted entry, a partial one a REFUND entry with the
payment's accounts swapped; a gateway decline is compensated by an ADJUSTMENT with its own key.
A ledger answer in doubt leaves the refund pending and its key open: the client's retry or the
recovery job replays the step with the same key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.payment import connector_repository, refund_repository
from services.payment import repository as repo
from services.payment.connectors.base import Connector, ConnectorError, Outcome, connector_named
from services.payment.domain.duties import forbid_self_decision
from services.payment.domain.model import Payment, Refund, RefundState
from services.payment.domain.postings import EntryType, step_request_id
from services.payment.domain.states import Kind, Status, check_transition
from services.payment.remote_errors import unavailable
from services.payment.store import PaymentStore, RequestKey, count_status
from services.runtime.clients import RemoteError
from services.runtime.errors import FailedPrecondition, InvalidArgument, Unavailable
from services.runtime.ids import new_id
from services.runtime.ledger_client import LedgerClient
from services.runtime.money import Money


@dataclass(frozen=True)
class Refunded:
    """A refund and its payment (with history and refunds) as they stand after it."""

    payment: Payment
    refund: Refund


class Refunds:
    def __init__(
        self, store: PaymentStore, ledger: LedgerClient, connectors: Mapping[str, Connector]
    ) -> None:
        self.store = store
        self.ledger = ledger
        self.connectors = connectors

    def refund(
        self, payment_id: str, amount: Money | None, reason: str, actor: str, request_id: str, key: RequestKey
    ) -> Refunded:
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
                    - refund_repository.refunds_in_flight(session, payment_id)
                )
                value = amount.amount_minor if amount is not None else remaining
                if value <= 0 or value > remaining:
                    raise FailedPrecondition(
                        f"at most {remaining} minor units remain refundable",
                        "REFUND_EXCEEDS_AMOUNT",
                        {"remaining_minor": str(remaining)},
                    )
                refund_repository.insert_refund(
                    session,
                    Refund(
                        id=refund_id,
                        payment_id=payment_id,
                        amount_minor=value,
                        currency=payment.currency,
                        reason=reason,
                        state=RefundState.PENDING,
                        transaction_id="",
                        external_reference="",
                        request_id=request_id,
                        actor=actor,
                        create_time=self.store.clock(),
                    ),
                )
                key.record(session, refund_id)

            self.store.tx(open_refund)
        return self.complete(payment_id=payment_id, refund_id=refund_id)

    def complete(self, *, payment_id: str, refund_id: str) -> Refunded:
        payment = self.store.get(payment_id)
        refund = self.store.tx(lambda s: refund_repository.get_refund(s, refund_id))
        if refund.state is RefundState.SUCCEEDED:
            return Refunded(self.store.get(payment_id, full=True), refund)
        whole = refund.amount_minor == payment.amount_minor
        try:
            if whole:
                # The whole amount at once: a true reversal of the posted entry.
                entry_id = self.ledger.reverse(
                    transaction_id=payment.transaction_id,
                    reason=refund.reason or "refund",
                    request_id=step_request_id(refund.id, "reverse"),
                )
            else:
                # Part of it: a compensating entry, the payment's postings mirrored for the amount.
                entry_id = self.ledger.transfer(
                    debit=payment.credit_account_id,
                    credit=payment.debit_account_id,
                    amount_minor=refund.amount_minor,
                    currency=refund.currency,
                    user_id=payment.user_id,
                    type_=EntryType.REFUND,
                    description=f"Refund {refund.id} of {payment.id}",
                    related_id=payment.id,
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
            self.store.tx(lambda s: refund_repository.update_refund(s, refund_id, state=RefundState.FAILED))
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
                result = connector_named(self.connectors, payment.connector).refund(
                    refund.id, payment.id, Money(refund.amount_minor, refund.currency)
                )
            except ConnectorError:
                raise Unavailable(
                    "the gateway did not confirm the refund; retry with the same request_id",
                    "CONNECTOR_UNAVAILABLE",
                    {"refund_id": refund.id},
                ) from None
            external = result.external_reference
            self.store.tx(
                lambda s: connector_repository.record_attempt(
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
                self._compensate_declined(payment, refund)
                raise FailedPrecondition(
                    f"the gateway declined the refund: {result.failure_message or result.failure_code}",
                    "REFUND_DECLINED",
                    {"refund_id": refund.id, "payment_id": payment.id},
                )

        def settle(session: Session) -> tuple[Kind, Status] | None:
            current = repo.get_payment(session, payment_id, lock=True)
            if refund_repository.get_refund(session, refund_id).state is RefundState.SUCCEEDED:
                return None  # a concurrent driver (a retried request, recovery) settled it first
            refunded = current.refunded_minor + refund.amount_minor
            target = Status.REFUNDED if refunded == current.amount_minor else Status.PARTIALLY_REFUNDED
            check_transition(current.status, target)
            refund_repository.update_refund(
                session,
                refund_id,
                state=RefundState.SUCCEEDED,
                transaction_id=entry_id,
                external_reference=external,
            )
            now = self.store.clock()
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

        settled = self.store.tx(settle)
        if settled is not None:
            count_status(*settled)
        final = self.store.tx(lambda s: refund_repository.get_refund(s, refund_id))
        return Refunded(self.store.get(payment_id, full=True), final)

    def _compensate_declined(self, payment: Payment, refund: Refund) -> None:
        """Give the customer back what the refund's ledger step took, once, then mark it failed.

        The ledger step runs before the gateway call (so the wallet cannot be spent
        twice meanwhile); when the gateway then declines, the money must return to
        the wallet. The compensation has its own key, so a retry never books it twice.
        """
        try:
            self.ledger.transfer(
                debit=payment.debit_account_id,
                credit=payment.credit_account_id,
                amount_minor=refund.amount_minor,
                currency=refund.currency,
                user_id=payment.user_id,
                type_=EntryType.ADJUSTMENT,
                description=f"Refund {refund.id} of {payment.id} declined by the gateway: amount returned",
                related_id=payment.id,
                metadata={"refund_id": refund.id, "payment_id": payment.id, "compensates": "refund"},
                request_id=step_request_id(refund.id, "compensate"),
            )
        except RemoteError as exc:
            # The refund stays pending either way: recovery sends the gateway refund again (the
            # PSP replays its decline) and compensates with the same key.
            raise unavailable(exc) from None
        self.store.tx(lambda s: refund_repository.update_refund(s, refund.id, state=RefundState.FAILED))
