"""The connector interface between the payment service and an external payment gateway (PSP).

Adding a real PSP connector
---------------------------
1. Implement :class:`Connector` in ``services/payment/connectors/<psp>.py``:

   * ``tokenize_card`` / ``tokenize_bank_account`` send the raw details to the PSP
     (ideally the client does this itself with the PSP's hosted fields, and the
     service only ever sees the token) and return the PSP's reusable token. Raise
     :class:`TokenizationRefused` when the PSP refuses the instrument and
     :class:`ConnectorUnavailable` when it cannot be reached. Never log or put
     the raw details in an exception message.
   * ``charge`` / ``payout`` / ``refund`` take **our own reference** (the payment or
     refund id) and send it as the PSP's idempotency key *and* as its merchant
     reference, so that a retried call never charges twice and the result can be
     looked up after a timeout. Return :class:`GatewayResult` with SUCCEEDED,
     FAILED (with an UPPER_SNAKE failure code such as CARD_DECLINED) or PENDING
     (the result will arrive as a callback). Raise :class:`ConnectorTimeout` when
     the outcome is unknown (the request may or may not have reached the PSP):
     the payment then stays PROCESSING and recovery asks ``fetch_status``.
   * ``fetch_status(reference)`` looks the operation up by our reference; None
     when the PSP never saw it (then recovery can safely void the reservation).
   * ``parse_callback(body, signature, now)`` verifies the PSP's webhook
     signature over the exact raw bytes (constant-time compare, timestamp
     tolerance against replays) *before* parsing, and returns a
     :class:`CallbackEvent`. Raise :class:`InvalidSignature` otherwise.
2. Register it in ``services/payment/spec.py`` (``build_connectors``) under its
   name; payments record the connector name, callbacks arrive on
   ``/api/v1/payments/connectors/{name}/callbacks``.
3. Keep secrets (API keys, webhook secrets) in environment variables named
   ``PAYMENT_<PSP>_...``, read once by ``spec.load_config`` into the service's
   ``Config``, and run the connector contract tests against the PSP's own test mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from services.runtime.errors import NotFound
from services.runtime.money import Money


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"


class ConnectorError(Exception):
    """Base of connector failures; messages never hold instrument details."""


class ConnectorTimeout(ConnectorError):
    """The outcome is unknown: the PSP may or may not have executed the request."""


class ConnectorUnavailable(ConnectorError):
    """The PSP could not be reached; the request was not executed."""


class TokenizationRefused(ConnectorError):
    """The PSP refused to tokenize the instrument (for example a wrong CVC)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidSignature(ConnectorError):
    """A callback's signature is missing, wrong or too old."""


class MalformedCallback(ConnectorError):
    """A callback's body cannot be parsed."""


@dataclass(frozen=True)
class CardData:
    """A card's raw details on their way to the PSP. ``repr`` hides them, so a log line
    or a traceback that prints this object leaks nothing."""

    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)
    holder_name: str


@dataclass(frozen=True)
class BankAccountData:
    """A bank account's raw details on their way to the PSP; ``repr`` hides the number."""

    number: str = field(repr=False)  # the IBAN or the domestic account number
    routing_number: str
    country_code: str
    holder_name: str


@dataclass(frozen=True)
class GatewayResult:
    outcome: Outcome
    external_reference: str = ""
    failure_code: str = ""
    failure_message: str = ""


@dataclass(frozen=True)
class CallbackEvent:
    event_id: str
    reference: str  # our reference: a payment id
    outcome: Outcome
    external_reference: str
    failure_code: str
    failure_message: str
    created: datetime


class Connector(Protocol):
    """One external payment gateway. Implementations must be thread-safe."""

    name: str

    def tokenize_card(self, card: CardData) -> str: ...

    def tokenize_bank_account(self, account: BankAccountData) -> str: ...

    def charge(self, reference: str, token: str, amount: Money) -> GatewayResult: ...

    def payout(self, reference: str, token: str, amount: Money) -> GatewayResult: ...

    def refund(self, reference: str, charge_reference: str, amount: Money) -> GatewayResult: ...

    def fetch_status(self, reference: str) -> GatewayResult | None: ...

    def parse_callback(self, body: bytes, signature: str, now: datetime) -> CallbackEvent: ...


def connector_named(connectors: Mapping[str, Connector], name: str) -> Connector:
    """The configured connector called ``name``; NOT_FOUND CONNECTOR_NOT_FOUND otherwise."""
    connector = connectors.get(name)
    if connector is None:
        raise NotFound(f"connector {name!r} is not configured", "CONNECTOR_NOT_FOUND", {"connector": name})
    return connector
