"""Serving-side helpers without a database: MCC mapping, version order, daily series, recursive
forecasts, bands, canonical hashing, result round-trips and the on-disk scan's sha256 check."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from services.ai import explain, features
from services.ai.credit_scoring import credit_band
from services.ai.domain import (
    FraudAssessment,
    FraudCheck,
    FraudReasonResult,
    Kind,
    SeriesPoint,
    canonical_sha256,
    result_from_json,
    to_json,
)
from services.ai.forecasting import daily_values, forecast_series
from services.ai.mcc import category_for
from services.ai.model_files import BUILTIN_MODELS_DIR, load_verified, metrics_of, scan, version_key


def test_mcc_codes_map_to_the_training_categories() -> None:
    assert category_for("5411", atm=False, direct_debit=False) == "grocery"
    assert category_for("5968", atm=False, direct_debit=False) == "subscriptions"  # inside 5960-5969
    assert category_for("5964", atm=False, direct_debit=False) == "online_retail"
    assert category_for("7995", atm=False, direct_debit=False) == "gambling"
    assert category_for("3100", atm=False, direct_debit=False) == "travel"
    assert category_for("1234", atm=False, direct_debit=False) == "mcc_1234"
    assert category_for("", atm=True, direct_debit=False) == "cash_withdrawal"
    assert category_for("", atm=False, direct_debit=False) == "transfer"
    assert category_for("", atm=False, direct_debit=True) == "direct_debit"


def test_versions_sort_numerically() -> None:
    versions = ["1.0.9", "1.0.10", "1.0.0", "2025.01.15-2", "2025.01.15-10"]
    assert sorted(versions, key=version_key) == ["1.0.0", "1.0.9", "1.0.10", "2025.01.15-2", "2025.01.15-10"]


def test_daily_values_carry_gaps_forward() -> None:
    values, last = daily_values([SeriesPoint(10, 5), SeriesPoint(12, 7), SeriesPoint(15, -3)])
    assert values == [5, 5, 7, 7, 7, -3] and last == 15


def test_credit_bands_follow_the_contract() -> None:
    assert [credit_band(s) for s in (300, 579, 580, 669, 670, 739, 740, 799, 800, 850)] == [
        "poor",
        "poor",
        "fair",
        "fair",
        "good",
        "good",
        "very_good",
        "very_good",
        "exceptional",
        "exceptional",
    ]


class _Linear:
    """A stand-in trend model: predicts the scaled last value for 14 days."""

    name, version = "trend", "test"
    metadata = json.loads((BUILTIN_MODELS_DIR / "trend" / "1.0.0" / "metadata.json").read_text())

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {"variable": np.repeat(np.asarray(x, dtype=np.float32).reshape(1, -1)[:, -1:], 14, axis=1)}


def test_forecast_beyond_the_model_horizon_is_recursive_and_widens() -> None:
    series = [1_000.0] * 56
    out = forecast_series(_Linear(), series, 40, 0.8)  # type: ignore[arg-type]
    assert len(out) == 40
    assert all(p == pytest.approx(1_000.0, rel=1e-3) for p, _, _ in out)
    widths = [hi - lo for _, lo, hi in out]
    assert widths[20] > widths[5] and widths[35] > widths[20]
    # the first block at the calibrated level is exactly explain.trend_forecast
    x, scale = features.trend_input(series)
    ref = explain.trend_forecast(_Linear().run(x)["variable"][0], scale, _Linear.metadata["forecast"], 14)
    assert [lo for _, lo, _ in out[:14]] == pytest.approx(ref.lower)


def test_canonical_hash_ignores_key_order_and_sees_every_value() -> None:
    check = FraudCheck("usr_1", 100, "EUR", "5411", "m", 1, "d", "DE", "DE", "pay_1", "", None)
    assert canonical_sha256(check) == canonical_sha256(dataclasses.replace(check))
    assert canonical_sha256(check) != canonical_sha256(dataclasses.replace(check, amount_minor=101))
    assert canonical_sha256({"a": 1, "b": 2}) == canonical_sha256({"b": 2, "a": 1})


def test_a_request_without_time_zone_hashes_as_before_the_field_existed() -> None:
    """Replays of requests made before ``time_zone`` existed still match their stored hash."""
    check = FraudCheck("usr_1", 100, "EUR", "5411", "m", 1, "d", "DE", "DE", "pay_1", "", None)
    before = {f.name: getattr(check, f.name) for f in dataclasses.fields(check) if f.name != "time_zone"}
    assert check.input_hash() == canonical_sha256(before)
    zoned = dataclasses.replace(check, time_zone="Europe/Berlin")
    assert zoned.input_hash() != check.input_hash()


def test_results_round_trip_through_the_audit_json() -> None:
    result = FraudAssessment(
        "inf_1",
        "usr_1",
        "pay_1",
        0.5,
        "review",
        [FraudReasonResult("n_txn_1h", 1.25, "Many")],
        0.01,
        0.1,
        "fraud",
        "1.0.0",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    assert result_from_json(Kind.FRAUD_CHECK, json.loads(to_json(result))) == result
    converted = dataclasses.replace(result, exchange_rate="1.1720", exchange_rate_date="2025-06-30")
    assert result_from_json(Kind.FRAUD_CHECK, json.loads(to_json(converted))) == converted


def test_fraud_metrics_get_the_contract_aliases() -> None:
    meta = json.loads((BUILTIN_MODELS_DIR / "fraud" / "1.0.0" / "metadata.json").read_text())
    metrics = metrics_of(meta)
    assert metrics["pr_auc"] == meta["metrics"]["average_precision"]
    assert metrics["precision_at_review"] == meta["metrics"]["review"]["test"]["precision"]


def test_scan_refuses_a_file_that_does_not_match_its_metadata(tmp_path: Path) -> None:
    shutil.copytree(BUILTIN_MODELS_DIR / "credit" / "1.0.0", tmp_path / "credit" / "2.0.0")
    shutil.copytree(BUILTIN_MODELS_DIR / "credit" / "1.0.0", tmp_path / "credit" / "2.0.1")
    with (tmp_path / "credit" / "2.0.1" / "model.onnx").open("ab") as f:
        f.write(b"x")
    found = scan([(tmp_path, False)])
    assert [(v.name, v.version) for v in found] == [("credit", "2.0.0")]


def test_load_verified_checks_the_registered_hash(tmp_path: Path) -> None:
    folder = BUILTIN_MODELS_DIR / "credit" / "1.0.0"
    meta = json.loads((folder / "metadata.json").read_text())
    loaded = load_verified("credit", "1.0.0", str(folder / "model.onnx"), meta["sha256"], meta)
    assert loaded.run(np.zeros(6, dtype=np.float32))["probabilities"].shape == (1, 2)
    from services.ai.model_files import IntegrityFailure

    with pytest.raises(IntegrityFailure, match="sha256"):
        load_verified("credit", "1.0.0", str(folder / "model.onnx"), "0" * 64, meta)
    with pytest.raises(IntegrityFailure, match="cannot be read"):
        load_verified("credit", "1.0.0", str(tmp_path / "missing.onnx"), meta["sha256"], meta)
