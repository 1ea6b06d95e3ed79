"""CheckFraud over real gRPC and PostgreSQL: decisions on known fraud patterns, parity with the
training code path, idempotency, validation and authorization."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import onnxruntime as ort
import pytest
import sqlalchemy as sa
from nexafi.ai.v1 import ai_pb2
from sqlalchemy.engine import Engine

from services.ai import features, fx
from services.ai.mcc import category_for
from services.ai.model_files import BUILTIN_MODELS_DIR
from tests.integration.ai.ai_support import (
    NOW,
    AiClient,
    days_ago,
    failure,
    fraud_request,
    money,
    rid,
    ts,
    user,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
FRAUD = "1.2.0"  # the newest built-in fraud version: active on the test database


@pytest.fixture(scope="module")
def regular(ai: AiClient) -> tuple[str, list[ai_pb2.CheckFraudRequest]]:
    """A customer with 60 days of ordinary purchases already checked."""
    user_id = user()
    return user_id, ai.history(user_id, days=60, per_day=2)


def test_normal_purchase_of_a_regular_customer_is_approved(
    ai: AiClient, regular: tuple[str, list[ai_pb2.CheckFraudRequest]]
) -> None:
    user_id, _ = regular
    assessment = ai.check(fraud_request(user_id, when=NOW - timedelta(hours=1), amount=money(4_650)))
    assert assessment.decision == ai_pb2.FRAUD_DECISION_APPROVE
    assert assessment.fraud_probability < assessment.review_threshold
    assert assessment.model_name == "fraud" and assessment.model_version == FRAUD
    assert assessment.inference_id.startswith("inf_") and assessment.user_id == user_id


def test_card_testing_burst_is_declined(ai: AiClient) -> None:
    user_id = user()
    ai.history(user_id, days=40, per_day=1)
    start = NOW - timedelta(minutes=30)
    decisions = []
    for i in range(6):
        request = fraud_request(
            user_id,
            when=start + timedelta(seconds=90 * i),
            amount=money(99 + 37 * i),
            merchant_category_code="5968",
            counterparty_id="mer_webshop_9",
            channel=ai_pb2.TRANSACTION_CHANNEL_CARD_NOT_PRESENT,
            device_id="dev_unknown_x",
            ip_country="NG",
        )
        decisions.append(ai.check(request))
    assert decisions[-1].decision == ai_pb2.FRAUD_DECISION_DECLINE
    assert decisions[-1].fraud_probability >= decisions[-1].decline_threshold
    reasons = {r.feature for r in decisions[-1].reasons}
    assert reasons & {
        "n_txn_1h",
        "secs_since_prev_log",
        "new_device",
        "device_age_log",
        "n_txn_1d",
        "new_country",
        "country_age_log",
    }
    assert all(r.contribution > 0 for r in decisions[-1].reasons)
    assert len(decisions[-1].reasons) <= 5


def test_account_takeover_large_amount_new_device_and_country_is_declined(
    ai: AiClient, regular: tuple[str, list[ai_pb2.CheckFraudRequest]]
) -> None:
    user_id, _ = regular
    request = fraud_request(
        user_id,
        when=NOW - timedelta(minutes=5),
        amount=money(289_000),
        merchant_category_code="5944",
        counterparty_id="mer_jeweller_7",
        channel=ai_pb2.TRANSACTION_CHANNEL_CARD_NOT_PRESENT,
        device_id="dev_never_seen",
        ip_country="RU",
        counterparty_country="RU",
    )
    assessment = ai.check(request)
    assert assessment.decision == ai_pb2.FRAUD_DECISION_DECLINE
    assert {r.feature for r in assessment.reasons} & {
        "amount_to_avg_30d",
        "amount_to_max_90d",
        "amount_log",
        "new_device",
        "new_country",
        "country_age_log",
        "device_age_log",
        "amount_to_avg_7d",
    }


def test_serving_equals_features_plus_onnx_run_directly(ai: AiClient) -> None:
    """Parity: the probability over gRPC is what the shared feature code and the ONNX file give."""
    user_id = user()
    sent = ai.history(user_id, days=20, per_day=2)
    final = fraud_request(
        user_id,
        when=NOW - timedelta(minutes=2),
        amount=money(23_000),
        merchant_category_code="5732",
        counterparty_id="mer_electro_1",
        device_id="dev_phone_1",
    )
    served = ai.check(final)

    def txn(r: ai_pb2.CheckFraudRequest) -> features.Txn:
        return features.Txn(
            timestamp=r.transaction_time.seconds,
            amount_minor=r.amount.amount_minor,
            merchant_id=r.counterparty_id,
            merchant_category=category_for(r.merchant_category_code, atm=False, direct_debit=False),
            country=r.counterparty_country,
            device_id=r.device_id,
        )

    meta = json.loads((BUILTIN_MODELS_DIR / "fraud" / FRAUD / "metadata.json").read_text())
    counts = meta["risk"]["category_counts_at_end_of_data"]["electronics"]
    x = features.fraud_features(
        txn(final),
        [txn(r) for r in sent],
        features.RiskCounts(0, 0, counts["txns"], counts["frauds"]),
        feature_set=meta["feature_set"],
    )
    assert served.model_version == FRAUD and len(x) == len(meta["features"])
    session = ort.InferenceSession(str(BUILTIN_MODELS_DIR / "fraud" / FRAUD / "model.onnx"))
    expected = float(session.run(None, {"input": x[None, :].astype(np.float32)})[1][0, 1])
    assert served.fraud_probability == pytest.approx(expected, abs=1e-6)


def test_replay_returns_the_first_assessment_and_reuse_is_refused(ai: AiClient, ai_db: Engine) -> None:
    user_id = user()
    request = fraud_request(user_id, when=NOW - timedelta(minutes=1))
    first = ai.check(request)
    again = ai.check(request)
    assert again == first
    with ai_db.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT count(*) FROM checked_transactions WHERE user_id = :u"), {"u": user_id}
        ).scalar()
    assert rows == 1  # the replay did not count the transaction twice
    changed = ai_pb2.CheckFraudRequest()
    changed.CopyFrom(request)
    changed.amount.amount_minor += 1
    reused = failure(lambda: ai.check(changed))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"


def test_idempotency_key_header_fills_request_id(ai: AiClient) -> None:
    request = fraud_request(user(), when=NOW - timedelta(minutes=1), request_id="")
    key = rid()
    first = ai.stub.CheckFraud(request, metadata=(*ai.service, ("idempotency-key", key)), timeout=10)
    second = ai.stub.CheckFraud(request, metadata=(*ai.service, ("idempotency-key", key)), timeout=10)
    assert first.assessment.inference_id == second.assessment.inference_id


# Stands for "ten minutes after the call", made when the test runs.
FUTURE = object()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"request_id": ""}, "request_id"),
        ({"user_id": ""}, "user_id"),
        ({"amount": money(0)}, "amount.amount_minor"),
        ({"amount": money(-5)}, "amount.amount_minor"),
        ({"amount": money(100, "XXX")}, "amount.currency"),
        ({"amount": money(100, "eur")}, "amount.currency"),
        ({"merchant_category_code": "541"}, "merchant_category_code"),
        ({"merchant_category_code": "54a1"}, "merchant_category_code"),
        ({"ip_country": "DEU"}, "ip_country"),
        ({"ip_country": "QQ"}, "ip_country"),
        ({"counterparty_country": "de"}, "counterparty_country"),
        ({"channel": ai_pb2.TRANSACTION_CHANNEL_UNSPECIFIED}, "channel"),
        ({"transaction_time": FUTURE}, "transaction_time"),
    ],
)
def test_invalid_requests_name_the_field(ai: AiClient, fields: dict[str, object], field: str) -> None:
    if fields.get("transaction_time") is FUTURE:
        # Ten minutes ahead of the AI service's clock when the call is made (its limit is 5),
        # not of when the module was imported: a slow suite must not turn it into the past.
        fields = {"transaction_time": ts(datetime.now(UTC) + timedelta(minutes=10))}
    result = failure(lambda: ai.check(fraud_request(user(), **fields)))
    assert result.code == INVALID and result.reason == "INVALID_ARGUMENT"
    assert field in result.fields, result.violations


def test_missing_amount_and_several_errors_are_reported_together(ai: AiClient) -> None:
    request = ai_pb2.CheckFraudRequest(request_id=rid(), user_id="", merchant_category_code="1")
    result = failure(lambda: ai.check(request))
    assert result.code == INVALID
    assert {"user_id", "amount", "merchant_category_code", "channel"} <= result.fields


def test_other_currencies_are_converted_into_the_models_currency(ai: AiClient) -> None:
    """USD, GBP and a currency without minor units are scored on their EUR value, the rate recorded
    (the amount scored is checked against the feature code in the history test below)."""
    for amount, currency in ((4_200, "USD"), (4_200, "GBP"), (700, "JPY"), (4_200, "EUR")):
        when = NOW - timedelta(minutes=1)
        assessment = ai.check(fraud_request(user(), when=when, amount=money(amount, currency)))
        expected = fx.to_model_currency(amount, currency, when)
        assert assessment.exchange_rate == str(expected.rate)
        assert assessment.exchange_rate_date == expected.rate_date.isoformat()
        assert assessment.decision != ai_pb2.FRAUD_DECISION_UNSPECIFIED


def test_history_in_several_currencies_is_one_history_in_euros(ai: AiClient, ai_db: Engine) -> None:
    """Parity with the feature code when the history was paid in USD and GBP: each converted at its time."""
    user_id = user()
    paid = [(11_720, "USD"), (8_555, "GBP"), (16_917, "JPY")]  # 100.00 EUR each
    sent = [
        fraud_request(user_id, when=NOW - timedelta(hours=5 - k), amount=money(amount, currency))
        for k, (amount, currency) in enumerate(paid)
    ]
    for request in sent:
        ai.check(request)
    final = fraud_request(user_id, when=NOW - timedelta(minutes=1), amount=money(10_000, "EUR"))
    served = ai.check(final)

    def txn(r: ai_pb2.CheckFraudRequest) -> features.Txn:
        when = r.transaction_time.ToDatetime(tzinfo=UTC)
        return features.Txn(
            timestamp=r.transaction_time.seconds,
            amount_minor=fx.to_model_currency(r.amount.amount_minor, r.amount.currency, when).amount_minor,
            merchant_id=r.counterparty_id,
            merchant_category="grocery",
            country=r.counterparty_country,
            device_id=r.device_id,
        )

    meta = json.loads((BUILTIN_MODELS_DIR / "fraud" / FRAUD / "metadata.json").read_text())
    counts = meta["risk"]["category_counts_at_end_of_data"]["grocery"]
    x = features.fraud_features(
        txn(final),
        [txn(r) for r in sent],
        features.RiskCounts(0, 0, counts["txns"], counts["frauds"]),
        feature_set=meta["feature_set"],
    )
    session = ort.InferenceSession(str(BUILTIN_MODELS_DIR / "fraud" / FRAUD / "model.onnx"))
    expected = float(session.run(None, {"input": x[None, :].astype(np.float32)})[1][0, 1])
    assert served.fraud_probability == pytest.approx(expected, abs=1e-6)
    assert x[features.FRAUD_FEATURE_NAMES.index("amount_to_avg_30d")] == pytest.approx(1.0, abs=0.01)
    with ai_db.connect() as connection:
        stored = connection.execute(
            sa.text(
                "SELECT amount_minor, currency FROM checked_transactions WHERE user_id = :u ORDER BY txn_time"
            ),
            {"u": user_id},
        ).all()
    assert [tuple(r) for r in stored] == [*paid, (10_000, "EUR")]  # kept as paid


def test_transaction_without_time_means_now_and_transfers_are_checked(ai: AiClient) -> None:
    request = fraud_request(
        user(),
        merchant_category_code="",
        counterparty_id="usr_friend",
        channel=ai_pb2.TRANSACTION_CHANNEL_P2P_TRANSFER,
        counterparty_country="",
    )
    assessment = ai.check(request)
    assert abs(assessment.create_time.seconds - NOW.timestamp()) < 600
    assert assessment.decision != ai_pb2.FRAUD_DECISION_UNSPECIFIED


@pytest.mark.parametrize("roles", [["customer"], ["support"], ["compliance"], ["underwriter"]])
def test_only_services_and_admins_may_check(ai: AiClient, roles: list[str]) -> None:
    user_id = user()
    result = failure(lambda: ai.check(fraud_request(user_id), metadata=ai.tokens.metadata(user_id, roles)))
    assert result.code == grpc.StatusCode.PERMISSION_DENIED


def test_permission_is_checked_before_validation(ai: AiClient) -> None:
    # A customer must learn nothing about the model, not even which inputs it validates.
    result = failure(lambda: ai.check(ai_pb2.CheckFraudRequest(), metadata=ai.customer(user())))
    assert result.code == grpc.StatusCode.PERMISSION_DENIED


def test_admin_may_check_and_no_token_is_unauthenticated(ai: AiClient) -> None:
    assert ai.check(fraud_request(user(), when=days_ago(1)), metadata=ai.admin).inference_id
    result = failure(lambda: ai.stub.CheckFraud(fraud_request(user()), timeout=10))
    assert result.code == grpc.StatusCode.UNAUTHENTICATED
