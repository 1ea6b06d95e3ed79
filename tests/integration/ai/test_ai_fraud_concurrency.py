"""Concurrent fraud checks of one user see each other: a burst scores as the same checks one by one.

The velocity and novelty features of a check are computed from the user's checked history,
and a check writes its own row to that history. A burst of checks of one user (card testing)
sent at once, through two replicas on one database, must score exactly as the same checks sent
one at a time in the order they were serialized (the order of their history rows); if two of
them read the history without each other, at least one would score as if the other had not
happened. The user's lock and history read are one statement (``ai_locked_history``,
migration 0003): this is the test that the read still comes after the lock.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa
from nexafi.ai.v1 import ai_pb2
from sqlalchemy.engine import Engine

from tests.integration.ai.ai_support import NOW, AiClient, fraud_request, money, rid, user

BURST = 12


def _burst(user_id: str) -> list[ai_pb2.CheckFraudRequest]:
    """Card testing: small card-not-present payments at one web shop from a new device, seconds apart."""
    start = NOW - timedelta(minutes=20)
    return [
        fraud_request(
            user_id,
            when=start + timedelta(seconds=7 * i),
            amount=money(100 + 41 * i),
            merchant_category_code="5968",
            counterparty_id="mer_webshop_9",
            channel=ai_pb2.TRANSACTION_CHANNEL_CARD_NOT_PRESENT,
            device_id="dev_unknown_x",
            ip_country="NG",
        )
        for i in range(BURST)
    ]


def _outcome(assessment: ai_pb2.FraudAssessment) -> tuple[float, int, list[tuple[str, float]]]:
    return (
        assessment.fraud_probability,
        assessment.decision,
        [(r.feature, r.contribution) for r in assessment.reasons],
    )


def test_a_burst_of_one_users_checks_across_replicas_scores_as_the_same_checks_in_sequence(
    ai: AiClient, replica: AiClient, ai_db: Engine
) -> None:
    concurrent, sequential = user(), user()
    ai.history(concurrent, days=20, per_day=1)
    ai.history(sequential, days=20, per_day=1)
    requests = _burst(concurrent)
    answers: dict[int, ai_pb2.FraudAssessment] = {}
    errors: list[BaseException] = []
    ready = threading.Barrier(BURST)

    def send(i: int) -> None:
        try:
            ready.wait(10)
            answers[i] = (ai if i % 2 else replica).check(requests[i])
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors and len(answers) == BURST

    # The order the checks were serialized in: their history rows' ids (inserted under the lock).
    index_of = {answers[i].inference_id: i for i in range(BURST)}
    with ai_db.connect() as connection:
        order = [
            index_of[inference_id]
            for (inference_id,) in connection.execute(
                sa.text(
                    "SELECT inference_id FROM checked_transactions "
                    "WHERE user_id = :u AND inference_id = ANY(:ids) ORDER BY id"
                ),
                {"u": concurrent, "ids": list(index_of)},
            )
        ]
    assert sorted(order) == list(range(BURST))

    for i in order:
        again = ai_pb2.CheckFraudRequest()
        again.CopyFrom(requests[i])
        again.user_id, again.request_id = sequential, rid()
        assert _outcome(ai.check(again)) == _outcome(answers[i]), f"check {i} (the {order.index(i) + 1}th)"
    # The burst moved the features: the checks did not all score alike.
    assert len({answers[i].fraud_probability for i in range(BURST)}) > 1
