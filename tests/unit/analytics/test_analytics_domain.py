"""The analytics domain rules without I/O: flows, categories, periods, figures, ratios, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from services.analytics.domain import categories
from services.analytics.domain.analysis import DayRow, cash_flow, figures, pick_currency, previous_range
from services.analytics.domain.ledger_types import AccountType, PostingDirection, TransactionType
from services.analytics.domain.model import AccountInfo, Direction, Entry, Flow, Posting, flows_of
from services.analytics.domain.periods import (
    Granularity,
    average,
    change_bps,
    last_complete_month,
    periods,
    range_violations,
    resolve_range,
    share_bps,
)
from services.analytics.domain.reports import Column, ColumnType, Table, decimal_string, to_csv

T0 = datetime(2026, 3, 14, 12, 30, tzinfo=UTC)
LIABILITY, ASSET = AccountType.LIABILITY, AccountType.ASSET
DEBIT, CREDIT = PostingDirection.DEBIT, PostingDirection.CREDIT

ACCOUNTS = {
    "acc_alice": AccountInfo("acc_alice", "usr_alice", LIABILITY, "EUR"),
    "acc_alice_savings": AccountInfo("acc_alice_savings", "usr_alice", LIABILITY, "EUR"),
    "acc_bob": AccountInfo("acc_bob", "usr_bob", LIABILITY, "EUR"),
    "acc_cash": AccountInfo("acc_cash", "system", ASSET, "EUR"),
}


def entry(type_: int, legs: list[tuple[str, int, int]], metadata: dict[str, str] | None = None) -> Entry:
    return Entry(
        "txn_1",
        7,
        type_,
        T0,
        "",
        legs[0][2],
        "EUR",
        [Posting(account, side, amount, "EUR") for account, side, amount in legs],
        metadata or {},
    )


# -- flows -----------------------------------------------------------------------------------------


def test_a_transfer_is_spending_for_the_payer_and_income_for_the_payee() -> None:
    legs = [("acc_alice", DEBIT, 500), ("acc_bob", CREDIT, 500)]
    flows = flows_of(entry(TransactionType.TRANSFER, legs), ACCOUNTS)
    assert flows == [
        Flow("usr_alice", "EUR", Direction.SPENDING, 500, "transfer_out"),
        Flow("usr_bob", "EUR", Direction.INCOME, 500, "transfer_in"),
    ]


def test_a_deposit_credits_the_wallet_and_system_accounts_are_not_users() -> None:
    legs = [("acc_cash", DEBIT, 900), ("acc_alice", CREDIT, 900)]
    flows = flows_of(entry(TransactionType.DEPOSIT, legs), ACCOUNTS)
    assert flows == [Flow("usr_alice", "EUR", Direction.INCOME, 900, "top_up")]


def test_moving_money_between_own_accounts_is_neither_spending_nor_income() -> None:
    legs = [("acc_alice", DEBIT, 300), ("acc_alice_savings", CREDIT, 300)]
    assert flows_of(entry(TransactionType.TRANSFER, legs), ACCOUNTS) == []


def test_a_loan_is_income_once_and_its_repayment_spending_once() -> None:
    # The credit service books a loan receivable as an ASSET owned by the borrower: the user's
    # debt to the platform, not their money, so only the wallet's movements count.
    accounts = {
        **ACCOUNTS,
        "acc_loan": AccountInfo("acc_loan", "usr_alice", ASSET, "EUR"),
        "acc_interest": AccountInfo("acc_interest", "system", 4, "EUR"),
    }
    payout = entry(
        TransactionType.LOAN_DISBURSEMENT, [("acc_loan", DEBIT, 100_000), ("acc_alice", CREDIT, 100_000)]
    )
    assert [(f.direction, f.amount_minor) for f in flows_of(payout, accounts)] == [
        (Direction.INCOME, 100_000)
    ]
    repayment = entry(
        TransactionType.LOAN_REPAYMENT,
        [("acc_alice", DEBIT, 10_000), ("acc_loan", CREDIT, 9_000), ("acc_interest", CREDIT, 1_000)],
    )
    assert [(f.direction, f.amount_minor) for f in flows_of(repayment, accounts)] == [
        (Direction.SPENDING, 10_000)
    ]


def test_an_unknown_account_is_never_guessed() -> None:
    with pytest.raises(KeyError):
        flows_of(entry(TransactionType.TRANSFER, [("acc_x", DEBIT, 1), ("acc_bob", CREDIT, 1)]), ACCOUNTS)


# -- categories ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "metadata", "spending", "expected"),
    [
        (TransactionType.PAYMENT, {"category": " Eating Out! "}, True, "eating_out"),
        (TransactionType.PAYMENT, {"category": "!!!", "mcc": "5411"}, True, "groceries"),
        (TransactionType.PAYMENT, {"mcc": "5812"}, True, "restaurants"),
        (TransactionType.PAYMENT, {"merchant_category_code": "5999"}, True, "shopping"),
        (TransactionType.PAYMENT, {"mcc": "9402"}, True, "merchant_other"),
        (TransactionType.PAYMENT, {"mcc": "54x1"}, True, "payment"),
        (TransactionType.DEPOSIT, {"category": "salary"}, False, "salary"),
        (TransactionType.REFUND, {}, False, "refund"),
        (TransactionType.REVERSAL, {}, False, "refund"),
        (TransactionType.REVERSAL, {}, True, "reversal"),
        (TransactionType.FEE, {}, True, "fees"),
        (TransactionType.LOAN_DISBURSEMENT, {}, False, "loan"),
        (0, {}, True, "uncategorized"),
    ],
)
def test_category_rule(type_: int, metadata: dict[str, str], spending: bool, expected: str) -> None:
    assert categories.categorize(type_, metadata, spending=spending) == expected


def test_categories_are_bounded_in_length() -> None:
    assert len(categories.normalize("x" * 100)) == categories.MAX_CATEGORY_LENGTH


# -- periods and ranges ----------------------------------------------------------------------------


def test_periods_are_utc_aligned_and_clipped_to_the_range() -> None:
    start, end = datetime(2026, 1, 30, 6, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    months = periods(start, end, Granularity.MONTH)
    assert [(p.start, p.end) for p in months] == [
        (start, datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        (datetime(2026, 3, 1, tzinfo=UTC), end),
    ]
    weeks = periods(datetime(2026, 3, 4, tzinfo=UTC), datetime(2026, 3, 17, tzinfo=UTC), Granularity.WEEK)
    assert [p.start.weekday() for p in weeks[1:]] == [0, 0]  # Mondays
    assert len(periods(start, start + timedelta(days=3), Granularity.DAY)) == 4
    december = periods(datetime(2025, 12, 5, tzinfo=UTC), datetime(2026, 1, 5, tzinfo=UTC), Granularity.MONTH)
    assert december[1].start == datetime(2026, 1, 1, tzinfo=UTC)


def test_range_defaults_and_limits() -> None:
    assert resolve_range(None, None, T0) == (T0 - timedelta(days=30), T0)
    assert resolve_range(None, T0, T0 + timedelta(days=5)) == (T0 - timedelta(days=30), T0)
    assert last_complete_month(datetime(2026, 1, 15, tzinfo=UTC)) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert [v.field for v in range_violations(T0, T0, timedelta(days=1))] == ["time_range.end_time"]
    assert [v.field for v in range_violations(T0, T0 + timedelta(days=2), timedelta(days=1))] == [
        "time_range.start_time"
    ]
    assert range_violations(T0, T0 + timedelta(days=1), timedelta(days=1)) == []
    assert previous_range(T0, T0 + timedelta(days=7)) == (T0 - timedelta(days=7), T0)


def test_ratios_are_exact_integers_rounded_half_to_even() -> None:
    assert change_bps(150, 100) == 5000 and change_bps(50, 100) == -5000 and change_bps(5, 0) is None
    assert change_bps(10**15, 1) == 2**31 - 1  # clamped into int32
    assert share_bps(1, 3) == 3333 and share_bps(2, 3) == 6667 and share_bps(0, 0) == 0
    assert average(5, 2) == 2 and average(7, 2) == 4 and average(1, 0) == 0


# -- figures ---------------------------------------------------------------------------------------


def test_figures_total_categories_periods_and_trend() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    days = periods(start, start + timedelta(days=3), Granularity.DAY)
    current = [
        DayRow(date(2026, 3, 1), Direction.SPENDING, "groceries", 600, 2),
        DayRow(date(2026, 3, 3), Direction.SPENDING, "rent", 400, 1),
        DayRow(date(2026, 3, 3), Direction.INCOME, "salary", 9_000, 1),
    ]
    previous = [DayRow(date(2026, 2, 27), Direction.SPENDING, "groceries", 400, 1)]
    result = figures(Direction.SPENDING, current, previous, days)
    assert (result.total_minor, result.entry_count, result.previous_total_minor) == (1000, 3, 400)
    assert result.change_bps == 15_000
    assert [(c.category, c.share_bps, c.change_bps) for c in result.categories] == [
        ("groceries", 6000, 5000),
        ("rent", 4000, None),
    ]
    assert [p.total_minor for p in result.periods] == [600, 0, 400]
    assert result.average_minor == 333


def test_rows_of_a_clipped_first_day_fall_in_the_first_period() -> None:
    start = datetime(2026, 3, 1, 18, tzinfo=UTC)
    days = periods(start, start + timedelta(days=1), Granularity.DAY)
    rows = [DayRow(date(2026, 3, 1), Direction.INCOME, "salary", 5, 1)]
    assert [p.total_minor for p in figures(Direction.INCOME, rows, [], days).periods] == [5, 0]


def test_cash_flow_carries_the_balance_forward() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    days = periods(start, start + timedelta(days=2), Granularity.DAY)
    rows = [
        DayRow(date(2026, 3, 1), Direction.INCOME, "salary", 1_000, 1),
        DayRow(date(2026, 3, 2), Direction.SPENDING, "rent", 1_500, 1),
    ]
    points = cash_flow(rows, days, opening_balance_minor=200)
    assert [(p.net_minor, p.closing_balance_minor) for p in points] == [(1_000, 1_200), (-1_500, -300)]


def test_the_most_used_currency_wins_ties_alphabetically() -> None:
    assert pick_currency({"USD": 2, "EUR": 2, "GBP": 1}, "CHF") == "EUR"
    assert pick_currency({}, "CHF") == "CHF"


# -- CSV -------------------------------------------------------------------------------------------


def test_csv_is_rfc4180_with_exact_money() -> None:
    assert decimal_string(-5, "EUR") == "-0.05" and decimal_string(1250, "KWD") == "1.250"
    assert decimal_string(7, "JPY") == "7"
    table = Table(
        [
            Column("time", ColumnType.TIMESTAMP, ""),
            Column("note", ColumnType.STRING, ""),
            Column("amount", ColumnType.MONEY, ""),
            Column("count", ColumnType.INTEGER, ""),
        ]
    )
    table.add(T0, 'a "quoted", text', 123_456, 3)
    table.totals = [None, "total", 123_456, 3]
    text = to_csv(table, "EUR")
    assert text.endswith("\r\n")
    assert list(csv.reader(io.StringIO(text))) == [
        ["time", "note", "amount", "count"],
        ["2026-03-14T12:30:00Z", 'a "quoted", text', "1234.56", "3"],
        ["", "total", "1234.56", "3"],
    ]
    with pytest.raises(ValueError, match="cells"):
        table.add(T0)
