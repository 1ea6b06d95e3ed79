"""A probe service for testing the shared runtime over real gRPC.

It has no proto: its methods are raw-bytes generic handlers, so the runtime's
server, interceptor, auth and error mapping are tested without any real service.
Run as a process (``python -m tests.support.probe_service``) for shutdown tests.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

import grpc
from nexafi.ledger.v1 import ledger_pb2

from services.runtime import errors
from services.runtime.auth import current_principal
from services.runtime.server import ServiceContext, ServiceSpec, serve

SERVICE = "nexafi.test.Probe"

ERRORS: dict[str, errors.DomainError] = {
    "not_found": errors.NotFound("account acc_1 not found"),
    "invalid": errors.InvalidArgument(
        "amount must be positive", field="amount.amount_minor", description="must be a positive integer"
    ),
    "exists": errors.AlreadyExists("request_id reused with another body", "IDEMPOTENCY_KEY_REUSED"),
    "denied": errors.PermissionDenied("not yours"),
    "funds": errors.InsufficientFunds("balance too low", metadata={"account_id": "acc_1"}),
    "aborted": errors.Aborted("conflict"),
    "exhausted": errors.ResourceExhausted("daily limit reached", "DAILY_LIMIT_EXCEEDED"),
    "unavailable": errors.Unavailable("ai service unavailable"),
}


def _whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
    principal = current_principal()
    return (principal.subject + "|" + ",".join(sorted(principal.roles))).encode()


def _fail(request: bytes, context: grpc.ServicerContext) -> bytes:
    kind = request.decode()
    if kind == "crash":
        raise RuntimeError("secret internal detail")
    raise ERRORS[kind]


def _sleep(request: bytes, context: grpc.ServicerContext) -> bytes:
    time.sleep(int(request.decode()) / 1000)
    return b"slept"


def _db_now(request: bytes, context: grpc.ServicerContext) -> bytes:
    import sqlalchemy as sa

    assert SERVICE_CONTEXT.engine is not None
    with SERVICE_CONTEXT.engine.connect() as connection:
        return str(connection.execute(sa.text("SELECT 1")).scalar()).encode()


def _public(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b"hello"


def _pid(request: bytes, context: grpc.ServicerContext) -> bytes:
    # Which process answered: the multi-process server's test tells its workers apart by it.
    return str(os.getpid()).encode()


def _stream_fail(request: bytes, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
    yield b"one"
    raise ERRORS["not_found"]


def _echo_request_id(
    request: ledger_pb2.CreateAccountRequest, context: grpc.ServicerContext
) -> ledger_pb2.CreateAccountRequest:
    return request


SERVICE_CONTEXT: ServiceContext


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    global SERVICE_CONTEXT
    SERVICE_CONTEXT = context
    handlers = {
        "DbNow": grpc.unary_unary_rpc_method_handler(_db_now),
        # A real message with a request_id field, to test the Idempotency-Key header.
        "EchoRequestId": grpc.unary_unary_rpc_method_handler(
            _echo_request_id,
            request_deserializer=ledger_pb2.CreateAccountRequest.FromString,
            response_serializer=ledger_pb2.CreateAccountRequest.SerializeToString,
        ),
        "WhoAmI": grpc.unary_unary_rpc_method_handler(_whoami),
        "Fail": grpc.unary_unary_rpc_method_handler(_fail),
        "Sleep": grpc.unary_unary_rpc_method_handler(_sleep),
        "Public": grpc.unary_unary_rpc_method_handler(_public),
        "Pid": grpc.unary_unary_rpc_method_handler(_pid),
        "StreamFail": grpc.unary_stream_rpc_method_handler(_stream_fail),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    return [SERVICE]


SPEC = ServiceSpec(
    name="probe",
    register=register,
    public_methods=frozenset({f"/{SERVICE}/Public"}),
    needs_database=False,
    has_migrations=False,
)


# The same probe with a database, to test start-up against DATABASE_URL.
DB_SPEC = ServiceSpec(
    name="probe",
    register=register,
    public_methods=SPEC.public_methods,
    needs_database=True,
    has_migrations=False,
)


if __name__ == "__main__":
    sys.exit(serve(DB_SPEC if "--with-db" in sys.argv else SPEC))
