"""Recovery: payments and refunds whose driver died, or whose gateway or ledger answer was lost,
settled from their last persisted step. Every step repeats with its original idempotency key, and
the gateway is asked by our own reference, so a run racing a retried request (or another run)
never moves money twice."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.payment import refund_repository
from services.payment import repository as repo
from services.payment.connectors.base import (
    Connector,
    ConnectorError,
    GatewayResult,
    Outcome,
    connector_named,
)
from services.payment.domain.model import Payment, Refund
from services.payment.domain.states import Kind, Status
from services.payment.execution import PaymentDriver
from services.payment.refunds import Refunds
from services.payment.store import PaymentStore
from services.runtime.errors import Aborted, DomainError

log = logging.getLogger("nexafi.payment")

ACTOR_RECOVERY = "system:recovery"


class RecoveryAction(StrEnum):
    """What recovery did to a payment; the names are the contract's RecoveryAction."""

    COMPLETED = "COMPLETED"
    VOIDED = "VOIDED"
    RESUMED = "RESUMED"
    UNCHANGED = "UNCHANGED"


# The action a payment's final status reports.
_SETTLED = {Status.SUCCEEDED: RecoveryAction.COMPLETED, Status.FAILED: RecoveryAction.VOIDED}


@dataclass(frozen=True)
class Recovered:
    payment_id: str
    previous_status: Status
    status: Status
    action: RecoveryAction


class Recovery:
    def __init__(
        self,
        store: PaymentStore,
        driver: PaymentDriver,
        refunds: Refunds,
        connectors: Mapping[str, Connector],
        processing_max_age_seconds: int,
    ) -> None:
        self.store = store
        self.driver = driver
        self.refunds = refunds
        self.connectors = connectors
        # A PROCESSING payment the gateway still calls pending after this long is voided.
        self.processing_max_age_seconds = processing_max_age_seconds

    def recover(self, stale_after_seconds: int, max_payments: int, dry_run: bool) -> list[Recovered]:
        """Settle stale in-flight payments, then resume stale pending refunds (both bounded by
        ``max_payments``). Every step repeats with its original idempotency key, so a run racing
        a retried request (or another run) never moves money twice."""
        now = self.store.clock()
        stale = self.store.tx(lambda s: repo.stale_payments(s, now, stale_after_seconds, max_payments))
        out = []
        for payment in stale:
            try:
                out.append(self._payment(payment, dry_run))
            except Aborted:
                out.append(Recovered(payment.id, payment.status, payment.status, RecoveryAction.UNCHANGED))
            except DomainError as exc:
                log.warning("recovery of %s failed: %s %s", payment.id, exc.reason, exc.message)
                out.append(Recovered(payment.id, payment.status, payment.status, RecoveryAction.UNCHANGED))
        room = max(0, max_payments - len(out))
        if room:
            now = self.store.clock()
            refunds = self.store.tx(
                lambda s: refund_repository.stale_pending_refunds(s, now, stale_after_seconds, room)
            )
            out.extend(self._refund(refund, dry_run) for refund in refunds)
        return out

    def _refund(self, refund: Refund, dry_run: bool) -> Recovered:
        """Resume a refund left pending (its request died or the gateway failed after the ledger
        entry): the ledger step replays by its key, the gateway refund by our reference."""
        before = self.store.status_of(refund.payment_id)
        if dry_run:
            return Recovered(refund.payment_id, before, before, RecoveryAction.RESUMED)
        try:
            with self.store.lease(refund.payment_id):
                payment = self.refunds.complete(payment_id=refund.payment_id, refund_id=refund.id).payment
        except Aborted:
            return Recovered(refund.payment_id, before, before, RecoveryAction.UNCHANGED)
        except DomainError as exc:
            log.warning(
                "recovery of refund %s of %s failed: %s %s",
                refund.id,
                refund.payment_id,
                exc.reason,
                exc.message,
            )
            after = self.store.status_of(refund.payment_id)
            return Recovered(refund.payment_id, before, after, RecoveryAction.UNCHANGED)
        return Recovered(refund.payment_id, before, payment.status, RecoveryAction.COMPLETED)

    def _payment(self, payment: Payment, dry_run: bool) -> Recovered:
        before = payment.status
        if payment.status is Status.PENDING:
            if dry_run:
                return Recovered(payment.id, before, before, RecoveryAction.RESUMED)
            with self.store.lease(payment.id):
                self.driver.drive(payment.id, ACTOR_RECOVERY)
            after = self.store.status_of(payment.id)
            action = _SETTLED.get(after, RecoveryAction.RESUMED)
            return Recovered(payment.id, before, after, action)
        # PROCESSING: ask the gateway by our reference what happened.
        if payment.kind is Kind.TRANSFER:
            result: GatewayResult | None = GatewayResult(Outcome.SUCCEEDED)
        else:
            try:
                result = connector_named(self.connectors, payment.connector).fetch_status(payment.id)
            except ConnectorError:
                return Recovered(payment.id, before, before, RecoveryAction.UNCHANGED)
        age = (self.store.clock() - payment.update_time).total_seconds()
        if result is not None and result.outcome is Outcome.PENDING:
            if age < self.processing_max_age_seconds:
                return Recovered(payment.id, before, before, RecoveryAction.UNCHANGED)
            result = None  # the gateway never settled it: give the funds back
        succeeded = result is not None and result.outcome is Outcome.SUCCEEDED
        planned = RecoveryAction.COMPLETED if succeeded else RecoveryAction.VOIDED
        if dry_run:
            return Recovered(payment.id, before, before, planned)
        with self.store.lease(payment.id):
            current = self.store.get(payment.id)
            if current.status is not Status.PROCESSING:
                return Recovered(payment.id, before, current.status, RecoveryAction.UNCHANGED)
            if result is None:
                # The gateway never saw it (or never settled it): nothing was taken, release the hold.
                self.driver.void(current)
                after = self.store.fail(
                    current,
                    "CONNECTOR_TIMEOUT",
                    "the payment gateway did not complete the payment",
                    ACTOR_RECOVERY,
                ).status
            else:
                after = self.driver.apply_result(current, result, ACTOR_RECOVERY).status
        action = _SETTLED.get(after, RecoveryAction.UNCHANGED)
        return Recovered(payment.id, before, after, action)
