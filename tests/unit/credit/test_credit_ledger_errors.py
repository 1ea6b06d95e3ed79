"""How a failed ledger posting is reported: an ambiguous failure never claims that nothing moved."""

from __future__ import annotations

import grpc
import pytest

from services.credit.service import CreditService
from services.runtime.clients import RemoteError
from services.runtime.errors import FailedPrecondition, InsufficientFunds, Unavailable

IN_DOUBT = [
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.PERMISSION_DENIED,
]


@pytest.mark.parametrize("code", IN_DOUBT)
def test_a_lost_ledger_reply_is_an_unknown_outcome_to_retry_with_the_same_key(code: grpc.StatusCode) -> None:
    error = CreditService._ledger_error(RemoteError("ledger", code, "", "deadline"))
    assert isinstance(error, Unavailable) and error.reason == "LEDGER_UNAVAILABLE"
    assert "unknown" in error.message and "same request_id" in error.message
    assert "nothing" not in error.message


def test_definitive_ledger_refusals_keep_their_meaning() -> None:
    funds = CreditService._ledger_error(
        RemoteError("ledger", grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS", "")
    )
    assert isinstance(funds, InsufficientFunds) and funds.reason == "INSUFFICIENT_FUNDS"
    refused = CreditService._ledger_error(
        RemoteError("ledger", grpc.StatusCode.INVALID_ARGUMENT, "ACCOUNT_NOT_FOUND", "")
    )
    # Definite, so not retryable: ABORTED would invite a retry that is refused again.
    assert isinstance(refused, FailedPrecondition) and refused.reason == "LEDGER_REJECTED"
