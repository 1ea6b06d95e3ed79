"""Operator commands of the user service.

    python -m services.user.cli create-admin --username ada --email ada@example.com --password-stdin
    python -m services.user.cli rotate-keys

``create-admin`` is the only way to make the first admin: there is no open
endpoint for it. The password comes from stdin (or an interactive prompt), never
from the command line, where ``ps`` and shell history would show it.
``rotate-keys`` makes a new signing key current; the previous keys stay in the
JWKS, so access tokens they signed stay valid until they expire.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from services.runtime import migrations
from services.runtime.config import ConfigError, Settings, env_str
from services.runtime.db import create_engine
from services.runtime.errors import DomainError
from services.runtime.keys import Keyring
from services.user.accounts import check_registration
from services.user.service import UserService
from services.user.spec import settings_from_env

PROG = "nexafi-user"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise SystemExit(f"{PROG}: no terminal to prompt on; pass --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat: "):
        raise SystemExit(f"{PROG}: the passwords differ")
    return first


def create_admin(username: str, email: str, password: str) -> str:
    # In the cluster USER_DATABASE_URL is set, and the image has no development tooling; beside
    # `make run` the dev stack's database is found (or started) by services.devtools.local_db.
    explicit = env_str("USER_DATABASE_URL")
    if explicit:
        return _create_admin(explicit, username, email, password)
    from services.devtools import local_db

    with local_db.database_url("user") as url:
        return _create_admin(url, username, email, password)


def _create_admin(url: str, username: str, email: str, password: str) -> str:
    settings = Settings.from_env("user", needs_database=False)
    migrations.upgrade("user", url)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    try:
        keyring = Keyring(settings.auth.keys_dir)
        service = UserService(engine, keyring, settings.auth, settings_from_env())
        registration = check_registration(
            username=username, email=email, password=password, profile=None, roles=("admin",)
        )
        user = service.accounts.register(registration, actor="cli")
        return user.id
    finally:
        engine.dispose()


def rotate_keys() -> str:
    settings = Settings.from_env("user", needs_database=False)
    return Keyring(settings.auth.keys_dir).rotate()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.user.cli", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="create an admin account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--email", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    commands.add_parser("rotate-keys", help="make a new signing key current")
    args = parser.parse_args(argv)
    try:
        if args.command == "create-admin":
            user_id = create_admin(args.username, args.email, _read_password(args.password_stdin))
            print(f"created admin {user_id}")
        else:
            print(f"new signing key {rotate_keys()}")
    except DomainError as exc:
        details = "; ".join(f"{v.field}: {v.description}" for v in exc.violations)
        print(f"{PROG}: {exc.reason}: {details or exc.message}", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
