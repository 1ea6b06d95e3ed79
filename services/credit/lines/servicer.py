"""gRPC adapter of credit line use: draws, repayments and statements (a mixin of CreditServicer).

Who may call: a draw only the line's holder (staff never move credit into a customer's
wallet); a repayment the holder or an admin (paying from the holder's wallet); statements
the holder, underwriters and admins. Services may call none of these.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2

from services.credit.lines.repository import Draw, LineRepayment, Statement
from services.credit.lines.service import CreditLineService
from services.credit.lines.settlement import LineUse
from services.credit.service import CreditService
from services.runtime.api import FieldChecks, paginate, query_key, to_enum, to_money, to_timestamp
from services.runtime.auth import ROLE_ADMIN, ROLE_UNDERWRITER, current_principal, require_owner_or_roles
from services.runtime.idempotency import Claim, RequestKeys
from services.runtime.ids import is_valid_id

C = credit_pb2
DEFAULT_STATEMENTS = 12
MAX_STATEMENTS = 120


def _line_pb(use: LineUse) -> credit_pb2.CreditLine:
    # As services/credit/servicer.py's line_pb, from the line's settled state (that module imports this one).
    line = use.line
    return C.CreditLine(
        id=line.id,
        user_id=line.user_id,
        limit=to_money(line.limit, line.currency),
        available=to_money(use.available, line.currency),
        used=to_money(use.principal, line.currency),
        status=to_enum(credit_pb2.CreditLineStatus, line.status),
        apr_bps=line.apr_bps,
        ledger_account_id=line.ledger_account_id,
        create_time=to_timestamp(line.create_time),
        update_time=to_timestamp(line.update_time),
    )


def draw_pb(d: Draw) -> credit_pb2.CreditLineDraw:
    return C.CreditLineDraw(
        id=d.id,
        user_id=d.user_id,
        credit_line_id=d.line_id,
        amount=to_money(d.amount, d.currency),
        transaction_id=d.transaction_id,
        request_id=d.request_id,
        create_time=to_timestamp(d.create_time),
    )


def repayment_pb(r: LineRepayment) -> credit_pb2.CreditLineRepayment:
    return C.CreditLineRepayment(
        id=r.id,
        user_id=r.user_id,
        credit_line_id=r.line_id,
        amount=to_money(r.amount, r.currency),
        interest=to_money(r.interest, r.currency),
        principal=to_money(r.principal, r.currency),
        transaction_id=r.transaction_id,
        request_id=r.request_id,
        create_time=to_timestamp(r.create_time),
    )


def statement_pb(s: Statement) -> credit_pb2.CreditLineStatement:
    def money(amount: int) -> common_pb2.Money:
        return to_money(amount, s.currency)

    return C.CreditLineStatement(
        id=s.id,
        user_id=s.user_id,
        credit_line_id=s.line_id,
        period_start_date=s.period_start.isoformat(),
        period_end_date=s.period_end.isoformat(),
        opening_balance=money(s.opening_balance),
        draws=money(s.draws),
        repayments=money(s.repayments),
        interest=money(s.interest),
        closing_balance=money(s.closing_balance),
        minimum_payment=money(s.minimum_payment),
        due_date=s.due_date.isoformat(),
        apr_bps=s.apr_bps,
        create_time=to_timestamp(s.create_time),
    )


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
        principal = current_principal()
        amount, currency = _money_request(request, "draw")
        require_owner_or_roles(principal, request.user_id)

        def execute(claim: Claim) -> credit_pb2.DrawCreditLineResponse:
            drawn, use = self.lines.draw(
                claim, user_id=request.user_id, amount=amount, currency=currency, actor=principal.subject
            )
            return C.DrawCreditLineResponse(
                draw=draw_pb(drawn),
                credit_line=_line_pb(use),
                interest_due=to_money(use.interest_due, use.line.currency),
            )

        body = self.line_keys.run(principal.subject, "DrawCreditLine", request, execute)
        return C.DrawCreditLineResponse.FromString(body)

    def RepayCreditLine(
        self, request: credit_pb2.RepayCreditLineRequest, context: grpc.ServicerContext
    ) -> credit_pb2.RepayCreditLineResponse:
        principal = current_principal()
        amount, currency = _money_request(request, "repayment")
        require_owner_or_roles(principal, request.user_id, ROLE_ADMIN)

        def execute(claim: Claim) -> credit_pb2.RepayCreditLineResponse:
            repaid, use = self.lines.repay(
                claim, user_id=request.user_id, amount=amount, currency=currency, actor=principal.subject
            )
            return C.RepayCreditLineResponse(
                repayment=repayment_pb(repaid),
                credit_line=_line_pb(use),
                interest_due=to_money(use.interest_due, use.line.currency),
            )

        body = self.line_keys.run(principal.subject, "RepayCreditLine", request, execute)
        return C.RepayCreditLineResponse.FromString(body)

    def ListCreditLineStatements(
        self, request: credit_pb2.ListCreditLineStatementsRequest, context: grpc.ServicerContext
    ) -> credit_pb2.ListCreditLineStatementsResponse:
        principal = current_principal()
        c = FieldChecks()
        c.identifier(request.user_id, "user_id")
        if request.page_size < 0:
            c.add("page_size", f"must be between 1 and {MAX_STATEMENTS}, or 0 for the default")
        c.done()
        require_owner_or_roles(principal, request.user_id, ROLE_UNDERWRITER, ROLE_ADMIN)
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
        require_owner_or_roles(principal, request.user_id, ROLE_UNDERWRITER, ROLE_ADMIN)
        return C.GetCreditLineStatementResponse(
            statement=statement_pb(self.lines.statement(request.user_id, request.statement_id))
        )
