"""SQLAlchemy 2 engine and unit of work over psycopg2.

The unit of work owns the transaction: it rolls back unless the caller commits.
Serialization failures and deadlocks are retried a few times and then surface as
ABORTED, which clients may retry.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from services.runtime.errors import Aborted

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


class DatabaseUnreachable(Exception):
    """The database cannot be reached at start."""


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` URLs and use the psycopg2 driver explicitly."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, echo: bool = False) -> Engine:
    # No ping on every checkout: it is one more round trip per transaction, a sixth
    # of a payment's time when measured. A connection found dead (the database
    # restarted) invalidates the pool and run_in_transaction retries on a fresh one.
    pre_ping = os.environ.get("DB_POOL_PRE_PING", "false").lower() in ("1", "true", "yes")
    return sa.create_engine(normalize_url(url), pool_size=pool_size, max_overflow=max_overflow,
                            pool_pre_ping=pre_ping, pool_recycle=1800, echo=echo, future=True)


def check_connection(engine: Engine, timeout_seconds: float = 5.0) -> None:
    """Raise DatabaseUnreachable with a one-line reason unless a query succeeds."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
                raise DatabaseUnreachable(
                    f"cannot reach the database at {describe_url(str(engine.url))}: {reason}") from None
            time.sleep(0.2)


class UnitOfWork:
    """One database transaction; nothing is kept unless ``commit`` is called."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
        finally:
            # Rolls back anything not committed.
            session.close()


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return getattr(exc.orig, "pgcode", None) in RETRYABLE_SQLSTATES
    return False


def run_in_transaction(engine: Engine, work: Callable[[Session], T], *, attempts: int = 5) -> T:
    """Run ``work`` in a fresh transaction and commit, retrying serialization failures.

    A connection found dead before the commit (the server restarted since it was
    pooled) is retried on a fresh one; a failure during the commit is not, since
    the commit may have happened.
    """
    uow = UnitOfWork(engine)
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with uow() as session:
                result = work(session)
                committing = True
                session.commit()
                return result
        except DBAPIError as exc:
            if exc.connection_invalidated and not committing and attempt < attempts:
                continue
            if not is_retryable(exc):
                raise
            if attempt == attempts:
                raise Aborted("the transaction conflicted with concurrent ones; retry",
                              "CONCURRENT_MODIFICATION") from exc
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")
