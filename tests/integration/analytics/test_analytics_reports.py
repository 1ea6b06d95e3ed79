"""GetReport over real gRPC: per-user statements and cash flow, platform-wide reports, CSV, errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from nexafi.analytics.v1 import analytics_pb2

from tests.integration.analytics.analytics_support import Books, time_range
from tests.support.grpc_errors import failure


@pytest.fixture(scope="module")
def saver(books: Books) -> dict[str, str]:
    user, wallet = books.user()
    entries = [
        books.deposit(wallet, 50_000, metadata={"category": "salary"}, description="Payroll"),
        books.spend(wallet, 1_234, metadata={"mcc": "5812"}, description='Lunch, with "friends"'),
    ]
    books.wait_applied(*entries)
    return {"user": user, "deposit": entries[0].id, "lunch": entries[1].id}


def report(
    books: Books,
    report_type: str,
    user_id: str = "",
    *,
    principal: tuple[tuple[str, str], ...],
    fmt: int = analytics_pb2.REPORT_FORMAT_JSON,
    currency: str = "",
) -> analytics_pb2.Report:
    now = datetime.now(UTC)
    request = analytics_pb2.GetReportRequest(
        report_type=report_type,
        user_id=user_id,
        format=analytics_pb2.ReportFormat.ValueType(fmt),
        currency=currency,
        time_range=time_range(now - timedelta(hours=1), now + timedelta(hours=1)),
    )
    return books.analytics.GetReport(request, metadata=principal, timeout=10).report


def test_monthly_statement_as_json_and_csv(books: Books, saver: dict[str, str]) -> None:
    own = books.customer(saver["user"])
    statement = report(books, "monthly_statement", saver["user"], principal=own)
    assert statement.id.startswith("rpt_") and statement.currency == "EUR" and not statement.content
    names = [c.name for c in statement.columns]
    assert names == ["time", "transaction_id", "category", "description", "money_in", "money_out", "balance"]
    cells = [{n: row.cells[i] for i, n in enumerate(names)} for row in statement.rows]
    assert cells[0]["balance"].money_value.amount_minor == 0  # opening balance of a fresh user
    assert [(c["transaction_id"].string_value, c["category"].string_value) for c in cells[1:]] == [
        (saver["deposit"], "salary"),
        (saver["lunch"], "restaurants"),
    ]
    assert cells[1]["money_in"].money_value.amount_minor == 50_000
    assert not cells[1]["money_out"].HasField("money_value")
    assert cells[2]["balance"].money_value.amount_minor == 48_766
    totals = [cell for cell in statement.totals.cells]
    assert [
        totals[4].money_value.amount_minor,
        totals[5].money_value.amount_minor,
        totals[6].money_value.amount_minor,
    ] == [50_000, 1_234, 48_766]

    as_csv = report(
        books, "monthly_statement", saver["user"], principal=own, fmt=analytics_pb2.REPORT_FORMAT_CSV
    )
    assert as_csv.content_type == "text/csv; charset=utf-8" and len(as_csv.rows) == 3
    assert "\r\n" in as_csv.content
    lines = list(csv.reader(io.StringIO(as_csv.content)))
    assert lines[0] == names
    assert lines[3][3] == 'Lunch, with "friends"' and lines[3][5] == "12.34" and lines[3][6] == "487.66"
    assert lines[-1][4:] == ["500.00", "12.34", "487.66"]


def test_cash_flow(books: Books, saver: dict[str, str]) -> None:
    flow = report(books, "cash_flow", saver["user"], principal=books.admin)
    names = [c.name for c in flow.columns]
    totals = {n: flow.totals.cells[i] for i, n in enumerate(names)}
    assert totals["income"].money_value.amount_minor == 50_000
    assert totals["spending"].money_value.amount_minor == 1_234
    assert totals["net_cash_flow"].money_value.amount_minor == 48_766
    assert totals["income_count"].int_value == 1 and totals["spending_count"].int_value == 1
    assert flow.as_of_sequence > 0


def test_platform_reports_are_for_staff(books: Books, saver: dict[str, str]) -> None:
    trial = report(books, "trial_balance", principal=books.admin, currency="EUR")
    debit, credit = trial.totals.cells[3].money_value, trial.totals.cells[4].money_value
    assert debit.amount_minor == credit.amount_minor > 0 and debit.currency == "EUR"
    volumes = report(books, "payment_volumes", principal=books.admin, currency="EUR")
    by_type = {row.cells[1].string_value: row.cells[2].int_value for row in volumes.rows}
    assert by_type["deposit"] >= 1 and by_type["payment"] >= 1
    denied = failure(
        lambda: report(books, "trial_balance", principal=books.customer(saver["user"]), currency="EUR")
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    # Refused before the parameters are looked at: a customer learns nothing about them.
    unchecked = failure(lambda: report(books, "trial_balance", principal=books.customer(saver["user"])))
    assert unchecked.code == grpc.StatusCode.PERMISSION_DENIED
    other = failure(
        lambda: report(
            books, "monthly_statement", saver["user"], principal=books.customer("usr_someone_else")
        )
    )
    assert other.code == grpc.StatusCode.PERMISSION_DENIED
    # credit_portfolio reads the credit service: test_analytics_credit_portfolio.py.


def test_report_validation(books: Books, saver: dict[str, str]) -> None:
    unknown = failure(lambda: report(books, "horoscope", saver["user"], principal=books.admin))
    assert (unknown.code, unknown.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "UNKNOWN_REPORT_TYPE")
    assert unknown.fields == ["report_type"]
    no_user = failure(lambda: report(books, "cash_flow", principal=books.admin))
    assert no_user.code == grpc.StatusCode.INVALID_ARGUMENT and no_user.fields == ["user_id"]
    platform = failure(lambda: report(books, "trial_balance", saver["user"], principal=books.admin))
    assert set(platform.fields) == {"user_id", "currency"}
    now = datetime.now(UTC)
    too_long = analytics_pb2.GetReportRequest(
        report_type="cash_flow", user_id=saver["user"], time_range=time_range(now - timedelta(days=367), now)
    )
    result = failure(lambda: books.analytics.GetReport(too_long, metadata=books.admin, timeout=10))
    assert result.fields == ["time_range.start_time"]


def test_monthly_statement_defaults_to_last_complete_month(books: Books, saver: dict[str, str]) -> None:
    reply = books.analytics.GetReport(
        analytics_pb2.GetReportRequest(
            report_type="monthly_statement", user_id=saver["user"], currency="EUR"
        ),
        metadata=books.admin,
        timeout=10,
    ).report
    start = reply.time_range.start_time.ToDatetime(tzinfo=UTC)
    end = reply.time_range.end_time.ToDatetime(tzinfo=UTC)
    today = datetime.now(UTC)
    assert (
        start.day == 1
        and end.day == 1
        and end == today.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    assert len(reply.rows) == 1  # only the opening balance: the entries are from this month
