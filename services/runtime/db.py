"""SQLAlchemy 2 engine and unit of work over psycopg2.

The unit of work owns the transaction: it rolls back unless the caller commits.
Serialization failures and deadlocks are retried a few times and then surface as
UNAVAILABLE (reason TRANSACTION_CONFLICT): the client may retry just this call, the
server re-runs the whole transaction (google.rpc.Code's rule for UNAVAILABLE vs ABORTED).
A database that cannot be reached, a connection lost, a pool exhausted become UNAVAILABLE
(reason DATABASE_UNAVAILABLE) through ``database_failure``, never INTERNAL.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from services.runtime.errors import Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
K = TypeVar("K")

# SQLSTATEs worth retrying: serialization_failure, deadlock_detected.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# SQLSTATE classes of a server that is going away or out of resources, not of a bad statement:
# connection exception, insufficient resources, operator intervention (shutdown, cannot connect
# now), system error.
UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57", "58"})
QUERY_CANCELED = "57014"
# What a client should wait before retrying: a restart of PostgreSQL takes about a second;
# a conflict clears as soon as the other transaction ends.
DATABASE_RETRY_DELAY_SECONDS = 1.0
CONFLICT_RETRY_DELAY_SECONDS = 0.1


class DatabaseUnreachable(Exception):
    """The database cannot be reached at start."""


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` URLs and use the psycopg2 driver explicitly."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, echo: bool = False) -> Engine:
    # No ping on every checkout: it is one more round trip per transaction, a sixth
    # of a payment's time when measured. A connection found dead (the database
    # restarted) invalidates the pool and run_in_transaction retries on a fresh one.
    pre_ping = os.environ.get("DB_POOL_PRE_PING", "false").lower() in ("1", "true", "yes")
    return sa.create_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        pool_recycle=1800,
        echo=echo,
        future=True,
    )


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
                    f"cannot reach the database at {describe_url(str(engine.url))}: {reason}"
                ) from None
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


def database_failure(exc: BaseException) -> Unavailable | None:
    """UNAVAILABLE for a failure of the database rather than of the statement; None otherwise.

    Whether a failure during a commit took effect is unknown; UNAVAILABLE still fits, since
    every effect that must not happen twice is guarded by an idempotency key written in
    the same transaction, so a retry with the same key is safe either way.
    """
    if isinstance(exc, PoolTimeout):
        return Unavailable(
            "the database is overloaded; retry",
            "DATABASE_UNAVAILABLE",
            retry_delay_seconds=DATABASE_RETRY_DELAY_SECONDS,
        )
    invalidated = isinstance(exc, DBAPIError) and exc.connection_invalidated
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if not isinstance(orig, psycopg2.Error) and not invalidated:
        return None
    pgcode = getattr(orig, "pgcode", None) or ""
    if pgcode == QUERY_CANCELED:
        return None  # a statement cancelled for its time is a slow query, not an outage
    if pgcode in RETRYABLE_SQLSTATES:
        return Unavailable(
            "the transaction conflicted with concurrent ones; retry",
            "TRANSACTION_CONFLICT",
            retry_delay_seconds=CONFLICT_RETRY_DELAY_SECONDS,
        )
    # No SQLSTATE: the client library lost or could not open the connection.
    lost = isinstance(orig, psycopg2.OperationalError | psycopg2.InterfaceError) and not pgcode
    if invalidated or lost or pgcode[:2] in UNAVAILABLE_SQLSTATE_CLASSES:
        return Unavailable(
            "the database is unavailable; retry",
            "DATABASE_UNAVAILABLE",
            retry_delay_seconds=DATABASE_RETRY_DELAY_SECONDS,
        )
    return None


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
                failure = database_failure(exc)
                assert failure is not None
                raise failure from exc
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")


def in_batches(
    engine: Engine,
    fetch: Callable[[Session, K], Sequence[T]],
    *,
    key: Callable[[T], K],
    start: K,
) -> Iterator[Sequence[T]]:
    """A job's walk over a table in key order, one transaction per batch: ``fetch(session, after)``
    returns the next rows after the key ``after`` (``start`` first); ends at the first empty batch."""
    after = start
    while True:
        # Called at once, in this iteration, so the lambda sees this batch's ``after``.
        batch = run_in_transaction(engine, lambda session: fetch(session, after))  # noqa: B023
        if not batch:
            return
        yield batch
        after = key(batch[-1])
