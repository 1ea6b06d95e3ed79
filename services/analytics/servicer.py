"""gRPC adapter of the analytics service: validation, authorization, proto <-> domain.

Every request is validated in full first (all field violations at once), then
authorized: a customer reads only their own analyses, reports and dashboard;
admins, support, compliance and services read anyone's; platform-wide reports
are for admins, compliance and services; the feed checkpoint is internal.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import grpc
from google.api import httpbody_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from nexafi.common.v1 import common_pb2

from services.analytics import charts
from services.analytics import repository as repo
from services.analytics.consumer import SUMMARIES_CONSUMER
from services.analytics.domain import categories, custom
from services.analytics.domain import reports as rpt
from services.analytics.domain.analysis import Figures
from services.analytics.domain.model import Direction
from services.analytics.domain.periods import (
    DEFAULT_LOOKBACK,
    MAX_DAILY_SPAN,
    Granularity,
    last_complete_month,
    max_span,
    range_violations,
    resolve_range,
)
from services.analytics.domain.reports import ColumnType, Table
from services.analytics.service import Analysis, AnalyticsService, AsOf, GeneratedReport
from services.runtime import api
from services.runtime.api import FieldChecks, to_money, to_timestamp
from services.runtime.auth import (
    ROLE_ADMIN,
    ROLE_COMPLIANCE,
    ROLE_SERVICE,
    STAFF_READ_ROLES,
    current_principal,
    require_owner_or_roles,
    require_roles,
)
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.fingerprints import request_fingerprint
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.analytics")

DASHBOARD_LOOKBACK = timedelta(days=90)
#: Keys CreateReportDefinition's request fingerprints (services.runtime.fingerprints): a definition holds
#: no secret, so a fixed key, the same on every replica, serves.
FINGERPRINT_KEY = b"nexafi-analytics-idempotency-v1"
CONSUMERS = frozenset({SUMMARIES_CONSUMER})
_METRICS = frozenset({analytics_pb2.DASHBOARD_METRIC_BALANCE, analytics_pb2.DASHBOARD_METRIC_SPENDING,
                      analytics_pb2.DASHBOARD_METRIC_INCOME, analytics_pb2.DASHBOARD_METRIC_NET_CASH_FLOW})
_CHART_KINDS = frozenset({analytics_pb2.CHART_KIND_DASHBOARD, analytics_pb2.CHART_KIND_SPENDING_BY_CATEGORY,
                          analytics_pb2.CHART_KIND_CASH_FLOW, analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO})
DEFINITIONS_PAGE_SIZE = 50
MAX_DEFINITIONS_PAGE_SIZE = 200
_FORMATS = frozenset({analytics_pb2.REPORT_FORMAT_UNSPECIFIED, analytics_pb2.REPORT_FORMAT_JSON,
                      analytics_pb2.REPORT_FORMAT_CSV})


AnalysisRequest = analytics_pb2.GetSpendingAnalysisRequest | analytics_pb2.GetIncomeAnalysisRequest


class _Checks(FieldChecks):
    """The shared checks plus the analytics contract's granularity and time range rules."""

    def optional_currency(self, code: str, field: str = "currency") -> str:
        if code:
            self.currency(code, field)
        return code

    def granularity(self, value: int, field: str = "granularity") -> Granularity:
        if value == analytics_pb2.GRANULARITY_UNSPECIFIED:
            return Granularity.MONTH
        if value not in {int(g) for g in Granularity}:
            self.add(field, "must be GRANULARITY_DAY, GRANULARITY_WEEK or GRANULARITY_MONTH")
            return Granularity.MONTH
        return Granularity(value)

    def _moment(self, bounds: common_pb2.TimeRange, name: str, field: str) -> datetime | None:
        if not bounds.HasField(name):
            return None
        stamp: Timestamp = getattr(bounds, name)
        try:
            return stamp.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            self.add(f"{field}.{name}", "must be a valid timestamp")
            return None

    def time_range(self, bounds: common_pb2.TimeRange, now: datetime, span: timedelta, *,
                   lookback: timedelta = DEFAULT_LOOKBACK,
                   default: tuple[datetime, datetime] | None = None,
                   field: str = "time_range") -> tuple[datetime, datetime]:
        start = self._moment(bounds, "start_time", field)
        end = self._moment(bounds, "end_time", field)
        if start is None and end is None and default is not None:
            resolved = default
        else:
            resolved = resolve_range(start, end, now, lookback)
        self.violations.extend(range_violations(*resolved, span, field))
        return resolved


def _range_pb(start: datetime, end: datetime) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_time=to_timestamp(start), end_time=to_timestamp(end))


def _fill_analysis(message: analytics_pb2.SpendingAnalysis | analytics_pb2.IncomeAnalysis,
                   analysis: Analysis) -> None:
    currency = analysis.currency
    f: Figures = analysis.figures
    message.user_id = analysis.user_id
    message.time_range.CopyFrom(_range_pb(analysis.start, analysis.end))
    message.granularity = analytics_pb2.Granularity.ValueType(int(analysis.granularity))
    message.currency = currency
    message.total.CopyFrom(to_money(f.total_minor, currency))
    message.transaction_count = f.entry_count
    for c in f.categories:
        item = message.categories.add(category=c.category, total=to_money(c.total_minor, currency),
                                      transaction_count=c.entry_count, share_bps=c.share_bps)
        if c.change_bps is not None:
            item.change_bps = c.change_bps
    for p in f.periods:
        message.periods.add(start_time=to_timestamp(p.period.start), end_time=to_timestamp(p.period.end),
                            total=to_money(p.total_minor, currency), transaction_count=p.entry_count)
    message.average_per_period.CopyFrom(to_money(f.average_minor, currency))
    message.previous_time_range.CopyFrom(_range_pb(analysis.previous_start, analysis.previous_end))
    message.previous_total.CopyFrom(to_money(f.previous_total_minor, currency))
    if f.change_bps is not None:
        message.change_bps = f.change_bps
    _fill_as_of(message, analysis.as_of)


def _fill_as_of(message: analytics_pb2.SpendingAnalysis | analytics_pb2.IncomeAnalysis, as_of: AsOf) -> None:
    message.as_of_sequence = as_of.sequence
    if as_of.time is not None:
        message.as_of_time.CopyFrom(to_timestamp(as_of.time))


def _cell_pb(cell: rpt.Cell, column_type: ColumnType, currency: str) -> analytics_pb2.ReportCell:
    if cell is None:
        return analytics_pb2.ReportCell()
    if isinstance(cell, datetime):
        return analytics_pb2.ReportCell(time_value=to_timestamp(cell))
    if isinstance(cell, str):
        return analytics_pb2.ReportCell(string_value=cell)
    if column_type is ColumnType.MONEY:
        return analytics_pb2.ReportCell(money_value=to_money(cell, currency))
    return analytics_pb2.ReportCell(int_value=cell)


def _row_pb(cells: list[rpt.Cell], table: Table, currency: str) -> analytics_pb2.ReportRow:
    return analytics_pb2.ReportRow(cells=[_cell_pb(cell, column.type, currency)
                                          for cell, column in zip(cells, table.columns, strict=True)])


def _report_pb(generated: GeneratedReport, as_csv: bool, now: datetime) -> analytics_pb2.Report:
    """A generated report as the contract's Report, with an "rpt_" id; CSV content when asked."""
    table = generated.table
    report = analytics_pb2.Report(
        id=new_id("rpt"), report_type=generated.report_type, user_id=generated.user_id,
        time_range=_range_pb(generated.start, generated.end), currency=generated.currency,
        format=analytics_pb2.REPORT_FORMAT_CSV if as_csv else analytics_pb2.REPORT_FORMAT_JSON,
        columns=[analytics_pb2.ReportColumn(
            name=c.name, type=analytics_pb2.ReportColumnType.ValueType(c.type), description=c.description)
            for c in table.columns],
        rows=[_row_pb(row, table, generated.currency) for row in table.rows],
        as_of_sequence=generated.as_of.sequence, create_time=to_timestamp(now))
    if table.totals is not None:
        report.totals.CopyFrom(_row_pb(table.totals, table, generated.currency))
    if as_csv:
        report.content = rpt.to_csv(table, generated.currency)
        report.content_type = rpt.CSV_CONTENT_TYPE
    return report


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, service: AnalyticsService) -> None:
        self.service = service

    def _analysis(self, request: AnalysisRequest, direction: Direction) -> Analysis:
        checks = _Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        currency = checks.optional_currency(request.currency)
        granularity = checks.granularity(request.granularity)
        start, end = checks.time_range(request.time_range, self.service.clock(), max_span(granularity))
        checks.done()
        require_owner_or_roles(current_principal(), user_id, *STAFF_READ_ROLES)
        return self.service.analysis(direction, user_id, start, end, granularity, currency)

    def GetSpendingAnalysis(self, request: analytics_pb2.GetSpendingAnalysisRequest,
                            context: grpc.ServicerContext) -> analytics_pb2.GetSpendingAnalysisResponse:
        reply = analytics_pb2.GetSpendingAnalysisResponse()
        _fill_analysis(reply.spending_analysis, self._analysis(request, Direction.SPENDING))
        return reply

    def GetIncomeAnalysis(self, request: analytics_pb2.GetIncomeAnalysisRequest,
                          context: grpc.ServicerContext) -> analytics_pb2.GetIncomeAnalysisResponse:
        reply = analytics_pb2.GetIncomeAnalysisResponse()
        _fill_analysis(reply.income_analysis, self._analysis(request, Direction.INCOME))
        return reply

    def GetReport(self, request: analytics_pb2.GetReportRequest,
                  context: grpc.ServicerContext) -> analytics_pb2.GetReportResponse:
        checks = _Checks()
        report_type = request.report_type
        known = report_type in rpt.REPORT_TYPES
        principal = current_principal()
        # Who may ask is settled before what was asked is checked: a customer learns nothing
        # about a platform-wide report's parameters.
        if known and report_type not in rpt.PER_USER_REPORTS:
            require_roles(principal, ROLE_ADMIN, ROLE_COMPLIANCE, ROLE_SERVICE)
        if not known:
            checks.add("report_type", f"must be one of {', '.join(sorted(rpt.REPORT_TYPES))}")
        per_user = report_type in rpt.PER_USER_REPORTS
        if per_user:
            checks.identifier(request.user_id, "user_id")
        elif known and request.user_id:
            checks.add("user_id", f"must be empty for the platform-wide report {report_type}")
        currency = checks.optional_currency(request.currency)
        if known and not per_user and not currency:
            checks.add("currency", "is required for platform-wide reports")
        if request.format not in _FORMATS:
            checks.add("format", "must be REPORT_FORMAT_JSON or REPORT_FORMAT_CSV")
        now = self.service.clock()
        default = last_complete_month(now) if report_type == rpt.MONTHLY_STATEMENT else None
        start, end = checks.time_range(request.time_range, now, MAX_DAILY_SPAN, default=default)
        if not known:
            raise InvalidArgument(f"unknown report type {report_type[:64]!r}", violations=checks.violations,
                                  reason="UNKNOWN_REPORT_TYPE")
        checks.done()
        if per_user:
            require_owner_or_roles(principal, request.user_id, *STAFF_READ_ROLES)
        generated = self.service.report(report_type, request.user_id, start, end, currency)
        report = _report_pb(generated, request.format == analytics_pb2.REPORT_FORMAT_CSV, now)
        log.info("report %s generated: type=%s user=%s by %s", report.id, report_type,
                 request.user_id or "-", principal.subject)
        return analytics_pb2.GetReportResponse(report=report)

    def GetDashboardSeries(self, request: analytics_pb2.GetDashboardSeriesRequest,
                           context: grpc.ServicerContext) -> analytics_pb2.GetDashboardSeriesResponse:
        checks = _Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        if not request.metrics:
            checks.add("metrics", "at least one metric is required")
        for index, metric in enumerate(request.metrics):
            if metric not in _METRICS:
                checks.add(f"metrics[{index}]", "must be a known, specified DashboardMetric")
        currency = checks.optional_currency(request.currency)
        granularity = checks.granularity(request.granularity)
        start, end = checks.time_range(request.time_range, self.service.clock(), max_span(granularity),
                                       lookback=DASHBOARD_LOOKBACK)
        checks.done()
        require_owner_or_roles(current_principal(), user_id, *STAFF_READ_ROLES)
        dashboard = self.service.dashboard(user_id, start, end, granularity, currency)
        reply = analytics_pb2.GetDashboardSeriesResponse(
            user_id=user_id, currency=dashboard.currency,
            granularity=analytics_pb2.Granularity.ValueType(int(granularity)),
            time_range=_range_pb(start, end), as_of_sequence=dashboard.as_of.sequence)
        for metric in request.metrics:
            series = reply.series.add(metric=metric)
            for point in dashboard.points:
                value = {
                    analytics_pb2.DASHBOARD_METRIC_BALANCE: point.closing_balance_minor,
                    analytics_pb2.DASHBOARD_METRIC_SPENDING: point.spending_minor,
                    analytics_pb2.DASHBOARD_METRIC_INCOME: point.income_minor,
                    analytics_pb2.DASHBOARD_METRIC_NET_CASH_FLOW: point.net_minor,
                }[metric]
                series.points.add(start_time=to_timestamp(point.period.start),
                                  end_time=to_timestamp(point.period.end),
                                  value=to_money(value, dashboard.currency))
        return reply

    def GetFeedCheckpoint(self, request: analytics_pb2.GetFeedCheckpointRequest,
                          context: grpc.ServicerContext) -> analytics_pb2.GetFeedCheckpointResponse:
        require_roles(current_principal(), ROLE_SERVICE, ROLE_ADMIN)
        consumer = request.consumer or SUMMARIES_CONSUMER
        if consumer not in CONSUMERS:
            raise NotFound(f"no feed consumer named {consumer[:64]!r} runs here", "CONSUMER_NOT_FOUND")
        checkpoint = self.service.checkpoint(consumer)
        message = analytics_pb2.FeedCheckpoint(
            consumer=checkpoint.consumer, last_sequence=checkpoint.last_sequence,
            applied_count=checkpoint.applied_count, update_time=to_timestamp(checkpoint.update_time))
        if checkpoint.last_entry_time is not None:
            message.last_entry_time.CopyFrom(to_timestamp(checkpoint.last_entry_time))
        return analytics_pb2.GetFeedCheckpointResponse(checkpoint=message)

    # -- custom reports ----------------------------------------------------------------------------------

    def CreateReportDefinition(
            self, request: analytics_pb2.CreateReportDefinitionRequest,
            context: grpc.ServicerContext) -> analytics_pb2.CreateReportDefinitionResponse:
        checks = _Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        request_id = checks.request_id(request.request_id)
        definition = _definition(request.definition, checks)
        checks.done()
        principal = current_principal()
        require_owner_or_roles(principal, user_id, ROLE_ADMIN)
        assert definition is not None
        operation = "CreateReportDefinition"
        body = {"user_id": user_id, "definition": definition.to_json()}
        response = self.service.idempotency.run(
            principal.subject, request_id, operation, request_fingerprint(FINGERPRINT_KEY, operation, body),
            lambda claim: analytics_pb2.CreateReportDefinitionResponse(definition=_definition_pb(
                self.service.create_definition(user_id, request_id, definition, claim))).SerializeToString())
        return analytics_pb2.CreateReportDefinitionResponse.FromString(response)

    def GetReportDefinition(self, request: analytics_pb2.GetReportDefinitionRequest,
                            context: grpc.ServicerContext) -> analytics_pb2.GetReportDefinitionResponse:
        stored = self._stored(request.definition_id)
        return analytics_pb2.GetReportDefinitionResponse(definition=_definition_pb(stored))

    def ListReportDefinitions(self, request: analytics_pb2.ListReportDefinitionsRequest,
                              context: grpc.ServicerContext) -> analytics_pb2.ListReportDefinitionsResponse:
        checks = _Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        checks.done()
        require_owner_or_roles(current_principal(), user_id, ROLE_ADMIN)
        size = api.page_size(request.page_size, default=DEFINITIONS_PAGE_SIZE,
                             maximum=MAX_DEFINITIONS_PAGE_SIZE)
        query = api.query_key("report-definitions", user_id)
        page = api.paginate(
            lambda after, limit: self.service.list_definitions(user_id, after, limit),
            page_token=request.page_token, query=query, size=size,
            position=lambda definition: [definition.create_time.isoformat(), definition.id],
            parse=lambda raw: (datetime.fromisoformat(raw[0]), str(raw[1])))
        return analytics_pb2.ListReportDefinitionsResponse(
            definitions=[_definition_pb(d) for d in page.items], next_page_token=page.next_page_token)

    def DeleteReportDefinition(self, request: analytics_pb2.DeleteReportDefinitionRequest,
                               context: grpc.ServicerContext) -> analytics_pb2.DeleteReportDefinitionResponse:
        checks = _Checks()
        definition_id = checks.identifier(request.definition_id, "definition_id")
        checks.done()
        deleted = self.service.delete_definition(current_principal(), definition_id)
        return analytics_pb2.DeleteReportDefinitionResponse(definition=_definition_pb(deleted))

    def _stored(self, definition_id: str, checks: _Checks | None = None) -> repo.StoredDefinition:
        checks = checks or _Checks()
        checks.identifier(definition_id, "definition_id")
        checks.done()
        return self.service.definition(current_principal(), definition_id)

    def RunCustomReport(self, request: analytics_pb2.RunCustomReportRequest,
                        context: grpc.ServicerContext) -> analytics_pb2.RunCustomReportResponse:
        checks = _Checks()
        if request.format not in _FORMATS:
            checks.add("format", "must be REPORT_FORMAT_JSON or REPORT_FORMAT_CSV")
        stored = self._stored(request.definition_id, checks)
        _, generated = self.service.run_custom(stored)
        as_csv = request.format == analytics_pb2.REPORT_FORMAT_CSV
        report = _report_pb(generated, as_csv, self.service.clock())
        log.info("report %s generated: type=custom definition=%s user=%s by %s", report.id, stored.id,
                 stored.user_id, current_principal().subject)
        return analytics_pb2.RunCustomReportResponse(report=report, definition=_definition_pb(stored))

    def RenderCustomReportChart(
            self, request: analytics_pb2.RenderCustomReportChartRequest,
            context: grpc.ServicerContext) -> analytics_pb2.RenderCustomReportChartResponse:
        checks = _Checks()
        image_format = _image_format(request.image_format, checks)
        if request.measure and request.measure not in {int(m) for m in custom.Measure}:
            checks.add("measure", "must be a known ReportMeasure")
        stored = self._stored(request.definition_id, checks)
        definition, generated = self.service.run_custom(stored)
        measure = custom.Measure(request.measure) if request.measure else definition.measures[0]
        if measure not in definition.measures:
            raise InvalidArgument("the measure is not one of the definition's", field="measure",
                                  description=f"must be one of {[m.name for m in definition.measures]}")
        table = generated.table
        column = next(i for i, c in enumerate(table.columns) if c.name == custom.measure_column(measure).name)
        if definition.grouping is custom.Grouping.CATEGORY:
            labels = [str(row[0]) for row in table.rows]
        else:
            labels = [charts.period_label(row[0]) for row in table.rows if isinstance(row[0], datetime)]
        values = [cell if isinstance(cell := row[column], int) else 0 for row in table.rows]
        currency = None if measure is custom.Measure.COUNT else generated.currency
        title = f"{definition.name}: {table.columns[column].name} ({definition.direction.name.lower()})"
        image = charts.bars(title, labels, [charts.Series(table.columns[column].name, values)], currency,
                            image_format, horizontal=definition.grouping is custom.Grouping.CATEGORY)
        return analytics_pb2.RenderCustomReportChartResponse(
            http_body=httpbody_pb2.HttpBody(content_type=image_format.content_type, data=image))

    def RenderChart(self, request: analytics_pb2.RenderChartRequest,
                    context: grpc.ServicerContext) -> analytics_pb2.RenderChartResponse:
        checks = _Checks()
        image_format = _image_format(request.image_format, checks)
        kind = request.chart
        if kind not in _CHART_KINDS:
            checks.add("chart", "must be a known, specified ChartKind")
        portfolio = kind == analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO
        principal = current_principal()
        if portfolio:
            require_roles(principal, ROLE_ADMIN, ROLE_COMPLIANCE, ROLE_SERVICE)
            if request.user_id:
                checks.add("user_id", "must be empty for the credit portfolio")
            if not request.currency:
                checks.add("currency", "is required for the credit portfolio")
        else:
            checks.identifier(request.user_id, "user_id")
        currency = checks.optional_currency(request.currency)
        granularity = (checks.granularity(request.granularity) if kind == analytics_pb2.CHART_KIND_DASHBOARD
                       else Granularity.MONTH)
        span = max_span(granularity) if kind != analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO else MAX_DAILY_SPAN
        lookback = DASHBOARD_LOOKBACK if kind == analytics_pb2.CHART_KIND_DASHBOARD else DEFAULT_LOOKBACK
        start, end = checks.time_range(request.time_range, self.service.clock(), span, lookback=lookback)
        checks.done()
        if not portfolio:
            require_owner_or_roles(principal, request.user_id, *STAFF_READ_ROLES)
        image = self._chart(kind, request.user_id, start, end, granularity, currency, image_format)
        return analytics_pb2.RenderChartResponse(
            http_body=httpbody_pb2.HttpBody(content_type=image_format.content_type, data=image))

    def _chart(self, kind: int, user_id: str, start: datetime, end: datetime, granularity: Granularity,
               currency: str, image_format: charts.ImageFormat) -> bytes:
        if kind == analytics_pb2.CHART_KIND_SPENDING_BY_CATEGORY:
            analysis = self.service.analysis(Direction.SPENDING, user_id, start, end, granularity, currency)
            cats = analysis.figures.categories
            return charts.bars(f"Spending by category, {_span_label(start, end)}", [c.category for c in cats],
                               [charts.Series("spent", [c.total_minor for c in cats])], analysis.currency,
                               image_format, horizontal=True)
        if kind == analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO:
            generated = self.service.report(rpt.CREDIT_PORTFOLIO, "", start, end, currency)
            names = [c.name for c in generated.table.columns]
            rows = generated.table.rows

            def column(name: str) -> list[int]:
                return [cell if isinstance(cell := row[names.index(name)], int) else 0 for row in rows]

            return charts.bars(f"Credit portfolio, {_span_label(start, end)}", [str(row[0]) for row in rows],
                               [charts.Series("outstanding principal", column("outstanding_principal")),
                                charts.Series("overdue amount", column("overdue_amount"))],
                               currency, image_format)
        dashboard = self.service.dashboard(user_id, start, end, granularity, currency)
        labels = [charts.period_label(p.period.start) for p in dashboard.points]
        if kind == analytics_pb2.CHART_KIND_CASH_FLOW:
            return charts.bars(
                f"Cash flow per month, {_span_label(start, end)}", labels,
                [charts.Series("income", [p.income_minor for p in dashboard.points]),
                 charts.Series("spending", [p.spending_minor for p in dashboard.points])],
                dashboard.currency, image_format,
                line=charts.Series("net cash flow", [p.net_minor for p in dashboard.points]))
        return charts.lines(
            f"Dashboard, {_span_label(start, end)}", labels,
            [charts.Series("balance", [p.closing_balance_minor for p in dashboard.points]),
             charts.Series("spending", [p.spending_minor for p in dashboard.points]),
             charts.Series("income", [p.income_minor for p in dashboard.points]),
             charts.Series("net cash flow", [p.net_minor for p in dashboard.points])],
            dashboard.currency, image_format)


def _span_label(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"


def _image_format(value: int, checks: _Checks) -> charts.ImageFormat:
    if value == analytics_pb2.IMAGE_FORMAT_UNSPECIFIED:
        return charts.ImageFormat.PNG
    if value not in {int(f) for f in charts.ImageFormat}:
        checks.add("image_format", "must be IMAGE_FORMAT_PNG or IMAGE_FORMAT_SVG")
        return charts.ImageFormat.PNG
    return charts.ImageFormat(value)


def _definition(message: analytics_pb2.ReportDefinition, checks: _Checks) -> custom.Definition | None:
    """The definition, every problem added to ``checks`` under its definition.* field; None if invalid."""
    before = len(checks.violations)
    name = checks.text(message.name, "definition.name", max_length=custom.MAX_NAME_LENGTH, required=True)
    bounds = message.time_range
    for end_name in ("start_time", "end_time"):
        if not bounds.HasField(end_name):
            checks.add(f"definition.time_range.{end_name}", "is required")
    start = checks._moment(bounds, "start_time", "definition.time_range")
    end = checks._moment(bounds, "end_time", "definition.time_range")
    if start is not None and end is not None:
        checks.violations.extend(range_violations(start, end, MAX_DAILY_SPAN, "definition.time_range"))
    currency = checks.currency(message.currency, "definition.currency")
    if message.direction not in (analytics_pb2.FLOW_DIRECTION_SPENDING, analytics_pb2.FLOW_DIRECTION_INCOME):
        checks.add("definition.direction", "must be FLOW_DIRECTION_SPENDING or FLOW_DIRECTION_INCOME")
    if message.grouping not in {int(g) for g in custom.Grouping}:
        checks.add("definition.grouping", "must be REPORT_GROUPING_DAY, _WEEK, _MONTH or _CATEGORY")
    if not message.measures:
        checks.add("definition.measures", "at least one measure is required")
    for index, measure in enumerate(message.measures):
        if measure not in {int(m) for m in custom.Measure}:
            checks.add(f"definition.measures[{index}]", "must be REPORT_MEASURE_SUM, _COUNT or _AVERAGE")
        elif measure in message.measures[:index]:
            checks.add(f"definition.measures[{index}]", "is repeated")
    for field_name in ("account_ids", "categories", "counterparties"):
        values = list(getattr(message, field_name))
        if len(values) > custom.MAX_FILTER_VALUES:
            checks.add(f"definition.{field_name}", f"must list at most {custom.MAX_FILTER_VALUES} values")
            continue
        for index, value in enumerate(values):
            checks.identifier(value, f"definition.{field_name}[{index}]")
            if field_name == "categories" and value and categories.normalize(value) != value:
                checks.add(f"definition.categories[{index}]", "must be a category key in lower snake case")
    if len(checks.violations) > before or start is None or end is None:
        return None
    return custom.Definition(
        name=name, start=start, end=end, currency=currency, direction=Direction(message.direction),
        account_ids=tuple(message.account_ids), categories=tuple(message.categories),
        counterparties=tuple(message.counterparties), grouping=custom.Grouping(message.grouping),
        measures=tuple(custom.Measure(m) for m in message.measures))


def _definition_pb(stored: repo.StoredDefinition) -> analytics_pb2.ReportDefinition:
    d = custom.Definition.from_json(stored.definition)
    return analytics_pb2.ReportDefinition(
        id=stored.id, user_id=stored.user_id, name=d.name, time_range=_range_pb(d.start, d.end),
        currency=d.currency, direction=analytics_pb2.FlowDirection.ValueType(int(d.direction)),
        account_ids=d.account_ids, categories=d.categories, counterparties=d.counterparties,
        grouping=analytics_pb2.ReportGrouping.ValueType(int(d.grouping)),
        measures=[analytics_pb2.ReportMeasure.ValueType(int(m)) for m in d.measures],
        create_time=to_timestamp(stored.create_time))
