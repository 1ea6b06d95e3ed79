"""CheckFraud for what customers do first on the platform, over real gRPC and PostgreSQL.

A customer in EUR, USD or GBP tops up their wallet, pays a friend and pays five
friends in a row seconds apart, on a weekday and at the weekend, at 02:00 and
at 20:00 in their own time zone: nothing of it is declined. The known fraud
patterns are still stopped. Every check carries an explicit transaction_time
(fixed past dates), so no decision depends on when the tests run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from nexafi.ai.v1 import ai_pb2

from services.ai import fx
from tests.integration.ai.ai_support import AiClient, failure, fraud_request, money, user

DECLINE = ai_pb2.FRAUD_DECISION_DECLINE
STOPPED = {ai_pb2.FRAUD_DECISION_REVIEW, ai_pb2.FRAUD_DECISION_DECLINE}
WEEKDAY = date(2026, 11, 18)  # a Wednesday
WEEKEND = date(2026, 11, 22)  # a Sunday
CUSTOMERS = [
    ("EUR", "Europe/Berlin", "DE"),
    ("USD", "America/New_York", "US"),
    ("GBP", "Europe/London", "GB"),
]


def local(day: date, hour: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone))


def wallet_payment(
    user_id: str,
    when: datetime,
    amount: int,
    currency: str,
    zone: str,
    country: str,
    *,
    channel: int,
    counterparty: str,
    device: str = "dev_own_phone",
) -> ai_pb2.CheckFraudRequest:
    """What the payment service sends for a top-up (from a card) or a transfer (to a friend)."""
    return fraud_request(
        user_id,
        when=when,
        amount=money(amount, currency),
        merchant_category_code="",
        counterparty_id=counterparty,
        channel=channel,
        counterparty_country="",
        ip_country=country,
        device_id=device,
        time_zone=zone,
        payment_method_id=counterparty if channel == ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP else "",
    )


@pytest.mark.parametrize(("currency", "zone", "country"), CUSTOMERS, ids=[c[0] for c in CUSTOMERS])
@pytest.mark.parametrize("day", [WEEKDAY, WEEKEND], ids=["weekday", "weekend"])
@pytest.mark.parametrize("hour", [2, 20], ids=["02h", "20h"])
def test_top_up_pay_a_friend_and_five_friends_in_a_row_are_never_declined(
    ai: AiClient, currency: str, zone: str, country: str, day: date, hour: int
) -> None:
    user_id = user()
    start = local(day, hour, zone)
    top_up = ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP
    p2p = ai_pb2.TRANSACTION_CHANNEL_P2P_TRANSFER
    steps = [
        (
            "first top-up",
            wallet_payment(
                user_id, start, 5_000, currency, zone, country, channel=top_up, counterparty="pm_card_1"
            ),
        )
    ]
    steps.append(
        (
            "pay a friend",
            wallet_payment(
                user_id,
                start + timedelta(minutes=3),
                1_250,
                currency,
                zone,
                country,
                channel=p2p,
                counterparty="usr_friend_0",
            ),
        )
    )
    for k in range(5):  # splitting a bill: five friends, one second apart
        steps.append(
            (
                f"friend {k + 1} of 5",
                wallet_payment(
                    user_id,
                    start + timedelta(minutes=5, seconds=k),
                    1_500,
                    currency,
                    zone,
                    country,
                    channel=p2p,
                    counterparty=f"usr_friend_{k + 1}",
                ),
            )
        )
    outcomes = [(name, ai.check(request)) for name, request in steps]
    declined = [
        (name, round(a.fraud_probability, 4), [r.feature for r in a.reasons])
        for name, a in outcomes
        if a.decision == DECLINE
    ]
    assert not declined, declined
    first = outcomes[0][1]
    expected = fx.to_model_currency(5_000, currency, start)
    assert Decimal(first.exchange_rate) == expected.rate
    assert first.exchange_rate_date == expected.rate_date.isoformat()


def test_a_first_small_transfer_is_not_declined(ai: AiClient) -> None:
    """The issue's first 4.50 EUR transfer and a first 1 EUR transfer between new customers."""
    for amount in (450, 100):
        when = local(WEEKEND, 14, "Europe/Berlin")
        assessment = ai.check(
            wallet_payment(
                user(),
                when,
                amount,
                "EUR",
                "Europe/Berlin",
                "DE",
                channel=ai_pb2.TRANSACTION_CHANNEL_P2P_TRANSFER,
                counterparty="usr_new_friend",
            )
        )
        assert assessment.decision != DECLINE, (amount, assessment.fraud_probability)


def test_repeated_small_top_ups_from_one_card_are_not_declined(ai: AiClient) -> None:
    """The payment benchmark's pattern: a few 10 to 50 euro top-ups seconds apart from the same card."""
    user_id = user()
    when = local(WEEKDAY, 11, "Europe/Berlin")
    decisions = [
        ai.check(
            wallet_payment(
                user_id,
                when + timedelta(seconds=3 * k),
                1_000 + 1_317 * k,
                "EUR",
                "Europe/Berlin",
                "DE",
                channel=ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP,
                counterparty="pm_card_1",
            )
        )
        for k in range(4)
    ]
    assert [d.decision for d in decisions if d.decision == DECLINE] == [], [
        round(d.fraud_probability, 4) for d in decisions
    ]


def test_the_same_payment_gets_the_same_score_on_a_weekday_and_a_weekend(ai: AiClient) -> None:
    scores = []
    for day in (WEEKDAY, WEEKEND):
        when = local(day, 20, "Europe/London")
        scores.append(
            ai.check(
                wallet_payment(
                    user(),
                    when,
                    2_000,
                    "GBP",
                    "Europe/London",
                    "GB",
                    channel=ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP,
                    counterparty="pm_card_1",
                )
            ).fraud_probability
        )
    # same local time, same amount (GBP at the same rate table): the day of the week is no feature
    assert scores[0] == pytest.approx(scores[1], abs=1e-9)


def test_the_time_zone_moves_the_local_hour(ai: AiClient) -> None:
    """01:00 UTC is 02:00 in Berlin and 20:00 in New York: night in one, evening in the other."""
    when = datetime(2026, 11, 18, 1, 0, tzinfo=ZoneInfo("UTC"))
    berlin, new_york = (
        ai.check(
            wallet_payment(
                user(),
                when,
                2_000,
                "EUR",
                zone,
                "DE",
                channel=ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP,
                counterparty="pm_card_1",
            )
        )
        for zone in ("Europe/Berlin", "America/New_York")
    )
    assert berlin.fraud_probability != new_york.fraud_probability


def test_card_testing_through_many_cards_is_stopped(ai: AiClient) -> None:
    """A new account loading its wallet from eight different cards within two minutes."""
    user_id = user()
    start = local(WEEKDAY, 15, "Europe/Berlin")
    decisions = [
        ai.check(
            wallet_payment(
                user_id,
                start + timedelta(seconds=15 * i),
                1_500 + 350 * i,
                "EUR",
                "Europe/Berlin",
                "DE",
                channel=ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP,
                counterparty=f"pm_card_{i}",
                device="dev_burst",
            )
        )
        for i in range(8)
    ]
    assert all(d.decision in STOPPED for d in decisions[3:]), [
        (d.decision, round(d.fraud_probability, 4)) for d in decisions
    ]


def test_a_taken_over_wallet_sending_money_to_strangers_is_declined(ai: AiClient) -> None:
    """Weeks of ordinary use, then from a new device abroad at night: large transfers to new payees."""
    user_id = user()
    zone = "Europe/Berlin"
    day0 = local(WEEKDAY, 12, zone) - timedelta(days=30)
    for d in range(0, 28, 3):
        when = day0 + timedelta(days=d, hours=d % 5)
        ai.check(
            wallet_payment(
                user_id,
                when,
                5_000,
                "EUR",
                zone,
                "DE",
                channel=ai_pb2.TRANSACTION_CHANNEL_WALLET_TOP_UP,
                counterparty="pm_card_1",
            )
        )
        ai.check(
            wallet_payment(
                user_id,
                when + timedelta(hours=2),
                1_800 + 10 * d,
                "EUR",
                zone,
                "DE",
                channel=ai_pb2.TRANSACTION_CHANNEL_P2P_TRANSFER,
                counterparty=f"usr_friend_{d % 3}",
            )
        )
    night = local(WEEKDAY, 3, zone)
    takeover = [
        ai.check(
            fraud_request(
                user_id,
                when=night + timedelta(minutes=4 * k),
                amount=money(150_000),
                merchant_category_code="",
                counterparty_id=f"usr_mule_{k}",
                channel=ai_pb2.TRANSACTION_CHANNEL_P2P_TRANSFER,
                counterparty_country="",
                ip_country="NG",
                device_id="dev_never_seen",
                time_zone=zone,
            )
        )
        for k in range(2)
    ]
    assert all(a.decision in STOPPED for a in takeover)
    assert takeover[-1].decision == DECLINE, [round(a.fraud_probability, 4) for a in takeover]


def test_a_large_first_purchase_abroad_on_a_new_account_is_stopped(ai: AiClient) -> None:
    assessment = ai.check(
        fraud_request(
            user(),
            when=local(WEEKEND, 3, "Europe/Berlin"),
            amount=money(289_000, "USD"),
            merchant_category_code="5944",
            counterparty_id="mer_jeweller_7",
            channel=ai_pb2.TRANSACTION_CHANNEL_CARD_NOT_PRESENT,
            device_id="dev_never_seen",
            ip_country="RU",
            counterparty_country="RU",
            time_zone="Europe/Berlin",
        )
    )
    assert assessment.decision in STOPPED, assessment.fraud_probability


def test_an_unknown_time_zone_is_invalid(ai: AiClient) -> None:
    for zone in ("Mars/Olympus", "../etc/passwd", "x" * 100):
        result = failure(lambda zone=zone: ai.check(fraud_request(user(), time_zone=zone)))
        assert result.reason == "INVALID_ARGUMENT" and result.fields == {"time_zone"}
