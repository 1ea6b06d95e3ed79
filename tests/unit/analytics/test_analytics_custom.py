"""Custom report definitions and tables: grouping into periods, half-even averages, JSON round trip."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.analytics.domain import custom
from services.analytics.domain.model import Direction


def definition(grouping: custom.Grouping, *measures: custom.Measure) -> custom.Definition:
    return custom.Definition(
        name="n",
        start=datetime(2026, 3, 30, 12, tzinfo=UTC),
        end=datetime(2026, 4, 14, tzinfo=UTC),
        currency="EUR",
        direction=Direction.SPENDING,
        account_ids=(),
        categories=("groceries",),
        counterparties=(),
        grouping=grouping,
        measures=measures or tuple(custom.Measure),
    )


def test_weeks_cover_the_range_and_average_rounds_half_to_even() -> None:
    weekly = definition(custom.Grouping.WEEK)
    groups = custom.group_days(
        weekly, [(date(2026, 3, 30), 3, 2), (date(2026, 4, 1), 2, 1), (date(2026, 4, 13), 5, 2)]
    )
    table = custom.table(weekly, groups)
    names = [c.name for c in table.columns]
    assert names == ["period_start", "period_end", "total", "entry_count", "average"]
    # 2026-03-30 is a Monday: weeks from the range's start (noon), then Mondays, the last clipped.
    assert [row[0] for row in table.rows] == [
        datetime(2026, 3, 30, 12, tzinfo=UTC),
        datetime(2026, 4, 6, tzinfo=UTC),
        datetime(2026, 4, 13, tzinfo=UTC),
    ]
    assert [row[2:] for row in table.rows] == [[5, 3, 2], [0, 0, 0], [5, 2, 2]]  # 5/2 = 2.5 -> 2
    assert table.totals == [None, None, 10, 5, 2]


def test_categories_largest_first_with_the_chosen_measures() -> None:
    by_category = definition(custom.Grouping.CATEGORY, custom.Measure.AVERAGE, custom.Measure.SUM)
    groups = custom.group_categories([("rent", 7, 2), ("fuel", 9, 2), ("bar", 7, 1)])
    table = custom.table(by_category, groups)
    assert table.rows == [["fuel", 4, 9], ["bar", 7, 7], ["rent", 4, 7]]  # 3.5 -> 4, 4.5 -> 4
    assert table.totals == ["total", 5, 23]  # 23 / 5 = 4.6 -> 5


def test_definition_json_round_trip_and_fingerprint() -> None:
    original = definition(custom.Grouping.DAY, custom.Measure.COUNT)
    again = custom.Definition.from_json(original.to_json())
    assert again == original and again.fingerprint() == original.fingerprint()
    assert custom.unknown_categories(["groceries", "salary", "astrology"], ["salary"]) == [2]
