"""The payment state machine: every legal transition allowed, every other refused, roles per transition."""

from __future__ import annotations

import itertools

import pytest

from services.payment.domain.states import (
    IN_FLIGHT,
    LEGAL,
    MONEY_MOVED,
    TERMINAL,
    Actor,
    Status,
    check_actor,
    check_transition,
    is_legal,
)
from services.runtime.errors import FailedPrecondition, PermissionDenied

S = Status

# Written out independently of LEGAL: the documented machine.
EXPECTED: set[tuple[Status, Status]] = {
    (S.UNSPECIFIED, S.PENDING),
    (S.PENDING, S.REQUIRES_REVIEW),
    (S.PENDING, S.PROCESSING),
    (S.PENDING, S.FAILED),
    (S.PENDING, S.CANCELLED),
    (S.REQUIRES_REVIEW, S.PROCESSING),
    (S.REQUIRES_REVIEW, S.FAILED),
    (S.REQUIRES_REVIEW, S.CANCELLED),
    (S.PROCESSING, S.SUCCEEDED),
    (S.PROCESSING, S.FAILED),
    (S.SUCCEEDED, S.PARTIALLY_REFUNDED),
    (S.SUCCEEDED, S.REFUNDED),
    (S.PARTIALLY_REFUNDED, S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, S.REFUNDED),
}
ALL_PAIRS = list(itertools.product(Status, Status))
STAFF_ALLOWED = {
    (S.REQUIRES_REVIEW, S.PROCESSING),
    (S.REQUIRES_REVIEW, S.FAILED),
    (S.REQUIRES_REVIEW, S.CANCELLED),
}
REFUNDS = {S.PARTIALLY_REFUNDED, S.REFUNDED}


def test_the_table_covers_every_status():
    assert set(LEGAL) == set(Status)  # every status has a row (terminal ones empty)
    assert {(a, b) for a, targets in LEGAL.items() for b in targets} == EXPECTED


@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED), ids=lambda s: s.name)
def test_every_legal_transition_is_allowed(current: Status, target: Status):
    assert is_legal(current, target)
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_PAIRS if p not in EXPECTED], ids=lambda s: s.name
)
def test_every_other_transition_is_refused(current: Status, target: Status):
    assert not is_legal(current, target)
    with pytest.raises(FailedPrecondition) as refused:
        check_transition(current, target)
    assert refused.value.reason == "ILLEGAL_STATUS_TRANSITION"
    assert refused.value.metadata == {"from_status": current.name, "to_status": target.name}


def test_terminal_statuses_have_no_way_out_and_nothing_returns_to_pending():
    for status in TERMINAL:
        assert not LEGAL[status]
    assert all(b is not S.PENDING for a, b in EXPECTED if a is not S.UNSPECIFIED)
    assert {S.PENDING, S.REQUIRES_REVIEW, S.PROCESSING} == IN_FLIGHT
    assert {S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED} == MONEY_MOVED


@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED), ids=lambda s: s.name)
def test_roles_per_legal_transition(current: Status, target: Status):
    # Owners never set a status (they cancel with CancelPayment).
    with pytest.raises(PermissionDenied):
        check_actor(Actor.OWNER, current, target)
    # Staff (admin, support) decide reviews and nothing else.
    if (current, target) in STAFF_ALLOWED:
        check_actor(Actor.STAFF, current, target)
    else:
        with pytest.raises(PermissionDenied):
            check_actor(Actor.STAFF, current, target)
    # Refund statuses come only from RefundPayment (the system), never from a status update.
    if target in REFUNDS:
        with pytest.raises(PermissionDenied):
            check_actor(Actor.SERVICE, current, target)
    else:
        check_actor(Actor.SERVICE, current, target)
    check_actor(Actor.SYSTEM, current, target)
