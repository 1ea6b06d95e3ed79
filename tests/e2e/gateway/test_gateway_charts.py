"""Custom reports and charts through the real Envoy: a definition saved over REST, run as CSV, drawn
as PNG and SVG served with their own content types (google.api.HttpBody through the transcoder)."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from tests.e2e.gateway.conftest import Gateway, assert_error, field_violations
from tests.e2e.gateway.test_gateway_analytics import analysis, customer, gateway

__all__ = ["customer", "gateway"]  # fixtures shared with the analytics gateway tests

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def save_definition(gateway: Gateway, customer: dict[str, str], **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "name": "Spending by category",
        "currency": "EUR",
        "direction": "FLOW_DIRECTION_SPENDING",
        "time_range": {
            "start_time": stamp(now - timedelta(hours=2)),
            "end_time": stamp(now + timedelta(hours=2)),
        },
        "grouping": "REPORT_GROUPING_CATEGORY",
        "measures": ["REPORT_MEASURE_SUM", "REPORT_MEASURE_COUNT", "REPORT_MEASURE_AVERAGE"],
    }
    body.update(changes)
    reply = gateway.post(
        "/api/v1/analytics/report-definitions",
        token=customer["token"],
        json={"user_id": customer["id"], "request_id": uuid.uuid4().hex, "definition": body},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["definition"]  # type: ignore[no-any-return]


def test_custom_report_as_csv_and_png(gateway: Gateway, customer: dict[str, str]) -> None:
    analysis(gateway, "spending", customer, 2_500)
    saved = save_definition(gateway, customer)
    path = f"/api/v1/analytics/report-definitions/{saved['id']}"
    as_json = gateway.get(f"{path}/run", token=customer["token"])
    assert as_json.status_code == 200, as_json.text
    report = as_json.json()["report"]
    assert [
        [
            c.get("string_value") or c.get("money_value", {}).get("amount_minor") or c.get("int_value")
            for c in row["cells"]
        ]
        for row in report["rows"]
    ] == [["groceries", "2500", "1", "2500"]]

    as_csv = gateway.get(f"{path}/run", token=customer["token"], params={"format": "REPORT_FORMAT_CSV"})
    assert as_csv.status_code == 200, as_csv.text
    lines = list(csv.reader(io.StringIO(as_csv.json()["report"]["content"])))
    assert lines == [
        ["category", "total", "entry_count", "average"],
        ["groceries", "25.00", "1", "25.00"],
        ["total", "25.00", "1", "25.00"],
    ]

    png = gateway.get(f"{path}/chart", token=customer["token"])
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png" and png.content.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.size == (1200, 675)
    svg = gateway.get(
        f"{path}/chart",
        token=customer["token"],
        params={"image_format": "IMAGE_FORMAT_SVG", "measure": "REPORT_MEASURE_COUNT"},
    )
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert ET.fromstring(svg.content).tag == "{http://www.w3.org/2000/svg}svg"


def test_standard_charts_with_their_content_types(gateway: Gateway, customer: dict[str, str]) -> None:
    analysis(gateway, "spending", customer, 2_500)
    for kind in ("CHART_KIND_DASHBOARD", "CHART_KIND_SPENDING_BY_CATEGORY", "CHART_KIND_CASH_FLOW"):
        png = gateway.get(
            f"/api/v1/analytics/charts/{kind}", token=customer["token"], params={"user_id": customer["id"]}
        )
        assert png.status_code == 200, png.text
        assert png.headers["content-type"] == "image/png" and png.content.startswith(PNG_SIGNATURE)
        with Image.open(io.BytesIO(png.content)) as image:
            assert image.size == (1200, 675)
        svg = gateway.get(
            f"/api/v1/analytics/charts/{kind}",
            token=customer["token"],
            params={"user_id": customer["id"], "image_format": "IMAGE_FORMAT_SVG"},
        )
        assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
        ET.fromstring(svg.content)


def test_invalid_definition_is_a_400_naming_the_field(gateway: Gateway, customer: dict[str, str]) -> None:
    reply = gateway.post(
        "/api/v1/analytics/report-definitions",
        token=customer["token"],
        json={
            "user_id": customer["id"],
            "request_id": uuid.uuid4().hex,
            "definition": {
                "name": "x",
                "currency": "EUR",
                "direction": "FLOW_DIRECTION_SPENDING",
                "measures": ["REPORT_MEASURE_SUM"],
            },
        },
    )
    body = assert_error(reply, 400, grpc_code=3)
    assert set(field_violations(body)) == {
        "definition.grouping",
        "definition.time_range.start_time",
        "definition.time_range.end_time",
    }
