"""The audit trail of staff actions on loans and credit lines: recorded with the actor, read by
admins only (ListStaffActions), and append-only in the database itself."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa
from nexafi.credit.v1 import credit_pb2 as C

from services.devtools.embedded_pg import EmbeddedPostgres
from tests.integration.credit.credit_support import UNDERWRITER, CreditApi, key
from tests.support.grpc_errors import failure


def actions(
    credit: CreditApi, actor: str = "", page_size: int = 0, token: str = ""
) -> C.ListStaffActionsResponse:
    request = C.ListStaffActionsRequest(actor_id=actor, page_size=page_size, page_token=token)
    return credit.credit.ListStaffActions(request, metadata=credit.admin())


def test_credit_line_changes_and_decisions_are_in_the_trail(credit: CreditApi) -> None:
    user = credit.register()
    line = credit.update_line(user, 250_000)
    trail = actions(credit, UNDERWRITER).staff_actions
    entry = next(a for a in trail if a.resource_id == line.id)
    assert (entry.action, entry.actor_id, entry.user_id, entry.reason) == (
        "credit_line.changed",
        UNDERWRITER,
        user,
        "annual review",
    )
    assert entry.details["limit_minor"] == "250000" and entry.details["status"] == "CREDIT_LINE_STATUS_ACTIVE"
    # A decision by an underwriter (a referral when the model asks for one, else a direct decision
    # on a fresh application) is there too; the borrower's own cancellation is not a staff action.
    app = credit.submit(credit.register())
    if app.status == C.LOAN_APPLICATION_STATUS_UNDER_REVIEW:
        credit.decide(app.id, C.LOAN_DECISION_REJECT, note="too risky")
        decided = [a for a in actions(credit, UNDERWRITER).staff_actions if a.resource_id == app.id]
        assert decided and decided[0].details["to_status"] == "LOAN_APPLICATION_STATUS_REJECTED"
    mine = credit.submit(credit.register())
    credit.credit.CancelLoanApplication(
        C.CancelLoanApplicationRequest(application_id=mine.id, request_id=key()),
        metadata=credit.md(mine.user_id),
    )
    assert not [a for a in actions(credit).staff_actions if a.resource_id == mine.id]


def test_the_trail_pages_newest_first_and_only_admins_read_it(credit: CreditApi) -> None:
    for _ in range(3):
        credit.update_line(credit.register(), 100_000)
    first = actions(credit, page_size=2)
    assert len(first.staff_actions) == 2 and first.next_page_token
    second = actions(credit, page_size=2, token=first.next_page_token)
    times = [a.create_time.ToDatetime() for a in [*first.staff_actions, *second.staff_actions]]
    assert times == sorted(times, reverse=True)
    assert not {a.id for a in first.staff_actions} & {a.id for a in second.staff_actions}
    for metadata in (credit.underwriter(), credit.md(credit.register()), credit.service()):
        refused = failure(
            lambda m=metadata: credit.credit.ListStaffActions(C.ListStaffActionsRequest(), metadata=m)
        )
        assert refused.code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE credit_line_changes SET actor = 'usr_someone_else'",
        "DELETE FROM credit_line_changes",
        "TRUNCATE credit_line_changes",
        "UPDATE loan_status_changes SET actor = 'usr_someone_else'",
        "DELETE FROM loan_status_changes",
    ],
)
def test_the_database_refuses_to_rewrite_the_trail(
    credit: CreditApi, pg: EmbeddedPostgres, statement: str
) -> None:
    credit.update_line(credit.register(), 50_000)
    engine = sa.create_engine(pg.url("nexafi_credit"))
    try:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(sa.text(statement))
    finally:
        engine.dispose()
