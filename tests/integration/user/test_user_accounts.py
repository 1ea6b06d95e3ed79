"""GetUser, UpdateUser, DeleteUser, ListUsers, GrantRole and RevokeRole with their access rules."""

from __future__ import annotations

import grpc
import sqlalchemy as sa
from google.protobuf.field_mask_pb2 import FieldMask
from nexafi.user.v1 import user_pb2
from sqlalchemy.engine import Engine

from tests.integration.user.user_support import TIMEOUT, Actor, UserApi, unique
from tests.support.grpc_errors import failure

OK = grpc.StatusCode


def get(api: UserApi, user_id: str, metadata: tuple[tuple[str, str], ...] | None) -> user_pb2.User:
    return api.stub.GetUser(user_pb2.GetUserRequest(user_id=user_id), timeout=TIMEOUT, metadata=metadata).user


def update(
    api: UserApi, user_id: str, metadata: tuple[tuple[str, str], ...], profile: user_pb2.Profile, *paths: str
) -> user_pb2.User:
    request = user_pb2.UpdateUserRequest(
        user_id=user_id, profile=profile, update_mask=FieldMask(paths=list(paths))
    )
    return api.stub.UpdateUser(request, timeout=TIMEOUT, metadata=metadata).user


def delete(
    api: UserApi, user_id: str, metadata: tuple[tuple[str, str], ...], erase: bool = False
) -> user_pb2.User:
    return api.stub.DeleteUser(
        user_pb2.DeleteUserRequest(user_id=user_id, erase=erase), timeout=TIMEOUT, metadata=metadata
    ).user


def grant(api: UserApi, user_id: str, role: int, metadata: tuple[tuple[str, str], ...]) -> user_pb2.User:
    return api.stub.GrantRole(
        user_pb2.GrantRoleRequest(user_id=user_id, role=role), timeout=TIMEOUT, metadata=metadata
    ).user


def revoke(api: UserApi, user_id: str, role: int, metadata: tuple[tuple[str, str], ...]) -> user_pb2.User:
    return api.stub.RevokeRole(
        user_pb2.RevokeRoleRequest(user_id=user_id, role=role), timeout=TIMEOUT, metadata=metadata
    ).user


# -- GetUser ----------------------------------------------------------------------------------


def test_owner_and_staff_read_a_user_other_customers_do_not(api: UserApi) -> None:
    owner, other = api.new_customer(), api.new_customer()
    assert get(api, owner.id, owner.metadata).username == owner.user.username
    for role in ("admin", "support", "compliance"):
        assert get(api, owner.id, api.staff(role)).id == owner.id
    denied = failure(lambda: get(api, owner.id, other.metadata))
    assert (denied.code, denied.reason) == (OK.PERMISSION_DENIED, "PERMISSION_DENIED")
    # Unknown ids look the same as other people's ids to a customer: nothing to probe.
    assert (
        failure(lambda: get(api, "usr_01JUNKNOWN0000000000000000", other.metadata)).code
        == OK.PERMISSION_DENIED
    )


def test_get_user_errors(api: UserApi) -> None:
    missing = failure(lambda: get(api, "usr_01JUNKNOWN0000000000000000", api.staff("admin")))
    assert (missing.code, missing.reason) == (OK.NOT_FOUND, "USER_NOT_FOUND")
    anonymous = failure(lambda: get(api, "usr_x", None))
    assert (anonymous.code, anonymous.reason) == (OK.UNAUTHENTICATED, "TOKEN_MISSING")
    empty = failure(lambda: get(api, "", api.staff("admin")))
    assert (empty.code, empty.fields) == (OK.INVALID_ARGUMENT, ["user_id"])


# -- UpdateUser ----------------------------------------------------------------------------------


def test_update_applies_only_the_masked_fields(api: UserApi) -> None:
    actor = api.new_customer(profile=user_pb2.Profile(first_name="Ada", last_name="Byron"))
    profile = user_pb2.Profile(
        first_name="Augusta",
        last_name="IGNORED",
        address=user_pb2.Address(city="London", country="gb", line1="IGNORED"),
    )
    user = update(api, actor.id, actor.metadata, profile, "first_name", "address.city", "address.country")
    assert (user.profile.first_name, user.profile.last_name) == ("Augusta", "Byron")
    assert (user.profile.address.city, user.profile.address.country, user.profile.address.line1) == (
        "London",
        "GB",
        "",
    )
    # An empty mask replaces the whole profile.
    user = update(api, actor.id, actor.metadata, user_pb2.Profile(phone_number="+4915123456789"))
    assert user.profile.phone_number == "+4915123456789" and user.profile.first_name == ""
    assert user.profile.address.city == ""


def test_update_validates_fields_and_mask(api: UserApi) -> None:
    actor = api.new_customer()
    bad_phone = failure(
        lambda: update(
            api, actor.id, actor.metadata, user_pb2.Profile(phone_number="0151-123"), "phone_number"
        )
    )
    assert (bad_phone.code, bad_phone.fields) == (OK.INVALID_ARGUMENT, ["profile.phone_number"])
    too_long = failure(
        lambda: update(api, actor.id, actor.metadata, user_pb2.Profile(last_name="x" * 101), "last_name")
    )
    assert too_long.fields == ["profile.last_name"]
    bad_country = failure(
        lambda: update(
            api,
            actor.id,
            actor.metadata,
            user_pb2.Profile(address=user_pb2.Address(country="Germany")),
            "address.country",
        )
    )
    assert bad_country.fields == ["profile.address.country"]
    bad_mask = failure(lambda: update(api, actor.id, actor.metadata, user_pb2.Profile(), "email"))
    assert (bad_mask.code, bad_mask.fields) == (OK.INVALID_ARGUMENT, ["update_mask"])


def test_update_is_for_the_owner_or_an_admin(api: UserApi) -> None:
    owner, other = api.new_customer(), api.new_customer()
    profile = user_pb2.Profile(first_name="Mallory")
    assert (
        failure(lambda: update(api, owner.id, other.metadata, profile, "first_name")).code
        == OK.PERMISSION_DENIED
    )
    assert (
        failure(lambda: update(api, owner.id, api.staff("support"), profile, "first_name")).code
        == OK.PERMISSION_DENIED
    )
    assert (
        update(
            api, owner.id, api.staff("admin"), user_pb2.Profile(first_name="Ada"), "first_name"
        ).profile.first_name
        == "Ada"
    )
    missing = failure(lambda: update(api, "usr_01JUNKNOWN0000000000000000", api.staff("admin"), profile))
    assert missing.code == OK.NOT_FOUND


# -- DeleteUser -----------------------------------------------------------------------------------


def test_deactivation_refuses_login_revokes_tokens_and_keeps_the_record(
    api: UserApi, user_db: Engine
) -> None:
    actor = api.new_customer(profile=user_pb2.Profile(first_name="Ada"))
    other = api.new_customer()
    assert failure(lambda: delete(api, actor.id, other.metadata)).code == OK.PERMISSION_DENIED
    user = delete(api, actor.id, actor.metadata)
    assert user.status == user_pb2.USER_STATUS_DEACTIVATED and user.profile.first_name == "Ada"
    refresh = failure(lambda: api.refresh(actor.refresh_token))
    assert refresh.reason == "REFRESH_TOKEN_REVOKED"
    login = failure(lambda: api.login(actor.user.username, actor.password))
    assert (login.code, login.reason) == (OK.PERMISSION_DENIED, "ACCOUNT_DEACTIVATED")
    # Without the right password the status stays hidden.
    assert (
        failure(lambda: api.login(actor.user.username, "wrong-password-entirely")).reason
        == "INVALID_CREDENTIALS"
    )
    assert delete(api, actor.id, actor.metadata).status == user_pb2.USER_STATUS_DEACTIVATED
    with user_db.connect() as conn:
        actions = (
            conn.execute(
                sa.text("SELECT action FROM audit_events WHERE user_id = :id ORDER BY id"), {"id": actor.id}
            )
            .scalars()
            .all()
        )
    assert actions == ["registered", "deactivated"]


def test_erasure_is_admin_only_and_anonymizes(api: UserApi, user_db: Engine) -> None:
    actor = api.new_customer(
        profile=user_pb2.Profile(
            first_name="Ada", phone_number="+4915123456789", address=user_pb2.Address(city="Berlin")
        )
    )
    denied = failure(lambda: delete(api, actor.id, actor.metadata, erase=True))
    assert denied.code == OK.PERMISSION_DENIED
    user = delete(api, actor.id, api.staff("admin"), erase=True)
    suffix = actor.id.removeprefix("usr_").lower()
    assert user.status == user_pb2.USER_STATUS_ERASED
    assert user.username == f"erased_{suffix}" and user.email == f"erased+{actor.id.lower()}@invalid"
    assert user.profile == user_pb2.Profile(address=user_pb2.Address())
    with user_db.connect() as conn:
        row = conn.execute(
            sa.text("SELECT password_hash, username, email FROM users WHERE id = :id"), {"id": actor.id}
        ).one()
        profile = conn.execute(sa.text("SELECT * FROM profiles WHERE user_id = :id"), {"id": actor.id}).one()
    assert row.password_hash is None
    assert actor.user.username not in (row.username, row.email) and actor.user.email != row.email
    assert all(
        value is None for key, value in profile._mapping.items() if key not in ("user_id", "updated_at")
    )
    assert failure(lambda: api.login(actor.user.username, actor.password)).reason == "INVALID_CREDENTIALS"
    assert failure(lambda: api.refresh(actor.refresh_token)).reason == "REFRESH_TOKEN_REVOKED"
    # The username and email are free again.
    api.register(username=actor.user.username, email=actor.user.email)


# -- ListUsers -----------------------------------------------------------------------------------


def test_list_users_pages_newest_first(api: UserApi) -> None:
    created = [api.register()[0].id for _ in range(3)]
    admin = api.staff("admin")
    first = api.stub.ListUsers(user_pb2.ListUsersRequest(page_size=2), timeout=TIMEOUT, metadata=admin)
    assert [u.id for u in first.users] == created[::-1][:2] and first.next_page_token
    second = api.stub.ListUsers(
        user_pb2.ListUsersRequest(page_size=2, page_token=first.next_page_token),
        timeout=TIMEOUT,
        metadata=admin,
    )
    assert second.users[0].id == created[0]
    everyone, token = [], ""
    while True:
        page = api.stub.ListUsers(
            user_pb2.ListUsersRequest(page_size=100, page_token=token),
            timeout=TIMEOUT,
            metadata=api.staff("compliance"),
        )
        everyone.extend(u.id for u in page.users)
        token = page.next_page_token
        if not token:
            break
    assert set(created) <= set(everyone) and everyone == sorted(everyone, reverse=True)


def test_list_users_filters_by_status_and_checks_tokens(api: UserApi) -> None:
    actor = api.new_customer()
    delete(api, actor.id, actor.metadata)
    support = api.staff("support")
    page = api.stub.ListUsers(
        user_pb2.ListUsersRequest(status=user_pb2.USER_STATUS_DEACTIVATED, page_size=1),
        timeout=TIMEOUT,
        metadata=support,
    )
    assert [u.id for u in page.users] == [actor.id] and page.next_page_token
    mismatched = failure(
        lambda: api.stub.ListUsers(
            user_pb2.ListUsersRequest(page_token=page.next_page_token), timeout=TIMEOUT, metadata=support
        )
    )
    assert (mismatched.code, mismatched.fields) == (OK.INVALID_ARGUMENT, ["page_token"])
    garbage = failure(
        lambda: api.stub.ListUsers(
            user_pb2.ListUsersRequest(page_token="%%%"), timeout=TIMEOUT, metadata=support
        )
    )
    assert garbage.fields == ["page_token"]
    negative = failure(
        lambda: api.stub.ListUsers(user_pb2.ListUsersRequest(page_size=-1), timeout=TIMEOUT, metadata=support)
    )
    assert negative.fields == ["page_size"]


def test_customers_cannot_list_users(api: UserApi) -> None:
    actor = api.new_customer()
    result = failure(
        lambda: api.stub.ListUsers(user_pb2.ListUsersRequest(), timeout=TIMEOUT, metadata=actor.metadata)
    )
    assert result.code == OK.PERMISSION_DENIED


# -- GrantRole / RevokeRole ----------------------------------------------------------------------------


def test_role_changes_by_a_non_admin_are_denied(api: UserApi) -> None:
    actor, target = api.new_customer(), api.new_customer()
    for metadata in (actor.metadata, api.staff("support"), api.staff("compliance", "underwriter")):
        assert (
            failure(lambda m=metadata: grant(api, target.id, user_pb2.ROLE_ADMIN, m)).code
            == OK.PERMISSION_DENIED
        )
        assert (
            failure(lambda m=metadata: revoke(api, target.id, user_pb2.ROLE_CUSTOMER, m)).code
            == OK.PERMISSION_DENIED
        )


def test_admin_grants_and_revokes_roles(api: UserApi, admin: Actor) -> None:
    target = api.new_customer()
    user = grant(api, target.id, user_pb2.ROLE_SUPPORT, admin.metadata)
    assert set(user.roles) == {user_pb2.ROLE_CUSTOMER, user_pb2.ROLE_SUPPORT}
    assert grant(api, target.id, user_pb2.ROLE_SUPPORT, admin.metadata).roles == user.roles
    # The next refresh carries the new role.
    refreshed = api.refresh(target.refresh_token)
    support_view = get(api, admin.id, (("authorization", f"Bearer {refreshed.access_token}"),))
    assert support_view.id == admin.id
    user = revoke(api, target.id, user_pb2.ROLE_SUPPORT, admin.metadata)
    assert list(user.roles) == [user_pb2.ROLE_CUSTOMER]
    unspecified = failure(lambda: grant(api, target.id, user_pb2.ROLE_UNSPECIFIED, admin.metadata))
    assert (unspecified.code, unspecified.fields) == (OK.INVALID_ARGUMENT, ["role"])
    service = failure(lambda: grant(api, target.id, user_pb2.ROLE_SERVICE, admin.metadata))
    assert (service.code, service.reason) == (OK.INVALID_ARGUMENT, "ROLE_NOT_GRANTABLE")
    missing = failure(
        lambda: grant(api, "usr_01JUNKNOWN0000000000000000", user_pb2.ROLE_SUPPORT, admin.metadata)
    )
    assert (missing.code, missing.reason) == (OK.NOT_FOUND, "USER_NOT_FOUND")


def other_active_admins(api: UserApi, admin: Actor) -> list[str]:
    """Ids of the active admins besides ``admin`` (tests elsewhere in the session may leave some)."""
    found: list[str] = []
    token = ""
    while True:
        page = api.stub.ListUsers(
            user_pb2.ListUsersRequest(page_size=100, page_token=token, status=user_pb2.USER_STATUS_ACTIVE),
            metadata=admin.metadata,
            timeout=TIMEOUT,
        )
        found += [u.id for u in page.users if user_pb2.ROLE_ADMIN in u.roles and u.id != admin.id]
        token = page.next_page_token
        if not token:
            return found


def test_the_last_active_admin_cannot_be_removed(api: UserApi, admin: Actor) -> None:
    # The guard is about the whole user base: make ``admin`` the only admin first.
    for other in other_active_admins(api, admin):
        revoke(api, other, user_pb2.ROLE_ADMIN, admin.metadata)
    deputy = api.new_customer()
    grant(api, deputy.id, user_pb2.ROLE_ADMIN, admin.metadata)
    # Two admins: one may go.
    assert user_pb2.ROLE_ADMIN not in revoke(api, deputy.id, user_pb2.ROLE_ADMIN, admin.metadata).roles
    last = failure(lambda: revoke(api, admin.id, user_pb2.ROLE_ADMIN, admin.metadata))
    assert (last.code, last.reason) == (OK.FAILED_PRECONDITION, "LAST_ADMIN")
    deactivate = failure(lambda: delete(api, admin.id, admin.metadata))
    assert (deactivate.code, deactivate.reason) == (OK.FAILED_PRECONDITION, "LAST_ADMIN")
    erase = failure(lambda: delete(api, admin.id, admin.metadata, erase=True))
    assert erase.reason == "LAST_ADMIN"
    assert user_pb2.ROLE_ADMIN in get(api, admin.id, admin.metadata).roles


def test_roles_of_a_deactivated_user_cannot_be_granted(api: UserApi, admin: Actor) -> None:
    actor = api.new_customer()
    delete(api, actor.id, actor.metadata)
    result = failure(lambda: grant(api, actor.id, user_pb2.ROLE_SUPPORT, admin.metadata))
    assert (result.code, result.reason) == (OK.FAILED_PRECONDITION, "USER_NOT_ACTIVE")
    assert unique()
