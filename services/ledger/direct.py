"""Database connections the ledger holds itself, in autocommit, for its one-statement hot paths.

The engine's pool pings every connection it hands out and resets its isolation
level and transaction when it comes back: three extra round trips around a
write that is itself one round trip. These connections skip that: they stay in
autocommit (every statement is its own transaction unless it says BEGIN), and
one that fails at the connection level is closed and replaced instead of pinged.
They come from the engine (its connect arguments and events), detached from its pool.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
from sqlalchemy.engine import Engine


class DirectConnections:
    def __init__(self, engine: Engine, size: int) -> None:
        self.engine = engine
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A psycopg2 connection in autocommit; reused unless it broke or was left in a transaction."""
        with self._slots:
            try:
                proxied = self._idle.get_nowait()
            except queue.Empty:
                proxied = self._connect()
            connection = proxied.dbapi_connection
            reusable = False
            try:
                yield connection
                reusable = True
            except psycopg2.Error as exc:
                reusable = not isinstance(exc, psycopg2.OperationalError | psycopg2.InterfaceError)
                raise
            finally:
                idle = psycopg2.extensions.TRANSACTION_STATUS_IDLE
                if (
                    reusable
                    and not self._closed
                    and not connection.closed
                    and connection.info.transaction_status == idle
                ):
                    self._idle.put(proxied)
                else:
                    proxied.close()

    def _connect(self) -> Any:
        """The engine's proxy of a new connection, detached from its pool (kept: it owns the connection)."""
        proxied = self.engine.raw_connection()
        proxied.detach()
        assert proxied.dbapi_connection is not None
        proxied.dbapi_connection.autocommit = True
        return proxied

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
