"""The sandbox connector: an in-process PSP that behaves like a real one in test mode.

Test card numbers (any future expiry, any CVC unless stated):

  ===================  ======================================================
  4242424242424242     charges succeed
  5555555555554444     charges succeed (Mastercard)
  4000000000000002     charges are declined (CARD_DECLINED)
  4000000000009995     charges are declined (INSUFFICIENT_FUNDS at the issuer)
  4000000000003220     needs 3-D Secure: the charge is PENDING and the result
                       (success) arrives later as a signed callback
  4000000000000119     the charge times out: it succeeds at the PSP but the call
                       raises ConnectorTimeout; ``fetch_status`` reports success
  4000000000000127     tokenization is refused (INCORRECT_CVC)
  4000000000005126     charges succeed, refunds of them are declined
                       (REFUND_DECLINED: the card account is closed)
  ===================  ======================================================

Bank accounts: payouts to an account whose number ends in ``0002`` fail
(ACCOUNT_CLOSED); every other account succeeds.

Tokens carry the behaviour (``tok_sbx_<behaviour>_<random>``), like the PSPs'
own test tokens, so no card number is ever kept, not even by the sandbox. The
sandbox's record of operations (for ``fetch_status``) lives in memory: after a
restart it answers "never seen", and recovery voids the reservation.

Callbacks: ``PAYMENT_SANDBOX_WEBHOOK_SECRET`` signs the header
``t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`` (the
timestamp is signed with the body, so it cannot be replaced to replay an old
event). When ``callback_delay_seconds`` is above zero, PENDING charges are
settled by a signed callback delivered to ``deliver`` after that delay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from services.payment.connectors.base import (
    BankAccountData,
    CallbackEvent,
    CardData,
    ConnectorTimeout,
    GatewayResult,
    InvalidSignature,
    MalformedCallback,
    Outcome,
    TokenizationRefused,
)
from services.runtime.clock import Clock, system_clock
from services.runtime.money import Money

SUCCESS_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000002"
ISSUER_NSF_CARD = "4000000000009995"
ASYNC_CARD = "4000000000003220"
TIMEOUT_CARD = "4000000000000119"
BAD_CVC_CARD = "4000000000000127"
REFUND_FAILS_CARD = "4000000000005126"

_CARD_BEHAVIOUR = {
    DECLINE_CARD: "decline",
    ISSUER_NSF_CARD: "nsf",
    ASYNC_CARD: "async",
    TIMEOUT_CARD: "timeout",
    REFUND_FAILS_CARD: "norefund",
}
SIGNATURE_TOLERANCE_SECONDS = 300

Deliver = Callable[[str, bytes, str], object]


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The sandbox's signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event_body(
    event_id: str,
    reference: str,
    outcome: Outcome,
    external_reference: str,
    created: int,
    failure_code: str = "",
    failure_message: str = "",
) -> bytes:
    """A sandbox event as the PSP would POST it."""
    return json.dumps(
        {
            "id": event_id,
            "type": f"charge.{outcome.value}",
            "created": created,
            "data": {
                "reference": reference,
                "status": outcome.value,
                "external_reference": external_reference,
                "failure_code": failure_code,
                "failure_message": failure_message,
            },
        },
        separators=(",", ":"),
    ).encode()


class SandboxConnector:
    name = "sandbox"

    def __init__(
        self,
        webhook_secret: str,
        *,
        callback_delay_seconds: float = 0.0,
        deliver: Deliver | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._secret = webhook_secret
        # Stamps its callbacks, like a PSP whose clock agrees with the payment service's.
        self.clock = clock
        self._operations: dict[str, GatewayResult] = {}
        # Charges whose refunds the card's issuer declines (by charge reference).
        self._unrefundable: set[str] = set()
        self._lock = threading.Lock()
        self.callback_delay_seconds = callback_delay_seconds
        self.deliver = deliver
        self._timers: list[threading.Timer] = []

    # -- tokenization -------------------------------------------------------------------------
    def tokenize_card(self, card: CardData) -> str:
        if card.number == BAD_CVC_CARD:
            raise TokenizationRefused("INCORRECT_CVC", "the card's security code is incorrect")
        behaviour = _CARD_BEHAVIOUR.get(card.number, "ok")
        return f"tok_sbx_{behaviour}_{secrets.token_hex(8)}"

    def tokenize_bank_account(self, account: BankAccountData) -> str:
        behaviour = "closed" if account.number.endswith("0002") else "ok"
        return f"ba_sbx_{behaviour}_{secrets.token_hex(8)}"

    # -- money movements ----------------------------------------------------------------------
    def charge(self, reference: str, token: str, amount: Money) -> GatewayResult:
        with self._lock:
            earlier = self._operations.get(reference)
        if earlier is not None:
            return earlier  # the reference is the PSP's idempotency key
        behaviour = _behaviour(token)
        external = f"ch_sbx_{secrets.token_hex(10)}"
        if behaviour == "decline":
            result = GatewayResult(Outcome.FAILED, external, "CARD_DECLINED", "the card was declined")
        elif behaviour == "nsf":
            result = GatewayResult(
                Outcome.FAILED,
                external,
                "CARD_DECLINED",
                "the card was declined: insufficient funds at the issuer",
            )
        elif behaviour == "async":
            result = GatewayResult(Outcome.PENDING, external)
        else:
            result = GatewayResult(Outcome.SUCCEEDED, external)
        with self._lock:
            self._operations[reference] = result
            if behaviour == "norefund":
                self._unrefundable.add(reference)
        if behaviour == "timeout":
            # The PSP executed the charge, but its answer never arrived.
            raise ConnectorTimeout("the sandbox gateway did not answer in time")
        if result.outcome is Outcome.PENDING:
            self._schedule_callback(reference, external)
        return result

    def payout(self, reference: str, token: str, amount: Money) -> GatewayResult:
        with self._lock:
            earlier = self._operations.get(reference)
            if earlier is not None:
                return earlier
            external = f"po_sbx_{secrets.token_hex(10)}"
            if _behaviour(token) == "closed":
                result = GatewayResult(
                    Outcome.FAILED, external, "ACCOUNT_CLOSED", "the bank account is closed"
                )
            else:
                result = GatewayResult(Outcome.SUCCEEDED, external)
            self._operations[reference] = result
            return result

    def refund(self, reference: str, charge_reference: str, amount: Money) -> GatewayResult:
        with self._lock:
            earlier = self._operations.get(reference)
            if earlier is not None:
                return earlier
            external = f"re_sbx_{secrets.token_hex(10)}"
            if charge_reference in self._unrefundable:
                result = GatewayResult(
                    Outcome.FAILED,
                    external,
                    "REFUND_DECLINED",
                    "the issuer declined the refund: the card account is closed",
                )
            else:
                result = GatewayResult(Outcome.SUCCEEDED, external)
            self._operations[reference] = result
            return result

    def fetch_status(self, reference: str) -> GatewayResult | None:
        with self._lock:
            return self._operations.get(reference)

    def settle(self, reference: str, outcome: Outcome, failure_code: str = "") -> None:
        """Record the final outcome of a PENDING operation (what the PSP's 3-D Secure step decides)."""
        with self._lock:
            earlier = self._operations.get(reference)
            external = earlier.external_reference if earlier else f"ch_sbx_{secrets.token_hex(10)}"
            self._operations[reference] = GatewayResult(outcome, external, failure_code)

    # -- callbacks ----------------------------------------------------------------------------
    def parse_callback(self, body: bytes, signature: str, now: datetime) -> CallbackEvent:
        parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            raise InvalidSignature("the signature has no valid timestamp") from None
        given = parts.get("v1", "")
        expected = sign(self._secret, body, timestamp).rsplit("v1=", 1)[1]
        if not given or not hmac.compare_digest(given, expected):
            raise InvalidSignature("the signature does not match the body")
        if abs(now.timestamp() - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            raise InvalidSignature("the signature is too old")
        try:
            document = json.loads(body)
            data = document["data"]
            return CallbackEvent(
                event_id=str(document["id"]),
                reference=str(data["reference"]),
                outcome=Outcome(data["status"]),
                external_reference=str(data.get("external_reference", "")),
                failure_code=str(data.get("failure_code", "")),
                failure_message=str(data.get("failure_message", "")),
                created=datetime.fromtimestamp(int(document["created"]), UTC),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedCallback(f"the event cannot be parsed: {type(exc).__name__}") from None

    def _schedule_callback(self, reference: str, external: str) -> None:
        if self.callback_delay_seconds <= 0 or self.deliver is None:
            return
        deliver = self.deliver

        def fire() -> None:
            self.settle(reference, Outcome.SUCCEEDED)
            now = int(self.clock().timestamp())
            body = event_body(f"evt_sbx_{secrets.token_hex(8)}", reference, Outcome.SUCCEEDED, external, now)
            try:
                deliver(self.name, body, sign(self._secret, body, now))
            except Exception:  # noqa: BLE001 - like a PSP: a failed delivery is left to recovery
                return

        timer = threading.Timer(self.callback_delay_seconds, fire)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _behaviour(token: str) -> str:
    parts = token.split("_")
    return parts[2] if len(parts) >= 4 else "ok"
