"""Credit scores with history and credit lines backed by real ledger accounts, over real gRPC."""

from __future__ import annotations

from typing import Any

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2

from tests.integration.credit.credit_support import RISKY, CreditApi, eur, financials, key
from tests.support.grpc_errors import failure

C = credit_pb2


def refresh(credit: CreditApi, user: str, metadata: Any = None, **fields: Any) -> Any:
    request = C.RefreshCreditScoreRequest(user_id=user, request_id=key(), **fields)
    return credit.credit.RefreshCreditScore(request, metadata=metadata or credit.md(user)).credit_score


def test_refresh_appends_to_the_history_and_get_returns_the_latest(credit: CreditApi) -> None:
    user = credit.register()
    none = failure(
        lambda: credit.credit.GetCreditScore(C.GetCreditScoreRequest(user_id=user), metadata=credit.md(user))
    )
    assert none.code == grpc.StatusCode.NOT_FOUND and none.reason == "CREDIT_SCORE_NOT_FOUND"
    without = failure(lambda: refresh(credit, user))
    assert without.code == grpc.StatusCode.INVALID_ARGUMENT and without.fields == ["financials"]

    good = refresh(credit, user, financials=financials())
    bad = refresh(credit, user, metadata=credit.underwriter(), financials=financials(**RISKY))
    assert good.id.startswith("cs_") and good.user_id == user and good.score > bad.score
    assert bad.band == C.CREDIT_SCORE_BAND_POOR and bad.reason_codes
    assert 0 < bad.default_probability_bps <= 10_000
    latest = credit.credit.GetCreditScore(C.GetCreditScoreRequest(user_id=user), metadata=credit.md(user))
    assert latest.credit_score == bad

    # Without financials, the latest application's are used.
    app = credit.submit(user)
    from_app = refresh(credit, user)
    # The application declared the default financials: scoring them directly gives the same score.
    assert from_app.score == refresh(credit, credit.register(), financials=financials()).score

    history = credit.credit.ListCreditScoreHistory(
        C.ListCreditScoreHistoryRequest(user_id=user, page_size=2), metadata=credit.md(user)
    )
    assert [s.id for s in history.credit_scores] == [from_app.id, app.credit_score_id]
    rest = credit.credit.ListCreditScoreHistory(
        C.ListCreditScoreHistoryRequest(user_id=user, page_size=2, page_token=history.next_page_token),
        metadata=credit.md(user),
    )
    assert [s.id for s in rest.credit_scores] == [bad.id, good.id]
    assert rest.next_page_token == ""


def test_score_authorization_replay_and_unknown_users(credit: CreditApi) -> None:
    user, other = credit.register(), credit.register()
    request = C.RefreshCreditScoreRequest(user_id=user, request_id=key(), financials=financials())
    first = credit.credit.RefreshCreditScore(request, metadata=credit.md(user)).credit_score
    assert credit.credit.RefreshCreditScore(request, metadata=credit.md(user)).credit_score == first
    request.financials.inquiries_6m = 4
    reused = failure(lambda: credit.credit.RefreshCreditScore(request, metadata=credit.md(user)))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"

    denied = failure(
        lambda: credit.credit.GetCreditScore(C.GetCreditScoreRequest(user_id=user), metadata=credit.md(other))
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    history_denied = failure(
        lambda: credit.credit.ListCreditScoreHistory(
            C.ListCreditScoreHistoryRequest(user_id=user), metadata=credit.md(other)
        )
    )
    assert history_denied.code == grpc.StatusCode.PERMISSION_DENIED
    refresh_denied = failure(
        lambda: refresh(credit, user, metadata=credit.md(other), financials=financials())
    )
    assert refresh_denied.code == grpc.StatusCode.PERMISSION_DENIED
    for metadata in (credit.underwriter(), credit.admin()):
        got = credit.credit.GetCreditScore(C.GetCreditScoreRequest(user_id=user), metadata=metadata)
        assert got.credit_score == first
    # No service reads credit scores (analytics reads only the loan book).
    by_service = failure(
        lambda: credit.credit.GetCreditScore(C.GetCreditScoreRequest(user_id=user), metadata=credit.service())
    )
    assert (by_service.code, by_service.reason) == (grpc.StatusCode.PERMISSION_DENIED, "SERVICE_NOT_ALLOWED")

    unknown = failure(
        lambda: refresh(
            credit, "usr_01JZZZZZZZZZZZZZZZZZZZZZZZ", metadata=credit.admin(), financials=financials()
        )
    )
    assert unknown.code == grpc.StatusCode.NOT_FOUND and unknown.reason == "USER_NOT_FOUND"
    empty = failure(lambda: credit.credit.GetCreditScore(C.GetCreditScoreRequest(), metadata=credit.admin()))
    assert empty.code == grpc.StatusCode.INVALID_ARGUMENT and empty.fields == ["user_id"]
    bad_fin = failure(lambda: refresh(credit, user, financials=financials(utilization_bps=100_001)))
    assert bad_fin.fields == ["financials.utilization_bps"]


def test_a_credit_line_is_a_ledger_account_that_may_go_negative_to_its_limit(credit: CreditApi) -> None:
    user = credit.register()
    missing = failure(
        lambda: credit.credit.GetCreditLine(C.GetCreditLineRequest(user_id=user), metadata=credit.md(user))
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND and missing.reason == "CREDIT_LINE_NOT_FOUND"

    line = credit.update_line(user, 200_000, apr=1899)
    assert line.id.startswith("cl_") and line.user_id == user
    assert line.limit == eur(200_000) and line.available == eur(200_000) and line.used == eur(0)
    assert line.status == C.CREDIT_LINE_STATUS_ACTIVE and line.apr_bps == 1899
    account = credit.ledger_account(line.ledger_account_id)
    assert account.owner_id == user and account.credit_limit_minor == 200_000
    assert account.balance_rule == 2  # BALANCE_RULE_CREDIT_LIMIT

    # Draw 150,000 on the line through the ledger; the ledger refuses to go past the limit.
    sink = credit.account("system", "test_merchant", 1, 3)
    credit.post(line.ledger_account_id, sink, 150_000)
    over = failure(lambda: credit.post(line.ledger_account_id, sink, 50_001))
    assert over.reason == "INSUFFICIENT_FUNDS"
    seen = credit.credit.GetCreditLine(
        C.GetCreditLineRequest(user_id=user), metadata=credit.md(user)
    ).credit_line
    assert seen.used == eur(150_000) and seen.available == eur(50_000)

    below = failure(lambda: credit.update_line(user, 149_999, apr=None))
    assert below.code == grpc.StatusCode.FAILED_PRECONDITION and below.reason == "LIMIT_BELOW_USED"
    raised = credit.update_line(user, 300_000, apr=None)
    assert raised.limit == eur(300_000) and raised.available == eur(150_000) and raised.apr_bps == 1899
    assert credit.ledger_account(line.ledger_account_id).credit_limit_minor == 300_000
    credit.post(line.ledger_account_id, sink, 100_000)

    frozen = credit.update_line(user, 300_000, apr=None, status=C.CREDIT_LINE_STATUS_FROZEN)
    assert frozen.status == C.CREDIT_LINE_STATUS_FROZEN and frozen.available == eur(0)
    assert failure(lambda: credit.post(line.ledger_account_id, sink, 1)).reason == "INSUFFICIENT_FUNDS"
    in_use = failure(lambda: credit.update_line(user, 300_000, apr=None, status=C.CREDIT_LINE_STATUS_CLOSED))
    assert in_use.code == grpc.StatusCode.FAILED_PRECONDITION and in_use.reason == "CREDIT_LINE_IN_USE"

    # Repaid in full, the line can be closed, and a closed line cannot change.
    credit.post(credit.account("system", "test_clearing", 1, 3), line.ledger_account_id, 250_000)
    closed = credit.update_line(user, 0, apr=None, status=C.CREDIT_LINE_STATUS_CLOSED)
    assert closed.status == C.CREDIT_LINE_STATUS_CLOSED and closed.used == eur(0)
    reopened = failure(
        lambda: credit.update_line(user, 100_000, apr=None, status=C.CREDIT_LINE_STATUS_ACTIVE)
    )
    assert reopened.code == grpc.StatusCode.FAILED_PRECONDITION and reopened.reason == "CREDIT_LINE_CLOSED"


def test_credit_line_authorization_validation_and_idempotency(credit: CreditApi) -> None:
    user = credit.register()
    customer = failure(lambda: credit.update_line(user, 100_000, metadata=credit.md(user)))
    assert customer.code == grpc.StatusCode.PERMISSION_DENIED
    no_apr = failure(lambda: credit.update_line(user, 100_000, apr=None))
    assert no_apr.code == grpc.StatusCode.INVALID_ARGUMENT and no_apr.fields == ["apr_bps"]
    unknown = failure(lambda: credit.update_line("usr_01JZZZZZZZZZZZZZZZZZZZZZZZ", 100_000))
    assert unknown.code == grpc.StatusCode.NOT_FOUND and unknown.reason == "USER_NOT_FOUND"
    invalid = failure(
        lambda: credit.credit.UpdateCreditLine(
            C.UpdateCreditLineRequest(
                user_id=user,
                limit=common_pb2.Money(amount_minor=-1, currency="EUR"),
                apr_bps=4000,
                request_id=key(),
            ),
            metadata=credit.admin(),
        )
    )
    assert invalid.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(invalid.fields) == {"limit.amount_minor", "apr_bps", "reason"}

    request = C.UpdateCreditLineRequest(
        user_id=user, limit=eur(100_000), apr_bps=1500, reason="new customer", request_id=key()
    )
    first = credit.credit.UpdateCreditLine(request, metadata=credit.admin()).credit_line
    assert credit.credit.UpdateCreditLine(request, metadata=credit.admin()).credit_line == first
    request.limit.amount_minor = 100_001
    reused = failure(lambda: credit.credit.UpdateCreditLine(request, metadata=credit.admin()))
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "IDEMPOTENCY_KEY_REUSED"
    usd = failure(
        lambda: credit.credit.UpdateCreditLine(
            C.UpdateCreditLineRequest(
                user_id=user,
                limit=common_pb2.Money(amount_minor=5, currency="USD"),
                reason="x",
                request_id=key(),
            ),
            metadata=credit.admin(),
        )
    )
    assert usd.code == grpc.StatusCode.INVALID_ARGUMENT and usd.fields == ["limit.currency"]
    other = credit.register()
    denied = failure(
        lambda: credit.credit.GetCreditLine(C.GetCreditLineRequest(user_id=user), metadata=credit.md(other))
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    assert (
        credit.credit.GetCreditLine(
            C.GetCreditLineRequest(user_id=user), metadata=credit.underwriter()
        ).credit_line.id
        == first.id
    )


def test_an_underwriter_cannot_open_or_change_their_own_credit_line(credit: CreditApi) -> None:
    underwriter = credit.register()
    as_self = credit.md(underwriter, "underwriter")
    opening = failure(lambda: credit.update_line(underwriter, 500_000, metadata=as_self))
    assert opening.code == grpc.StatusCode.PERMISSION_DENIED and opening.reason == "SELF_DECISION"
    not_opened = failure(
        lambda: credit.credit.GetCreditLine(
            C.GetCreditLineRequest(user_id=underwriter), metadata=credit.md(underwriter)
        )
    )
    assert not_opened.code == grpc.StatusCode.NOT_FOUND

    line = credit.update_line(underwriter, 100_000)
    raising = failure(lambda: credit.update_line(underwriter, 900_000, apr=None, metadata=as_self))
    assert raising.code == grpc.StatusCode.PERMISSION_DENIED and raising.reason == "SELF_DECISION"
    assert credit.ledger_account(line.ledger_account_id).credit_limit_minor == 100_000
    # Another underwriter may still change it.
    assert credit.update_line(underwriter, 200_000, apr=None).limit == eur(200_000)
