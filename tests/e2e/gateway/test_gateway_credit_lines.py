"""A credit line in use through the real Envoy: a customer draws (the Idempotency-Key header is the
request_id, so a retry replays), reads the month's statement, and a frozen line's draw is a 400 with
its reason. The month passes on an injected clock: the daily job's work (``settle``) runs on the
credit service's database with a ShiftedClock moved past the month's end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.credit.clients import Clients
from services.credit.lines import domain
from services.credit.lines.service import CreditLineService
from services.runtime.clock import ShiftedClock, system_clock
from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    gateway_in_front_of,
    money,
    reason,
    register_customer,
)
from tests.support.harness import TokenFactory

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
ai_spec = pytest.importorskip("services.ai.spec", reason="the AI service is not in this checkout")
credit_spec = pytest.importorskip("services.credit.spec", reason="the credit service is not in this checkout")


@pytest.fixture(scope="module")
def gateway(services: Any, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [user_spec.SPEC, ledger_spec.SPEC, ai_spec.SPEC, credit_spec.SPEC]
    yield from gateway_in_front_of(services, specs, keys_dir, module_tmp)


def open_wallet(services: Any, tokens: TokenFactory, user_id: str) -> None:
    """A EUR wallet as the payment service opens it (the payment service is not in front here)."""
    with grpc.insecure_channel(services.running["ledger"].address) as channel:
        ledger_pb2_grpc.LedgerServiceStub(channel).CreateAccount(
            ledger_pb2.CreateAccountRequest(
                owner_id=user_id,
                name="wallet",
                type=ledger_pb2.ACCOUNT_TYPE_LIABILITY,
                currency="EUR",
                balance_rule=ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
                request_id=uuid.uuid4().hex,
            ),
            metadata=tokens.metadata("usr_e2e_lines_admin", ["admin"]),
        )


def test_draw_then_read_the_statement_and_a_frozen_line_refuses(
    gateway: Gateway, services: Any, tokens: TokenFactory
) -> None:
    alice = register_customer(gateway)
    open_wallet(services, tokens, alice["id"])
    underwriter = tokens.make("usr_01UNDERWRITERLINES0000000"[:30], ["underwriter"])
    opened = gateway.request(
        "PUT",
        f"/api/v1/credit/lines/{alice['id']}",
        token=underwriter,
        json={"limit": money(300_000), "apr_bps": 2399, "reason": "granted", "request_id": uuid.uuid4().hex},
    )
    assert opened.status_code == 200, opened.text

    key = uuid.uuid4().hex
    drawn = gateway.post(
        f"/api/v1/credit/lines/{alice['id']}/draws",
        token=alice["token"],
        headers={"idempotency-key": key},
        json={"amount": money(120_000)},
    )
    assert drawn.status_code == 200, drawn.text
    body = drawn.json()
    assert body["draw"]["amount"] == money(120_000) and body["draw"]["request_id"] == key
    assert body["credit_line"]["used"] == money(120_000) and body["credit_line"]["available"] == money(
        180_000
    )
    again = gateway.post(
        f"/api/v1/credit/lines/{alice['id']}/draws",
        token=alice["token"],
        headers={"idempotency-key": key},
        json={"amount": money(120_000)},
    )
    assert again.status_code == 200 and again.json()["draw"]["id"] == body["draw"]["id"]
    over = gateway.post(
        f"/api/v1/credit/lines/{alice['id']}/draws",
        token=alice["token"],
        headers={"idempotency-key": uuid.uuid4().hex},
        json={"amount": money(180_001)},
    )
    assert reason(assert_error(over, 400, grpc_code=9)) == "CREDIT_LIMIT_EXCEEDED"

    # The month ends on an injected clock; the job's work makes the statement.
    clock = ShiftedClock(system_clock())
    drawn_on = clock().date()
    period = domain.month_of(drawn_on)
    clock.advance(timedelta(days=(period.last - drawn_on).days + 1))
    clients = Clients.connect(ai_timeout_seconds=2.0)
    try:
        engine = services.running["credit"].context.engine
        CreditLineService(engine, clients, clock=clock).settle(alice["id"])
    finally:
        clients.close()
    listed = gateway.get(f"/api/v1/credit/lines/{alice['id']}/statements", token=alice["token"])
    assert listed.status_code == 200, listed.text
    [statement] = listed.json()["statements"]
    interest = sum(d.interest for d in domain.accrue_days(drawn_on, period.last, 120_000, 2399, 0))
    closing = 120_000 + interest
    assert statement["period_start_date"] == period.first.isoformat()
    assert statement["draws"] == money(120_000) and statement["interest"] == money(interest)
    assert statement["closing_balance"] == money(closing)
    assert statement["minimum_payment"] == money(domain.minimum_payment(closing, interest, "EUR"))
    assert statement["due_date"] == period.due_date.isoformat()
    one = gateway.get(
        f"/api/v1/credit/lines/{alice['id']}/statements/{statement['id']}", token=alice["token"]
    )
    assert one.status_code == 200 and one.json()["statement"] == statement
    bob = register_customer(gateway)
    forbidden = gateway.get(f"/api/v1/credit/lines/{alice['id']}/statements", token=bob["token"])
    assert_error(forbidden, 403, grpc_code=7)

    frozen = gateway.request(
        "PUT",
        f"/api/v1/credit/lines/{alice['id']}",
        token=underwriter,
        json={
            "limit": money(300_000),
            "status": "CREDIT_LINE_STATUS_FROZEN",
            "reason": "review",
            "request_id": uuid.uuid4().hex,
        },
    )
    assert frozen.status_code == 200, frozen.text
    refused = gateway.post(
        f"/api/v1/credit/lines/{alice['id']}/draws",
        token=alice["token"],
        headers={"idempotency-key": uuid.uuid4().hex},
        json={"amount": money(1_000)},
    )
    assert reason(assert_error(refused, 400, grpc_code=9)) == "CREDIT_LINE_FROZEN"
