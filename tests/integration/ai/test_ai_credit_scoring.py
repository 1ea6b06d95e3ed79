"""ScoreCredit over real gRPC: scores, bands, monotonicity, reason codes, idempotency, validation, roles."""

from __future__ import annotations

import grpc
import pytest
from nexafi.ai.v1 import ai_pb2

from tests.integration.ai.ai_support import AiClient, credit_request, failure, money, user

INVALID = grpc.StatusCode.INVALID_ARGUMENT
BANDS = [
    (300, 579, ai_pb2.CREDIT_BAND_POOR),
    (580, 669, ai_pb2.CREDIT_BAND_FAIR),
    (670, 739, ai_pb2.CREDIT_BAND_GOOD),
    (740, 799, ai_pb2.CREDIT_BAND_VERY_GOOD),
    (800, 850, ai_pb2.CREDIT_BAND_EXCEPTIONAL),
]


def test_score_is_in_range_with_matching_band_and_reasons(ai: AiClient) -> None:
    user_id = user()
    score = ai.score(credit_request(user_id, utilization_bps=9_500, delinquencies_24m=3, inquiries_6m=6))
    assert 300 <= score.score <= 850 and score.user_id == user_id and score.application_id.startswith("app_")
    assert [band for lo, hi, band in BANDS if lo <= score.score <= hi] == [score.band]
    assert 0.0 < score.probability_of_default < 1.0
    codes = [r.code for r in score.reason_codes]
    assert {"UTILIZATION_HIGH", "DELINQUENCIES"} <= set(codes) and len(codes) <= 4
    assert [r.points_lost for r in score.reason_codes] == sorted(
        (r.points_lost for r in score.reason_codes), reverse=True
    )
    assert all(r.points_lost > 0 and r.description for r in score.reason_codes)
    assert score.debt_to_income_bps == 12 * 90_000 * 10_000 // 5_400_000
    assert score.model_name == "credit" and score.model_version == "1.0.0"


@pytest.mark.parametrize(
    ("field", "values", "direction"),
    [
        ("annual_income", [money(1_200_000), money(3_000_000), money(6_000_000), money(15_000_000)], 1),
        ("utilization_bps", [0, 2_000, 5_000, 9_000, 13_000], -1),
        ("delinquencies_24m", [0, 1, 2, 5], -1),
        ("credit_history_months", [0, 12, 60, 240], 1),
        ("inquiries_6m", [0, 2, 5, 12], -1),
        ("monthly_debt_payments", [money(0), money(50_000), money(150_000), money(400_000)], -1),
    ],
)
def test_score_is_monotonic_in_the_obvious_inputs(
    ai: AiClient, field: str, values: list[object], direction: int
) -> None:
    scores = [ai.score(credit_request(user(), **{field: v})).score for v in values]
    ordered = sorted(scores) if direction > 0 else sorted(scores, reverse=True)
    assert scores == ordered, scores
    assert scores[0] != scores[-1]


def test_replay_returns_the_first_score_and_reuse_is_refused(ai: AiClient) -> None:
    request = credit_request(user())
    assert ai.score(request) == ai.score(request)
    changed = ai_pb2.ScoreCreditRequest()
    changed.CopyFrom(request)
    changed.inquiries_6m += 1
    result = failure(lambda: ai.score(changed))
    assert result.code == grpc.StatusCode.ALREADY_EXISTS and result.reason == "IDEMPOTENCY_KEY_REUSED"


def test_zero_requested_amount_without_currency_is_a_score_without_application(ai: AiClient) -> None:
    request = credit_request(user(), application_id="")
    request.ClearField("requested_amount")
    score = ai.score(request)
    assert score.application_id == "" and 300 <= score.score <= 850


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"request_id": ""}, "request_id"),
        ({"user_id": ""}, "user_id"),
        ({"annual_income": money(-1)}, "annual_income.amount_minor"),
        ({"total_debt": money(-100)}, "total_debt.amount_minor"),
        ({"monthly_debt_payments": money(100, "USD")}, "annual_income.currency"),
        ({"credit_history_months": -1}, "credit_history_months"),
        ({"delinquencies_24m": -2}, "delinquencies_24m"),
        ({"open_accounts": -1}, "open_accounts"),
        ({"inquiries_6m": -1}, "inquiries_6m"),
        ({"employment_months": -1}, "employment_months"),
        ({"utilization_bps": 100_001}, "utilization_bps"),
        ({"utilization_bps": -1}, "utilization_bps"),
    ],
)
def test_invalid_applications_name_the_field(ai: AiClient, fields: dict[str, object], field: str) -> None:
    result = failure(lambda: ai.score(credit_request(user(), **fields)))
    assert result.code == INVALID and field in result.fields, result.violations


def test_amounts_in_another_currency_are_unsupported(ai: AiClient) -> None:
    request = credit_request(
        user(),
        annual_income=money(5_400_000, "GBP"),
        monthly_debt_payments=money(0, "GBP"),
        total_debt=money(0, "GBP"),
        requested_amount=money(0, "GBP"),
    )
    result = failure(lambda: ai.score(request))
    assert result.code == INVALID and result.reason == "UNSUPPORTED_CURRENCY"


@pytest.mark.parametrize("roles", [["customer"], ["support"], ["compliance"]])
def test_only_services_and_admins_may_score(ai: AiClient, roles: list[str]) -> None:
    user_id = user()
    result = failure(lambda: ai.score(credit_request(user_id), metadata=ai.tokens.metadata(user_id, roles)))
    assert result.code == grpc.StatusCode.PERMISSION_DENIED
    assert ai.score(credit_request(user_id), metadata=ai.admin).score >= 300
