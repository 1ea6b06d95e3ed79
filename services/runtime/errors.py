"""Domain errors and their one mapping to gRPC status codes with google.rpc details.

Domain code raises these plain exceptions; the error interceptor of the server
turns them into a status with an ``ErrorInfo`` (UPPER_SNAKE reason) and, for
invalid arguments, ``BadRequest`` field violations. A failure of the infrastructure
(the database unreachable, a connection lost, a pool exhausted, a transaction that kept
conflicting) is not a bug: it becomes UNAVAILABLE (HTTP 503) with a ``RetryInfo``, so
clients and Envoy retry it (``as_domain_error``). Anything else becomes INTERNAL with a
generic message, logged with its trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "nexafi.dev"


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error the services raise on purpose."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN
    default_reason = "ERROR"

    def __init__(
        self, message: str, reason: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})
        self.violations: list[FieldViolation] = []
        # When set, a google.rpc.RetryInfo says how long the client should wait.
        self.retry_delay_seconds: float | None = None


class InvalidArgument(DomainError):
    """The request is malformed; ``violations`` say which fields and why."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        description: str | None = None,
        violations: list[FieldViolation] | None = None,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason, metadata)
        self.violations = list(violations or [])
        if field is not None:
            self.violations.append(FieldViolation(field, description or message))


class NotFound(DomainError):
    """The resource does not exist."""

    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    """The resource exists, or an idempotency key was reused with another body."""

    code = grpc.StatusCode.ALREADY_EXISTS
    default_reason = "ALREADY_EXISTS"


class PermissionDenied(DomainError):
    """The caller is authenticated but not allowed to do this."""

    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class Unauthenticated(DomainError):
    """The caller is not authenticated."""

    code = grpc.StatusCode.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class FailedPrecondition(DomainError):
    """The system is not in a state that allows this."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "FAILED_PRECONDITION"


class InsufficientFunds(FailedPrecondition):
    """An account would go below its limit."""

    default_reason = "INSUFFICIENT_FUNDS"


class Aborted(DomainError):
    """A concurrency conflict; the client may retry."""

    code = grpc.StatusCode.ABORTED
    default_reason = "ABORTED"


class ResourceExhausted(DomainError):
    """A limit or quota is used up."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"


class Unavailable(DomainError):
    """A dependency is unavailable; the client may retry (after ``retry_delay_seconds``, when set)."""

    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        *,
        retry_delay_seconds: float | None = None,
    ) -> None:
        super().__init__(message, reason, metadata)
        self.retry_delay_seconds = retry_delay_seconds


def as_domain_error(exc: BaseException) -> DomainError | None:
    """The domain error an exception stands for: itself, an UNAVAILABLE for a failure of the
    infrastructure, or None for a bug (which becomes INTERNAL)."""
    if isinstance(exc, DomainError):
        return exc
    from services.runtime.db import database_failure  # db imports this module

    return database_failure(exc)


def to_rpc_status(error: DomainError) -> status_pb2.Status:
    """The google.rpc.Status (code, message, details) for a domain error."""
    details = []
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    details.append(packed)
    if error.violations:
        bad = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad)
        details.append(packed)
    if error.retry_delay_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_delay_seconds * 1e9))
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(packed)
    return status_pb2.Status(code=error.code.value[0], message=error.message, details=details)


def internal_status(trace_id: str | None = None) -> status_pb2.Status:
    """The generic INTERNAL status for unexpected errors: no internals leak."""
    message = "internal error"
    if trace_id:
        message += f" (trace {trace_id})"
    return status_pb2.Status(code=code_pb2.INTERNAL, message=message)
