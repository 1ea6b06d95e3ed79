"""What the API reads of payments: one with its history and refunds, a user's list, the review
queue, the trail of staff actions."""

from __future__ import annotations

from datetime import datetime

from services.payment import repository as repo
from services.payment.domain.model import Payment
from services.payment.domain.states import Status
from services.payment.store import PaymentStore
from services.runtime.audit import StaffAction


class PaymentQueries:
    def __init__(self, store: PaymentStore) -> None:
        self.store = store

    def get(self, payment_id: str) -> Payment:
        """The payment with its status history and refunds."""
        return self.store.get(payment_id, full=True)

    def list_payments(self, where: repo.PaymentFilter, before_id: str, limit: int) -> list[Payment]:
        return self.store.tx(lambda s: repo.list_payments(s, where, before_id, limit))

    def review_queue(self, after_id: str, limit: int) -> list[Payment]:
        """The payments waiting for a staff decision, oldest first."""
        return self.store.tx(lambda s: repo.payments_in_status(s, Status.REQUIRES_REVIEW, after_id, limit))

    def staff_actions(
        self, actor_id: str | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[StaffAction]:
        return self.store.tx(lambda s: repo.staff_actions(s, actor_id, before, limit))
