"""Hostile text on the public login and register RPCs: INVALID_ARGUMENT naming the field,
from the shared runtime, before any lookup or lockout counter."""

from __future__ import annotations

import grpc
from nexafi.user.v1 import user_pb2

from tests.integration.user.user_support import UserApi
from tests.support.grpc_errors import failure


def test_nul_in_the_login_field(api: UserApi):
    user, password = api.register()
    failed = failure(
        lambda: api.stub.Login(user_pb2.LoginRequest(login=user.username + "\x00", password=password))
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.reason == "CONTROL_CHARACTERS" and failed.fields == ["login"]
    assert api.login(user.username, password).tokens.access_token  # no failure was counted against it


def test_control_characters_in_registration_fields_are_all_named(api: UserApi):
    request = user_pb2.RegisterRequest(
        username="eve\x00",
        email="eve@example.com\r\n",
        password="correct horse battery staple 9",
        profile=user_pb2.Profile(first_name="E\x1bve"),
    )
    failed = failure(lambda: api.stub.Register(request))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(failed.fields) == ["email", "profile.first_name", "username"]
