"""gRPC adapter of the payment service: proto -> domain -> proto, syntactic validation (validation.py),
authorization (the table in access.py), idempotency keys (the one place the store is used) and
rendering (converters.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from nexafi.payment.v1 import payment_pb2, payment_pb2_grpc
from sqlalchemy.orm import Session

from services.payment.access import ACCESS
from services.payment.callers import actor_kind, actor_name
from services.payment.converters import method_pb, payment_pb, recovery_response, refund_pb
from services.payment.domain.states import Kind, Status
from services.payment.initiation import NewPayment
from services.payment.reconciliation import Reconciler
from services.payment.repository import PaymentFilter
from services.payment.service import PaymentService
from services.payment.store import RequestKey
from services.payment.validation import MAX_DESCRIPTION, PaymentChecks, new_method
from services.runtime import api, audit
from services.runtime.api import from_timestamp, to_money, to_timestamp
from services.runtime.auth import Principal, current_principal
from services.runtime.errors import InvalidArgument
from services.runtime.idempotency import Claim, IdempotencyStore
from services.runtime.money import Money, validate_amount
from services.runtime.request_keys import RequestKeys

T = TypeVar("T")
M = TypeVar("M", bound=Message)

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
REPORT_PAGE_SIZE = 100  # reconciliation mismatches
MAX_REPORT_PAGE_SIZE = 1000


# The kinds a payment may be; UNSPECIFIED (and any number the contract does not name) is refused.
_KINDS = frozenset({Kind.TOP_UP, Kind.TRANSFER, Kind.PAYOUT})


@dataclass(frozen=True)
class _Key:
    """A request's idempotency claim as the use cases see it (store.RequestKey)."""

    store: IdempotencyStore
    claim: Claim

    @property
    def resource_id(self) -> str:
        return self.claim.resource_id

    def record(self, session: Session, resource_id: str) -> None:
        self.store.attach(session, self.claim, resource_id)


class PaymentServicer(payment_pb2_grpc.PaymentServiceServicer):
    def __init__(self, service: PaymentService, idempotency: IdempotencyStore) -> None:
        self.service = service
        self.idempotency = idempotency
        self.key = service.config.fingerprint_key

    # -- payments -------------------------------------------------------------------------------
    def InitiatePayment(
        self, request: payment_pb2.InitiatePaymentRequest, context: grpc.ServicerContext
    ) -> payment_pb2.InitiatePaymentResponse:
        principal = current_principal()
        c = PaymentChecks()
        c.prefixed_id(request.user_id, "usr", "user_id")
        if request.kind not in _KINDS:
            c.add("kind", "must be TOP_UP, TRANSFER or PAYOUT")
        if not request.HasField("amount"):
            c.add("amount", "is required")
        c.text(request.description, "description", max_length=MAX_DESCRIPTION)
        c.metadata(request.metadata)
        c.merchant_category(request.metadata)
        c.request_id(request.request_id)
        if request.kind == Kind.TRANSFER:
            if not request.payee_user_id:
                c.add("payee_user_id", "is required for a transfer")
            elif request.payee_user_id == request.user_id:
                c.add("payee_user_id", "must differ from user_id")
        elif request.payee_user_id:
            c.add("payee_user_id", "is only for transfers")
        if request.kind in (Kind.TOP_UP, Kind.PAYOUT) and not request.payment_method_id:
            c.add("payment_method_id", "is required for top-ups and payouts")
        c.done()
        validate_amount(request.amount.amount_minor, "amount.amount_minor")
        self.service.limits.check_currency(request.amount.currency)
        # Owner (the payer) or an admin; the check comes after syntax so a malformed request is 400 for all.
        ACCESS.check("InitiatePayment", principal, request.user_id)
        new = NewPayment(
            user_id=request.user_id,
            kind=Kind(request.kind),
            amount_minor=request.amount.amount_minor,
            currency=request.amount.currency,
            payment_method_id=request.payment_method_id,
            payee_user_id=request.payee_user_id,
            description=request.description,
            metadata=dict(request.metadata),
            request_id=request.request_id,
        )
        body = {
            "user_id": new.user_id,
            "kind": int(new.kind),
            "amount": new.amount_minor,
            "currency": new.currency,
            "method": new.payment_method_id,
            "payee": new.payee_user_id,
            "description": new.description,
            "metadata": new.metadata,
        }

        return self._once(
            principal,
            request.request_id,
            "InitiatePayment",
            body,
            payment_pb2.InitiatePaymentResponse,
            lambda key: self.service.initiation.initiate(new, key, principal.subject),
            lambda payment: payment_pb2.InitiatePaymentResponse(payment=payment_pb(payment)),
            # The key is claimed in the payment's creating transaction (nothing happens before it).
            claim_with_resource=True,
        )

    def GetPayment(
        self, request: payment_pb2.GetPaymentRequest, context: grpc.ServicerContext
    ) -> payment_pb2.GetPaymentResponse:
        c = PaymentChecks()
        c.prefixed_id(request.payment_id, "pay", "payment_id")
        c.done()
        payment = self.service.payments.get(request.payment_id)
        principal = current_principal()
        ACCESS.check("GetPayment", principal, (payment.user_id, payment.payee_user_id or payment.user_id))
        return payment_pb2.GetPaymentResponse(payment=payment_pb(payment))

    def ListPayments(
        self, request: payment_pb2.ListPaymentsRequest, context: grpc.ServicerContext
    ) -> payment_pb2.ListPaymentsResponse:
        c = PaymentChecks()
        c.prefixed_id(request.user_id, "usr", "user_id")
        c.non_negative(request.page_size, "page_size")
        c.done()
        ACCESS.check("ListPayments", current_principal(), request.user_id)
        # Either end may be open. An empty or inverted range lists nothing (api.time_range would refuse it).
        bounds = request.create_time_range
        start = from_timestamp(bounds.start_time) if bounds.HasField("start_time") else None
        end = from_timestamp(bounds.end_time) if bounds.HasField("end_time") else None
        query = api.query_key(
            "payments",
            request.user_id,
            sorted(request.statuses),
            request.kind,
            start,
            end,
            request.include_incoming,
        )
        where = PaymentFilter(
            request.user_id, tuple(request.statuses), request.kind, start, end, request.include_incoming
        )
        page = api.paginate_by_id(
            lambda before, limit: self.service.payments.list_payments(where, before, limit),
            page_token=request.page_token,
            query=query,
            size=_page_size(request.page_size),
        )
        return payment_pb2.ListPaymentsResponse(
            payments=[payment_pb(p) for p in page.items], next_page_token=page.next_page_token
        )

    def ListPaymentsInReview(
        self, request: payment_pb2.ListPaymentsInReviewRequest, context: grpc.ServicerContext
    ) -> payment_pb2.ListPaymentsInReviewResponse:
        c = PaymentChecks()
        c.non_negative(request.page_size, "page_size")
        c.done()
        ACCESS.check("ListPaymentsInReview", current_principal())
        # The queue is oldest first: a page starts after the last id of the previous one.
        page = api.paginate_by_id(
            self.service.payments.review_queue,
            page_token=request.page_token,
            query=api.query_key("review-queue"),
            size=_page_size(request.page_size),
        )
        return payment_pb2.ListPaymentsInReviewResponse(
            payments=[payment_pb(p) for p in page.items], next_page_token=page.next_page_token
        )

    def UpdatePaymentStatus(
        self, request: payment_pb2.UpdatePaymentStatusRequest, context: grpc.ServicerContext
    ) -> payment_pb2.UpdatePaymentStatusResponse:
        principal = current_principal()
        c = PaymentChecks()
        c.prefixed_id(request.payment_id, "pay", "payment_id")
        if request.status == Status.UNSPECIFIED or request.status not in Status._value2member_map_:
            c.add("status", "is required")
        if not request.reason.strip():
            c.add("reason", "is required")
        c.request_id(request.request_id)
        c.done()
        ACCESS.check("UpdatePaymentStatus", principal)
        actor = actor_kind(principal)
        target = Status(request.status)
        body = {"payment_id": request.payment_id, "status": int(target), "reason": request.reason}

        return self._once(
            principal,
            request.request_id,
            "UpdatePaymentStatus",
            body,
            payment_pb2.UpdatePaymentStatusResponse,
            lambda key: self.service.status_changes.update_status(
                request.payment_id, target, request.reason, actor_name(principal), actor
            ),
            lambda payment: payment_pb2.UpdatePaymentStatusResponse(payment=payment_pb(payment)),
        )

    def CancelPayment(
        self, request: payment_pb2.CancelPaymentRequest, context: grpc.ServicerContext
    ) -> payment_pb2.CancelPaymentResponse:
        principal = current_principal()
        c = PaymentChecks()
        c.prefixed_id(request.payment_id, "pay", "payment_id")
        c.request_id(request.request_id)
        c.done()
        payment = self.service.payments.get(request.payment_id)
        ACCESS.check("CancelPayment", principal, payment.user_id)
        body = {"payment_id": request.payment_id, "reason": request.reason}

        return self._once(
            principal,
            request.request_id,
            "CancelPayment",
            body,
            payment_pb2.CancelPaymentResponse,
            lambda key: self.service.status_changes.cancel(
                request.payment_id, request.reason, actor_name(principal)
            ),
            lambda cancelled: payment_pb2.CancelPaymentResponse(payment=payment_pb(cancelled)),
        )

    def RefundPayment(
        self, request: payment_pb2.RefundPaymentRequest, context: grpc.ServicerContext
    ) -> payment_pb2.RefundPaymentResponse:
        principal = current_principal()
        c = PaymentChecks()
        c.prefixed_id(request.payment_id, "pay", "payment_id")
        if not request.reason.strip():
            c.add("reason", "is required")
        c.request_id(request.request_id)
        c.done()
        amount = None
        if request.HasField("amount"):
            validate_amount(request.amount.amount_minor, "amount.amount_minor")
            amount = Money(request.amount.amount_minor, request.amount.currency)
        ACCESS.check("RefundPayment", principal)
        body = {
            "payment_id": request.payment_id,
            "amount": amount.amount_minor if amount else None,
            "currency": amount.currency if amount else None,
            "reason": request.reason,
        }

        return self._once(
            principal,
            request.request_id,
            "RefundPayment",
            body,
            payment_pb2.RefundPaymentResponse,
            lambda key: self.service.refunds.refund(
                request.payment_id, amount, request.reason, actor_name(principal), request.request_id, key
            ),
            lambda refunded: payment_pb2.RefundPaymentResponse(
                payment=payment_pb(refunded.payment), refund=refund_pb(refunded.refund)
            ),
        )

    # -- payment methods ---------------------------------------------------------------------------
    def AddPaymentMethod(
        self, request: payment_pb2.AddPaymentMethodRequest, context: grpc.ServicerContext
    ) -> payment_pb2.AddPaymentMethodResponse:
        principal = current_principal()
        c = PaymentChecks()
        c.prefixed_id(request.user_id, "usr", "user_id")
        c.request_id(request.request_id)
        if request.WhichOneof("details") is None:
            c.add("details", "exactly one of card, bank_account or wallet is required")
        c.done()
        ACCESS.check("AddPaymentMethod", principal, request.user_id)
        new = new_method(request, self.key, self.service.clock().date(), self.service.limits)
        # Only a keyed hash of the body is kept: the number enters it but cannot be recovered.
        body = {"user_id": request.user_id, "details": request.SerializeToString(deterministic=True).hex()}

        return self._once(
            principal,
            request.request_id,
            "AddPaymentMethod",
            body,
            payment_pb2.AddPaymentMethodResponse,
            lambda key: self.service.methods.add(new),
            lambda method: payment_pb2.AddPaymentMethodResponse(payment_method=method_pb(method)),
        )

    def ListPaymentMethods(
        self, request: payment_pb2.ListPaymentMethodsRequest, context: grpc.ServicerContext
    ) -> payment_pb2.ListPaymentMethodsResponse:
        c = PaymentChecks()
        c.prefixed_id(request.user_id, "usr", "user_id")
        c.non_negative(request.page_size, "page_size")
        c.done()
        ACCESS.check("ListPaymentMethods", current_principal(), request.user_id)
        query = api.query_key("payment_methods", request.user_id, request.type)
        page = api.paginate_by_id(
            lambda before, limit: self.service.methods.of_user(request.user_id, request.type, before, limit),
            page_token=request.page_token,
            query=query,
            size=_page_size(request.page_size),
        )
        return payment_pb2.ListPaymentMethodsResponse(
            payment_methods=[method_pb(m) for m in page.items], next_page_token=page.next_page_token
        )

    def RemovePaymentMethod(
        self, request: payment_pb2.RemovePaymentMethodRequest, context: grpc.ServicerContext
    ) -> payment_pb2.RemovePaymentMethodResponse:
        c = PaymentChecks()
        c.prefixed_id(request.payment_method_id, "pm", "payment_method_id")
        c.done()
        method = self.service.methods.get(request.payment_method_id)
        ACCESS.check("RemovePaymentMethod", current_principal(), method.user_id)
        removed = self.service.methods.remove(request.payment_method_id)
        return payment_pb2.RemovePaymentMethodResponse(payment_method=method_pb(removed))

    # -- callbacks, reconciliation, recovery ---------------------------------------------------------
    def HandleConnectorCallback(
        self, request: payment_pb2.HandleConnectorCallbackRequest, context: grpc.ServicerContext
    ) -> payment_pb2.HandleConnectorCallbackResponse:
        if not request.connector:
            raise InvalidArgument("connector is required", field="connector", description="is required")
        signature = (
            request.signature
            or dict((k, v) for k, v in context.invocation_metadata() if isinstance(v, str)).get(
                f"{request.connector}-signature", ""
            )
            or dict((k, v) for k, v in context.invocation_metadata() if isinstance(v, str)).get(
                "x-signature", ""
            )
        )
        result = self.service.callbacks.handle(request.connector, request.payload.data, signature)
        return payment_pb2.HandleConnectorCallbackResponse(
            event_id=result.event_id,
            payment_id=result.payment_id,
            disposition=api.to_enum(payment_pb2.CallbackDisposition, result.disposition),
            payment_status=api.to_enum(payment_pb2.PaymentStatus, result.status),
        )

    def GetReconciliationReport(
        self, request: payment_pb2.GetReconciliationReportRequest, context: grpc.ServicerContext
    ) -> payment_pb2.GetReconciliationReportResponse:
        c = PaymentChecks()
        bounds = request.time_range
        # Both ends required, and reported with the request's other problems (api.time_range allows
        # open ends and raises on its own).
        if not (bounds.HasField("start_time") and bounds.HasField("end_time")):
            c.add("time_range", "both start_time and end_time are required")
        elif from_timestamp(bounds.end_time) <= from_timestamp(bounds.start_time):
            c.add("time_range", "end_time must be after start_time")
        c.non_negative(request.page_size, "page_size")
        c.done()
        ACCESS.check("GetReconciliationReport", current_principal())
        start, end = from_timestamp(bounds.start_time), from_timestamp(bounds.end_time)
        query = api.query_key("reconciliation", start, end)
        limit = api.page_size(request.page_size, default=REPORT_PAGE_SIZE, maximum=MAX_REPORT_PAGE_SIZE)
        api.decode_page_token(request.page_token, query)  # a forged token is refused before the work
        report = Reconciler.of(self.service).reconcile(start, end)
        page = api.paginate_list(report.mismatches, page_token=request.page_token, query=query, size=limit)
        token = page.next_page_token
        mismatches = []
        for m in page.items:
            item = payment_pb2.ReconciliationMismatch(
                kind=f"RECONCILIATION_MISMATCH_KIND_{m.kind}",
                transaction_id=m.transaction_id,
                detail=m.detail,
            )
            if m.payment is not None:
                item.payment_id = m.payment.id
                item.payment_status = api.to_enum(payment_pb2.PaymentStatus, m.payment.status)
                item.expected_amount.CopyFrom(to_money(m.payment.amount_minor, m.payment.currency))
            if m.actual_minor is not None:
                item.actual_amount.CopyFrom(to_money(m.actual_minor, m.actual_currency))
            mismatches.append(item)
        return payment_pb2.GetReconciliationReportResponse(
            report=payment_pb2.ReconciliationReport(
                time_range=request.time_range,
                payments_checked=report.payments_checked,
                ledger_transactions_checked=report.ledger_transactions_checked,
                mismatch_count=len(report.mismatches),
                mismatches=mismatches,
                generate_time=to_timestamp(self.service.clock()),
            ),
            next_page_token=token,
        )

    def RecoverStalePayments(
        self, request: payment_pb2.RecoverStalePaymentsRequest, context: grpc.ServicerContext
    ) -> payment_pb2.RecoverStalePaymentsResponse:
        principal = current_principal()
        c = PaymentChecks()
        c.non_negative(request.stale_after_seconds, "stale_after_seconds")
        c.non_negative(request.max_payments, "max_payments")
        c.request_id(request.request_id)
        c.done()
        ACCESS.check("RecoverStalePayments", principal)
        stale = request.stale_after_seconds or self.service.config.stale_after_seconds
        limit = request.max_payments or 100
        body = {"stale": stale, "max": limit, "dry_run": request.dry_run}

        return self._once(
            principal,
            request.request_id,
            "RecoverStalePayments",
            body,
            payment_pb2.RecoverStalePaymentsResponse,
            lambda key: self.service.recovery.recover(stale, limit, request.dry_run),
            recovery_response,
        )

    # -- helpers -----------------------------------------------------------------------------------
    def ListStaffActions(
        self, request: payment_pb2.ListStaffActionsRequest, context: grpc.ServicerContext
    ) -> payment_pb2.ListStaffActionsResponse:
        ACCESS.check("ListStaffActions", current_principal())
        return audit.list_staff_actions(
            request, payment_pb2.ListStaffActionsResponse, self.service.payments.staff_actions
        )

    def _once(
        self,
        principal: Principal,
        request_id: str,
        operation: str,
        body: Mapping[str, object],
        response: type[M],
        run: Callable[[RequestKey], T],
        render: Callable[[T], M],
        *,
        claim_with_resource: bool = False,
    ) -> M:
        """The one place the payment service uses its idempotency store: ``run`` (a use case,
        returning domain objects) executes once per (caller, request_id), ``render`` turns its
        result into the ``response`` message, whose bytes are stored (or the error, once validation
        passed) and answered again, unchanged, to every replay."""
        return RequestKeys(self.idempotency, self.key).respond(
            principal.subject,
            request_id,
            operation,
            body,
            response,
            lambda claim: render(run(_Key(self.idempotency, claim))),
            claim_with_resource=claim_with_resource,
        )


def _page_size(requested: int) -> int:
    return api.page_size(requested, default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE)
