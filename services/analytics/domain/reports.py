"""Reports as typed columns and rows, and their RFC 4180 CSV rendering.

A report is built once as typed cells; JSON and CSV are two renderings of the
same rows. CSV money is a decimal string in major units with the currency's
exponent ("12.34", "-5", "1.250"), timestamps are RFC 3339 in UTC.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.runtime.money import CURRENCY_EXPONENTS

MONTHLY_STATEMENT = "monthly_statement"
CASH_FLOW = "cash_flow"
TRIAL_BALANCE = "trial_balance"
PAYMENT_VOLUMES = "payment_volumes"
CREDIT_PORTFOLIO = "credit_portfolio"
PER_USER_REPORTS = frozenset({MONTHLY_STATEMENT, CASH_FLOW})
PLATFORM_REPORTS = frozenset({TRIAL_BALANCE, PAYMENT_VOLUMES, CREDIT_PORTFOLIO})
REPORT_TYPES = PER_USER_REPORTS | PLATFORM_REPORTS
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


class ColumnType(enum.IntEnum):
    """The contract's ReportColumnType numbers."""

    STRING = 1
    MONEY = 2
    INTEGER = 3
    TIMESTAMP = 4
    BASIS_POINTS = 5


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str


# A cell: text, a whole number (INTEGER, BASIS_POINTS and MONEY in minor units), an instant, or empty.
Cell = str | int | datetime | None


@dataclass
class Table:
    """A report's content in one currency: columns, rows in natural order, an optional totals row."""

    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    totals: list[Cell] | None = None

    def add(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))


def decimal_string(amount_minor: int, currency: str) -> str:
    """Minor units as an exact decimal in major units, for example 1234 EUR -> "12.34"."""
    exponent = CURRENCY_EXPONENTS.get(currency, 2)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}" if exponent else f"{sign}{whole}"


def _csv_cell(cell: Cell, column: Column, currency: str) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if column.type is ColumnType.MONEY and isinstance(cell, int):
        return decimal_string(cell, currency)
    return str(cell)


def to_csv(table: Table, currency: str) -> str:
    """RFC 4180 CSV: header row of column names, the rows, then the totals row if any (CRLF lines)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in table.columns])
    rows: Sequence[list[Cell]] = [*table.rows, *([table.totals] if table.totals is not None else [])]
    for row in rows:
        writer.writerow(
            [_csv_cell(cell, column, currency) for cell, column in zip(row, table.columns, strict=True)]
        )
    return out.getvalue()
