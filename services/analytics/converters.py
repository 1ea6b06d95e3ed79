"""Analytics' domain results as protobuf messages: analyses, reports and their cells, definitions."""

from __future__ import annotations

from datetime import datetime

from nexafi.analytics.v1 import analytics_pb2
from nexafi.common.v1 import common_pb2

from services.analytics import repository as repo
from services.analytics.domain import custom
from services.analytics.domain import reports as rpt
from services.analytics.domain.analysis import Figures
from services.analytics.domain.reports import ColumnType, Table
from services.analytics.service import Analysis, AsOf, GeneratedReport
from services.runtime.api import to_enum, to_money, to_timestamp
from services.runtime.ids import new_id


def range_pb(start: datetime, end: datetime) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_time=to_timestamp(start), end_time=to_timestamp(end))


def fill_analysis(
    message: analytics_pb2.SpendingAnalysis | analytics_pb2.IncomeAnalysis, analysis: Analysis
) -> None:
    currency = analysis.currency
    f: Figures = analysis.figures
    message.user_id = analysis.user_id
    message.time_range.CopyFrom(range_pb(analysis.start, analysis.end))
    message.granularity = to_enum(analytics_pb2.Granularity, analysis.granularity)
    message.currency = currency
    message.total.CopyFrom(to_money(f.total_minor, currency))
    message.transaction_count = f.entry_count
    for c in f.categories:
        item = message.categories.add(
            category=c.category,
            total=to_money(c.total_minor, currency),
            transaction_count=c.entry_count,
            share_bps=c.share_bps,
        )
        if c.change_bps is not None:
            item.change_bps = c.change_bps
    for p in f.periods:
        message.periods.add(
            start_time=to_timestamp(p.period.start),
            end_time=to_timestamp(p.period.end),
            total=to_money(p.total_minor, currency),
            transaction_count=p.entry_count,
        )
    message.average_per_period.CopyFrom(to_money(f.average_minor, currency))
    message.previous_time_range.CopyFrom(range_pb(analysis.previous_start, analysis.previous_end))
    message.previous_total.CopyFrom(to_money(f.previous_total_minor, currency))
    if f.change_bps is not None:
        message.change_bps = f.change_bps
    fill_as_of(message, analysis.as_of)


def fill_as_of(message: analytics_pb2.SpendingAnalysis | analytics_pb2.IncomeAnalysis, as_of: AsOf) -> None:
    message.as_of_sequence = as_of.sequence
    if as_of.time is not None:
        message.as_of_time.CopyFrom(to_timestamp(as_of.time))


def cell_pb(cell: rpt.Cell, column_type: ColumnType, currency: str) -> analytics_pb2.ReportCell:
    if cell is None:
        return analytics_pb2.ReportCell()
    if isinstance(cell, datetime):
        return analytics_pb2.ReportCell(time_value=to_timestamp(cell))
    if isinstance(cell, str):
        return analytics_pb2.ReportCell(string_value=cell)
    if column_type is ColumnType.MONEY:
        return analytics_pb2.ReportCell(money_value=to_money(cell, currency))
    return analytics_pb2.ReportCell(int_value=cell)


def row_pb(cells: list[rpt.Cell], table: Table, currency: str) -> analytics_pb2.ReportRow:
    return analytics_pb2.ReportRow(
        cells=[
            cell_pb(cell, column.type, currency) for cell, column in zip(cells, table.columns, strict=True)
        ]
    )


def report_pb(generated: GeneratedReport, as_csv: bool, now: datetime) -> analytics_pb2.Report:
    """A generated report as the contract's Report, with an "rpt_" id; CSV content when asked."""
    table = generated.table
    report = analytics_pb2.Report(
        id=new_id("rpt"),
        report_type=generated.report_type,
        user_id=generated.user_id,
        time_range=range_pb(generated.start, generated.end),
        currency=generated.currency,
        format=analytics_pb2.REPORT_FORMAT_CSV if as_csv else analytics_pb2.REPORT_FORMAT_JSON,
        columns=[
            analytics_pb2.ReportColumn(
                name=c.name, type=to_enum(analytics_pb2.ReportColumnType, c.type), description=c.description
            )
            for c in table.columns
        ],
        rows=[row_pb(row, table, generated.currency) for row in table.rows],
        as_of_sequence=generated.as_of.sequence,
        create_time=to_timestamp(now),
    )
    if table.totals is not None:
        report.totals.CopyFrom(row_pb(table.totals, table, generated.currency))
    if as_csv:
        report.content = rpt.to_csv(table, generated.currency)
        report.content_type = rpt.CSV_CONTENT_TYPE
    return report


def definition_pb(stored: repo.StoredDefinition) -> analytics_pb2.ReportDefinition:
    d = custom.Definition.from_json(stored.definition)
    return analytics_pb2.ReportDefinition(
        id=stored.id,
        user_id=stored.user_id,
        name=d.name,
        time_range=range_pb(d.start, d.end),
        currency=d.currency,
        direction=to_enum(analytics_pb2.FlowDirection, d.direction),
        account_ids=d.account_ids,
        categories=d.categories,
        counterparties=d.counterparties,
        grouping=to_enum(analytics_pb2.ReportGrouping, d.grouping),
        measures=[to_enum(analytics_pb2.ReportMeasure, m) for m in d.measures],
        create_time=to_timestamp(stored.create_time),
    )
