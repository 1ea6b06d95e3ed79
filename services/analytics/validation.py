"""The analytics requests' field checks: currencies, granularities, time ranges, report definitions
and image formats, every problem reported at once as a BadRequest field violation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from nexafi.analytics.v1 import analytics_pb2
from nexafi.common.v1 import common_pb2

from services.analytics import charts
from services.analytics.domain import categories, custom
from services.analytics.domain.model import Direction
from services.analytics.domain.periods import (
    DEFAULT_LOOKBACK,
    MAX_DAILY_SPAN,
    Granularity,
    range_violations,
    resolve_range,
)
from services.runtime.api import FieldChecks


class Checks(FieldChecks):
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

    def moment(self, bounds: common_pb2.TimeRange, name: str, field: str) -> datetime | None:
        if not bounds.HasField(name):
            return None
        stamp: Timestamp = getattr(bounds, name)
        try:
            return stamp.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            self.add(f"{field}.{name}", "must be a valid timestamp")
            return None

    def time_range(
        self,
        bounds: common_pb2.TimeRange,
        now: datetime,
        span: timedelta,
        *,
        lookback: timedelta = DEFAULT_LOOKBACK,
        default: tuple[datetime, datetime] | None = None,
        field: str = "time_range",
    ) -> tuple[datetime, datetime]:
        start = self.moment(bounds, "start_time", field)
        end = self.moment(bounds, "end_time", field)
        if start is None and end is None and default is not None:
            resolved = default
        else:
            resolved = resolve_range(start, end, now, lookback)
        self.violations.extend(range_violations(*resolved, span, field))
        return resolved


def checked_image_format(value: int, checks: Checks) -> charts.ImageFormat:
    if value == analytics_pb2.IMAGE_FORMAT_UNSPECIFIED:
        return charts.ImageFormat.PNG
    if value not in {int(f) for f in charts.ImageFormat}:
        checks.add("image_format", "must be IMAGE_FORMAT_PNG or IMAGE_FORMAT_SVG")
        return charts.ImageFormat.PNG
    return charts.ImageFormat(value)


def definition_from_pb(message: analytics_pb2.ReportDefinition, checks: Checks) -> custom.Definition | None:
    """The definition, every problem added to ``checks`` under its definition.* field; None if invalid."""
    before = len(checks.violations)
    name = checks.text(message.name, "definition.name", max_length=custom.MAX_NAME_LENGTH, required=True)
    bounds = message.time_range
    for end_name in ("start_time", "end_time"):
        if not bounds.HasField(end_name):
            checks.add(f"definition.time_range.{end_name}", "is required")
    start = checks.moment(bounds, "start_time", "definition.time_range")
    end = checks.moment(bounds, "end_time", "definition.time_range")
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
        name=name,
        start=start,
        end=end,
        currency=currency,
        direction=Direction(message.direction),
        account_ids=tuple(message.account_ids),
        categories=tuple(message.categories),
        counterparties=tuple(message.counterparties),
        grouping=custom.Grouping(message.grouping),
        measures=tuple(custom.Measure(m) for m in message.measures),
    )
