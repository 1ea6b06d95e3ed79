"""The sandbox bureau's documented test identities and the national-id handling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.credit.bureau.base import (
    BureauUnavailable,
    ScoreBand,
    mask_national_id,
    normalize_national_id,
)
from services.credit.bureau.sandbox import SandboxBureau

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def bureau() -> SandboxBureau:
    return SandboxBureau(clock=lambda: NOW)


def test_the_defaulted_identity_has_defaults_on_file() -> None:
    report = bureau().pull("DE-123-450002", "app_1")
    assert report.defaults == 2 and report.delinquencies_24m == 5 and report.score_band is ScoreBand.POOR
    assert not report.thin_file and report.bureau == "sandbox" and report.pull_time == NOW


def test_the_thin_file_identity_is_flagged_thin() -> None:
    report = bureau().pull("12 34 5000 1", "app_1")
    assert report.thin_file and report.history_months == 4 and report.defaults == 0


def test_the_down_identity_raises_unavailable_without_the_id_in_the_message() -> None:
    with pytest.raises(BureauUnavailable) as caught:
        bureau().pull("X9876540003", "app_1")
    assert "9876540003" not in str(caught.value)


def test_any_other_identity_has_a_good_history() -> None:
    report = bureau().pull("AB1234567", "app_1")
    assert report.score_band is ScoreBand.VERY_GOOD and not report.thin_file
    assert (report.defaults, report.delinquencies_24m, report.history_months) == (0, 0, 120)


def test_the_report_reference_is_deterministic_per_application_and_identity() -> None:
    b = bureau()
    assert b.pull("AB1234567", "app_1").reference == b.pull("ab-1234567", "app_1").reference
    assert b.pull("AB1234567", "app_1").reference != b.pull("AB1234567", "app_2").reference


def test_national_ids_are_normalized_and_masked_to_their_last_four() -> None:
    assert normalize_national_id(" de.123-45 0002 ") == "DE123450002"
    assert mask_national_id("DE-123-450002") == "*******0002"
