"""Faults injected around real parts: replies lost after the callee committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc


class LostReply(grpc.RpcError):
    """What a caller sees when the ledger did the work but its answer never arrived."""

    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(f"{code.name}: the reply was lost")
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "the reply was lost on its way back (injected)"


class LostLedgerReplies:
    """The payment (or credit) service's real ledger stub, whose replies can be lost.

    Not a mock: an armed method runs on the real ledger, which commits; only then is its reply
    replaced by an error, as a connection reset or a crash of a proxy after the commit would do.
    """

    METHODS = (
        "CreatePendingTransfer",
        "PostPendingTransfer",
        "VoidPendingTransfer",
        "CreateTransaction",
        "ReverseTransaction",
        "UpdateAccountLimit",
    )

    def __init__(self, stub: Any) -> None:
        self.lost: dict[str, list[grpc.StatusCode]] = {}
        self.calls: dict[str, int] = {}
        for name in self.METHODS:
            setattr(stub, name, self._wrap(name, getattr(stub, name)))

    def lose(self, method: str, *codes: grpc.StatusCode) -> None:
        """Lose the replies of the next calls of ``method``, one per code."""
        self.lost[method] = list(codes)

    def _wrap(self, name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(request: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            reply = real(request, *args, **kwargs)
            pending = self.lost.get(name)
            if pending:
                raise LostReply(pending.pop(0))
            return reply

        return call
