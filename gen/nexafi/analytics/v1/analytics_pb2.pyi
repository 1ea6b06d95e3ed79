import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from nexafi.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FlowDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLOW_DIRECTION_UNSPECIFIED: _ClassVar[FlowDirection]
    FLOW_DIRECTION_SPENDING: _ClassVar[FlowDirection]
    FLOW_DIRECTION_INCOME: _ClassVar[FlowDirection]

class ReportGrouping(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_GROUPING_UNSPECIFIED: _ClassVar[ReportGrouping]
    REPORT_GROUPING_DAY: _ClassVar[ReportGrouping]
    REPORT_GROUPING_WEEK: _ClassVar[ReportGrouping]
    REPORT_GROUPING_MONTH: _ClassVar[ReportGrouping]
    REPORT_GROUPING_CATEGORY: _ClassVar[ReportGrouping]

class ReportMeasure(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_MEASURE_UNSPECIFIED: _ClassVar[ReportMeasure]
    REPORT_MEASURE_SUM: _ClassVar[ReportMeasure]
    REPORT_MEASURE_COUNT: _ClassVar[ReportMeasure]
    REPORT_MEASURE_AVERAGE: _ClassVar[ReportMeasure]

class ImageFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_FORMAT_UNSPECIFIED: _ClassVar[ImageFormat]
    IMAGE_FORMAT_PNG: _ClassVar[ImageFormat]
    IMAGE_FORMAT_SVG: _ClassVar[ImageFormat]

class ChartKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHART_KIND_UNSPECIFIED: _ClassVar[ChartKind]
    CHART_KIND_DASHBOARD: _ClassVar[ChartKind]
    CHART_KIND_SPENDING_BY_CATEGORY: _ClassVar[ChartKind]
    CHART_KIND_CASH_FLOW: _ClassVar[ChartKind]
    CHART_KIND_CREDIT_PORTFOLIO: _ClassVar[ChartKind]

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANULARITY_UNSPECIFIED: _ClassVar[Granularity]
    GRANULARITY_DAY: _ClassVar[Granularity]
    GRANULARITY_WEEK: _ClassVar[Granularity]
    GRANULARITY_MONTH: _ClassVar[Granularity]

class ReportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_FORMAT_UNSPECIFIED: _ClassVar[ReportFormat]
    REPORT_FORMAT_JSON: _ClassVar[ReportFormat]
    REPORT_FORMAT_CSV: _ClassVar[ReportFormat]

class ReportColumnType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_COLUMN_TYPE_UNSPECIFIED: _ClassVar[ReportColumnType]
    REPORT_COLUMN_TYPE_STRING: _ClassVar[ReportColumnType]
    REPORT_COLUMN_TYPE_MONEY: _ClassVar[ReportColumnType]
    REPORT_COLUMN_TYPE_INTEGER: _ClassVar[ReportColumnType]
    REPORT_COLUMN_TYPE_TIMESTAMP: _ClassVar[ReportColumnType]
    REPORT_COLUMN_TYPE_BASIS_POINTS: _ClassVar[ReportColumnType]

class DashboardMetric(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DASHBOARD_METRIC_UNSPECIFIED: _ClassVar[DashboardMetric]
    DASHBOARD_METRIC_BALANCE: _ClassVar[DashboardMetric]
    DASHBOARD_METRIC_SPENDING: _ClassVar[DashboardMetric]
    DASHBOARD_METRIC_INCOME: _ClassVar[DashboardMetric]
    DASHBOARD_METRIC_NET_CASH_FLOW: _ClassVar[DashboardMetric]
FLOW_DIRECTION_UNSPECIFIED: FlowDirection
FLOW_DIRECTION_SPENDING: FlowDirection
FLOW_DIRECTION_INCOME: FlowDirection
REPORT_GROUPING_UNSPECIFIED: ReportGrouping
REPORT_GROUPING_DAY: ReportGrouping
REPORT_GROUPING_WEEK: ReportGrouping
REPORT_GROUPING_MONTH: ReportGrouping
REPORT_GROUPING_CATEGORY: ReportGrouping
REPORT_MEASURE_UNSPECIFIED: ReportMeasure
REPORT_MEASURE_SUM: ReportMeasure
REPORT_MEASURE_COUNT: ReportMeasure
REPORT_MEASURE_AVERAGE: ReportMeasure
IMAGE_FORMAT_UNSPECIFIED: ImageFormat
IMAGE_FORMAT_PNG: ImageFormat
IMAGE_FORMAT_SVG: ImageFormat
CHART_KIND_UNSPECIFIED: ChartKind
CHART_KIND_DASHBOARD: ChartKind
CHART_KIND_SPENDING_BY_CATEGORY: ChartKind
CHART_KIND_CASH_FLOW: ChartKind
CHART_KIND_CREDIT_PORTFOLIO: ChartKind
GRANULARITY_UNSPECIFIED: Granularity
GRANULARITY_DAY: Granularity
GRANULARITY_WEEK: Granularity
GRANULARITY_MONTH: Granularity
REPORT_FORMAT_UNSPECIFIED: ReportFormat
REPORT_FORMAT_JSON: ReportFormat
REPORT_FORMAT_CSV: ReportFormat
REPORT_COLUMN_TYPE_UNSPECIFIED: ReportColumnType
REPORT_COLUMN_TYPE_STRING: ReportColumnType
REPORT_COLUMN_TYPE_MONEY: ReportColumnType
REPORT_COLUMN_TYPE_INTEGER: ReportColumnType
REPORT_COLUMN_TYPE_TIMESTAMP: ReportColumnType
REPORT_COLUMN_TYPE_BASIS_POINTS: ReportColumnType
DASHBOARD_METRIC_UNSPECIFIED: DashboardMetric
DASHBOARD_METRIC_BALANCE: DashboardMetric
DASHBOARD_METRIC_SPENDING: DashboardMetric
DASHBOARD_METRIC_INCOME: DashboardMetric
DASHBOARD_METRIC_NET_CASH_FLOW: DashboardMetric

class ReportDefinition(_message.Message):
    __slots__ = ("id", "user_id", "name", "time_range", "currency", "direction", "account_ids", "categories", "counterparties", "grouping", "measures", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    COUNTERPARTIES_FIELD_NUMBER: _ClassVar[int]
    GROUPING_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    user_id: str
    name: str
    time_range: _common_pb2.TimeRange
    currency: str
    direction: FlowDirection
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    categories: _containers.RepeatedScalarFieldContainer[str]
    counterparties: _containers.RepeatedScalarFieldContainer[str]
    grouping: ReportGrouping
    measures: _containers.RepeatedScalarFieldContainer[ReportMeasure]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., user_id: _Optional[str] = ..., name: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., currency: _Optional[str] = ..., direction: _Optional[_Union[FlowDirection, str]] = ..., account_ids: _Optional[_Iterable[str]] = ..., categories: _Optional[_Iterable[str]] = ..., counterparties: _Optional[_Iterable[str]] = ..., grouping: _Optional[_Union[ReportGrouping, str]] = ..., measures: _Optional[_Iterable[_Union[ReportMeasure, str]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateReportDefinitionRequest(_message.Message):
    __slots__ = ("user_id", "request_id", "definition")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    request_id: str
    definition: ReportDefinition
    def __init__(self, user_id: _Optional[str] = ..., request_id: _Optional[str] = ..., definition: _Optional[_Union[ReportDefinition, _Mapping]] = ...) -> None: ...

class CreateReportDefinitionResponse(_message.Message):
    __slots__ = ("definition",)
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    definition: ReportDefinition
    def __init__(self, definition: _Optional[_Union[ReportDefinition, _Mapping]] = ...) -> None: ...

class GetReportDefinitionRequest(_message.Message):
    __slots__ = ("definition_id",)
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    definition_id: str
    def __init__(self, definition_id: _Optional[str] = ...) -> None: ...

class GetReportDefinitionResponse(_message.Message):
    __slots__ = ("definition",)
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    definition: ReportDefinition
    def __init__(self, definition: _Optional[_Union[ReportDefinition, _Mapping]] = ...) -> None: ...

class ListReportDefinitionsRequest(_message.Message):
    __slots__ = ("user_id", "page_size", "page_token")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_size: int
    page_token: str
    def __init__(self, user_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReportDefinitionsResponse(_message.Message):
    __slots__ = ("definitions", "next_page_token")
    DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    definitions: _containers.RepeatedCompositeFieldContainer[ReportDefinition]
    next_page_token: str
    def __init__(self, definitions: _Optional[_Iterable[_Union[ReportDefinition, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteReportDefinitionRequest(_message.Message):
    __slots__ = ("definition_id",)
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    definition_id: str
    def __init__(self, definition_id: _Optional[str] = ...) -> None: ...

class DeleteReportDefinitionResponse(_message.Message):
    __slots__ = ("definition",)
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    definition: ReportDefinition
    def __init__(self, definition: _Optional[_Union[ReportDefinition, _Mapping]] = ...) -> None: ...

class RunCustomReportRequest(_message.Message):
    __slots__ = ("definition_id", "format")
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    definition_id: str
    format: ReportFormat
    def __init__(self, definition_id: _Optional[str] = ..., format: _Optional[_Union[ReportFormat, str]] = ...) -> None: ...

class RunCustomReportResponse(_message.Message):
    __slots__ = ("report", "definition")
    REPORT_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    report: Report
    definition: ReportDefinition
    def __init__(self, report: _Optional[_Union[Report, _Mapping]] = ..., definition: _Optional[_Union[ReportDefinition, _Mapping]] = ...) -> None: ...

class RenderCustomReportChartRequest(_message.Message):
    __slots__ = ("definition_id", "image_format", "measure")
    DEFINITION_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    definition_id: str
    image_format: ImageFormat
    measure: ReportMeasure
    def __init__(self, definition_id: _Optional[str] = ..., image_format: _Optional[_Union[ImageFormat, str]] = ..., measure: _Optional[_Union[ReportMeasure, str]] = ...) -> None: ...

class RenderCustomReportChartResponse(_message.Message):
    __slots__ = ("http_body",)
    HTTP_BODY_FIELD_NUMBER: _ClassVar[int]
    http_body: _httpbody_pb2.HttpBody
    def __init__(self, http_body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...

class RenderChartRequest(_message.Message):
    __slots__ = ("chart", "user_id", "time_range", "granularity", "currency", "image_format")
    CHART_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    chart: ChartKind
    user_id: str
    time_range: _common_pb2.TimeRange
    granularity: Granularity
    currency: str
    image_format: ImageFormat
    def __init__(self, chart: _Optional[_Union[ChartKind, str]] = ..., user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., currency: _Optional[str] = ..., image_format: _Optional[_Union[ImageFormat, str]] = ...) -> None: ...

class CategoryTotal(_message.Message):
    __slots__ = ("category", "total", "transaction_count", "share_bps", "change_bps")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    SHARE_BPS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_BPS_FIELD_NUMBER: _ClassVar[int]
    category: str
    total: _common_pb2.Money
    transaction_count: int
    share_bps: int
    change_bps: int
    def __init__(self, category: _Optional[str] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transaction_count: _Optional[int] = ..., share_bps: _Optional[int] = ..., change_bps: _Optional[int] = ...) -> None: ...

class PeriodTotal(_message.Message):
    __slots__ = ("start_time", "end_time", "total", "transaction_count")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    total: _common_pb2.Money
    transaction_count: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transaction_count: _Optional[int] = ...) -> None: ...

class SpendingAnalysis(_message.Message):
    __slots__ = ("user_id", "time_range", "granularity", "currency", "total", "transaction_count", "categories", "periods", "average_per_period", "previous_time_range", "previous_total", "change_bps", "as_of_sequence", "as_of_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PER_PERIOD_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHANGE_BPS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    time_range: _common_pb2.TimeRange
    granularity: Granularity
    currency: str
    total: _common_pb2.Money
    transaction_count: int
    categories: _containers.RepeatedCompositeFieldContainer[CategoryTotal]
    periods: _containers.RepeatedCompositeFieldContainer[PeriodTotal]
    average_per_period: _common_pb2.Money
    previous_time_range: _common_pb2.TimeRange
    previous_total: _common_pb2.Money
    change_bps: int
    as_of_sequence: int
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., currency: _Optional[str] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transaction_count: _Optional[int] = ..., categories: _Optional[_Iterable[_Union[CategoryTotal, _Mapping]]] = ..., periods: _Optional[_Iterable[_Union[PeriodTotal, _Mapping]]] = ..., average_per_period: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., previous_time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., previous_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., change_bps: _Optional[int] = ..., as_of_sequence: _Optional[int] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IncomeAnalysis(_message.Message):
    __slots__ = ("user_id", "time_range", "granularity", "currency", "total", "transaction_count", "categories", "periods", "average_per_period", "previous_time_range", "previous_total", "change_bps", "as_of_sequence", "as_of_time")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PER_PERIOD_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CHANGE_BPS_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_TIME_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    time_range: _common_pb2.TimeRange
    granularity: Granularity
    currency: str
    total: _common_pb2.Money
    transaction_count: int
    categories: _containers.RepeatedCompositeFieldContainer[CategoryTotal]
    periods: _containers.RepeatedCompositeFieldContainer[PeriodTotal]
    average_per_period: _common_pb2.Money
    previous_time_range: _common_pb2.TimeRange
    previous_total: _common_pb2.Money
    change_bps: int
    as_of_sequence: int
    as_of_time: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., currency: _Optional[str] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., transaction_count: _Optional[int] = ..., categories: _Optional[_Iterable[_Union[CategoryTotal, _Mapping]]] = ..., periods: _Optional[_Iterable[_Union[PeriodTotal, _Mapping]]] = ..., average_per_period: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., previous_time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., previous_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., change_bps: _Optional[int] = ..., as_of_sequence: _Optional[int] = ..., as_of_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSpendingAnalysisRequest(_message.Message):
    __slots__ = ("user_id", "time_range", "granularity", "currency")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    time_range: _common_pb2.TimeRange
    granularity: Granularity
    currency: str
    def __init__(self, user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., currency: _Optional[str] = ...) -> None: ...

class GetSpendingAnalysisResponse(_message.Message):
    __slots__ = ("spending_analysis",)
    SPENDING_ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    spending_analysis: SpendingAnalysis
    def __init__(self, spending_analysis: _Optional[_Union[SpendingAnalysis, _Mapping]] = ...) -> None: ...

class GetIncomeAnalysisRequest(_message.Message):
    __slots__ = ("user_id", "time_range", "granularity", "currency")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    time_range: _common_pb2.TimeRange
    granularity: Granularity
    currency: str
    def __init__(self, user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., currency: _Optional[str] = ...) -> None: ...

class GetIncomeAnalysisResponse(_message.Message):
    __slots__ = ("income_analysis",)
    INCOME_ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    income_analysis: IncomeAnalysis
    def __init__(self, income_analysis: _Optional[_Union[IncomeAnalysis, _Mapping]] = ...) -> None: ...

class ReportColumn(_message.Message):
    __slots__ = ("name", "type", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: ReportColumnType
    description: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[ReportColumnType, str]] = ..., description: _Optional[str] = ...) -> None: ...

class ReportCell(_message.Message):
    __slots__ = ("string_value", "money_value", "int_value", "time_value")
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    MONEY_VALUE_FIELD_NUMBER: _ClassVar[int]
    INT_VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME_VALUE_FIELD_NUMBER: _ClassVar[int]
    string_value: str
    money_value: _common_pb2.Money
    int_value: int
    time_value: _timestamp_pb2.Timestamp
    def __init__(self, string_value: _Optional[str] = ..., money_value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., int_value: _Optional[int] = ..., time_value: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReportRow(_message.Message):
    __slots__ = ("cells",)
    CELLS_FIELD_NUMBER: _ClassVar[int]
    cells: _containers.RepeatedCompositeFieldContainer[ReportCell]
    def __init__(self, cells: _Optional[_Iterable[_Union[ReportCell, _Mapping]]] = ...) -> None: ...

class Report(_message.Message):
    __slots__ = ("id", "report_type", "user_id", "time_range", "currency", "format", "columns", "rows", "totals", "content", "content_type", "as_of_sequence", "create_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    report_type: str
    user_id: str
    time_range: _common_pb2.TimeRange
    currency: str
    format: ReportFormat
    columns: _containers.RepeatedCompositeFieldContainer[ReportColumn]
    rows: _containers.RepeatedCompositeFieldContainer[ReportRow]
    totals: ReportRow
    content: str
    content_type: str
    as_of_sequence: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., report_type: _Optional[str] = ..., user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., currency: _Optional[str] = ..., format: _Optional[_Union[ReportFormat, str]] = ..., columns: _Optional[_Iterable[_Union[ReportColumn, _Mapping]]] = ..., rows: _Optional[_Iterable[_Union[ReportRow, _Mapping]]] = ..., totals: _Optional[_Union[ReportRow, _Mapping]] = ..., content: _Optional[str] = ..., content_type: _Optional[str] = ..., as_of_sequence: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("report_type", "user_id", "time_range", "format", "currency")
    REPORT_TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    report_type: str
    user_id: str
    time_range: _common_pb2.TimeRange
    format: ReportFormat
    currency: str
    def __init__(self, report_type: _Optional[str] = ..., user_id: _Optional[str] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., format: _Optional[_Union[ReportFormat, str]] = ..., currency: _Optional[str] = ...) -> None: ...

class GetReportResponse(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: Report
    def __init__(self, report: _Optional[_Union[Report, _Mapping]] = ...) -> None: ...

class SeriesPoint(_message.Message):
    __slots__ = ("start_time", "end_time", "value")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    value: _common_pb2.Money
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[_Union[_common_pb2.Money, _Mapping]] = ...) -> None: ...

class DashboardSeries(_message.Message):
    __slots__ = ("metric", "points")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    metric: DashboardMetric
    points: _containers.RepeatedCompositeFieldContainer[SeriesPoint]
    def __init__(self, metric: _Optional[_Union[DashboardMetric, str]] = ..., points: _Optional[_Iterable[_Union[SeriesPoint, _Mapping]]] = ...) -> None: ...

class GetDashboardSeriesRequest(_message.Message):
    __slots__ = ("user_id", "metrics", "time_range", "granularity", "currency")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    metrics: _containers.RepeatedScalarFieldContainer[DashboardMetric]
    time_range: _common_pb2.TimeRange
    granularity: Granularity
    currency: str
    def __init__(self, user_id: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[DashboardMetric, str]]] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., currency: _Optional[str] = ...) -> None: ...

class GetDashboardSeriesResponse(_message.Message):
    __slots__ = ("user_id", "currency", "granularity", "time_range", "series", "as_of_sequence")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    TIME_RANGE_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    currency: str
    granularity: Granularity
    time_range: _common_pb2.TimeRange
    series: _containers.RepeatedCompositeFieldContainer[DashboardSeries]
    as_of_sequence: int
    def __init__(self, user_id: _Optional[str] = ..., currency: _Optional[str] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., time_range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., series: _Optional[_Iterable[_Union[DashboardSeries, _Mapping]]] = ..., as_of_sequence: _Optional[int] = ...) -> None: ...

class FeedCheckpoint(_message.Message):
    __slots__ = ("consumer", "last_sequence", "last_entry_time", "applied_count", "update_time")
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LAST_ENTRY_TIME_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    consumer: str
    last_sequence: int
    last_entry_time: _timestamp_pb2.Timestamp
    applied_count: int
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, consumer: _Optional[str] = ..., last_sequence: _Optional[int] = ..., last_entry_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., applied_count: _Optional[int] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetFeedCheckpointRequest(_message.Message):
    __slots__ = ("consumer",)
    CONSUMER_FIELD_NUMBER: _ClassVar[int]
    consumer: str
    def __init__(self, consumer: _Optional[str] = ...) -> None: ...

class GetFeedCheckpointResponse(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: FeedCheckpoint
    def __init__(self, checkpoint: _Optional[_Union[FeedCheckpoint, _Mapping]] = ...) -> None: ...

class RenderChartResponse(_message.Message):
    __slots__ = ("http_body",)
    HTTP_BODY_FIELD_NUMBER: _ClassVar[int]
    http_body: _httpbody_pb2.HttpBody
    def __init__(self, http_body: _Optional[_Union[_httpbody_pb2.HttpBody, _Mapping]] = ...) -> None: ...
