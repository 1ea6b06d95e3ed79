"""Custom reports and charts over real gRPC: saved definitions, filters, groupings, measures,
CSV equal to JSON, PNG and SVG charts, validation and ownership."""

from __future__ import annotations

import csv
import io
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy as sa
from nexafi.analytics.v1 import analytics_pb2 as A
from nexafi.ledger.v1 import ledger_pb2
from PIL import Image
from sqlalchemy.engine import Engine

from services.analytics.domain.reports import decimal_string
from tests.integration.analytics.analytics_support import Books, Metadata, time_range
from tests.support.grpc_errors import failure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def spender(books: Books) -> dict[str, str]:
    """A user with two wallets, salary in, groceries, a restaurant and a transfer to a friend out."""
    user, wallet = books.user()
    second = books.open(user)
    friend, friend_wallet = books.user()
    entries = [
        books.deposit(wallet, 100_000, metadata={"category": "salary"}),
        books.deposit(second, 5_000),
        books.spend(wallet, 1_234, metadata={"mcc": "5812"}),
        books.spend(wallet, 2_001, metadata={"mcc": "5411"}),
        books.spend(second, 1_000, metadata={"mcc": "5411"}),
        books.post(wallet, friend_wallet, 700, ledger_pb2.TRANSACTION_TYPE_TRANSFER),
    ]
    books.wait_applied(*entries)
    return {"user": user, "wallet": wallet, "second": second, "friend": friend}


def definition(**changes: object) -> A.ReportDefinition:
    now = datetime.now(UTC)
    fields: dict[str, object] = {
        "name": "Where my money goes",
        "currency": "EUR",
        "direction": A.FLOW_DIRECTION_SPENDING,
        "time_range": time_range(now - timedelta(hours=2), now + timedelta(hours=2)),
        "grouping": A.REPORT_GROUPING_CATEGORY,
        "measures": [A.REPORT_MEASURE_SUM, A.REPORT_MEASURE_COUNT, A.REPORT_MEASURE_AVERAGE],
    }
    fields.update(changes)
    return A.ReportDefinition(**fields)  # type: ignore[arg-type]


def create(
    books: Books, user: str, caller: Metadata, body: A.ReportDefinition, request_id: str | None = None
) -> A.ReportDefinition:
    request = A.CreateReportDefinitionRequest(
        user_id=user, request_id=request_id or uuid.uuid4().hex, definition=body
    )
    return books.analytics.CreateReportDefinition(request, metadata=caller, timeout=10).definition


def run(books: Books, definition_id: str, caller: Metadata, fmt: int = A.REPORT_FORMAT_JSON) -> A.Report:
    request = A.RunCustomReportRequest(definition_id=definition_id, format=A.ReportFormat.ValueType(fmt))
    return books.analytics.RunCustomReport(request, metadata=caller, timeout=10).report


def rows(report: A.Report) -> list[list[object]]:
    """The report's rows as plain values: strings, minor units, counts, datetimes."""

    def value(cell: A.ReportCell) -> object:
        kind = cell.WhichOneof("value")
        if kind == "money_value":
            return cell.money_value.amount_minor
        if kind == "time_value":
            return cell.time_value.ToDatetime(tzinfo=UTC)
        return getattr(cell, kind) if kind else None

    return [[value(c) for c in row.cells] for row in [*report.rows, report.totals]]


def test_spending_by_category_with_sum_count_and_average(books: Books, spender: dict[str, str]) -> None:
    own = books.customer(spender["user"])
    saved = create(books, spender["user"], own, definition())
    assert saved.id.startswith("rdf_") and saved.user_id == spender["user"]
    report = run(books, saved.id, own)
    assert report.report_type == "custom" and report.currency == "EUR" and report.id.startswith("rpt_")
    assert [c.name for c in report.columns] == ["category", "total", "entry_count", "average"]
    assert "half to even" in report.columns[3].description
    # 3001 / 2 = 1500.5: half to even gives 1500.
    assert rows(report) == [
        ["groceries", 3_001, 2, 1_500],
        ["restaurants", 1_234, 1, 1_234],
        ["transfer_out", 700, 1, 700],
        ["total", 4_935, 4, 1_234],
    ]


def test_filters_on_accounts_counterparties_and_categories(books: Books, spender: dict[str, str]) -> None:
    own = books.customer(spender["user"])
    by_account = create(books, spender["user"], own, definition(account_ids=[spender["second"]]))
    assert rows(run(books, by_account.id, own))[:-1] == [["groceries", 1_000, 1, 1_000]]
    to_friend = create(books, spender["user"], own, definition(counterparties=[spender["friend"]]))
    assert rows(run(books, to_friend.id, own))[:-1] == [["transfer_out", 700, 1, 700]]
    income = create(
        books, spender["user"], own, definition(direction=A.FLOW_DIRECTION_INCOME, categories=["salary"])
    )
    assert rows(run(books, income.id, own)) == [
        ["salary", 100_000, 1, 100_000],
        ["total", 100_000, 1, 100_000],
    ]

    # Per day: the periods cover the range (one or two UTC days, whatever the hour), and add up.
    daily = create(
        books, spender["user"], own, definition(grouping=A.REPORT_GROUPING_DAY, categories=["groceries"])
    )
    report = run(books, daily.id, own)
    assert [c.name for c in report.columns] == [
        "period_start",
        "period_end",
        "total",
        "entry_count",
        "average",
    ]
    table = rows(report)
    assert table[0][0] == report.time_range.start_time.ToDatetime(tzinfo=UTC)
    assert table[-2][1] == report.time_range.end_time.ToDatetime(tzinfo=UTC)
    assert sum(r[2] for r in table[:-1] if isinstance(r[2], int)) == 3_001
    assert table[-1][2:] == [3_001, 2, 1_500]


def test_csv_rows_match_the_json_figures(books: Books, spender: dict[str, str]) -> None:
    own = books.customer(spender["user"])
    saved = create(books, spender["user"], own, definition(grouping=A.REPORT_GROUPING_WEEK))
    as_json = run(books, saved.id, own)
    as_csv = run(books, saved.id, own, A.REPORT_FORMAT_CSV)
    assert as_csv.content_type == "text/csv; charset=utf-8"
    lines = list(csv.reader(io.StringIO(as_csv.content)))
    assert lines[0] == [c.name for c in as_json.columns]
    expected = []
    for row in rows(as_json):
        cells = []
        for cell, column in zip(row, as_json.columns, strict=True):
            if cell is None:
                cells.append("")
            elif column.type == A.REPORT_COLUMN_TYPE_MONEY:
                cells.append(decimal_string(int(cell), "EUR"))  # type: ignore[call-overload]
            elif isinstance(cell, datetime):
                cells.append(cell.isoformat().replace("+00:00", "Z"))
            else:
                cells.append(str(cell))
        expected.append(cells)
    assert lines[1:] == expected
    assert lines[-1][2:] == ["49.35", "4", "12.34"]


def test_definitions_are_saved_per_user_idempotently(books: Books, spender: dict[str, str]) -> None:
    own = books.customer(spender["user"])
    key = uuid.uuid4().hex
    body = definition(name="Monthly")
    first = create(books, spender["user"], own, body, key)
    again = create(books, spender["user"], own, body, key)
    assert again.id == first.id and again.create_time == first.create_time
    reused = failure(lambda: create(books, spender["user"], own, definition(name="Other"), key))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"

    listed = books.analytics.ListReportDefinitions(
        A.ListReportDefinitionsRequest(user_id=spender["user"], page_size=1), metadata=own, timeout=10
    )
    assert len(listed.definitions) == 1 and listed.next_page_token
    seen = [d.id for d in listed.definitions]
    token = listed.next_page_token
    while token:
        page = books.analytics.ListReportDefinitions(
            A.ListReportDefinitionsRequest(user_id=spender["user"], page_size=2, page_token=token),
            metadata=own,
            timeout=10,
        )
        seen += [d.id for d in page.definitions]
        token = page.next_page_token
    assert first.id in seen and len(seen) == len(set(seen))

    stranger = books.customer("usr_someone_else_entirely")
    get = A.GetReportDefinitionRequest(definition_id=first.id)
    assert (
        failure(lambda: books.analytics.GetReportDefinition(get, metadata=stranger)).code
        == grpc.StatusCode.NOT_FOUND
    )
    assert failure(lambda: run(books, first.id, stranger)).code == grpc.StatusCode.NOT_FOUND
    assert (
        failure(lambda: create(books, spender["user"], stranger, definition())).code
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        failure(
            lambda: books.analytics.ListReportDefinitions(
                A.ListReportDefinitionsRequest(user_id=spender["user"]), metadata=stranger
            )
        ).code
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert books.analytics.GetReportDefinition(get, metadata=books.admin).definition.name == "Monthly"

    deleted = books.analytics.DeleteReportDefinition(
        A.DeleteReportDefinitionRequest(definition_id=first.id), metadata=own
    ).definition
    assert deleted.id == first.id
    assert (
        failure(lambda: books.analytics.GetReportDefinition(get, metadata=own)).code
        == grpc.StatusCode.NOT_FOUND
    )


def test_invalid_definitions_name_the_field(books: Books, spender: dict[str, str]) -> None:
    own = books.customer(spender["user"])
    now = datetime.now(UTC)
    unknown = failure(
        lambda: create(books, spender["user"], own, definition(categories=["groceries", "astrology"]))
    )
    assert unknown.code == grpc.StatusCode.INVALID_ARGUMENT and unknown.reason == "UNKNOWN_CATEGORY"
    assert unknown.fields == ["definition.categories[1]"]
    too_long = failure(
        lambda: create(
            books, spender["user"], own, definition(time_range=time_range(now - timedelta(days=400), now))
        )
    )
    assert too_long.fields == ["definition.time_range.start_time"]
    no_grouping = failure(
        lambda: create(
            books, spender["user"], own, definition(grouping=A.REPORT_GROUPING_UNSPECIFIED, measures=[])
        )
    )
    assert no_grouping.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(no_grouping.fields) == {"definition.grouping", "definition.measures"}
    bad = failure(lambda: create(books, spender["user"], own, A.ReportDefinition()))
    assert set(bad.fields) >= {
        "definition.name",
        "definition.time_range.start_time",
        "definition.time_range.end_time",
        "definition.currency",
        "definition.direction",
    }


def chart(books: Books, caller: Metadata, **fields: object) -> tuple[str, bytes]:
    body = books.analytics.RenderChart(
        A.RenderChartRequest(**fields),
        metadata=caller,  # type: ignore[arg-type]
        timeout=30,
    ).http_body
    return body.content_type, body.data


def test_charts_as_png_and_svg(books: Books, spender: dict[str, str]) -> None:
    own = books.customer(spender["user"])
    now = datetime.now(UTC)
    span = time_range(now - timedelta(days=40), now + timedelta(hours=1))
    for kind in (A.CHART_KIND_DASHBOARD, A.CHART_KIND_SPENDING_BY_CATEGORY, A.CHART_KIND_CASH_FLOW):
        content_type, png = chart(books, own, chart=kind, user_id=spender["user"], time_range=span)
        assert content_type == "image/png" and png.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(png)) as image:
            assert image.size == (1200, 675)
        content_type, svg = chart(
            books, own, chart=kind, user_id=spender["user"], time_range=span, image_format=A.IMAGE_FORMAT_SVG
        )
        assert content_type == "image/svg+xml"
        assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    # The same figures draw the same picture.
    assert chart(books, own, chart=A.CHART_KIND_CASH_FLOW, user_id=spender["user"], time_range=span) == chart(
        books, own, chart=A.CHART_KIND_CASH_FLOW, user_id=spender["user"], time_range=span
    )

    saved = create(books, spender["user"], own, definition())
    picture = books.analytics.RenderCustomReportChart(
        A.RenderCustomReportChartRequest(definition_id=saved.id, measure=A.REPORT_MEASURE_AVERAGE),
        metadata=own,
        timeout=30,
    ).http_body
    assert picture.content_type == "image/png" and picture.data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(picture.data)) as image:
        assert image.size == (1200, 675)

    only_sum = create(books, spender["user"], own, definition(measures=[A.REPORT_MEASURE_SUM]))
    wrong = failure(
        lambda: books.analytics.RenderCustomReportChart(
            A.RenderCustomReportChartRequest(definition_id=only_sum.id, measure=A.REPORT_MEASURE_COUNT),
            metadata=own,
        )
    )
    assert wrong.code == grpc.StatusCode.INVALID_ARGUMENT and wrong.fields == ["measure"]
    stranger = books.customer("usr_someone_else_entirely")
    assert (
        failure(lambda: chart(books, stranger, chart=A.CHART_KIND_DASHBOARD, user_id=spender["user"])).code
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        failure(lambda: chart(books, own, chart=A.CHART_KIND_CREDIT_PORTFOLIO, currency="EUR")).code
        == grpc.StatusCode.PERMISSION_DENIED
    )
    unspecified = failure(lambda: chart(books, own, user_id=spender["user"], image_format=7))
    assert set(unspecified.fields) == {"chart", "image_format"}


def test_definition_keys_follow_the_shared_idempotency_contract(
    books: Books, spender: dict[str, str], analytics_db: Engine
) -> None:
    """services/runtime/idempotency.py: the first response replayed byte for byte, an error after
    validation stored and replayed, a duplicate sent while the first still runs ABORTED at once."""
    own = books.customer(spender["user"])
    request = A.CreateReportDefinitionRequest(
        user_id=spender["user"], request_id=uuid.uuid4().hex, definition=definition(name="Replayed")
    )
    first = books.analytics.CreateReportDefinition(request, metadata=own, timeout=10)
    again = books.analytics.CreateReportDefinition(request, metadata=own, timeout=10)
    assert again.SerializeToString() == first.SerializeToString()

    key = uuid.uuid4().hex
    body = definition(categories=["astrology"])
    unknown = failure(lambda: create(books, spender["user"], own, body, key))
    replayed = failure(lambda: create(books, spender["user"], own, body, key))
    assert unknown.reason == replayed.reason == "UNKNOWN_CATEGORY"
    assert replayed.code == grpc.StatusCode.INVALID_ARGUMENT and replayed.message == unknown.message
    with analytics_db.connect() as connection:
        state = connection.execute(
            sa.text("SELECT state, error_reason FROM idempotency_keys WHERE key = :k"), {"k": key}
        ).one()
    assert (state.state, state.error_reason) == ("done", "UNKNOWN_CATEGORY")

    key = uuid.uuid4().hex
    body = definition(name="Concurrent")
    with analytics_db.connect() as holder, ThreadPoolExecutor(max_workers=1) as pool:
        # Lock the definitions table, so the first request stops at its insert with its key claimed.
        transaction = holder.begin()
        holder.execute(sa.text("LOCK TABLE report_definitions IN ACCESS EXCLUSIVE MODE"))
        pending = pool.submit(create, books, spender["user"], own, body, key)
        deadline = time.monotonic() + 30
        while not _waiting_on_a_lock(analytics_db):
            assert time.monotonic() < deadline, "the first request never reached the insert"
            threading.Event().wait(0.05)
        duplicate = failure(lambda: create(books, spender["user"], own, body, key))
        assert duplicate.code == grpc.StatusCode.ABORTED and duplicate.reason == "REQUEST_IN_PROGRESS"
        transaction.rollback()
        saved = pending.result(timeout=30)
    assert create(books, spender["user"], own, body, key) == saved


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE relation = 'report_definitions'::regclass "
                    "AND NOT granted"
                )
            ).scalar_one()
        )
