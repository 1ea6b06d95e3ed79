"""Reading a gRPC error the way a client would: code, message, ErrorInfo and field violations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class Failure:
    """What a failed call told the client."""

    code: grpc.StatusCode
    reason: str
    message: str
    violations: list[tuple[str, str]] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    domain: str = ""

    @property
    def fields(self) -> list[str]:
        return [name for name, _ in self.violations]


def describe(error: grpc.RpcError) -> Failure:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    reason, domain, violations, metadata = "", "", [], {}
    for detail in status.details if status is not None else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = [(v.field, v.description) for v in bad.field_violations]
    return Failure(
        error.code(),
        reason,
        error.details() or "",
        violations,
        metadata,  # type: ignore[attr-defined]
        domain,
    )


def failure(call: Callable[[], Any]) -> Failure:
    """Run ``call``, which must fail, and describe its failure."""
    try:
        call()
    except grpc.RpcError as error:
        return describe(error)
    raise AssertionError("the call succeeded but was expected to fail")
