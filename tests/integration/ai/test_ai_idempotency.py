"""CheckFraud and ScoreCredit under the shared idempotency contract (services/runtime/idempotency.py),
over real gRPC and PostgreSQL: a replay returns the first response byte for byte, a duplicate sent
while the first still runs is ABORTED REQUEST_IN_PROGRESS at once, and the inference is logged once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import grpc
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.integration.ai.ai_support import NOW, AiClient, credit_request, failure, fraud_request, user

# How long the test waits for the first request to reach the user's lock; never a measured duration.
WAIT_SECONDS = 30


def _count(ai_db: Engine, sql: str, **params: str) -> int:
    with ai_db.connect() as connection:
        return int(connection.execute(sa.text(sql), params).scalar_one())


def test_a_replay_returns_the_first_response_bytes_and_logs_one_inference(
    ai: AiClient, ai_db: Engine
) -> None:
    request = fraud_request(user(), when=NOW - timedelta(minutes=2))
    first = ai.stub.CheckFraud(request, metadata=ai.service, timeout=10)
    again = ai.stub.CheckFraud(request, metadata=ai.service, timeout=10)
    assert again.SerializeToString() == first.SerializeToString()
    assert _count(ai_db, "SELECT count(*) FROM inferences WHERE request_id = :r", r=request.request_id) == 1
    assert (
        _count(
            ai_db,
            "SELECT count(*) FROM idempotency_keys WHERE key = :r AND state = 'done' AND resource_id = :i",
            r=request.request_id,
            i=first.assessment.inference_id,
        )
        == 1
    )
    credit = credit_request(user())
    score = ai.stub.ScoreCredit(credit, metadata=ai.credit_service, timeout=10)
    assert ai.stub.ScoreCredit(credit, metadata=ai.credit_service, timeout=10) == score
    # One key is one request of its caller: the same key for another RPC is a reuse.
    key = f"{request.request_id}-admin"
    ai.check(fraud_request(user(), when=NOW - timedelta(minutes=2), request_id=key), ai.admin)
    reused = failure(lambda: ai.score(credit_request(user(), request_id=key), ai.admin))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"


def test_a_concurrent_duplicate_is_aborted_at_once_and_later_replayed(ai: AiClient, ai_db: Engine) -> None:
    user_id = user()
    request = fraud_request(user_id, when=NOW - timedelta(minutes=1))
    with ai_db.connect() as holder, ThreadPoolExecutor(max_workers=1) as pool:
        # Hold the user's fraud-check lock, so the first request stops inside its work, key claimed.
        transaction = holder.begin()
        holder.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('ai-user:' || :u))"), {"u": user_id})
        first = pool.submit(ai.check, request)
        deadline = time.monotonic() + WAIT_SECONDS
        while _count(ai_db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == 0:
            assert time.monotonic() < deadline, "the first request never reached the user's lock"
            threading.Event().wait(0.05)
        duplicate = failure(lambda: ai.check(request))
        assert duplicate.code == grpc.StatusCode.ABORTED and duplicate.reason == "REQUEST_IN_PROGRESS"
        transaction.rollback()
        assessment = first.result(timeout=WAIT_SECONDS)
    assert ai.check(request) == assessment
    assert _count(ai_db, "SELECT count(*) FROM checked_transactions WHERE user_id = :u", u=user_id) == 1
