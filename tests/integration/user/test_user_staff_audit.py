"""The user service's audit log of staff actions: role changes, deactivations and erasures by an
admin, with the actor, read by admins only (ListStaffActions), append-only in the database."""

from __future__ import annotations

import grpc
import pytest
import sqlalchemy as sa
from nexafi.user.v1 import user_pb2, user_pb2_grpc
from sqlalchemy.engine import Engine

from tests.support.grpc_errors import failure
from tests.support.harness import TokenFactory, register_user

ADMIN = "usr_01AUDITADMIN000000000000000"[:30]


@pytest.fixture(scope="module")
def user_stub(user_channel: grpc.Channel) -> user_pb2_grpc.UserServiceStub:
    return user_pb2_grpc.UserServiceStub(user_channel)


def test_role_changes_and_deactivation_by_an_admin_are_in_the_trail(
    user_stub: user_pb2_grpc.UserServiceStub, tokens: TokenFactory
) -> None:
    admin = tokens.metadata(ADMIN, ["admin"])
    target = register_user(user_stub)
    user_stub.GrantRole(user_pb2.GrantRoleRequest(user_id=target, role=user_pb2.ROLE_SUPPORT), metadata=admin)
    user_stub.RevokeRole(
        user_pb2.RevokeRoleRequest(user_id=target, role=user_pb2.ROLE_SUPPORT), metadata=admin
    )
    user_stub.DeleteUser(user_pb2.DeleteUserRequest(user_id=target), metadata=admin)
    trail = user_stub.ListStaffActions(user_pb2.ListStaffActionsRequest(actor_id=ADMIN), metadata=admin)
    mine = [a for a in trail.staff_actions if a.user_id == target]
    assert [a.action for a in mine] == ["user.deactivated", "user.role_revoked", "user.role_granted"]
    assert {a.actor_id for a in mine} == {ADMIN} and mine[-1].details["detail"] == "support"
    # The user's own registration is not a staff action.
    everyone = user_stub.ListStaffActions(user_pb2.ListStaffActionsRequest(page_size=100), metadata=admin)
    assert all(a.actor_id != a.user_id for a in everyone.staff_actions)
    first = user_stub.ListStaffActions(
        user_pb2.ListStaffActionsRequest(actor_id=ADMIN, page_size=1), metadata=admin
    )
    second = user_stub.ListStaffActions(
        user_pb2.ListStaffActionsRequest(actor_id=ADMIN, page_size=1, page_token=first.next_page_token),
        metadata=admin,
    )
    assert [a.action for a in [*first.staff_actions, *second.staff_actions]] == [a.action for a in mine[:2]]
    for metadata in (
        tokens.metadata(target, ["customer"]),
        tokens.metadata("usr_support", ["support"]),
        tokens.service("payment"),
    ):
        refused = failure(
            lambda m=metadata: user_stub.ListStaffActions(user_pb2.ListStaffActionsRequest(), metadata=m)
        )
        assert refused.code == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET actor = 'usr_x'", "DELETE FROM audit_events", "TRUNCATE audit_events"],
)
def test_the_database_refuses_to_rewrite_the_trail(
    user_stub: user_pb2_grpc.UserServiceStub, user_db: Engine, statement: str
) -> None:
    register_user(user_stub)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), user_db.begin() as connection:
        connection.execute(sa.text(statement))
