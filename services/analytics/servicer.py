"""gRPC adapter of the analytics service: validation, authorization, proto <-> domain.

Every request is validated in full first (all field violations at once), then
authorized by the table in access.py (platform-wide reports before their parameters).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import grpc
from google.api import httpbody_pb2
from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from services.analytics import charts
from services.analytics import repository as repo
from services.analytics.access import ACCESS
from services.analytics.consumer import SUMMARIES_CONSUMER
from services.analytics.converters import (
    definition_pb,
    fill_analysis,
    range_pb,
    report_pb,
)
from services.analytics.domain import custom
from services.analytics.domain import reports as rpt
from services.analytics.domain.model import Direction
from services.analytics.domain.periods import (
    DEFAULT_LOOKBACK,
    MAX_DAILY_SPAN,
    Granularity,
    last_complete_month,
    max_span,
)
from services.analytics.service import Analysis, AnalyticsService, no_definition
from services.analytics.validation import Checks, checked_image_format, definition_from_pb
from services.runtime import api
from services.runtime.api import to_money, to_timestamp
from services.runtime.auth import current_principal
from services.runtime.errors import InvalidArgument, NotFound
from services.runtime.request_keys import RequestKeys

log = logging.getLogger("nexafi.analytics")

DASHBOARD_LOOKBACK = timedelta(days=90)
CONSUMERS = frozenset({SUMMARIES_CONSUMER})
_METRICS = frozenset(
    {
        analytics_pb2.DASHBOARD_METRIC_BALANCE,
        analytics_pb2.DASHBOARD_METRIC_SPENDING,
        analytics_pb2.DASHBOARD_METRIC_INCOME,
        analytics_pb2.DASHBOARD_METRIC_NET_CASH_FLOW,
    }
)
_CHART_KINDS = frozenset(
    {
        analytics_pb2.CHART_KIND_DASHBOARD,
        analytics_pb2.CHART_KIND_SPENDING_BY_CATEGORY,
        analytics_pb2.CHART_KIND_CASH_FLOW,
        analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO,
    }
)
DEFINITIONS_PAGE_SIZE = 50
MAX_DEFINITIONS_PAGE_SIZE = 200
_FORMATS = frozenset(
    {
        analytics_pb2.REPORT_FORMAT_UNSPECIFIED,
        analytics_pb2.REPORT_FORMAT_JSON,
        analytics_pb2.REPORT_FORMAT_CSV,
    }
)


AnalysisRequest = analytics_pb2.GetSpendingAnalysisRequest | analytics_pb2.GetIncomeAnalysisRequest


class AnalyticsServicer(analytics_pb2_grpc.AnalyticsServiceServicer):
    def __init__(self, service: AnalyticsService, fingerprint_key: bytes) -> None:
        """``fingerprint_key`` keys CreateReportDefinition's request fingerprints
        (services.runtime.fingerprints), the same on every replica."""
        self.service = service
        self.fingerprint_key = fingerprint_key

    def _analysis(self, rpc: str, request: AnalysisRequest, direction: Direction) -> Analysis:
        checks = Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        currency = checks.optional_currency(request.currency)
        granularity = checks.granularity(request.granularity)
        start, end = checks.time_range(request.time_range, self.service.clock(), max_span(granularity))
        checks.done()
        ACCESS.check(rpc, current_principal(), user_id)
        return self.service.analysis(direction, user_id, start, end, granularity, currency)

    def GetSpendingAnalysis(
        self, request: analytics_pb2.GetSpendingAnalysisRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.GetSpendingAnalysisResponse:
        reply = analytics_pb2.GetSpendingAnalysisResponse()
        fill_analysis(
            reply.spending_analysis, self._analysis("GetSpendingAnalysis", request, Direction.SPENDING)
        )
        return reply

    def GetIncomeAnalysis(
        self, request: analytics_pb2.GetIncomeAnalysisRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.GetIncomeAnalysisResponse:
        reply = analytics_pb2.GetIncomeAnalysisResponse()
        fill_analysis(reply.income_analysis, self._analysis("GetIncomeAnalysis", request, Direction.INCOME))
        return reply

    def GetReport(
        self, request: analytics_pb2.GetReportRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.GetReportResponse:
        checks = Checks()
        report_type = request.report_type
        known = report_type in rpt.REPORT_TYPES
        principal = current_principal()
        # Who may ask is settled before what was asked is checked: a customer learns nothing
        # about a platform-wide report's parameters.
        if known and report_type not in rpt.PER_USER_REPORTS:
            ACCESS.check("GetReport", principal, case="platform")
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
            raise InvalidArgument(
                f"unknown report type {report_type[:64]!r}",
                violations=checks.violations,
                reason="UNKNOWN_REPORT_TYPE",
            )
        checks.done()
        if per_user:
            ACCESS.check("GetReport", principal, request.user_id, case="per_user")
        generated = self.service.report(report_type, request.user_id, start, end, currency)
        report = report_pb(generated, request.format == analytics_pb2.REPORT_FORMAT_CSV, now)
        log.info(
            "report %s generated: type=%s user=%s by %s",
            report.id,
            report_type,
            request.user_id or "-",
            principal.subject,
        )
        return analytics_pb2.GetReportResponse(report=report)

    def GetDashboardSeries(
        self, request: analytics_pb2.GetDashboardSeriesRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.GetDashboardSeriesResponse:
        checks = Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        if not request.metrics:
            checks.add("metrics", "at least one metric is required")
        for index, metric in enumerate(request.metrics):
            if metric not in _METRICS:
                checks.add(f"metrics[{index}]", "must be a known, specified DashboardMetric")
        currency = checks.optional_currency(request.currency)
        granularity = checks.granularity(request.granularity)
        start, end = checks.time_range(
            request.time_range, self.service.clock(), max_span(granularity), lookback=DASHBOARD_LOOKBACK
        )
        checks.done()
        ACCESS.check("GetDashboardSeries", current_principal(), user_id)
        dashboard = self.service.dashboard(user_id, start, end, granularity, currency)
        reply = analytics_pb2.GetDashboardSeriesResponse(
            user_id=user_id,
            currency=dashboard.currency,
            granularity=api.to_enum(analytics_pb2.Granularity, granularity),
            time_range=range_pb(start, end),
            as_of_sequence=dashboard.as_of.sequence,
        )
        for metric in request.metrics:
            series = reply.series.add(metric=metric)
            for point in dashboard.points:
                value = {
                    analytics_pb2.DASHBOARD_METRIC_BALANCE: point.closing_balance_minor,
                    analytics_pb2.DASHBOARD_METRIC_SPENDING: point.spending_minor,
                    analytics_pb2.DASHBOARD_METRIC_INCOME: point.income_minor,
                    analytics_pb2.DASHBOARD_METRIC_NET_CASH_FLOW: point.net_minor,
                }[metric]
                series.points.add(
                    start_time=to_timestamp(point.period.start),
                    end_time=to_timestamp(point.period.end),
                    value=to_money(value, dashboard.currency),
                )
        return reply

    def GetFeedCheckpoint(
        self, request: analytics_pb2.GetFeedCheckpointRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.GetFeedCheckpointResponse:
        ACCESS.check("GetFeedCheckpoint", current_principal())
        consumer = request.consumer or SUMMARIES_CONSUMER
        if consumer not in CONSUMERS:
            raise NotFound(f"no feed consumer named {consumer[:64]!r} runs here", "CONSUMER_NOT_FOUND")
        checkpoint = self.service.checkpoint(consumer)
        message = analytics_pb2.FeedCheckpoint(
            consumer=checkpoint.consumer,
            last_sequence=checkpoint.last_sequence,
            applied_count=checkpoint.applied_count,
            update_time=to_timestamp(checkpoint.update_time),
        )
        if checkpoint.last_entry_time is not None:
            message.last_entry_time.CopyFrom(to_timestamp(checkpoint.last_entry_time))
        return analytics_pb2.GetFeedCheckpointResponse(checkpoint=message)

    # -- custom reports ----------------------------------------------------------------------------------

    def CreateReportDefinition(
        self, request: analytics_pb2.CreateReportDefinitionRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.CreateReportDefinitionResponse:
        checks = Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        request_id = checks.request_id(request.request_id)
        definition = definition_from_pb(request.definition, checks)
        checks.done()
        principal = current_principal()
        ACCESS.check("CreateReportDefinition", principal, user_id)
        assert definition is not None
        operation = "CreateReportDefinition"
        body = {"user_id": user_id, "definition": definition.to_json()}
        return RequestKeys(self.service.idempotency, self.fingerprint_key).respond(
            principal.subject,
            request_id,
            operation,
            body,
            analytics_pb2.CreateReportDefinitionResponse,
            lambda claim: analytics_pb2.CreateReportDefinitionResponse(
                definition=definition_pb(
                    self.service.create_definition(user_id, request_id, definition, claim)
                )
            ),
        )

    def GetReportDefinition(
        self, request: analytics_pb2.GetReportDefinitionRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.GetReportDefinitionResponse:
        stored = self._stored("GetReportDefinition", request.definition_id)
        return analytics_pb2.GetReportDefinitionResponse(definition=definition_pb(stored))

    def ListReportDefinitions(
        self, request: analytics_pb2.ListReportDefinitionsRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.ListReportDefinitionsResponse:
        checks = Checks()
        user_id = checks.identifier(request.user_id, "user_id")
        checks.done()
        ACCESS.check("ListReportDefinitions", current_principal(), user_id)
        size = api.page_size(
            request.page_size, default=DEFINITIONS_PAGE_SIZE, maximum=MAX_DEFINITIONS_PAGE_SIZE
        )
        query = api.query_key("report-definitions", user_id)
        page = api.paginate_by_time(
            lambda after, limit: self.service.list_definitions(user_id, after, limit),
            page_token=request.page_token,
            query=query,
            size=size,
            key=lambda definition: definition.id,
            parse_key=api.as_str,
        )
        return analytics_pb2.ListReportDefinitionsResponse(
            definitions=[definition_pb(d) for d in page.items], next_page_token=page.next_page_token
        )

    def DeleteReportDefinition(
        self, request: analytics_pb2.DeleteReportDefinitionRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.DeleteReportDefinitionResponse:
        deleted = self.service.delete_definition(
            self._stored("DeleteReportDefinition", request.definition_id)
        )
        return analytics_pb2.DeleteReportDefinitionResponse(definition=definition_pb(deleted))

    def _stored(self, rpc: str, definition_id: str, checks: Checks | None = None) -> repo.StoredDefinition:
        """The definition, for whom ``rpc``'s rule lets see it; NOT_FOUND for anyone else, as for a
        missing one."""
        checks = checks or Checks()
        checks.identifier(definition_id, "definition_id")
        checks.done()
        stored = self.service.definition(definition_id)
        ACCESS.check(rpc, current_principal(), stored.user_id, hidden_as=no_definition(definition_id))
        return stored

    def RunCustomReport(
        self, request: analytics_pb2.RunCustomReportRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.RunCustomReportResponse:
        checks = Checks()
        if request.format not in _FORMATS:
            checks.add("format", "must be REPORT_FORMAT_JSON or REPORT_FORMAT_CSV")
        stored = self._stored("RunCustomReport", request.definition_id, checks)
        _, generated = self.service.run_custom(stored)
        as_csv = request.format == analytics_pb2.REPORT_FORMAT_CSV
        report = report_pb(generated, as_csv, self.service.clock())
        log.info(
            "report %s generated: type=custom definition=%s user=%s by %s",
            report.id,
            stored.id,
            stored.user_id,
            current_principal().subject,
        )
        return analytics_pb2.RunCustomReportResponse(report=report, definition=definition_pb(stored))

    def RenderCustomReportChart(
        self, request: analytics_pb2.RenderCustomReportChartRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.RenderCustomReportChartResponse:
        checks = Checks()
        image_format = checked_image_format(request.image_format, checks)
        if request.measure and request.measure not in {int(m) for m in custom.Measure}:
            checks.add("measure", "must be a known ReportMeasure")
        stored = self._stored("RenderCustomReportChart", request.definition_id, checks)
        definition, generated = self.service.run_custom(stored)
        measure = custom.Measure(request.measure) if request.measure else definition.measures[0]
        if measure not in definition.measures:
            raise InvalidArgument(
                "the measure is not one of the definition's",
                field="measure",
                description=f"must be one of {[m.name for m in definition.measures]}",
            )
        table = generated.table
        column = next(i for i, c in enumerate(table.columns) if c.name == custom.measure_column(measure).name)
        if definition.grouping is custom.Grouping.CATEGORY:
            labels = [str(row[0]) for row in table.rows]
        else:
            labels = [charts.period_label(row[0]) for row in table.rows if isinstance(row[0], datetime)]
        values = [cell if isinstance(cell := row[column], int) else 0 for row in table.rows]
        currency = None if measure is custom.Measure.COUNT else generated.currency
        title = f"{definition.name}: {table.columns[column].name} ({definition.direction.name.lower()})"
        image = charts.bars(
            title,
            labels,
            [charts.Series(table.columns[column].name, values)],
            currency,
            image_format,
            horizontal=definition.grouping is custom.Grouping.CATEGORY,
        )
        return analytics_pb2.RenderCustomReportChartResponse(
            http_body=httpbody_pb2.HttpBody(content_type=image_format.content_type, data=image)
        )

    def RenderChart(
        self, request: analytics_pb2.RenderChartRequest, context: grpc.ServicerContext
    ) -> analytics_pb2.RenderChartResponse:
        checks = Checks()
        image_format = checked_image_format(request.image_format, checks)
        kind = request.chart
        if kind not in _CHART_KINDS:
            checks.add("chart", "must be a known, specified ChartKind")
        portfolio = kind == analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO
        principal = current_principal()
        if portfolio:
            ACCESS.check("RenderChart", principal, case="platform")
            if request.user_id:
                checks.add("user_id", "must be empty for the credit portfolio")
            if not request.currency:
                checks.add("currency", "is required for the credit portfolio")
        else:
            checks.identifier(request.user_id, "user_id")
        currency = checks.optional_currency(request.currency)
        granularity = (
            checks.granularity(request.granularity)
            if kind == analytics_pb2.CHART_KIND_DASHBOARD
            else Granularity.MONTH
        )
        span = max_span(granularity) if kind != analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO else MAX_DAILY_SPAN
        lookback = DASHBOARD_LOOKBACK if kind == analytics_pb2.CHART_KIND_DASHBOARD else DEFAULT_LOOKBACK
        start, end = checks.time_range(request.time_range, self.service.clock(), span, lookback=lookback)
        checks.done()
        if not portfolio:
            ACCESS.check("RenderChart", principal, request.user_id, case="per_user")
        image = self._chart(kind, request.user_id, start, end, granularity, currency, image_format)
        return analytics_pb2.RenderChartResponse(
            http_body=httpbody_pb2.HttpBody(content_type=image_format.content_type, data=image)
        )

    def _chart(
        self,
        kind: int,
        user_id: str,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        currency: str,
        image_format: charts.ImageFormat,
    ) -> bytes:
        if kind == analytics_pb2.CHART_KIND_SPENDING_BY_CATEGORY:
            analysis = self.service.analysis(Direction.SPENDING, user_id, start, end, granularity, currency)
            cats = analysis.figures.categories
            return charts.bars(
                f"Spending by category, {_span_label(start, end)}",
                [c.category for c in cats],
                [charts.Series("spent", [c.total_minor for c in cats])],
                analysis.currency,
                image_format,
                horizontal=True,
            )
        if kind == analytics_pb2.CHART_KIND_CREDIT_PORTFOLIO:
            generated = self.service.report(rpt.CREDIT_PORTFOLIO, "", start, end, currency)
            names = [c.name for c in generated.table.columns]
            rows = generated.table.rows

            def column(name: str) -> list[int]:
                return [cell if isinstance(cell := row[names.index(name)], int) else 0 for row in rows]

            return charts.bars(
                f"Credit portfolio, {_span_label(start, end)}",
                [str(row[0]) for row in rows],
                [
                    charts.Series("outstanding principal", column("outstanding_principal")),
                    charts.Series("overdue amount", column("overdue_amount")),
                ],
                currency,
                image_format,
            )
        dashboard = self.service.dashboard(user_id, start, end, granularity, currency)
        labels = [charts.period_label(p.period.start) for p in dashboard.points]
        if kind == analytics_pb2.CHART_KIND_CASH_FLOW:
            return charts.bars(
                f"Cash flow per month, {_span_label(start, end)}",
                labels,
                [
                    charts.Series("income", [p.income_minor for p in dashboard.points]),
                    charts.Series("spending", [p.spending_minor for p in dashboard.points]),
                ],
                dashboard.currency,
                image_format,
                line=charts.Series("net cash flow", [p.net_minor for p in dashboard.points]),
            )
        return charts.lines(
            f"Dashboard, {_span_label(start, end)}",
            labels,
            [
                charts.Series("balance", [p.closing_balance_minor for p in dashboard.points]),
                charts.Series("spending", [p.spending_minor for p in dashboard.points]),
                charts.Series("income", [p.income_minor for p in dashboard.points]),
                charts.Series("net cash flow", [p.net_minor for p in dashboard.points]),
            ],
            dashboard.currency,
            image_format,
        )


def _span_label(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
