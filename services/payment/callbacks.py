"""Connector callbacks (webhooks): the signature verified over the raw bytes before anything is
read, each event applied once (by its id, under the payment's lease), and an event that arrives
after the payment moved on recorded as stale rather than moving it back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.payment import connector_repository
from services.payment import repository as repo
from services.payment.connectors.base import (
    Connector,
    GatewayResult,
    InvalidSignature,
    MalformedCallback,
    Outcome,
    connector_named,
)
from services.payment.domain.model import Disposition
from services.payment.domain.states import Status
from services.payment.execution import PaymentDriver
from services.payment.store import PaymentStore
from services.runtime.errors import InvalidArgument, NotFound, Unauthenticated


@dataclass(frozen=True)
class CallbackResult:
    event_id: str
    payment_id: str
    disposition: Disposition
    status: Status


class Callbacks:
    def __init__(
        self, store: PaymentStore, driver: PaymentDriver, connectors: Mapping[str, Connector]
    ) -> None:
        self.store = store
        self.driver = driver
        self.connectors = connectors

    def handle(self, connector_name: str, body: bytes, signature: str) -> CallbackResult:
        connector = connector_named(self.connectors, connector_name)
        if not signature:
            raise Unauthenticated("the callback has no signature", "SIGNATURE_MISSING")
        try:
            event = connector.parse_callback(body, signature, self.store.clock())
        except InvalidSignature as exc:
            raise Unauthenticated(
                f"the callback signature is not valid: {exc}", "SIGNATURE_INVALID"
            ) from None
        except MalformedCallback as exc:
            raise InvalidArgument(str(exc), field="payload", description="must be a gateway event") from None
        seen = self.store.tx(lambda s: connector_repository.event_seen(s, connector_name, event.event_id))
        if seen is not None:
            return CallbackResult(
                event.event_id, seen.payment_id, Disposition.DUPLICATE, self.store.status_of(seen.payment_id)
            )
        if not self.store.tx(lambda s: repo.payment_exists(s, event.reference)):
            raise NotFound(
                f"the event refers to no payment of ours ({event.reference})",
                "PAYMENT_NOT_FOUND",
                {"payment_id": event.reference},
            )
        actor = f"connector:{connector_name}"
        with self.store.lease(event.reference):
            seen = self.store.tx(lambda s: connector_repository.event_seen(s, connector_name, event.event_id))
            if seen is not None:
                return CallbackResult(
                    event.event_id,
                    event.reference,
                    Disposition.DUPLICATE,
                    self.store.status_of(event.reference),
                )
            payment = self.store.get(event.reference)
            disposition = Disposition.STALE
            if payment.status is Status.PROCESSING:
                # Only a PROCESSING payment awaits a gateway result; any other status is already
                # further along (or never reached the gateway), so the event cannot move it back.
                disposition = Disposition.APPLIED
                if event.outcome is not Outcome.PENDING:
                    payment = self.driver.apply_result(
                        payment,
                        GatewayResult(
                            event.outcome, event.external_reference, event.failure_code, event.failure_message
                        ),
                        actor,
                    )
                elif event.external_reference and not payment.external_reference:
                    payment = self.store.save(payment.id, external_reference=event.external_reference)
            status = payment.status
            recorded = self.store.tx(
                lambda s: connector_repository.record_event(
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
        return CallbackResult(
            event.event_id, event.reference, disposition, self.store.status_of(event.reference)
        )
