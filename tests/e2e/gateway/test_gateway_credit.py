"""The credit service's documented REST routes through the real Envoy in front of the real user,
ledger, AI and credit services: a customer applies for a loan, reads the application and their
credit score, and an underwriter sets their credit line. Plus the error shapes: 403 for another
user's score, 400 with field violations for an invalid application.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway.conftest import (
    Gateway,
    assert_error,
    field_violations,
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


@pytest.fixture(scope="module")
def underwriter(tokens: TokenFactory) -> str:
    return tokens.make("usr_01UNDERWRITERE2E000000000"[:30], ["underwriter"])


def application(user_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": user_id,
        "amount": money(600_000),
        "term_months": 12,
        "purpose": "LOAN_PURPOSE_HOME_IMPROVEMENT",
        "financials": {
            "monthly_income": money(500_000),
            "monthly_debt": money(50_000),
            "employment_status": "EMPLOYMENT_STATUS_EMPLOYED",
            "employment_months": 48,
            "total_debt": money(500_000),
            "credit_history_months": 180,
            "utilization_bps": 800,
            "open_accounts": 3,
        },
        # The sandbox bureau's good-history test identity (services/credit/bureau/sandbox.py).
        "bureau_consent": True,
        "national_id": "DE-1000-7777",
    }
    body.update(changes)
    return body


def test_apply_read_the_application_and_the_score_and_set_a_credit_line(gateway: Gateway, underwriter: str):
    alice = register_customer(gateway)
    key = uuid.uuid4().hex
    submitted = gateway.post(
        "/api/v1/credit/applications",
        token=alice["token"],
        headers={"idempotency-key": key},
        json=application(alice["id"]),
    )
    assert submitted.status_code == 200, submitted.text
    app = submitted.json()["loan_application"]
    assert app["id"].startswith("app_") and app["user_id"] == alice["id"]
    assert app["status"] == "LOAN_APPLICATION_STATUS_APPROVED"
    assert app["approved_amount"] == money(600_000) and app["request_id"] == key
    assert sum(int(i["principal"]["amount_minor"]) for i in app["schedule"]) == 600_000
    # The Idempotency-Key header is the request_id: the same call replays the same application.
    again = gateway.post(
        "/api/v1/credit/applications",
        token=alice["token"],
        headers={"idempotency-key": key},
        json=application(alice["id"]),
    )
    assert again.status_code == 200 and again.json()["loan_application"]["id"] == app["id"]

    read = gateway.get(f"/api/v1/credit/applications/{app['id']}", token=alice["token"])
    assert read.status_code == 200, read.text
    assert read.json()["loan_application"]["id"] == app["id"]
    assert read.json()["loan_application"]["status"] == "LOAN_APPLICATION_STATUS_APPROVED"

    score = gateway.get(f"/api/v1/credit/score/{alice['id']}", token=alice["token"])
    assert score.status_code == 200, score.text
    body = score.json()["credit_score"]
    assert body["id"] == app["credit_score_id"] and body["score"] == app["credit_score"]
    assert 300 <= body["score"] <= 850 and body["band"].startswith("CREDIT_SCORE_BAND_")

    line = gateway.request(
        "PUT",
        f"/api/v1/credit/lines/{alice['id']}",
        token=underwriter,
        json={
            "limit": money(250_000),
            "apr_bps": 1899,
            "reason": "approved customer",
            "request_id": uuid.uuid4().hex,
        },
    )
    assert line.status_code == 200, line.text
    opened = line.json()["credit_line"]
    assert opened["user_id"] == alice["id"] and opened["limit"] == money(250_000)
    assert opened["available"] == money(250_000) and opened["status"] == "CREDIT_LINE_STATUS_ACTIVE"
    raised = gateway.request(
        "PUT",
        f"/api/v1/credit/lines/{alice['id']}",
        token=underwriter,
        json={"limit": money(400_000), "reason": "income verified", "request_id": uuid.uuid4().hex},
    )
    assert raised.status_code == 200, raised.text
    assert raised.json()["credit_line"]["limit"] == money(400_000)
    assert raised.json()["credit_line"]["ledger_account_id"] == opened["ledger_account_id"]


def test_the_bureau_rejects_a_defaulted_identity_and_refers_when_it_is_down(
    gateway: Gateway, underwriter: str
):
    # One customer (registration is rate limited): the rejection leaves no open application.
    defaulted = down = register_customer(gateway)
    reply = gateway.post(
        "/api/v1/credit/applications",
        token=defaulted["token"],
        headers={"idempotency-key": uuid.uuid4().hex},
        json=application(defaulted["id"], national_id="DE-1000-0002"),
    )
    assert reply.status_code == 200, reply.text
    app = reply.json()["loan_application"]
    assert app["status"] == "LOAN_APPLICATION_STATUS_REJECTED"
    assert "BUREAU_DEFAULT" in [r["code"] for r in app["decision_reasons"]]
    assert "report" not in app["bureau_check"]
    staff = gateway.get(f"/api/v1/credit/applications/{app['id']}", token=underwriter)
    assert staff.status_code == 200, staff.text
    assert staff.json()["loan_application"]["bureau_check"]["report"]["defaults"] == 2

    reply = gateway.post(
        "/api/v1/credit/applications",
        token=down["token"],
        headers={"idempotency-key": uuid.uuid4().hex},
        json=application(down["id"], national_id="DE-1000-0003"),
    )
    assert reply.status_code == 200, reply.text
    app = reply.json()["loan_application"]
    assert app["status"] == "LOAN_APPLICATION_STATUS_UNDER_REVIEW"
    assert [r["code"] for r in app["decision_reasons"]] == ["BUREAU_UNAVAILABLE"]
    assert app["bureau_check"]["status"] == "BUREAU_CHECK_STATUS_UNAVAILABLE"


def test_another_users_score_is_forbidden(gateway: Gateway):
    alice, bob = register_customer(gateway), register_customer(gateway)
    reply = gateway.get(f"/api/v1/credit/score/{alice['id']}", token=bob["token"])
    body = assert_error(reply, 403, grpc_code=7)
    assert reason(body) == "PERMISSION_DENIED"


def test_an_invalid_application_is_a_400_naming_the_fields(gateway: Gateway):
    alice = register_customer(gateway)
    reply = gateway.post(
        "/api/v1/credit/applications",
        token=alice["token"],
        json=application(alice["id"], term_months=2, amount=money(0), request_id=uuid.uuid4().hex),
    )
    body = assert_error(reply, 400, grpc_code=3)
    assert set(field_violations(body)) == {"term_months", "amount.amount_minor"}
