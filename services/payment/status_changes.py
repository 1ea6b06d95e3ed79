"""Status changes asked for by people and services: review decisions (UpdatePaymentStatus) and
cancellations, each under the payment's lease and within what the asker may set."""

from __future__ import annotations

from services.payment.domain.duties import forbid_self_decision
from services.payment.domain.model import Payment
from services.payment.domain.states import Actor, Status, check_actor, check_transition
from services.payment.execution import PaymentDriver
from services.payment.store import PaymentStore
from services.runtime.errors import FailedPrecondition


class StatusChanges:
    def __init__(self, store: PaymentStore, driver: PaymentDriver) -> None:
        self.store = store
        self.driver = driver

    def update_status(
        self,
        payment_id: str,
        target: Status,
        reason: str,
        actor: str,
        role: Actor,
    ) -> Payment:
        """A status set by staff or a service (``role``), within what ``role`` may set."""
        payment = self.store.get(payment_id)
        forbid_self_decision(payment, actor, "decide on")
        check_transition(payment.status, target)
        check_actor(role, payment.status, target)
        with self.store.lease(payment_id):
            payment = self.store.get(payment_id)
            check_transition(payment.status, target)
            self._apply(payment, target, reason, actor)
        return self.store.get(payment_id, full=True)

    def _apply(self, payment: Payment, target: Status, reason: str, actor: str) -> None:
        if target is Status.PROCESSING:
            if not payment.reserved and self.driver.reserve(payment, actor) is None:
                return
            payment = self.store.get(payment.id)
            if not self.driver.reservation_alive(payment):
                self.store.fail(
                    payment, "RESERVATION_EXPIRED", "the reservation lapsed before approval", actor
                )
                return
            payment = self.store.transition(payment, Status.PROCESSING, reason, actor)
            self.driver.execute(payment, actor)
        elif target is Status.REQUIRES_REVIEW:
            if not payment.reserved and self.driver.reserve(payment, actor) is None:
                return
            self.store.transition(self.store.get(payment.id), target, reason, actor)
        elif target is Status.SUCCEEDED:
            self.driver.succeed(payment, actor, reason)
        elif target in (Status.FAILED, Status.CANCELLED):
            self.driver.void(payment)
            if target is Status.FAILED:
                code = "REVIEW_DECLINED" if payment.status is Status.REQUIRES_REVIEW else "DECLINED"
                self.store.transition(
                    payment, target, reason, actor, failure_code=code, failure_message=reason
                )
            else:
                self.store.transition(payment, target, reason, actor)
        else:
            raise FailedPrecondition(
                f"{target.name} is set only by RefundPayment", "ILLEGAL_STATUS_TRANSITION"
            )

    def cancel(self, payment_id: str, reason: str, actor: str) -> Payment:
        payment = self.store.get(payment_id)
        if payment.status is Status.CANCELLED:
            return self.store.get(payment_id, full=True)
        if payment.status not in (Status.PENDING, Status.REQUIRES_REVIEW):
            raise FailedPrecondition(
                f"a {payment.status.name} payment cannot be cancelled",
                "PAYMENT_NOT_CANCELLABLE",
                {"status": payment.status.name},
            )
        with self.store.lease(payment_id):
            payment = self.store.get(payment_id)
            if payment.status is not Status.CANCELLED:
                check_transition(payment.status, Status.CANCELLED)
                self.driver.void(payment)
                self.store.transition(payment, Status.CANCELLED, reason or "cancelled", actor)
        return self.store.get(payment_id, full=True)
