"""The built-in reports' tables: columns, rows and totals drawn from the summaries' figures
(account statement, cash flow, transaction volumes) and the credit service's loan book."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from services.analytics import repository as repo
from services.analytics.domain import reports as rpt
from services.analytics.domain.analysis import CashFlowPoint
from services.analytics.domain.ledger_types import TransactionType, label
from services.analytics.domain.model import Direction
from services.analytics.domain.portfolio import Portfolio, StatusFigures
from services.analytics.domain.reports import Column, ColumnType, Table


def statement_table(lines: Sequence[repo.FlowLine], start: datetime, opening: int) -> Table:
    table = Table(
        [
            Column("time", ColumnType.TIMESTAMP, "When the ledger recorded the entry."),
            Column("transaction_id", ColumnType.STRING, "The ledger entry."),
            Column("category", ColumnType.STRING, "The entry's category."),
            Column("description", ColumnType.STRING, "The entry's description."),
            Column("money_in", ColumnType.MONEY, "The amount received."),
            Column("money_out", ColumnType.MONEY, "The amount spent."),
            Column("balance", ColumnType.MONEY, "The user's balance in the currency after the entry."),
        ]
    )
    balance = opening
    table.add(start, None, None, "Opening balance", None, None, balance)
    money_in = money_out = 0
    for line in lines:
        incoming = line.direction is Direction.INCOME
        balance += line.amount_minor if incoming else -line.amount_minor
        money_in += line.amount_minor if incoming else 0
        money_out += 0 if incoming else line.amount_minor
        table.add(
            line.occurred_at,
            line.transaction_id,
            line.category,
            line.description,
            line.amount_minor if incoming else None,
            None if incoming else line.amount_minor,
            balance,
        )
    table.totals = [None, None, None, "Closing balance", money_in, money_out, balance]
    return table


def cash_flow_table(points: Sequence[CashFlowPoint]) -> Table:
    table = Table(
        [
            Column("period_start", ColumnType.TIMESTAMP, "The start of the month (clipped to the range)."),
            Column(
                "period_end", ColumnType.TIMESTAMP, "The exclusive end of the month (clipped to the range)."
            ),
            Column("income", ColumnType.MONEY, "Money received in the period."),
            Column("spending", ColumnType.MONEY, "Money spent in the period."),
            Column("net_cash_flow", ColumnType.MONEY, "Income minus spending."),
            Column("income_count", ColumnType.INTEGER, "Incoming ledger entries."),
            Column("spending_count", ColumnType.INTEGER, "Outgoing ledger entries."),
            Column("closing_balance", ColumnType.MONEY, "The balance at the end of the period."),
        ]
    )
    for p in points:
        table.add(
            p.period.start,
            p.period.end,
            p.income_minor,
            p.spending_minor,
            p.net_minor,
            p.income_count,
            p.spending_count,
            p.closing_balance_minor,
        )
    income = sum(p.income_minor for p in points)
    spending = sum(p.spending_minor for p in points)
    table.totals = [
        None,
        None,
        income,
        spending,
        income - spending,
        sum(p.income_count for p in points),
        sum(p.spending_count for p in points),
        points[-1].closing_balance_minor if points else None,
    ]
    return table


def volumes_table(rows: Sequence[repo.VolumeRow], currency: str) -> Table:
    table = Table(
        [
            Column("day", ColumnType.TIMESTAMP, "The UTC day."),
            Column("transaction_type", ColumnType.STRING, "The ledger transaction type."),
            Column("entry_count", ColumnType.INTEGER, "Ledger entries of the type that day."),
            Column("volume", ColumnType.MONEY, f"The sum of their headline amounts in {currency}."),
        ]
    )
    for row in rows:
        table.add(
            datetime(row.day.year, row.day.month, row.day.day, tzinfo=UTC),
            label(TransactionType, row.type),
            row.entry_count,
            row.volume_minor,
        )
    table.totals = [None, "total", sum(r.entry_count for r in rows), sum(r.volume_minor for r in rows)]
    return table


def portfolio_cells(figures: StatusFigures) -> list[rpt.Cell]:
    return [
        figures.application_count,
        figures.approved_minor,
        figures.disbursed_minor,
        figures.outstanding_minor,
        figures.interest_repaid_minor,
        figures.overdue_installments,
        figures.overdue_minor,
    ]


def portfolio_table(portfolio: Portfolio) -> Table:
    table = Table(
        [
            Column("status", ColumnType.STRING, "The applications' current status."),
            Column("application_count", ColumnType.INTEGER, "Applications submitted in the range."),
            Column("approved_principal", ColumnType.MONEY, "The principal approved (offered) to them."),
            Column("disbursed_principal", ColumnType.MONEY, "The principal paid out to the borrowers."),
            Column("outstanding_principal", ColumnType.MONEY, "Disbursed principal not repaid yet."),
            Column("interest_repaid", ColumnType.MONEY, "Interest received with repayments."),
            Column(
                "overdue_installments",
                ColumnType.INTEGER,
                "Installments of disbursed loans due before the range's end and not fully paid.",
            ),
            Column("overdue_amount", ColumnType.MONEY, "What those installments still owe."),
        ]
    )
    for row in portfolio.rows():
        assert row.status is not None
        table.add(row.status.name.lower(), *portfolio_cells(row))
    table.totals = ["total", *portfolio_cells(portfolio.total())]
    return table
