"""Custom reports: a saved definition (what to count, how to group it) and its table.

A definition counts one user's flows of one direction and currency in a fixed range,
optionally only those of some accounts, categories or counterparties, grouped per UTC
day, ISO week, month or category. Measures are integers: the sum and the average in
minor units (the average rounded half to even to the minor unit, with exact fractions)
and the entry count.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from services.analytics.domain import categories as cat
from services.analytics.domain.analysis import bucket_index
from services.analytics.domain.model import Direction
from services.analytics.domain.periods import Granularity, average, periods
from services.analytics.domain.reports import Column, ColumnType, Table

CUSTOM = "custom"
MAX_FILTER_VALUES = 50
MAX_NAME_LENGTH = 200

# Every category the categorizer can produce without an explicit "category" metadata value.
STANDARD_CATEGORIES = frozenset(
    {name for pair in cat._BY_TYPE.values() for name in pair}
    | {name for _, _, name in cat._MCC_RANGES}
    | {cat.UNCATEGORIZED, cat.MERCHANT_OTHER}
)


class Grouping(enum.IntEnum):
    """The contract's ReportGrouping numbers."""

    DAY = 1
    WEEK = 2
    MONTH = 3
    CATEGORY = 4

    @property
    def granularity(self) -> Granularity | None:
        return None if self is Grouping.CATEGORY else Granularity(int(self))


class Measure(enum.IntEnum):
    """The contract's ReportMeasure numbers."""

    SUM = 1
    COUNT = 2
    AVERAGE = 3


_MEASURE_COLUMNS = {
    Measure.SUM: Column("total", ColumnType.MONEY, "The sum of the amounts, in minor units."),
    Measure.COUNT: Column("entry_count", ColumnType.INTEGER, "The number of ledger entries."),
    Measure.AVERAGE: Column(
        "average", ColumnType.MONEY, "The average amount per entry, rounded half to even to the minor unit."
    ),
}


def measure_column(measure: Measure) -> Column:
    return _MEASURE_COLUMNS[measure]


@dataclass(frozen=True)
class Definition:
    """What a custom report counts and how; the same for every run."""

    name: str
    start: datetime
    end: datetime
    currency: str
    direction: Direction
    account_ids: tuple[str, ...]
    categories: tuple[str, ...]
    counterparties: tuple[str, ...]
    grouping: Grouping
    measures: tuple[Measure, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "currency": self.currency,
            "direction": int(self.direction),
            "account_ids": list(self.account_ids),
            "categories": list(self.categories),
            "counterparties": list(self.counterparties),
            "grouping": int(self.grouping),
            "measures": [int(m) for m in self.measures],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Definition:
        def strings(key: str) -> tuple[str, ...]:
            value = data[key]
            assert isinstance(value, list)
            return tuple(str(v) for v in value)

        measures = data["measures"]
        assert isinstance(measures, list)
        return cls(
            name=str(data["name"]),
            start=datetime.fromisoformat(str(data["start"])),
            end=datetime.fromisoformat(str(data["end"])),
            currency=str(data["currency"]),
            direction=Direction(int(str(data["direction"]))),
            account_ids=strings("account_ids"),
            categories=strings("categories"),
            counterparties=strings("counterparties"),
            grouping=Grouping(int(str(data["grouping"]))),
            measures=tuple(Measure(int(m)) for m in measures),
        )

    def fingerprint(self) -> str:
        """Equal for equal definitions: an idempotent create compares these."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


def unknown_categories(wanted: Iterable[str], seen: Iterable[str]) -> list[int]:
    """Indexes of the wanted categories that are neither standard nor among ``seen`` (the user's own)."""
    known = STANDARD_CATEGORIES | set(seen)
    return [i for i, name in enumerate(wanted) if name not in known]


@dataclass(frozen=True)
class Group:
    """The flows of one row before the measures: a key (period or category), their sum and count."""

    key: str | tuple[datetime, datetime]
    total_minor: int
    count: int


def group_days(definition: Definition, rows: Iterable[tuple[date, int, int]]) -> list[Group]:
    """(day, total, count) rows into one group per period of the range, empty periods included."""
    granularity = definition.grouping.granularity
    assert granularity is not None
    buckets = periods(definition.start, definition.end, granularity)
    totals = [0] * len(buckets)
    counts = [0] * len(buckets)
    for day, total, count in rows:
        index = bucket_index(buckets, day)
        totals[index] += total
        counts[index] += count
    return [Group((p.start, p.end), totals[i], counts[i]) for i, p in enumerate(buckets)]


def group_categories(rows: Iterable[tuple[str, int, int]]) -> list[Group]:
    """(category, total, count) rows as groups, largest total first (then by name)."""
    return [Group(name, total, count) for name, total, count in sorted(rows, key=lambda r: (-r[1], r[0]))]


def _measures(measures: Sequence[Measure], total: int, count: int) -> list[int]:
    values = {Measure.SUM: total, Measure.COUNT: count, Measure.AVERAGE: average(total, count)}
    return [values[m] for m in measures]


def table(definition: Definition, groups: Sequence[Group]) -> Table:
    """The report: one row per group, the measures in the definition's order, and a totals row."""
    if definition.grouping is Grouping.CATEGORY:
        keys = [Column("category", ColumnType.STRING, "The entries' category.")]
    else:
        keys = [
            Column("period_start", ColumnType.TIMESTAMP, "The start of the period (clipped)."),
            Column("period_end", ColumnType.TIMESTAMP, "The exclusive end of the period (clipped)."),
        ]
    result = Table([*keys, *(_MEASURE_COLUMNS[m] for m in definition.measures)])
    for group in groups:
        key = [group.key] if isinstance(group.key, str) else list(group.key)
        result.add(*key, *_measures(definition.measures, group.total_minor, group.count))
    total = sum(g.total_minor for g in groups)
    count = sum(g.count for g in groups)
    label: list[str | None] = ["total"] if definition.grouping is Grouping.CATEGORY else [None, None]
    result.totals = [*label, *_measures(definition.measures, total, count)]
    return result
