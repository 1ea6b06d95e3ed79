"""gRPC adapter of credit line use: draws, repayments and statements (a mixin of CreditServicer).

Who may call each is in the credit service's table (services/credit/access.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cached_property
from typing import Any, TypeVar

import grpc
from nexafi.credit.v1 import credit_pb2

from services.credit.access import ACCESS
from services.credit.converters import draw_pb, line_repayment_pb, line_use_pb, statement_pb
from services.credit.lines.service import CreditLineService
from services.credit.lines.settlement import LineUse
from services.credit.service import CreditService
from services.runtime.api import FieldChecks, paginate, query_key, to_money
from services.runtime.auth import current_principal
from services.runtime.idempotency import Claim
from services.runtime.ids import is_valid_id
from services.runtime.request_keys import M, RequestKeys

C = credit_pb2
DEFAULT_STATEMENTS = 12
MAX_STATEMENTS = 120
T = TypeVar("T")


def _money_request(
    request: credit_pb2.DrawCreditLineRequest | credit_pb2.RepayCreditLineRequest, what: str
) -> tuple[int, str]:
    c = FieldChecks()
    c.identifier(request.user_id, "user_id")
    if not request.HasField("amount"):
        c.add("amount", "is required")
    amount, currency = c.money(request.amount, "amount")
    c.request_id(request.request_id)
    c.done(f"invalid {what}")
    return amount, currency


def _line_after(use: LineUse) -> dict[str, Any]:
    """The fields a draw's and a repayment's responses share: the line after the move."""
    return {
        "credit_line": line_use_pb(use),
        "interest_due": to_money(use.interest_due, use.line.currency),
    }


class CreditLineServicerMixin:
    """The credit line RPCs; ``CreditServicer`` inherits them and provides ``service``."""

    service: CreditService
    fingerprint_key: bytes

    @cached_property
    def lines(self) -> CreditLineService:
        return CreditLineService.of(self.service)

    @cached_property
    def line_keys(self) -> RequestKeys:
        return RequestKeys(self.lines.idempotency, self.fingerprint_key)

    def DrawCreditLine(
        self, request: credit_pb2.DrawCreditLineRequest, context: grpc.ServicerContext
    ) -> credit_pb2.DrawCreditLineResponse:
        return self._move(
            "DrawCreditLine",
            request,
            "draw",
            C.DrawCreditLineResponse,
            self.lines.draw,
            lambda drawn, use: C.DrawCreditLineResponse(draw=draw_pb(drawn), **_line_after(use)),
        )

    def RepayCreditLine(
        self, request: credit_pb2.RepayCreditLineRequest, context: grpc.ServicerContext
    ) -> credit_pb2.RepayCreditLineResponse:
        return self._move(
            "RepayCreditLine",
            request,
            "repayment",
            C.RepayCreditLineResponse,
            self.lines.repay,
            lambda repaid, use: C.RepayCreditLineResponse(
                repayment=line_repayment_pb(repaid), **_line_after(use)
            ),
        )

    def _move(
        self,
        operation: str,
        request: credit_pb2.DrawCreditLineRequest | credit_pb2.RepayCreditLineRequest,
        what: str,
        response: type[M],
        move: Callable[..., tuple[T, LineUse]],
        render: Callable[[T, LineUse], M],
    ) -> M:
        """A draw or a repayment: checked, authorized, then run once per request_id; ``move`` is
        the use case, ``render`` the response of what it did and of the line after it."""
        principal = current_principal()
        amount, currency = _money_request(request, what)
        ACCESS.check(operation, principal, request.user_id)

        def execute(claim: Claim) -> M:
            done, use = move(
                claim, user_id=request.user_id, amount=amount, currency=currency, actor=principal.subject
            )
            return render(done, use)

        return self.line_keys.respond_to(principal.subject, operation, request, response, execute)

    def ListCreditLineStatements(
        self, request: credit_pb2.ListCreditLineStatementsRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListCreditLineStatementsResponse:
        principal = current_principal()
        c = FieldChecks()
        c.identifier(request.user_id, "user_id")
        if request.page_size < 0:
            c.add("page_size", f"must be between 1 and {MAX_STATEMENTS}, or 0 for the default")
        c.done()
        ACCESS.check("ListCreditLineStatements", principal, request.user_id)
        size = min(request.page_size or DEFAULT_STATEMENTS, MAX_STATEMENTS)
        page = paginate(
            lambda before, limit: self.lines.statements(request.user_id, before, limit),
            page_token=request.page_token,
            query=query_key("line-statements", request.user_id),
            size=size,
            position=lambda s: s.period_start.isoformat(),
            parse=lambda raw: date.fromisoformat(str(raw)),
        )
        return C.ListCreditLineStatementsResponse(
            statements=[statement_pb(s) for s in page.items], next_page_token=page.next_page_token
        )

    def GetCreditLineStatement(
        self, request: credit_pb2.GetCreditLineStatementRequest, context: grpc.ServicerContext
    ) -> credit_pb2.GetCreditLineStatementResponse:
        principal = current_principal()
        c = FieldChecks()
        c.identifier(request.user_id, "user_id")
        if not is_valid_id(request.statement_id, "cls"):
            c.add("statement_id", "must be a statement id (cls_…)")
        c.done()
        ACCESS.check("GetCreditLineStatement", principal, request.user_id)
        return C.GetCreditLineStatementResponse(
            statement=statement_pb(self.lines.statement(request.user_id, request.statement_id))
        )
