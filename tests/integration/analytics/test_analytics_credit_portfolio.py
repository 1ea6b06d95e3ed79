"""The credit_portfolio report over real gRPC: analytics pages through a real credit service's loan book.

The credit database is shared by the whole test session, so every loan here is in NZD,
a currency no other test lends in, and the report is asked for in NZD only.
"""

from __future__ import annotations

import csv
import io
import secrets
import socket
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from nexafi.analytics.v1 import analytics_pb2
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc
from nexafi.user.v1 import user_pb2, user_pb2_grpc
from PIL import Image
from sqlalchemy.engine import Engine

from services.ai.spec import SPEC as AI
from services.analytics.clients import CreditClient
from services.analytics.domain.reports import CREDIT_PORTFOLIO
from services.analytics.service import AnalyticsService
from services.credit.spec import SPEC as CREDIT
from services.runtime.clients import grpc_service, service_channel
from services.runtime.errors import Unavailable
from services.runtime.server import RunningServer
from services.user.spec import SPEC as USER
from tests.integration.analytics.analytics_support import Books, time_range
from tests.support.grpc_errors import failure
from tests.support.harness import ServiceRunner

C = credit_pb2
CURRENCY = "NZD"
COLUMNS = [
    "status",
    "application_count",
    "approved_principal",
    "disbursed_principal",
    "outstanding_principal",
    "interest_repaid",
    "overdue_installments",
    "overdue_amount",
]


def nzd(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency=CURRENCY)


class Lender:
    """Real users and loans in NZD through the credit service."""

    def __init__(self, services: ServiceRunner, books: Books) -> None:
        self.books = books
        self.channels = [services.channel(USER), services.channel(CREDIT)]
        self.users = user_pb2_grpc.UserServiceStub(self.channels[0])
        self.credit = credit_pb2_grpc.CreditServiceStub(self.channels[1])
        self.underwriter = books.tokens.metadata("usr_portfolio_underwriter", ["underwriter"])

    def register(self) -> str:
        name = "p" + secrets.token_hex(6)
        reply = self.users.Register(
            user_pb2.RegisterRequest(
                username=name,
                email=f"{name}@example.com",
                password="correct horse battery staple 9",
                request_id=uuid.uuid4().hex,
            ),
            timeout=10,
        )
        return str(reply.user.id)

    def submit(self, user_id: str, amount: int) -> Any:
        request = C.SubmitLoanApplicationRequest(
            user_id=user_id,
            amount=nzd(amount),
            term_months=12,
            purpose=C.LOAN_PURPOSE_PERSONAL,
            request_id=uuid.uuid4().hex,
            financials=C.ApplicantFinancials(
                monthly_income=nzd(500_000),
                monthly_debt=nzd(50_000),
                employment_status=C.EMPLOYMENT_STATUS_EMPLOYED,
                employment_months=48,
                total_debt=nzd(500_000),
                credit_history_months=180,
                utilization_bps=800,
                open_accounts=3,
            ),
        )
        app = self.credit.SubmitLoanApplication(
            request, metadata=self.books.customer(user_id), timeout=10
        ).loan_application
        # The credit model is trained on EUR only: an NZD application is referred to an underwriter.
        assert app.status == C.LOAN_APPLICATION_STATUS_UNDER_REVIEW, app.status
        return app

    def decide(self, application_id: str, decision: int, **fields: Any) -> Any:
        request = C.DecideLoanApplicationRequest(
            application_id=application_id, decision=decision, request_id=uuid.uuid4().hex, **fields
        )
        reply = self.credit.DecideLoanApplication(request, metadata=self.underwriter, timeout=10)
        return reply.loan_application


@pytest.fixture(scope="module")
def lender(services: ServiceRunner, books: Books, analytics_server: RunningServer) -> Iterator[Lender]:
    # Started after analytics on purpose: analytics finds credit per report, not at start-up.
    services.start(AI)
    services.start(CREDIT)
    opened = Lender(services, books)
    yield opened
    for channel in opened.channels:
        channel.close()


@pytest.fixture(scope="module")
def book(lender: Lender) -> dict[str, Any]:
    """Three loans: approved (not paid out), disbursed with its first installment repaid, rejected."""
    approved_user, disbursed_user, rejected_user = (lender.register() for _ in range(3))
    approved = lender.decide(lender.submit(approved_user, 300_000).id, C.LOAN_DECISION_APPROVE, apr_bps=1299)
    assert approved.status == C.LOAN_APPLICATION_STATUS_APPROVED

    loan = lender.decide(lender.submit(disbursed_user, 600_000).id, C.LOAN_DECISION_APPROVE, apr_bps=1299)
    wallet = lender.books.open(disbursed_user, CURRENCY)
    lender.books.deposit(wallet, 100_000, CURRENCY)
    lender.credit.DisburseLoan(
        C.DisburseLoanRequest(application_id=loan.id, request_id=uuid.uuid4().hex),
        metadata=lender.books.customer(disbursed_user),
        timeout=10,
    )
    first = loan.schedule[0]
    repaid = lender.credit.RecordRepayment(
        C.RecordRepaymentRequest(application_id=loan.id, amount=first.total, request_id=uuid.uuid4().hex),
        metadata=lender.books.customer(disbursed_user),
        timeout=10,
    ).loan_application
    assert repaid.status == C.LOAN_APPLICATION_STATUS_DISBURSED

    rejected = lender.decide(
        lender.submit(rejected_user, 200_000).id,
        C.LOAN_DECISION_REJECT,
        reasons=[C.ReasonCode(code="POLICY", description="not this time")],
    )
    assert rejected.status == C.LOAN_APPLICATION_STATUS_REJECTED
    return {"approved": approved, "disbursed": repaid}


def portfolio(
    books: Books,
    principal: tuple[tuple[str, str], ...],
    *,
    days_ahead: int = 1,
    fmt: int = analytics_pb2.REPORT_FORMAT_JSON,
) -> analytics_pb2.Report:
    now = datetime.now(UTC)
    request = analytics_pb2.GetReportRequest(
        report_type=CREDIT_PORTFOLIO,
        currency=CURRENCY,
        format=analytics_pb2.ReportFormat.ValueType(fmt),
        time_range=time_range(now - timedelta(days=1), now + timedelta(days=days_ahead)),
    )
    return books.analytics.GetReport(request, metadata=principal, timeout=20).report


def decimal(amount_minor: int) -> str:
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


def figures(row: analytics_pb2.ReportRow) -> list[int]:
    return [
        cell.int_value if cell.HasField("int_value") else cell.money_value.amount_minor
        for cell in row.cells[1:]
    ]


def test_credit_portfolio_sums_the_loan_book_per_status(books: Books, book: dict[str, Any]) -> None:
    loan = book["disbursed"]
    first, second = loan.schedule[0], loan.schedule[1]
    outstanding = 600_000 - first.principal.amount_minor
    assert outstanding == loan.outstanding_principal.amount_minor

    # 75 days ahead: the second installment (due two months after disbursement) is overdue by then,
    # the third (three months after) is not, the first was repaid.
    report = portfolio(books, books.admin, days_ahead=75)
    assert [c.name for c in report.columns] == COLUMNS
    assert report.currency == CURRENCY and report.user_id == "" and report.as_of_sequence == 0
    rows = {row.cells[0].string_value: figures(row) for row in report.rows}
    assert list(rows) == [
        "submitted",
        "under_review",
        "approved",
        "rejected",
        "disbursed",
        "repaid",
        "cancelled",
    ]
    assert rows["approved"] == [1, 300_000, 0, 0, 0, 0, 0]
    assert rows["disbursed"] == [
        1,
        600_000,
        600_000,
        outstanding,
        first.interest.amount_minor,
        1,
        second.total.amount_minor,
    ]
    assert rows["rejected"] == [1, 0, 0, 0, 0, 0, 0]
    for status in ("submitted", "under_review", "repaid", "cancelled"):
        assert rows[status] == [0] * 7
    assert report.totals.cells[0].string_value == "total"
    assert figures(report.totals) == [
        3,
        900_000,
        600_000,
        outstanding,
        first.interest.amount_minor,
        1,
        second.total.amount_minor,
    ]
    money = report.rows[4].cells[2].money_value
    assert (money.amount_minor, money.currency) == (600_000, CURRENCY)

    # As of tomorrow nothing is overdue yet.
    soon = {row.cells[0].string_value: figures(row) for row in portfolio(books, books.admin).rows}
    assert soon["disbursed"][5:] == [0, 0]


def test_credit_portfolio_as_csv_and_for_staff_only(books: Books, book: dict[str, Any]) -> None:
    loan = book["disbursed"]
    report = portfolio(
        books,
        books.tokens.metadata("usr_portfolio_compliance", ["compliance"]),
        fmt=analytics_pb2.REPORT_FORMAT_CSV,
    )
    assert report.content_type == "text/csv; charset=utf-8" and "\r\n" in report.content
    lines = list(csv.reader(io.StringIO(report.content)))
    assert lines[0] == COLUMNS and len(lines) == 9
    outstanding = loan.outstanding_principal.amount_minor
    interest = loan.schedule[0].interest.amount_minor
    assert lines[5] == [
        "disbursed",
        "1",
        "6000.00",
        "6000.00",
        decimal(outstanding),
        decimal(interest),
        "0",
        "0.00",
    ]
    assert lines[3] == ["approved", "1", "3000.00", "0.00", "0.00", "0.00", "0", "0.00"]
    assert lines[-1][:4] == ["total", "3", "9000.00", "6000.00"]

    denied = failure(lambda: portfolio(books, books.customer(loan.user_id)))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    missing_currency = failure(
        lambda: books.analytics.GetReport(
            analytics_pb2.GetReportRequest(report_type=CREDIT_PORTFOLIO), metadata=books.admin, timeout=10
        )
    )
    assert missing_currency.code == grpc.StatusCode.INVALID_ARGUMENT
    assert missing_currency.fields == ["currency"]


def test_credit_portfolio_chart(books: Books, book: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    request = analytics_pb2.RenderChartRequest(
        chart=analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO,
        currency=CURRENCY,
        time_range=time_range(now - timedelta(days=1), now + timedelta(days=1)),
    )
    png = books.analytics.RenderChart(request, metadata=books.admin, timeout=30).http_body
    assert png.content_type == "image/png" and png.data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png.data)) as image:
        assert image.size == (1200, 675)
    request.image_format = analytics_pb2.IMAGE_FORMAT_SVG
    svg = books.analytics.RenderChart(request, metadata=books.admin, timeout=30).http_body
    assert svg.content_type == "image/svg+xml"
    assert ET.fromstring(svg.data).tag == "{http://www.w3.org/2000/svg}svg"
    no_currency = failure(
        lambda: books.analytics.RenderChart(
            analytics_pb2.RenderChartRequest(chart=analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO),
            metadata=books.admin,
            timeout=10,
        )
    )
    assert no_currency.code == grpc.StatusCode.INVALID_ARGUMENT and no_currency.fields == ["currency"]


def test_credit_portfolio_without_a_reachable_credit_service(analytics_db: Engine) -> None:
    # A port nothing listens on: the connection is refused, as when the credit service is down.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"
    service = AnalyticsService(
        analytics_db,
        None,
        "USD",
        credit=lambda: CreditClient(
            service_channel("credit", grpc_service("credit"), lambda: "unused", address=dead)
        ),
    )
    now = datetime.now(UTC)
    with pytest.raises(Unavailable) as raised:
        service.report(CREDIT_PORTFOLIO, "", now - timedelta(days=1), now, CURRENCY)
    assert raised.value.reason == "CREDIT_SERVICE_UNAVAILABLE"
