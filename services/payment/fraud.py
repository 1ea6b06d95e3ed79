"""The fraud check of a payment: asked under a key derived from the payment (so asking again
gets the same answer), its answer persisted with the payment's next step, and never an approval
when the AI service cannot answer."""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from services.payment.clients import AiClient, FraudQuery
from services.payment.domain.model import FraudDecision, Payment
from services.payment.domain.postings import step_request_id
from services.runtime.clients import RemoteError

log = logging.getLogger("nexafi.payment")

#: What a customer whose payment the fraud check declined reads: what happened, that no money moved,
#: and what to do. It never names the model's reasons (they would teach a fraudster what to change).
FRAUD_DECLINED_MESSAGE = (
    "We declined this payment to protect your account, and no money was moved. If you made it, "
    "contact support with the payment id so we can confirm it was you; you can then try again."
)


class FraudCheck:
    def __init__(self, ai: AiClient) -> None:
        self.ai = ai

    def check(self, payment: Payment) -> dict[str, Any]:
        """The payment's fraud fields to record (not yet persisted: the driver records them with
        the step that follows, the reservation's hold id and status; a crash before that asks
        again with the same key and gets the same answer). UNSPECIFIED when the AI service could
        not be asked (the caller's policy then holds or fails it), REVIEW for a decision we do not
        know."""
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
            result = self.ai.check_fraud(query)
        except RemoteError as exc:
            # Never approve blindly: record "checked, no decision" and let the policy hold or fail it.
            log.warning("fraud check unavailable for %s: %s %s", payment.id, exc.code.name, exc.reason)
            return {"fraud_checked": True, "fraud_decision": FraudDecision.UNSPECIFIED}
        decision = result.decision
        if decision is FraudDecision.UNSPECIFIED:
            decision = FraudDecision.REVIEW
        score = max(0, min(10000, round(result.probability * 10000)))
        return {"fraud_checked": True, "fraud_score_bps": score, "fraud_decision": decision}


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
