"""Helpers of the user service's integration tests (its settings: tests/support/harness.py)."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexafi.user.v1 import user_pb2, user_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres
from tests.support.harness import SERVICE_CLIENT_SECRETS, TokenFactory

ADMIN_PASSWORD = "velvet-quarry-passphrase-42"
SERVICE_SECRET = SERVICE_CLIENT_SECRETS["payment"]
TIMEOUT = 10

ROOT = Path(__file__).resolve().parents[3]


def cli_env(pg: EmbeddedPostgres, keys_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'gen'}",
        "USER_DATABASE_URL": pg.url("nexafi_user"),
        "NEXAFI_KEYS_DIR": str(keys_dir),
    }


def run_cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.user.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# Every clear secret the tests handle, for the scan of the database and the logs.
SECRETS: set[str] = {ADMIN_PASSWORD}


def remember(*secrets: str) -> None:
    SECRETS.update(secrets)


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def strong_password() -> str:
    password = f"lantern-{uuid.uuid4().hex[:12]}-orbit"
    remember(password)
    return password


@dataclass
class Actor:
    """A registered user with a live session."""

    user: user_pb2.User
    password: str
    access_token: str
    refresh_token: str

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.access_token}"),)


class UserApi:
    def __init__(self, stub: user_pb2_grpc.UserServiceStub, tokens: TokenFactory, mail_dir: Path) -> None:
        self.stub = stub
        self.tokens = tokens
        self.mail_dir = mail_dir

    def register(
        self, username: str | None = None, email: str | None = None, password: str | None = None, **extra: Any
    ) -> tuple[user_pb2.User, str]:
        username = username or unique()
        password = password or strong_password()
        request = user_pb2.RegisterRequest(
            username=username, email=email or f"{username}@example.com", password=password, **extra
        )
        return self.stub.Register(request, timeout=TIMEOUT).user, password

    def login(self, login: str, password: str, *, address: str | None = None) -> user_pb2.LoginResponse:
        # The client address as Envoy would pass it (direct callers are in-cluster and trusted).
        metadata = (("x-nexafi-client-address", address),) if address else None
        response = self.stub.Login(
            user_pb2.LoginRequest(login=login, password=password), timeout=TIMEOUT, metadata=metadata
        )
        remember(response.tokens.refresh_token)
        return response

    def login_as(self, login: str, password: str) -> Actor:
        response = self.login(login, password)
        return Actor(response.user, password, response.tokens.access_token, response.tokens.refresh_token)

    def new_customer(self, **extra: Any) -> Actor:
        user, password = self.register(**extra)
        return self.login_as(user.username, password)

    def refresh(self, token: str) -> user_pb2.TokenPair:
        tokens = self.stub.RefreshToken(
            user_pb2.RefreshTokenRequest(refresh_token=token), timeout=TIMEOUT
        ).tokens
        remember(tokens.refresh_token)
        return tokens

    def staff(self, *roles: str) -> tuple[tuple[str, str], ...]:
        """Metadata of a staff member who has no account here (tokens from the session keyring)."""
        return self.tokens.metadata(unique("usr_staff"), list(roles))

    def reset_mail(self, to: str, *, timeout: float = 5.0, after: float = 0.0) -> str | None:
        """The reset token of the newest mail to ``to`` written after ``after`` (epoch seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.reset_mails(to, after=after)
            if found:
                return found[-1]
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)

    def reset_mails(self, to: str, *, after: float = 0.0) -> list[str]:
        tokens = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            # The outbox names each file by its process's clock (time_ns): compared with the test's
            # clock, not with the file system's mtime, which a faked clock (faketime) does not move.
            if int(path.name.split("-", 1)[0]) / 1e9 < after:
                continue
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if message["To"] != to:
                continue
            body = message.get_body(("plain",))
            assert body is not None
            match = re.search(r"Reset token: (\S+)", body.get_content())
            assert match is not None
            tokens.append(match.group(1))
        for token in tokens:
            remember(token)
        return tokens
