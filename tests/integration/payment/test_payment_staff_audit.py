"""The audit trail of staff actions on payments: refund requests and status decisions recorded with
the actor, read by admins only (ListStaffActions), and append-only in the database itself."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa
from nexafi.payment.v1 import payment_pb2 as S
from sqlalchemy.engine import Engine

from tests.integration.payment.payment_support import PaymentApi
from tests.integration.payment.test_payment_flows import funded, settle
from tests.support.grpc_errors import failure

ADMIN_ID = "usr_01ADMIN0000000000000000000"


def trail(
    api: PaymentApi, actor: str = "", page_size: int = 0, token: str = ""
) -> S.ListStaffActionsResponse:
    request = S.ListStaffActionsRequest(actor_id=actor, page_size=page_size, page_token=token)
    return api.payments.ListStaffActions(request, metadata=api.admin())


def test_a_refund_by_staff_is_in_the_trail_with_its_actor(api: PaymentApi) -> None:
    payer = funded(api, 5_000)
    payee = api.register()
    transfer = settle(api, api.initiate(payer, S.PAYMENT_KIND_TRANSFER, 1_200, payee=payee))
    refunded = api.refund(transfer.id, amount=200)
    entries = [a for a in trail(api, ADMIN_ID).staff_actions if a.resource_id == transfer.id]
    requested = next(a for a in entries if a.action == "payment.refund_requested")
    assert (requested.actor_id, requested.user_id, requested.reason) == (ADMIN_ID, payer, "customer request")
    assert requested.details["refund_id"] == refunded.refund.id
    assert (requested.details["amount_minor"], requested.details["currency"]) == ("200", "EUR")
    # The payer's own actions are the payment's history, not staff actions.
    assert all(a.actor_id != payer for a in trail(api).staff_actions)


def test_only_admins_read_the_trail(api: PaymentApi) -> None:
    first = trail(api, page_size=1)
    if first.next_page_token:
        second = trail(api, page_size=1, token=first.next_page_token)
        assert second.staff_actions[0].id != first.staff_actions[0].id
    for metadata in (api.support(), api.md(api.register()), api.tokens.service("payment")):
        refused = failure(
            lambda m=metadata: api.payments.ListStaffActions(S.ListStaffActionsRequest(), metadata=m)
        )
        assert refused.code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payment_status_history SET actor = 'usr_someone_else'",
        "DELETE FROM payment_status_history",
        "TRUNCATE payment_status_history CASCADE",
        "UPDATE refunds SET actor = 'usr_someone_else'",
        "UPDATE refunds SET amount_minor = amount_minor + 1",
        "DELETE FROM refunds",
    ],
)
def test_the_database_refuses_to_rewrite_the_trail(
    api: PaymentApi, payment_db: Engine, statement: str
) -> None:
    payer = funded(api, 1_000)
    api.refund(
        api.payments.ListPayments(S.ListPaymentsRequest(user_id=payer), metadata=api.md(payer)).payments[0].id
    )
    with (
        pytest.raises(sa.exc.DBAPIError, match=r"append-only|never changes"),
        payment_db.begin() as connection,
    ):
        connection.execute(sa.text(statement))
