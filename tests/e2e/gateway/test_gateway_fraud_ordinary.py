"""Ordinary customers are not declined by the fraud check, whatever the currency, the day or the hour.

Through the real Envoy in front of the real user, ledger, AI and payment services (the shipped fraud
model): a new customer in each accepted currency (EUR, USD, GBP) tops up from a card, pays a friend,
then pays five friends in a row; on a weekday and at the weekend, at 02:00 and at 20:00 in their own
time zone (sent by the app as the payment's ``time_zone`` metadata). Twelve cases, none may be declined.

The decision must not depend on when the suite runs: the payment service behind this Envoy decides
with a clock pinned to each case's instant (the AI service scores the time the payment sends it,
so nothing else needs a clock). One payment instance serves every case; its clock is re-pinned
before each (each case has its own customer, so no customer's history or daily limit spans two
pinned instants). A payment the model holds for review is not a decline: the case counts it, and a
support agent approves a held top-up the documented way so the transfers have funds.

A declined customer is told what to do (contact support with the payment id), over REST too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nexafi.user.v1 import user_pb2_grpc

from services.runtime.clock import ShiftedClock, system_clock
from tests.e2e.gateway.conftest import Gateway, money, start_gateway, stop, upstream
from tests.support.harness import ServiceRunner, TokenFactory, register_user

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
ai_spec = pytest.importorskip("services.ai.spec", reason="the AI service is not in this checkout")
payment_support = pytest.importorskip(
    "tests.integration.payment.payment_support", reason="the payment service is not in this checkout"
)

CARD = "4242 4242 4242 4242"
SUPPORT = "usr_01SUPPORTAGENT000000000000"[:30]
ZONES = {"EUR": "Europe/Berlin", "USD": "America/New_York", "GBP": "Europe/London"}
TOP_UP, FIRST_FRIEND, EACH_FRIEND = 10_000, 1_250, 1_500


class PinnableClock:
    """The payment service's clock in this module: pinned to an instant, then running with real time.

    Unlike a ShiftedClock alone it may be pinned to an earlier instant than it reads, so a case
    can be run on its own or in any order."""

    def __init__(self, start: datetime) -> None:
        self._inner = ShiftedClock(start)

    def pin(self, instant: datetime) -> None:
        self._inner = ShiftedClock(instant)

    def __call__(self) -> datetime:
        return self._inner()


def reference_week() -> tuple[date, date]:
    """A Tuesday and the Saturday after it, in a week that ended before today (all twelve instants
    lie in the past, at most two weeks back, like the session's pinned payment clock)."""
    monday = (system_clock() - timedelta(days=7)).date()
    monday -= timedelta(days=monday.weekday())
    return monday + timedelta(days=1), monday + timedelta(days=5)


@dataclass(frozen=True)
class Case:
    currency: str
    day: str  # "weekday" or "weekend"
    hour: int  # local hour in the customer's zone

    @property
    def zone(self) -> str:
        return ZONES[self.currency]

    def instant(self) -> datetime:
        tuesday, saturday = reference_week()
        local_day = tuesday if self.day == "weekday" else saturday
        local = datetime(
            local_day.year, local_day.month, local_day.day, self.hour, tzinfo=ZoneInfo(self.zone)
        )
        return local.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.currency}-{self.day}-{self.hour:02d}h"


CASES = [Case(c, d, h) for c in ZONES for d in ("weekday", "weekend") for h in (2, 20)]


@pytest.fixture(scope="module")
def clock() -> PinnableClock:
    return PinnableClock(CASES[0].instant())


@pytest.fixture(scope="module")
def gateway(
    services: ServiceRunner, keys_dir: Path, module_tmp: Path, clock: PinnableClock
) -> Iterator[Gateway]:
    upstreams = {
        spec.name: upstream(services.start(spec)) for spec in (user_spec.SPEC, ledger_spec.SPEC, ai_spec.SPEC)
    }
    payment = payment_support.start_payment_instance(services, payment_support.payment_config(), clock=clock)
    try:
        upstreams["payment"] = upstream(payment)
        yield from stop(start_gateway(module_tmp, upstreams, keys_dir))
    finally:
        payment.stop(0)


@pytest.fixture(scope="module")
def new_user(services: ServiceRunner) -> Iterator[Callable[[], str]]:
    """Registers users over the user service's gRPC API: the gateway limits registrations per address."""
    channel = services.channel(user_spec.SPEC)
    stub = user_pb2_grpc.UserServiceStub(channel)
    yield lambda: register_user(stub)
    channel.close()


@pytest.fixture(scope="module")
def friends(new_user: Callable[[], str]) -> list[str]:
    return [new_user() for _ in range(6)]


def initiate(gateway: Gateway, who: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    reply = gateway.post(
        "/api/v1/payments/initiate",
        token=who["token"],
        headers={"idempotency-key": uuid.uuid4().hex},
        json={"user_id": who["id"], **body},
    )
    assert reply.status_code == 200, reply.text
    payment: dict[str, Any] = reply.json()["payment"]
    return payment


def approve(gateway: Gateway, payment: dict[str, Any], support: str) -> dict[str, Any]:
    reply = gateway.request(
        "PUT",
        f"/api/v1/payments/{payment['id']}/status",
        token=support,
        json={
            "status": "PAYMENT_STATUS_PROCESSING",
            "reason": "verified by phone",
            "request_id": uuid.uuid4().hex,
        },
    )
    assert reply.status_code == 200, reply.text
    approved: dict[str, Any] = reply.json()["payment"]
    return approved


def add_card(gateway: Gateway, who: dict[str, str]) -> str:
    added = gateway.post(
        "/api/v1/payments/methods",
        token=who["token"],
        json={
            "user_id": who["id"],
            "request_id": uuid.uuid4().hex,
            "card": {"number": CARD, "exp_month": 12, "exp_year": time.gmtime().tm_year + 2, "cvc": "123"},
        },
    )
    assert added.status_code == 200, added.text
    return str(added.json()["payment_method"]["id"])


def declined(payments: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [
        f"{step}: {p['id']} {p['status']} fraud={p.get('fraud_decision')} "
        f"score={p.get('fraud_score_bps')} failure={p.get('failure')}"
        for step, p in payments
        if p["status"] == "PAYMENT_STATUS_FAILED" or p.get("fraud_decision") == "FRAUD_DECISION_DECLINE"
    ]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_an_ordinary_customer_is_never_declined(
    gateway: Gateway,
    clock: PinnableClock,
    tokens: TokenFactory,
    new_user: Callable[[], str],
    friends: list[str],
    case: Case,
) -> None:
    clock.pin(case.instant())
    payer = new_user()
    customer = {"id": payer, "token": tokens.make(payer, ["customer"])}
    support = tokens.make(SUPPORT, ["support"])
    signals = {"device_id": f"dev-{payer[-8:]}-phone", "time_zone": case.zone}

    payments: list[tuple[str, dict[str, Any]]] = []
    top_up = initiate(
        gateway,
        customer,
        {
            "kind": "PAYMENT_KIND_TOP_UP",
            "amount": money(TOP_UP, case.currency),
            "payment_method_id": add_card(gateway, customer),
            "metadata": signals,
        },
    )
    payments.append(("top-up", top_up))
    assert declined(payments) == [], f"{case}: {declined(payments)}"
    if top_up["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW":
        top_up = approve(gateway, top_up, support)
    assert top_up["status"] == "PAYMENT_STATUS_SUCCEEDED", top_up

    for k, friend in enumerate(friends):
        amount = FIRST_FRIEND if k == 0 else EACH_FRIEND
        step = "a friend" if k == 0 else f"friend {k} of five in a row"
        payments.append(
            (
                step,
                initiate(
                    gateway,
                    customer,
                    {
                        "kind": "PAYMENT_KIND_TRANSFER",
                        "amount": money(amount, case.currency),
                        "payee_user_id": friend,
                        "description": "dinner",
                        "metadata": signals,
                    },
                ),
            )
        )

    # Every payment was checked at the case's local hour and day.
    local = case.instant().astimezone(ZoneInfo(case.zone))
    assert local.hour == case.hour and (local.weekday() < 5) == (case.day == "weekday")
    reviewed = [step for step, p in payments if p.get("fraud_decision") == "FRAUD_DECISION_REVIEW"]
    print(
        f"\n{case}: {len(payments)} payments at {case.instant().isoformat()} UTC, "
        f"{len(reviewed)} to review {reviewed}, scores "
        f"{[int(p.get('fraud_score_bps', 0)) for _, p in payments]}"
    )
    assert declined(payments) == [], f"{case}: {declined(payments)}"
    assert all(
        p["status"] in ("PAYMENT_STATUS_SUCCEEDED", "PAYMENT_STATUS_REQUIRES_REVIEW") for _, p in payments[1:]
    ), payments


def test_a_declined_customer_reads_what_to_do_over_rest(
    gateway: Gateway, clock: PinnableClock, tokens: TokenFactory, new_user: Callable[[], str]
) -> None:
    """The pattern the model declines with confidence (a new account loads 1,500.00 from a card and,
    from a new device abroad, sends all of it to a stranger at once): the payment fails with
    FRAUD_DECLINED and a message the customer can act on, in the reply and when read again later."""
    tuesday, _ = reference_week()
    clock.pin(datetime(tuesday.year, tuesday.month, tuesday.day, 12, tzinfo=UTC))
    payer = new_user()
    customer = {"id": payer, "token": tokens.make(payer, ["customer"])}
    signals = {"device_id": "dev-new", "ip_country": "NG"}
    funded = initiate(
        gateway,
        customer,
        {
            "kind": "PAYMENT_KIND_TOP_UP",
            "amount": money(150_000),
            "payment_method_id": add_card(gateway, customer),
            "metadata": signals,
        },
    )
    if funded["status"] == "PAYMENT_STATUS_REQUIRES_REVIEW":
        funded = approve(gateway, funded, tokens.make(SUPPORT, ["support"]))
    assert funded["status"] == "PAYMENT_STATUS_SUCCEEDED", funded

    payment = initiate(
        gateway,
        customer,
        {
            "kind": "PAYMENT_KIND_TRANSFER",
            "amount": money(150_000),
            "payee_user_id": new_user(),
            "metadata": signals,
        },
    )
    assert payment["status"] == "PAYMENT_STATUS_FAILED", payment
    assert payment["fraud_decision"] == "FRAUD_DECISION_DECLINE" and not payment.get("transaction_id")
    read = gateway.get(f"/api/v1/payments/{payment['id']}", token=customer["token"])
    assert read.status_code == 200, read.text
    for shown in (payment, read.json()["payment"]):
        failure = shown["failure"]
        assert failure["code"] == "FRAUD_DECLINED", failure
        # What happened, that no money moved, and what to do next: contact support with the payment id.
        message = failure["message"]
        assert "no money was moved" in message and "contact support" in message and "payment id" in message
        assert not any(
            word in message.lower() for word in ("model", "score", "probability", "threshold", "feature")
        ), message
        assert shown["status_history"][-1]["reason"] == f"FRAUD_DECLINED: {message}"
