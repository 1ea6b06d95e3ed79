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
from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc
from nexafi.common.v1 import common_pb2

from services.analytics.consumer import SUMMARIES_CONSUMER
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
from services.analytics.service import Analysis, AnalyticsService, AsOf
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
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.analytics")

DASHBOARD_LOOKBACK = timedelta(days=90)
CONSUMERS = frozenset({SUMMARIES_CONSUMER})
_METRICS = frozenset({analytics_pb2.DASHBOARD_METRIC_BALANCE, analytics_pb2.DASHBOARD_METRIC_SPENDING,
                      analytics_pb2.DASHBOARD_METRIC_INCOME, analytics_pb2.DASHBOARD_METRIC_NET_CASH_FLOW})
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
        report_id = new_id("rpt")
        log.info("report %s generated: type=%s user=%s by %s", report_id, report_type,
                 request.user_id or "-", principal.subject)
        as_csv = request.format == analytics_pb2.REPORT_FORMAT_CSV
        table = generated.table
        report = analytics_pb2.Report(
            id=report_id, report_type=report_type, user_id=generated.user_id,
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
