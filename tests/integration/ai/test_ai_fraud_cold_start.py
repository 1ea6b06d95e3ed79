"""CheckFraud for customers without history, over real gRPC and PostgreSQL.

A new customer's first ordinary purchases (with a consistent device and country)
are approved, and so is a second one minutes later. A first wallet top-up is
never declined, but since fraud 1.2.0 it is reviewed: a fraudulent account's
first top-up looks like a good customer's (see the model card's cold-start
table), and the sandbox connector has no 3-D Secure step-up to ask for instead.
Card-testing bursts on a new account and account takeovers of an established
one are still stopped.

Times are fixed to the early afternoon (UTC) of a past day, so the result does
not depend on when the tests run (night hours are a risk feature).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from nexafi.ai.v1 import ai_pb2

from tests.integration.ai.ai_support import AiClient, days_ago, fraud_request, money, user

APPROVE = ai_pb2.FRAUD_DECISION_APPROVE
DECLINE = ai_pb2.FRAUD_DECISION_DECLINE
STOPPED = {ai_pb2.FRAUD_DECISION_REVIEW, ai_pb2.FRAUD_DECISION_DECLINE}


def afternoon(days: int = 2) -> datetime:
    return days_ago(days, hour=14)


def top_up(user_id: str, when: datetime, amount: int, **fields: object) -> ai_pb2.CheckFraudRequest:
    """What the payment service sends for a wallet top-up: the top-up channel, no MCC, client signals."""
    values: dict[str, object] = {
        "merchant_category_code": "",
        "counterparty_id": "pm_card_visa_1",
        "channel": ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP,
        "counterparty_country": "",
        "ip_country": "DE",
        "device_id": "dev_new_phone",
        "amount": money(amount),
    }
    values.update(fields)
    return fraud_request(user_id, when=when, **values)


@pytest.mark.parametrize("amount", [2_500, 15_000])
def test_a_new_customers_first_purchase_with_device_and_country_is_approved(
    ai: AiClient, amount: int
) -> None:
    assessment = ai.check(fraud_request(user(), when=afternoon(), amount=money(amount)))
    assert assessment.decision == APPROVE, (assessment.fraud_probability, list(assessment.reasons))
    assert assessment.fraud_probability < assessment.review_threshold


@pytest.mark.parametrize("amount", [1_000, 2_500, 15_000, 20_000, 50_000])
def test_a_new_customers_first_top_up_is_never_declined(ai: AiClient, amount: int) -> None:
    assessment = ai.check(top_up(user(), afternoon(), amount))
    assert assessment.decision != DECLINE, (assessment.fraud_probability, list(assessment.reasons))
    assert assessment.fraud_probability < assessment.decline_threshold


def test_a_second_ordinary_payment_two_minutes_later_is_approved(ai: AiClient) -> None:
    user_id = user()
    start = afternoon()
    first = ai.check(top_up(user_id, start, 5_000))
    second = ai.check(
        fraud_request(
            user_id,
            when=start + timedelta(minutes=2),
            amount=money(4_200),
            device_id="dev_new_phone",
            counterparty_id="mer_grocer_9",
        )
    )
    assert first.decision != DECLINE and second.decision == APPROVE, (
        first.fraud_probability,
        second.fraud_probability,
        list(second.reasons),
    )


def test_a_new_customers_first_day_of_ordinary_payments_is_approved(ai: AiClient) -> None:
    user_id = user()
    start = afternoon()
    shops = [("", 10_000), ("5411", 3_650), ("5812", 1_890), ("5541", 5_400)]
    decisions = []
    for k, (mcc, amount) in enumerate(shops):
        request = (
            top_up(user_id, start, amount)
            if not mcc
            else fraud_request(
                user_id,
                when=start + timedelta(minutes=3 + 47 * k),
                amount=money(amount),
                merchant_category_code=mcc,
                counterparty_id=f"mer_shop_{k}",
                device_id="dev_new_phone",
            )
        )
        decisions.append(ai.check(request).decision)
    assert decisions[0] != DECLINE and decisions[1:] == [APPROVE] * (len(shops) - 1)


def test_card_testing_burst_on_a_new_account_is_stopped(ai: AiClient) -> None:
    """Eight attempts of 1 to 3 euros within two minutes at different merchants, same device and country."""
    user_id = user()
    start = afternoon()
    decisions = []
    for i in range(8):
        request = fraud_request(
            user_id,
            when=start + timedelta(seconds=15 * i),
            amount=money(100 + 29 * i),
            merchant_category_code="5999",
            counterparty_id=f"mer_webshop_{i}",
            channel=ai_pb2.TRANSACTION_CHANNEL_CARD_NOT_PRESENT,
            counterparty_country="",
            device_id="dev_burst",
        )
        decisions.append(ai.check(request))
    assert all(d.decision in STOPPED for d in decisions[3:]), [
        (d.decision, round(d.fraud_probability, 4)) for d in decisions
    ]
    reasons = {r.feature for d in decisions[3:] for r in d.reasons}
    assert reasons & {"n_txn_1h", "n_txn_1d", "secs_since_prev_log", "history_span_log", "amount_log"}


def test_card_testing_burst_through_top_ups_is_stopped(ai: AiClient) -> None:
    user_id = user()
    start = afternoon()
    decisions = [
        ai.check(top_up(user_id, start + timedelta(seconds=15 * i), 100 + 29 * i, counterparty_id=f"pm_{i}"))
        for i in range(8)
    ]
    assert all(d.decision in STOPPED for d in decisions[3:]), [
        (d.decision, round(d.fraud_probability, 4)) for d in decisions
    ]


def test_account_takeover_after_an_established_history_is_stopped(ai: AiClient) -> None:
    user_id = user()
    ai.history(user_id, days=30, per_day=1)
    takeover = fraud_request(
        user_id,
        when=days_ago(0, hour=0) - timedelta(hours=9),  # yesterday 15:00
        amount=money(120_000),
        merchant_category_code="5732",
        counterparty_id="mer_electro_7",
        channel=ai_pb2.TRANSACTION_CHANNEL_CARD_NOT_PRESENT,
        device_id="dev_never_seen",
        ip_country="RU",
        counterparty_country="RU",
    )
    assessment = ai.check(takeover)
    assert assessment.decision in STOPPED
    assert {r.feature for r in assessment.reasons} & {
        "new_device",
        "new_country",
        "device_age_log",
        "country_age_log",
        "amount_to_avg_30d",
        "amount_to_max_90d",
        "amount_log",
    }
