"""The analytics REST API through the real Envoy in front of the real user, ledger and analytics
services: money booked in the ledger over REST shows up in the spending and income analyses and
in a CSV statement; another customer is refused; a bad report request gets field details."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
)
from tests.support.harness import ServiceRunner, TokenFactory

user_spec = pytest.importorskip("services.user.spec", reason="the user service is not in this checkout")
ledger_spec = pytest.importorskip("services.ledger.spec", reason="the ledger service is not in this checkout")
analytics_spec = pytest.importorskip(
    "services.analytics.spec", reason="the analytics service is not in this checkout"
)

WAIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def gateway(services: ServiceRunner, keys_dir: Path, module_tmp: Path) -> Iterator[Gateway]:
    specs = [user_spec.SPEC, ledger_spec.SPEC, analytics_spec.SPEC]
    yield from gateway_in_front_of(services, specs, keys_dir, module_tmp)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def entry(
    user: str, debit: str, credit: str, amount: int, type_: str, metadata: dict[str, str]
) -> dict[str, Any]:
    return {
        "user_id": user,
        "type": type_,
        "description": type_.lower(),
        "metadata": metadata,
        "postings": [
            {"account_id": debit, "direction": "POSTING_DIRECTION_DEBIT", "amount": money(amount)},
            {"account_id": credit, "direction": "POSTING_DIRECTION_CREDIT", "amount": money(amount)},
        ],
    }


@pytest.fixture(scope="module")
def customer(gateway: Gateway, tokens: TokenFactory) -> dict[str, str]:
    """A customer paid a salary and buying groceries, booked through the ledger's REST API."""
    admin = tokens.make("usr_ops", ["admin"])
    user = new_id("usr")
    accounts = {}
    for name, owner, kind, rule in (
        ("wallet", user, "ACCOUNT_TYPE_LIABILITY", "BALANCE_RULE_NON_NEGATIVE"),
        ("cash", "system", "ACCOUNT_TYPE_ASSET", "BALANCE_RULE_UNBOUNDED"),
    ):
        created = gateway.post(
            "/api/v1/ledger/accounts",
            token=admin,
            json={"owner_id": owner, "name": name, "type": kind, "currency": "EUR", "balance_rule": rule},
        )
        assert created.status_code == 200, created.text
        accounts[name] = created.json()["account"]["id"]
    for body in (
        entry(
            user,
            accounts["cash"],
            accounts["wallet"],
            10_000,
            "TRANSACTION_TYPE_DEPOSIT",
            {"category": "salary"},
        ),
        entry(user, accounts["wallet"], accounts["cash"], 2_500, "TRANSACTION_TYPE_PAYMENT", {"mcc": "5411"}),
    ):
        posted = gateway.post(
            "/api/v1/ledger/transactions", token=admin, headers={"idempotency-key": new_id("req")}, json=body
        )
        assert posted.status_code == 200, posted.text
    return {"id": user, "token": tokens.make(user, ["customer"])}


def analysis(gateway: Gateway, kind: str, customer: dict[str, str], expected_total: int) -> dict[str, Any]:
    """The analysis once the feed has reached the entries (bounded wait: the summaries trail the ledger)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        reply = gateway.get(
            f"/api/v1/analytics/{kind}/{customer['id']}?granularity=GRANULARITY_DAY", token=customer["token"]
        )
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()[f"{kind}_analysis"]
        if int(body["total"]["amount_minor"]) == expected_total or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_spending_analysis(gateway: Gateway, customer: dict[str, str]) -> None:
    body = analysis(gateway, "spending", customer, 2_500)
    assert body["total"] == {"amount_minor": "2500", "currency": "EUR"}
    categories = [(c["category"], c["total"]["amount_minor"]) for c in body["categories"]]
    assert categories == [("groceries", "2500")]
    assert body["granularity"] == "GRANULARITY_DAY" and int(body["as_of_sequence"]) > 0


def test_income_analysis(gateway: Gateway, customer: dict[str, str]) -> None:
    body = analysis(gateway, "income", customer, 10_000)
    assert [(c["category"], c["share_bps"]) for c in body["categories"]] == [("salary", 10_000)]


def test_statement_report_as_csv(gateway: Gateway, customer: dict[str, str]) -> None:
    analysis(gateway, "spending", customer, 2_500)
    now = datetime.now(UTC)
    params = {
        "user_id": customer["id"],
        "format": "REPORT_FORMAT_CSV",
        "time_range.start_time": (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "time_range.end_time": (now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
    }
    reply = gateway.get("/api/v1/analytics/reports/monthly_statement", token=customer["token"], params=params)
    assert reply.status_code == 200, reply.text
    report = reply.json()["report"]
    assert report["report_type"] == "monthly_statement" and report["id"].startswith("rpt_")
    lines = list(csv.reader(io.StringIO(report["content"])))
    assert lines[0][:3] == ["time", "transaction_id", "category"]
    assert [line[2] for line in lines[2:4]] == ["salary", "groceries"]
    assert lines[-1][4:] == ["100.00", "25.00", "75.00"]


def test_another_customers_analysis_is_forbidden(
    gateway: Gateway, customer: dict[str, str], tokens: TokenFactory
) -> None:
    stranger = tokens.make(new_id("usr"), ["customer"])
    reply = gateway.get(f"/api/v1/analytics/spending/{customer['id']}", token=stranger)
    assert reason(assert_error(reply, 403, grpc_code=7)) == "PERMISSION_DENIED"


def test_unknown_report_type_is_a_bad_request(gateway: Gateway, customer: dict[str, str]) -> None:
    reply = gateway.get(
        f"/api/v1/analytics/reports/horoscope?user_id={customer['id']}", token=customer["token"]
    )
    body = assert_error(reply, 400, grpc_code=3)
    assert reason(body) == "UNKNOWN_REPORT_TYPE" and field_violations(body) == ["report_type"]


def test_dashboard_series_with_repeated_metrics(gateway: Gateway, customer: dict[str, str]) -> None:
    analysis(gateway, "spending", customer, 2_500)
    reply = gateway.get(
        f"/api/v1/analytics/dashboard/{customer['id']}"
        "?metrics=DASHBOARD_METRIC_BALANCE&metrics=DASHBOARD_METRIC_NET_CASH_FLOW"
        "&granularity=GRANULARITY_DAY",
        token=customer["token"],
    )
    assert reply.status_code == 200, reply.text
    series = reply.json()["series"]
    assert [s["metric"] for s in series] == ["DASHBOARD_METRIC_BALANCE", "DASHBOARD_METRIC_NET_CASH_FLOW"]
    assert series[0]["points"][-1]["value"]["amount_minor"] == "7500"
    assert sum(int(p["value"]["amount_minor"]) for p in series[1]["points"]) == 7_500


def test_credit_portfolio_report_for_compliance(
    gateway: Gateway, services: ServiceRunner, tokens: TokenFactory
) -> None:
    credit_spec = pytest.importorskip(
        "services.credit.spec", reason="the credit service is not in this checkout"
    )
    ai_spec = pytest.importorskip("services.ai.spec", reason="the AI service is not in this checkout")
    # Analytics dials the credit service per report, so it may start after analytics.
    services.start(ai_spec.SPEC)
    services.start(credit_spec.SPEC)
    # ISK: no test lends in it, so the shared loan book has nothing in it and every figure is zero.
    params = {"currency": "ISK", "format": "REPORT_FORMAT_CSV"}
    reply = gateway.get(
        "/api/v1/analytics/reports/credit_portfolio",
        params=params,
        token=tokens.make("usr_compliance", ["compliance"]),
    )
    assert reply.status_code == 200, reply.text
    report = reply.json()["report"]
    assert report["currency"] == "ISK" and len(report["rows"]) == 7
    lines = list(csv.reader(io.StringIO(report["content"])))
    assert lines[0][:3] == ["status", "application_count", "approved_principal"]
    assert [line[0] for line in lines[1:]] == [
        "submitted",
        "under_review",
        "approved",
        "rejected",
        "disbursed",
        "repaid",
        "cancelled",
        "total",
    ]
    assert lines[-1] == ["total", "0", "0", "0", "0", "0", "0", "0"]
    customer = tokens.make(new_id("usr"), ["customer"])
    denied = gateway.get(
        "/api/v1/analytics/reports/credit_portfolio", params={"currency": "ISK"}, token=customer
    )
    assert reason(assert_error(denied, 403, grpc_code=7)) == "PERMISSION_DENIED"
