"""The model registry and the inference audit log over real gRPC and PostgreSQL: registration with
sha256 checks, run-time switching (this replica and another one by polling), integrity failures,
NO_ACTIVE_MODEL, and audit entries that hold a hash of the inputs, never the inputs."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
import sqlalchemy as sa
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc
from sqlalchemy.engine import Engine

from services.ai.registry import ModelRegistry
from services.ai.service import AiService
from services.ai.servicer import AiServicer
from services.ai.spec import SERVICE_NAME, SPEC
from services.devtools.embedded_pg import EmbeddedPostgres
from services.runtime import migrations
from services.runtime.fingerprints import derived_fingerprint_key
from services.runtime.server import RunningServer, ServiceContext, ServiceSpec, page_token_key, start_server
from tests.integration.ai.ai_support import (
    NOW,
    AiClient,
    credit_request,
    failure,
    fraud_request,
    money,
    user,
)
from tests.support.harness import ServiceRunner, TokenFactory, service_settings

INVALID = grpc.StatusCode.INVALID_ARGUMENT
#: The newest built-in fraud version, active on a fresh database; 1.1.0 and 1.0.0 (feature sets 2 and 1)
#: stay registered.
FRAUD = "1.2.0"


def admin_call(ai: AiClient, method: str, request: object, metadata: object = None) -> object:
    return getattr(ai.stub, method)(request, metadata=metadata or ai.admin, timeout=10)


def activate(ai: AiClient, name: str, version: str) -> ai_pb2.ActivateModelVersionResponse:
    return ai.stub.ActivateModelVersion(
        ai_pb2.ActivateModelVersionRequest(name=name, version=version, reason="integration test"),
        metadata=ai.admin,
        timeout=30,
    )


@pytest.fixture
def fraud_restored(ai: AiClient) -> Iterator[None]:
    """Whatever a test activates, the newest built-in fraud version serves again afterwards."""
    yield
    activate(ai, "fraud", FRAUD)


def test_every_builtin_model_is_registered_and_active(ai: AiClient) -> None:
    models = ai.stub.ListModels(
        ai_pb2.ListModelsRequest(active_only=True), metadata=ai.admin, timeout=10
    ).models
    assert [(m.name, m.version) for m in models] == [
        ("credit", "1.0.0"),
        ("fraud", FRAUD),
        ("recommendation", "1.0.0"),
        ("trend", "1.0.0"),
    ]
    fraud = next(m for m in models if m.name == "fraud")
    meta = json.loads(
        (Path(__file__).resolve().parents[3] / f"services/ai/models/fraud/{FRAUD}/metadata.json").read_text()
    )
    assert fraud.sha256 == meta["sha256"] and fraud.active and fraud.activate_time.seconds > 0
    assert fraud.metrics["roc_auc"] == pytest.approx(meta["metrics"]["roc_auc"])
    assert fraud.metrics["pr_auc"] == pytest.approx(meta["metrics"]["average_precision"])
    assert fraud.parameters["review_threshold"] == pytest.approx(meta["thresholds"]["review"])
    assert list(fraud.feature_names) == meta["features"] and fraud.description
    assert fraud.training_time.ToDatetime().date().isoformat() == meta["training_date"]


def test_candidates_are_listed_newest_first_and_paged(ai: AiClient) -> None:
    fraud = ai.stub.ListModels(ai_pb2.ListModelsRequest(name="fraud"), metadata=ai.admin, timeout=10).models
    assert [m.version for m in fraud] == [FRAUD, "1.1.0", "1.0.1", "1.0.0"]
    first = ai.stub.ListModels(ai_pb2.ListModelsRequest(page_size=2), metadata=ai.admin, timeout=10)
    second = ai.stub.ListModels(
        ai_pb2.ListModelsRequest(page_size=2, page_token=first.next_page_token), metadata=ai.admin, timeout=10
    )
    assert [m.name for m in first.models] == ["credit", "credit"] and first.next_page_token
    assert [(m.name, m.version) for m in second.models] == [("fraud", FRAUD), ("fraud", "1.1.0")]
    other = failure(
        lambda: ai.stub.ListModels(
            ai_pb2.ListModelsRequest(name="trend", page_token=first.next_page_token),
            metadata=ai.admin,
            timeout=10,
        )
    )
    assert other.code == INVALID and other.fields == {"page_token"}
    bad = failure(
        lambda: ai.stub.ListModels(ai_pb2.ListModelsRequest(page_token="%%%"), metadata=ai.admin, timeout=10)
    )
    assert bad.code == INVALID
    negative = failure(
        lambda: ai.stub.ListModels(ai_pb2.ListModelsRequest(page_size=-1), metadata=ai.admin, timeout=10)
    )
    assert negative.fields == {"page_size"}


def test_a_model_file_not_matching_its_sha256_is_refused(ai: AiClient, ai_db: Engine) -> None:
    result = failure(
        lambda: ai.stub.GetModel(
            ai_pb2.GetModelRequest(name="fraud", version="9.9.9"), metadata=ai.admin, timeout=10
        )
    )
    assert result.code == grpc.StatusCode.NOT_FOUND and result.reason == "MODEL_VERSION_NOT_FOUND"
    with ai_db.connect() as connection:
        assert (
            connection.execute(
                sa.text("SELECT count(*) FROM model_versions WHERE version = '9.9.9'")
            ).scalar()
            == 0
        )


def test_get_model_by_version_or_active(ai: AiClient) -> None:
    active = ai.stub.GetModel(ai_pb2.GetModelRequest(name="credit"), metadata=ai.admin, timeout=10).model
    assert active.version == "1.0.0" and active.active
    candidate = ai.stub.GetModel(
        ai_pb2.GetModelRequest(name="credit", version="1.0.1"), metadata=ai.admin, timeout=10
    ).model
    assert not candidate.active and not candidate.HasField("activate_time")
    assert (
        failure(
            lambda: ai.stub.GetModel(ai_pb2.GetModelRequest(name="nope"), metadata=ai.admin, timeout=10)
        ).code
        == grpc.StatusCode.NOT_FOUND
    )
    assert failure(
        lambda: ai.stub.GetModel(ai_pb2.GetModelRequest(), metadata=ai.admin, timeout=10)
    ).fields == {"name"}


def test_switch_the_active_version_at_run_time(ai: AiClient, ai_db: Engine, fraud_restored: None) -> None:
    before_request = fraud_request(user(), when=NOW - timedelta(minutes=3))
    before = ai.check(before_request)
    assert before.model_version == FRAUD
    switched = activate(ai, "fraud", "1.0.1")
    assert switched.previous_version == FRAUD and switched.model.version == "1.0.1" and switched.model.active
    # 1.0.1 is a copy of 1.0.0, trained on feature set 1: serving builds that vector for it
    after = ai.check(fraud_request(user(), when=NOW - timedelta(minutes=2)))
    assert after.model_version == "1.0.1" and 0.0 <= after.fraud_probability <= 1.0
    # an idempotent replay still returns the first assessment, made by the previous version
    assert ai.check(before_request) == before
    again = activate(ai, "fraud", "1.0.1")
    assert again.previous_version == "1.0.1" and again.model.version == "1.0.1"
    old = ai.stub.GetModel(
        ai_pb2.GetModelRequest(name="fraud", version=FRAUD), metadata=ai.admin, timeout=10
    ).model
    assert not old.active
    with ai_db.connect() as connection:
        log = connection.execute(
            sa.text(
                "SELECT previous_version, reason, caller FROM model_activations WHERE name = 'fraud' "
                "AND version = '1.0.1' ORDER BY id DESC LIMIT 1"
            )
        ).one()
    assert tuple(log) == (FRAUD, "integration test", "usr_admin")


def test_another_replica_picks_up_an_activation_by_polling(
    ai: AiClient, replica: AiClient, fraud_restored: None
) -> None:
    assert replica.check(fraud_request(user())).model_version == FRAUD
    activate(ai, "fraud", "1.0.1")
    deadline = time.monotonic() + 10
    version = ""
    while time.monotonic() < deadline:
        version = replica.check(fraud_request(user())).model_version
        if version == "1.0.1":
            break
        time.sleep(0.2)
    assert version == "1.0.1"


def test_activating_a_tampered_file_fails_and_keeps_the_active_version(
    ai: AiClient, extra_models: Path
) -> None:
    path = extra_models / "credit" / "1.0.1" / "model.onnx"
    original = path.read_bytes()
    path.write_bytes(original + b"tampered after registration")
    try:
        result = failure(lambda: activate(ai, "credit", "1.0.1"))
        assert (
            result.code == grpc.StatusCode.FAILED_PRECONDITION and result.reason == "MODEL_INTEGRITY_FAILED"
        )
        path.unlink()
        missing = failure(lambda: activate(ai, "credit", "1.0.1"))
        assert missing.reason == "MODEL_INTEGRITY_FAILED"
    finally:
        path.write_bytes(original)
    assert ai.score(credit_request(user())).model_version == "1.0.0"
    active = ai.stub.GetModel(ai_pb2.GetModelRequest(name="credit"), metadata=ai.admin, timeout=10).model
    assert active.version == "1.0.0"


def test_activation_errors(ai: AiClient) -> None:
    unknown = failure(lambda: activate(ai, "fraud", "7.7.7"))
    assert unknown.code == grpc.StatusCode.NOT_FOUND
    empty = failure(
        lambda: ai.stub.ActivateModelVersion(
            ai_pb2.ActivateModelVersionRequest(name="fraud"), metadata=ai.admin, timeout=10
        )
    )
    assert empty.code == INVALID and empty.fields == {"version", "reason"}


@pytest.mark.parametrize("roles", [["service"], ["compliance"], ["support"], ["customer"]])
def test_registry_is_for_admins(ai: AiClient, roles: list[str]) -> None:
    metadata = ai.tokens.metadata("someone", roles)
    calls = [
        lambda: ai.stub.ListModels(ai_pb2.ListModelsRequest(), metadata=metadata, timeout=10),
        lambda: ai.stub.GetModel(ai_pb2.GetModelRequest(name="fraud"), metadata=metadata, timeout=10),
        lambda: ai.stub.ActivateModelVersion(
            ai_pb2.ActivateModelVersionRequest(name="fraud", version="1.0.1", reason="x"),
            metadata=metadata,
            timeout=10,
        ),
    ]
    for call in calls:
        assert failure(call).code == grpc.StatusCode.PERMISSION_DENIED


def test_every_inference_is_logged_with_an_input_hash_and_no_raw_inputs(ai: AiClient, ai_db: Engine) -> None:
    user_id = user()
    request = fraud_request(
        user_id,
        when=NOW - timedelta(minutes=1),
        device_id="dev_secret_fingerprint_42",
        counterparty_id="mer_private_counterparty",
        amount=money(123_457),
        payment_method_id="pm_secret_card_token",
    )
    assessment = ai.check(request)
    entry = ai.stub.GetInference(
        ai_pb2.GetInferenceRequest(inference_id=assessment.inference_id), metadata=ai.compliance, timeout=10
    ).inference
    assert entry.id == assessment.inference_id and entry.kind == ai_pb2.INFERENCE_KIND_FRAUD_CHECK
    assert entry.model_name == "fraud" and entry.model_version == assessment.model_version
    assert entry.caller == "svc_payment" and entry.fraud_assessment == assessment
    assert entry.latency_micros > 0 and len(entry.input_sha256) == 64
    int(entry.input_sha256, 16)
    with ai_db.connect() as connection:
        row = connection.execute(
            sa.text("SELECT * FROM inferences WHERE id = :id"), {"id": assessment.inference_id}
        ).one()
    stored = json.dumps([str(v) for v in row])
    for secret in ("dev_secret_fingerprint_42", "mer_private_counterparty", "123457", "pm_secret_card_token"):
        assert secret not in stored
    # the same inputs under another key hash the same: the hash identifies inputs without revealing them
    twin = ai_pb2.CheckFraudRequest()
    twin.CopyFrom(request)
    twin.request_id = "another-key"
    twin_entry = ai.stub.GetInference(
        ai_pb2.GetInferenceRequest(inference_id=ai.check(twin).inference_id), metadata=ai.admin, timeout=10
    ).inference
    assert twin_entry.input_sha256 == entry.input_sha256
    assert hashlib.sha256(b"").hexdigest() != entry.input_sha256


def test_credit_forecast_and_recommendation_inferences_are_logged(ai: AiClient) -> None:
    score = ai.score(credit_request(user()))
    logged = ai.stub.GetInference(
        ai_pb2.GetInferenceRequest(inference_id=score.inference_id), metadata=ai.admin, timeout=10
    ).inference
    assert logged.kind == ai_pb2.INFERENCE_KIND_CREDIT_SCORE and logged.credit_score == score
    user_id = user()
    recs = ai.stub.GetRecommendations(
        ai_pb2.GetRecommendationsRequest(user_id=user_id), metadata=ai.customer(user_id), timeout=10
    ).recommendation_set
    logged = ai.stub.GetInference(
        ai_pb2.GetInferenceRequest(inference_id=recs.inference_id), metadata=ai.admin, timeout=10
    ).inference
    assert logged.kind == ai_pb2.INFERENCE_KIND_RECOMMENDATIONS and logged.recommendation_set == recs


def test_the_audit_log_is_append_only(ai: AiClient, ai_db: Engine) -> None:
    inference_id = ai.check(fraud_request(user())).inference_id
    with ai_db.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        connection.execute(
            sa.text("UPDATE inferences SET latency_micros = 0 WHERE id = :id"), {"id": inference_id}
        )
    with ai_db.connect() as connection, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        connection.execute(sa.text("DELETE FROM inferences WHERE id = :id"), {"id": inference_id})


def test_get_inference_errors_and_roles(ai: AiClient) -> None:
    missing = failure(
        lambda: ai.stub.GetInference(
            ai_pb2.GetInferenceRequest(inference_id="inf_nope"), metadata=ai.admin, timeout=10
        )
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND and missing.reason == "INFERENCE_NOT_FOUND"
    empty = failure(lambda: ai.stub.GetInference(ai_pb2.GetInferenceRequest(), metadata=ai.admin, timeout=10))
    assert empty.fields == {"inference_id"}
    for metadata in (ai.service, ai.support, ai.customer(user())):
        denied = failure(
            lambda m=metadata: ai.stub.GetInference(
                ai_pb2.GetInferenceRequest(inference_id="inf_x"), metadata=m, timeout=10
            )
        )
        assert denied.code == grpc.StatusCode.PERMISSION_DENIED


@pytest.fixture(scope="module")
def empty_registry(pg: EmbeddedPostgres, services: ServiceRunner, tokens: TokenFactory) -> Iterator[AiClient]:
    """An AI server whose registry found no model at all (its own database, no model folders)."""
    url = pg.url("nexafi_ai_empty")
    migrations.upgrade("ai", url)

    def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
        assert context.engine is not None
        registry = ModelRegistry(context.engine, roots=[])
        registry.register_from_disk()
        servicer = AiServicer(
            AiService(context.engine, registry), derived_fingerprint_key(page_token_key(context.settings))
        )
        ai_pb2_grpc.add_AiServiceServicer_to_server(servicer, server)
        return [SERVICE_NAME]

    running: RunningServer = start_server(
        ServiceSpec(name="ai", register=register, service_callers=SPEC.service_callers),
        service_settings("ai", url, services.auth),
    )
    channel = grpc.insecure_channel(running.address)
    try:
        yield AiClient(ai_pb2_grpc.AiServiceStub(channel), tokens)
    finally:
        channel.close()
        running.stop(0)


def test_without_a_loadable_model_every_inference_fails_safe(empty_registry: AiClient) -> None:
    ai = empty_registry
    user_id = user()
    calls = [
        lambda: ai.check(fraud_request(user_id)),
        lambda: ai.score(credit_request(user_id)),
        lambda: ai.stub.GetRecommendations(
            ai_pb2.GetRecommendationsRequest(user_id=user_id), metadata=ai.admin, timeout=10
        ),
        lambda: ai.stub.PredictTrend(
            ai_pb2.PredictTrendRequest(
                user_series=ai_pb2.UserSeries(user_id=user_id, metric=ai_pb2.TREND_METRIC_SPENDING)
            ),
            metadata=ai.admin,
            timeout=10,
        ),
    ]
    for call in calls:
        result = failure(call)
        assert result.code == grpc.StatusCode.FAILED_PRECONDITION and result.reason == "NO_ACTIVE_MODEL"
    missing = failure(
        lambda: ai.stub.GetModel(ai_pb2.GetModelRequest(name="fraud"), metadata=ai.admin, timeout=10)
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND


def test_an_error_after_validation_is_stored_and_replayed(
    empty_registry: AiClient, pg: EmbeddedPostgres
) -> None:
    ai = empty_registry
    request = fraud_request(user())
    first = failure(lambda: ai.check(request))
    assert first.code == grpc.StatusCode.FAILED_PRECONDITION and first.reason == "NO_ACTIVE_MODEL"
    engine = sa.create_engine(pg.url("nexafi_ai_empty"))
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                sa.text("SELECT state, error_reason FROM idempotency_keys WHERE key = :k"),
                {"k": request.request_id},
            ).one()
    finally:
        engine.dispose()
    assert (stored.state, stored.error_reason) == ("done", "NO_ACTIVE_MODEL")
    again = failure(lambda: ai.check(request))
    assert (again.code, again.reason, again.message) == (first.code, first.reason, first.message)
