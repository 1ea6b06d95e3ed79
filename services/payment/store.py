"""The payments' persisted state as every use case changes it: one transaction at a time, under a
payment's lease, one status change (with its history row) at a time.

Time: the stamps come from the injected clock; leases coordinate replicas and so are set and
compared on the database's clock alone (see repository.acquire_lease).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.payment import method_repository
from services.payment import repository as repo
from services.payment.domain.model import Payment, PaymentMethod
from services.payment.domain.states import Kind, Status, check_transition
from services.runtime import metrics
from services.runtime.clock import Clock
from services.runtime.db import run_in_transaction
from services.runtime.errors import Aborted

T = TypeVar("T")

# Counted after the transaction that made the change committed (never for a rolled-back one).
PAYMENTS = metrics.counter(
    "nexafi_payments",
    "Payments entering a status, by kind and status (PENDING: payments created).",
    ("kind", "status"),
)


def count_status(kind: Kind, status: Status) -> None:
    PAYMENTS.labels(kind.name, status.name).inc()


class RequestKey(Protocol):
    """The idempotency key a request that creates something runs under, as a use case sees it.

    The edge owns the key (services.runtime.idempotency); the use case only reads what a crashed
    earlier attempt under it created, and records what it creates in the same transaction, so that
    a retry resumes that resource instead of creating another."""

    @property
    def resource_id(self) -> str: ...

    def record(self, session: Session, resource_id: str) -> None: ...


class PaymentStore:
    def __init__(self, engine: Engine, clock: Clock, lease_seconds: int) -> None:
        self.engine = engine
        self.clock = clock
        self.lease_seconds = lease_seconds

    def tx(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.engine, work)

    def get(self, payment_id: str, *, full: bool = False) -> Payment:
        """The payment; ``full`` with its status history and refunds."""
        return self.tx(lambda s: repo.get_payment(s, payment_id, full=full))

    def status_of(self, payment_id: str) -> Status:
        return self.get(payment_id).status

    def method(self, method_id: str) -> PaymentMethod:
        return self.tx(lambda s: method_repository.get_method(s, method_id))

    @contextmanager
    def lease(self, payment_id: str) -> Iterator[str]:
        """Hold the payment's lease (ABORTED PAYMENT_BUSY while another driver holds a live one)."""
        token = secrets.token_hex(12)
        if not self.tx(lambda s: repo.acquire_lease(s, payment_id, token, self.lease_seconds)):
            raise Aborted(
                f"payment {payment_id} is being processed; retry later",
                "PAYMENT_BUSY",
                {"payment_id": payment_id},
            )
        try:
            yield token
        finally:
            self.release(payment_id, token)

    def release(self, payment_id: str, token: str) -> None:
        self.tx(lambda s: repo.release_lease(s, payment_id, token))

    def release_and_get(self, payment_id: str, token: str) -> Payment:
        """Release the lease (if the driver's last step did not) and read the payment in full, in
        one transaction; it writes nothing, so commits without a flush, when the lease is gone."""

        def work(session: Session) -> Payment:
            repo.release_lease(session, payment_id, token)
            return repo.get_payment(session, payment_id, full=True)

        return self.tx(work)

    def transition(
        self, payment: Payment, target: Status, reason: str, actor: str, release: str = "", **fields: object
    ) -> Payment:
        """Persist one status change (with its history row) if the payment is still where we saw it;
        ``release``: the lease token the change releases too (a driver's last step)."""

        def work(session: Session) -> Payment:
            current = repo.get_payment(session, payment.id, lock=True)
            if current.status != payment.status:
                raise Aborted(f"payment {payment.id} changed concurrently", "CONCURRENT_MODIFICATION")
            check_transition(current.status, target)
            repo.update_payment(session, payment.id, self.clock(), status=target, **fields)
            repo.add_history(session, payment.id, current.status, target, reason, actor, self.clock())
            if release:
                repo.release_lease(session, payment.id, release)
            return repo.get_payment(session, payment.id)

        changed = self.tx(work)
        count_status(changed.kind, target)
        return changed

    def save(self, payment_id: str, **fields: object) -> Payment:
        """Persist fields of a step (no status change)."""

        def work(session: Session) -> Payment:
            repo.update_payment(session, payment_id, self.clock(), **fields)
            return repo.get_payment(session, payment_id)

        return self.tx(work)

    def fail(
        self, payment: Payment, code: str, message: str, actor: str, release: str = "", **fields: object
    ) -> Payment:
        return self.transition(
            payment,
            Status.FAILED,
            f"{code}: {message}",
            actor,
            release,
            failure_code=code,
            failure_message=message,
            **fields,
        )
