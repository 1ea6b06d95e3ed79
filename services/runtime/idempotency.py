"""Idempotency keys as Stripe defines them: the one contract of every service.

Each service keeps its keys in its own database, in a table made by
:func:`create_table_sql` from one of its migrations (``idempotency_keys`` by default).

* A key is scoped per caller (the JWT subject) and bound to a keyed fingerprint of
  the request: the same key with another body is ALREADY_EXISTS
  (IDEMPOTENCY_KEY_REUSED).
* The first response is stored, errors included once validation has passed, and
  returned on every replay for at least ``retention_hours`` (default 24).
* Concurrency: the first request inserts the key in state ``running`` with a
  lock that lasts ``lock_seconds``. A second request with the same key while the
  lock is live gets ABORTED (REQUEST_IN_PROGRESS) at once, as the proto says, and
  retries later to receive the stored result. It never waits: a waiting RPC
  would tie up a server thread behind a connector call of unknown length.
* Crash safety: the key records the resource it created (the payment id) in the
  same transaction as the resource. If the process dies mid-request, the lock
  expires and the next retry with the key takes it over and *resumes* that
  payment from its last persisted step instead of creating another one.
* Transient failures (a dependency UNAVAILABLE, a conflict ABORTED) are not
  stored: the lock is released so a retry executes again (or resumes).
* ``run(..., claim_with_resource=True)``: for a use case with no effect before it
  creates its resource (InitiatePayment), a new key's ``running`` row is written by
  :meth:`IdempotencyStore.attach` in the resource's transaction instead of a commit of
  its own before the work; a duplicate racing the creation is ABORTED there.

In-transaction variant (:meth:`IdempotencyStore.claim_in_transaction` and
:meth:`IdempotencyStore.complete_in_transaction`), for a service whose effect is a
database write (the ledger): the key and its response are written in the caller's
transaction, so they commit or roll back with the effect, and no ``running`` row is
ever visible to another transaction. A concurrent duplicate is told apart by a
transaction-scoped advisory lock on the key (:data:`ADVISORY_KEY_SQL`), taken with
``pg_try_advisory_xact_lock``: not available means the first request is still
executing, and the duplicate gets ABORTED (REQUEST_IN_PROGRESS) at once, as above.
Since a refused request commits nothing, its key commits nothing either: errors are not
stored by this variant, and a retry is evaluated afresh (a transfer refused for
insufficient funds succeeds under the same key once funds arrive), unless the service
stores one itself with :meth:`IdempotencyStore.fail_in_transaction` (the AI service's
CheckFraud, whose "no active model" is replayed like under ``run``).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.runtime.db import run_in_transaction
from services.runtime.errors import Aborted, AlreadyExists, DomainError, Unavailable

# Errors worth a retry are never stored as the key's result.
_TRANSIENT = (Unavailable, Aborted)


@dataclass(frozen=True)
class Claim:
    scope: str
    key: str
    token: str
    resource_id: str  # set when a crashed earlier attempt created a resource: resume it
    # What the in-transaction variant records with the response (the key's binding).
    operation: str = ""
    fingerprint: str = ""
    # Not written yet: the transaction that creates the resource writes it (``attach``).
    deferred: bool = False


class StoredError(DomainError):
    """An error replayed from an idempotency key, with its original code."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str, metadata: dict[str, str]) -> None:
        super().__init__(message, reason, metadata)
        self.code = code


_CODES = {c.value[0]: c for c in grpc.StatusCode}
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")

# The advisory lock of a key in the in-transaction variant, as a SQL expression of the
# table's name, the scope and the key. A SQL function that claims keys itself (the
# ledger's one-round-trip write path) must lock with exactly this expression.
ADVISORY_KEY_SQL = "hashtextextended({table} || '/' || {scope} || '/' || {key}, 0)"


def create_table_sql(table: str = "idempotency_keys") -> str:
    """The DDL of a service's key table; a migration runs it (frozen there by the revision).

    state 'running' with a live lock_until means a request is executing under the key;
    'done' holds the first response (or error) to replay.
    """
    if not _IDENTIFIER.fullmatch(table):
        raise ValueError(f"not a table name: {table!r}")
    return f"""
CREATE TABLE {table} (
    scope         text NOT NULL,
    key           text NOT NULL,
    operation     text NOT NULL,
    fingerprint   text NOT NULL,
    state         text NOT NULL CHECK (state IN ('running', 'done')),
    resource_id   text NOT NULL DEFAULT '',
    response      bytea,
    error_code    integer,
    error_reason  text,
    error_message text,
    error_metadata jsonb,
    lock_token    text NOT NULL DEFAULT '',
    lock_until    timestamptz,
    create_time   timestamptz NOT NULL DEFAULT now(),
    expire_time   timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX {table}_expire_idx ON {table} (expire_time);
"""


class IdempotencyStore:
    def __init__(
        self,
        engine: Engine,
        *,
        retention_hours: int = 24,
        lock_seconds: int = 60,
        table: str = "idempotency_keys",
    ) -> None:
        if not _IDENTIFIER.fullmatch(table):
            raise ValueError(f"not a table name: {table!r}")
        self.engine = engine
        self.table = table
        self.retention_hours = retention_hours
        self.lock_seconds = lock_seconds

    def run(
        self,
        scope: str,
        key: str,
        operation: str,
        fingerprint: str,
        execute: Callable[[Claim], bytes],
        *,
        claim_with_resource: bool = False,
    ) -> bytes:
        """The stored response for ``key``, or run ``execute`` once and store what it returns or raises.

        ``claim_with_resource``: a new key is not written (and committed) before ``execute``; it is
        written by :meth:`attach` in the transaction that creates the resource, so one commit less.
        Only for a use case with no effect before that transaction: a concurrent duplicate is told
        apart there (ABORTED REQUEST_IN_PROGRESS, its transaction rolled back), not before.
        """
        claim_or_stored = self._begin(scope, key, operation, fingerprint, deferred=claim_with_resource)
        if isinstance(claim_or_stored, bytes):
            return claim_or_stored
        claim = claim_or_stored
        try:
            response = execute(claim)
        except _TRANSIENT:
            self._release(claim)
            raise
        except DomainError as exc:
            self._finish(claim, None, exc)
            raise
        except BaseException:
            self._release(claim)
            raise
        self._finish(claim, response, None)
        return response

    def attach(self, session: Session, claim: Claim, resource_id: str) -> None:
        """Record the resource the request created, in the transaction that creates it (for a
        deferred claim, the key's claim itself: ABORTED REQUEST_IN_PROGRESS if another request
        holds the key by then, which rolls the creation back)."""
        if claim.deferred:
            claimed = session.execute(
                sa.text(
                    f"INSERT INTO {self.table} AS k (scope, key, operation, fingerprint, state, resource_id, "
                    "lock_token, lock_until, expire_time) VALUES (:s, :k, :o, :f, 'running', :r, :t, "
                    "now() + make_interval(secs => :lock), now() + make_interval(hours => :keep)) "
                    "ON CONFLICT (scope, key) DO UPDATE SET operation = EXCLUDED.operation, "
                    "fingerprint = EXCLUDED.fingerprint, state = 'running', "
                    "resource_id = EXCLUDED.resource_id, response = NULL, error_code = NULL, "
                    "lock_token = EXCLUDED.lock_token, lock_until = EXCLUDED.lock_until, "
                    "create_time = now(), expire_time = EXCLUDED.expire_time "
                    "WHERE k.state = 'done' AND k.expire_time < now() RETURNING key"
                ),
                {
                    "s": claim.scope,
                    "k": claim.key,
                    "o": claim.operation,
                    "f": claim.fingerprint,
                    "r": resource_id,
                    "t": claim.token,
                    "lock": self.lock_seconds,
                    "keep": self.retention_hours,
                },
            ).first()
            if claimed is None:
                raise request_in_progress(claim.key)
            return
        session.execute(
            sa.text(
                f"UPDATE {self.table} SET resource_id = :r WHERE scope = :s AND key = :k AND lock_token = :t"
            ),
            {"r": resource_id, "s": claim.scope, "k": claim.key, "t": claim.token},
        )

    def purge_expired(self, limit: int = 1000) -> int:
        def work(session: Session) -> int:
            result = session.execute(
                sa.text(
                    f"DELETE FROM {self.table} WHERE ctid IN (SELECT ctid FROM {self.table} "
                    "WHERE expire_time < now() AND state = 'done' LIMIT :n)"
                ),
                {"n": limit},
            )
            return int(getattr(result, "rowcount", 0) or 0)

        return run_in_transaction(self.engine, work)

    # -- in-transaction variant ---------------------------------------------------------------
    def claim_in_transaction(
        self, session: Session, scope: str, key: str, operation: str, fingerprint: str
    ) -> Claim | bytes:
        """The stored response of ``key``, or a claim to execute under it in ``session``'s transaction.

        ABORTED (REQUEST_IN_PROGRESS) at once while another transaction holds the key;
        ALREADY_EXISTS (IDEMPOTENCY_KEY_REUSED) if it was used for another request. Complete
        the claim with :meth:`complete_in_transaction` in the same transaction.
        """
        params = {"table": self.table, "s": scope, "k": key}
        lock = ADVISORY_KEY_SQL.format(table=":table", scope=":s", key=":k")
        if not session.execute(sa.text(f"SELECT pg_try_advisory_xact_lock({lock})"), params).scalar_one():
            raise request_in_progress(key)
        row = session.execute(
            sa.text(
                "SELECT operation, fingerprint, state, response, error_code, error_reason, error_message, "
                "error_metadata, lock_until > clock_timestamp() AS locked, expire_time < now() AS expired "
                f"FROM {self.table} WHERE scope = :s AND key = :k"
            ),
            params,
        ).one_or_none()
        claim = Claim(scope, key, "", "", operation, fingerprint)
        if row is None or (row.expired and row.state == "done"):
            return claim
        if row.operation != operation or row.fingerprint != fingerprint:
            raise key_reused(key)
        if row.state != "done":
            if row.locked:  # a request under IdempotencyStore.run with the same key
                raise request_in_progress(key)
            return claim
        if row.error_code is not None:
            raise StoredError(
                _CODES[row.error_code], row.error_message, row.error_reason, dict(row.error_metadata or {})
            )
        return bytes(row.response)

    def complete_in_transaction(
        self, session: Session, claim: Claim, response: bytes, resource_id: str = ""
    ) -> None:
        """Store ``response`` under the claimed key, in the transaction that made the effect."""
        sql, params = self.complete_statement(claim, response, resource_id)
        session.execute(sa.text(sql), params)

    def complete_statement(
        self, claim: Claim, response: bytes, resource_id: str = ""
    ) -> tuple[str, dict[str, Any]]:
        """:meth:`complete_in_transaction`'s statement and parameters, for a caller that runs it as a
        data-modifying ``WITH`` of its own effect's statement (one round trip for both).
        Its parameters: ``s, k, o, f, r, resp, keep``."""
        return (
            f"INSERT INTO {self.table} (scope, key, operation, fingerprint, state, resource_id, "
            "response, expire_time) VALUES (:s, :k, :o, :f, 'done', :r, :resp, "
            "now() + make_interval(hours => :keep)) "
            "ON CONFLICT (scope, key) DO UPDATE SET operation = EXCLUDED.operation, "
            "fingerprint = EXCLUDED.fingerprint, state = 'done', resource_id = EXCLUDED.resource_id, "
            "response = EXCLUDED.response, error_code = NULL, error_reason = NULL, error_message = NULL, "
            "error_metadata = NULL, lock_token = '', lock_until = NULL, create_time = now(), "
            "expire_time = EXCLUDED.expire_time",
            {
                "s": claim.scope,
                "k": claim.key,
                "o": claim.operation,
                "f": claim.fingerprint,
                "r": resource_id,
                "resp": response,
                "keep": self.retention_hours,
            },
        )

    def fail_in_transaction(self, session: Session, claim: Claim, error: DomainError) -> None:
        """Store ``error`` (one after validation, not transient) as the claimed key's result, in a
        transaction that commits no effect: for a service that chooses to replay such errors."""
        session.execute(
            sa.text(
                f"INSERT INTO {self.table} (scope, key, operation, fingerprint, state, error_code, "
                "error_reason, error_message, error_metadata, expire_time) VALUES (:s, :k, :o, :f, 'done', "
                ":c, :reason, :m, CAST(:md AS jsonb), now() + make_interval(hours => :keep)) "
                "ON CONFLICT (scope, key) DO UPDATE SET operation = EXCLUDED.operation, "
                "fingerprint = EXCLUDED.fingerprint, state = 'done', resource_id = '', response = NULL, "
                "error_code = EXCLUDED.error_code, error_reason = EXCLUDED.error_reason, "
                "error_message = EXCLUDED.error_message, error_metadata = EXCLUDED.error_metadata, "
                "lock_token = '', lock_until = NULL, create_time = now(), expire_time = EXCLUDED.expire_time"
            ),
            {
                "s": claim.scope,
                "k": claim.key,
                "o": claim.operation,
                "f": claim.fingerprint,
                "c": error.code.value[0],
                "reason": error.reason,
                "m": error.message,
                "md": json.dumps(error.metadata),
                "keep": self.retention_hours,
            },
        )

    # -- internals ---------------------------------------------------------------------------
    def _begin(
        self, scope: str, key: str, operation: str, fingerprint: str, *, deferred: bool = False
    ) -> Claim | bytes:
        token = secrets.token_hex(12)
        # A deferred claim of a new key writes nothing here (attach writes it).
        new_claim = Claim(scope, key, token, "", operation, fingerprint, deferred)

        def work(session: Session) -> Claim | bytes:
            params = {
                "s": scope,
                "k": key,
                "o": operation,
                "f": fingerprint,
                "t": token,
                "lock": self.lock_seconds,
                "keep": self.retention_hours,
            }
            if not deferred:
                inserted = session.execute(
                    sa.text(
                        f"INSERT INTO {self.table} (scope, key, operation, fingerprint, state, "
                        "lock_token, lock_until, "
                        "expire_time) VALUES (:s, :k, :o, :f, 'running', :t, now() + make_interval(secs => "
                        ":lock), "
                        "now() + make_interval(hours => :keep)) ON CONFLICT DO NOTHING RETURNING key"
                    ),
                    params,
                ).first()
                if inserted is not None:
                    return new_claim
            row = session.execute(
                sa.text(
                    "SELECT operation, fingerprint, state, resource_id, response, error_code, error_reason, "
                    "error_message, error_metadata, lock_until > clock_timestamp() AS locked, "
                    f"expire_time < now() AS expired FROM {self.table} WHERE scope = :s AND key = :k "
                    "FOR UPDATE"
                ),
                params,
            ).one_or_none()
            if row is None or (deferred and row.expired and row.state == "done"):
                if not deferred:  # the row was deleted since the INSERT saw it: start afresh
                    raise request_in_progress(key)
                return new_claim
            if row.expired and row.state == "done":
                session.execute(
                    sa.text(
                        f"UPDATE {self.table} SET operation = :o, fingerprint = :f, state = 'running', "
                        "resource_id = '', response = NULL, error_code = NULL, lock_token = :t, "
                        "lock_until = now() + make_interval(secs => :lock), create_time = now(), "
                        "expire_time = now() + make_interval(hours => :keep) WHERE scope = :s AND key = :k"
                    ),
                    params,
                )
                return Claim(scope, key, token, "")
            if row.operation != operation or row.fingerprint != fingerprint:
                raise key_reused(key)
            if row.state == "done":
                if row.error_code is not None:
                    raise StoredError(
                        _CODES[row.error_code],
                        row.error_message,
                        row.error_reason,
                        dict(row.error_metadata or {}),
                    )
                return bytes(row.response)
            if row.locked:
                raise request_in_progress(key)
            # The earlier holder crashed or gave up: take the key over and resume.
            session.execute(
                sa.text(
                    f"UPDATE {self.table} SET lock_token = :t, lock_until = now() + "
                    "make_interval(secs => :lock) "
                    "WHERE scope = :s AND key = :k"
                ),
                params,
            )
            return Claim(scope, key, token, row.resource_id)

        return run_in_transaction(self.engine, work)

    def _finish(self, claim: Claim, response: bytes | None, error: DomainError | None) -> None:
        # A deferred claim may end before its row was written (an error before the creation): it
        # is written here, unless another request holds the key by now.
        sql = (
            (
                f"INSERT INTO {self.table} AS k (scope, key, operation, fingerprint, state, response, "
                "error_code, error_reason, error_message, error_metadata, lock_token, expire_time) VALUES "
                "(:s, :k, :o, :f, 'done', :r, :c, :reason, :m, CAST(:md AS jsonb), :t, "
                "now() + make_interval(hours => :keep)) ON CONFLICT (scope, key) DO UPDATE SET "
                "state = 'done', response = EXCLUDED.response, error_code = EXCLUDED.error_code, "
                "error_reason = EXCLUDED.error_reason, error_message = EXCLUDED.error_message, "
                "error_metadata = EXCLUDED.error_metadata, lock_until = NULL WHERE k.lock_token = :t"
            )
            if claim.deferred
            else (
                f"UPDATE {self.table} SET state = 'done', response = :r, error_code = :c, "
                "error_reason = :reason, "
                "error_message = :m, error_metadata = CAST(:md AS jsonb), lock_until = NULL "
                "WHERE scope = :s AND key = :k AND lock_token = :t"
            )
        )

        def work(session: Session) -> None:
            session.execute(
                sa.text(sql),
                {
                    "o": claim.operation,
                    "f": claim.fingerprint,
                    "keep": self.retention_hours,
                    "r": response,
                    "c": error.code.value[0] if error else None,
                    "reason": error.reason if error else None,
                    "m": error.message if error else None,
                    "md": json.dumps(error.metadata) if error else None,
                    "s": claim.scope,
                    "k": claim.key,
                    "t": claim.token,
                },
            )

        run_in_transaction(self.engine, work)

    def _release(self, claim: Claim) -> None:
        def work(session: Session) -> None:
            # Nothing created yet: forget the key, so a retry starts afresh (and may even change
            # its body). Otherwise keep it bound to its resource, unlocked, for a resuming retry.
            session.execute(
                sa.text(
                    f"DELETE FROM {self.table} WHERE scope = :s AND key = :k AND lock_token = :t "
                    "AND resource_id = ''"
                ),
                {"s": claim.scope, "k": claim.key, "t": claim.token},
            )
            session.execute(
                sa.text(
                    f"UPDATE {self.table} SET lock_until = NULL WHERE scope = :s AND key = :k AND "
                    "lock_token = :t"
                ),
                {"s": claim.scope, "k": claim.key, "t": claim.token},
            )

        try:
            run_in_transaction(self.engine, work)
        except Exception:  # noqa: BLE001 - the lock expires by itself; the original error matters more
            return


def key_reused(key: str) -> AlreadyExists:
    """The error of a key used again with another request (for stores that claim keys in SQL)."""
    return AlreadyExists(
        f"request_id {key!r} was already used with a different request",
        "IDEMPOTENCY_KEY_REUSED",
        {"request_id": key},
    )


def request_in_progress(key: str) -> Aborted:
    """The error of a key whose first request is still executing."""
    return Aborted(
        f"a request with request_id {key!r} is still executing; retry later",
        "REQUEST_IN_PROGRESS",
        {"request_id": key},
    )
