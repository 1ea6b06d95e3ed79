"""SearchUsers over real gRPC against the real user service and PostgreSQL: staff find a user by
id, by words of the name, username or e-mail (case-insensitive, every word must match, wildcards
taken literally), newest first and paged; bad queries are INVALID_ARGUMENT on ``query``; only
admins, support and compliance may search."""

from __future__ import annotations

import functools
import uuid

import grpc
import pytest
from nexafi.user.v1 import user_pb2

from tests.integration.user.user_support import UserApi, unique
from tests.support.grpc_errors import failure


def search(api: UserApi, query: str, **extra: object) -> user_pb2.SearchUsersResponse:
    return api.stub.SearchUsers(
        user_pb2.SearchUsersRequest(query=query, **extra),  # type: ignore[arg-type]
        metadata=api.staff("support"),
    )


def test_staff_find_users_by_id_name_and_email(api: UserApi) -> None:
    # A surname no other test uses, so the matches are exactly these users.
    family = "Zq" + uuid.uuid4().hex[:8]
    ada, _ = api.register(profile=user_pb2.Profile(first_name="Ada", last_name=family))
    alan, _ = api.register(profile=user_pb2.Profile(first_name="Alan", last_name=family))
    other, _ = api.register(email=f"{unique()}@{family.lower()}.example")

    assert [u.id for u in search(api, ada.id).users] == [ada.id]
    # Newest first (the e-mail domain holds the surname too); every word must match; any case.
    assert [u.id for u in search(api, family.upper()).users] == [other.id, alan.id, ada.id]
    assert [u.id for u in search(api, f"ada {family.lower()}").users] == [ada.id]
    assert [u.id for u in search(api, ada.username).users] == [ada.id]
    assert [u.id for u in search(api, f"@{family.lower()}.example").users] == [other.id]
    assert search(api, f"{family} nobody").users == []
    # Wildcards are literal: "%" and "_" match only themselves.
    assert search(api, "%%").users == [] and search(api, "__").users == []

    first = search(api, family, page_size=2)
    assert [u.id for u in first.users] == [other.id, alan.id] and first.next_page_token
    second = search(api, family, page_size=2, page_token=first.next_page_token)
    assert [u.id for u in second.users] == [ada.id] and not second.next_page_token
    # A token belongs to its query.
    foreign = failure(lambda: search(api, "someone else", page_token=first.next_page_token))
    assert foreign.code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("query", ["", "   ", "a", "x" * 101, "a b c d e f"])
def test_a_bad_query_is_invalid_argument(api: UserApi, query: str) -> None:
    refused = failure(lambda: search(api, query))
    assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refused.fields == ["query"]


def test_only_staff_may_search(api: UserApi) -> None:
    customer = api.new_customer()
    for metadata in (customer.metadata, api.staff("underwriter"), api.tokens.service("payment")):
        request = user_pb2.SearchUsersRequest(query=customer.user.username)
        refused = failure(functools.partial(api.stub.SearchUsers, request, metadata=metadata))
        assert refused.code == grpc.StatusCode.PERMISSION_DENIED
    for role in ("admin", "compliance"):
        found = api.stub.SearchUsers(user_pb2.SearchUsersRequest(query=customer.id), metadata=api.staff(role))
        assert [u.id for u in found.users] == [customer.id]
