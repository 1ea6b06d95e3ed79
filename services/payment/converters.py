"""Domain objects rendered as the payment contract's messages (the one direction the edge needs)."""

from __future__ import annotations

from nexafi.payment.v1 import payment_pb2

from services.payment.domain.model import MethodType, Payment, PaymentMethod, Refund
from services.payment.domain.states import Status
from services.payment.recovery import Recovered
from services.runtime.api import to_enum, to_money, to_timestamp


def _status(value: Status) -> payment_pb2.PaymentStatus:
    return to_enum(payment_pb2.PaymentStatus, value)


def recovery_response(items: list[Recovered]) -> payment_pb2.RecoverStalePaymentsResponse:
    return payment_pb2.RecoverStalePaymentsResponse(
        recovered_payments=[
            payment_pb2.RecoveredPayment(
                payment_id=r.payment_id,
                previous_status=_status(r.previous_status),
                status=_status(r.status),
                action=f"RECOVERY_ACTION_{r.action.value}",
            )
            for r in items
        ]
    )


def payment_pb(p: Payment) -> payment_pb2.Payment:
    message = payment_pb2.Payment(
        id=p.id,
        user_id=p.user_id,
        kind=to_enum(payment_pb2.PaymentKind, p.kind),
        amount=to_money(p.amount_minor, p.currency),
        status=_status(p.status),
        payment_method_id=p.payment_method_id,
        method_type=to_enum(payment_pb2.PaymentMethodType, p.method_type),
        # The posted entry once there is one, the reservation ("pnd_") before that.
        transaction_id=p.transaction_id or p.pending_transfer_id,
        payee_user_id=p.payee_user_id,
        description=p.description,
        fraud_score_bps=p.fraud_score_bps,
        fraud_decision=to_enum(payment_pb2.FraudDecision, p.fraud_decision),
        connector=p.connector,
        external_reference=p.external_reference,
        refunded_amount=to_money(p.refunded_minor, p.currency),
        request_id=p.request_id,
        metadata=p.metadata,
        create_time=to_timestamp(p.create_time),
        update_time=to_timestamp(p.update_time),
    )
    if p.status is Status.FAILED:
        message.failure.CopyFrom(payment_pb2.PaymentFailure(code=p.failure_code, message=p.failure_message))
    for change in p.history:
        message.status_history.append(
            payment_pb2.PaymentStatusChange(
                from_status=_status(change.from_status),
                to_status=_status(change.to_status),
                reason=change.reason,
                actor=change.actor,
                change_time=to_timestamp(change.change_time),
            )
        )
    for refund in p.refunds:
        message.refunds.append(refund_pb(refund))
    return message


def refund_pb(r: Refund) -> payment_pb2.Refund:
    return payment_pb2.Refund(
        id=r.id,
        amount=to_money(r.amount_minor, r.currency),
        reason=r.reason,
        transaction_id=r.transaction_id,
        external_reference=r.external_reference,
        request_id=r.request_id,
        actor=r.actor,
        create_time=to_timestamp(r.create_time),
    )


def method_pb(m: PaymentMethod) -> payment_pb2.PaymentMethod:
    message = payment_pb2.PaymentMethod(
        id=m.id,
        user_id=m.user_id,
        type=to_enum(payment_pb2.PaymentMethodType, m.type),
        state=to_enum(payment_pb2.PaymentMethodState, m.state),
        fingerprint=m.fingerprint,
    )
    if m.create_time:
        message.create_time.CopyFrom(to_timestamp(m.create_time))
    if m.update_time:
        message.update_time.CopyFrom(to_timestamp(m.update_time))
    if m.type is MethodType.CARD:
        message.card.CopyFrom(
            payment_pb2.CardDetails(
                brand=to_enum(payment_pb2.CardBrand, m.brand),
                last4=m.last4,
                exp_month=m.exp_month,
                exp_year=m.exp_year,
                holder_name=m.holder_name,
            )
        )
    elif m.type is MethodType.BANK_ACCOUNT:
        message.bank_account.CopyFrom(
            payment_pb2.BankAccountDetails(
                format=to_enum(payment_pb2.BankAccountFormat, m.bank_format),
                masked_account_number=m.masked_number,
                last4=m.last4,
                country_code=m.country_code,
                holder_name=m.holder_name,
            )
        )
    else:
        message.wallet.CopyFrom(
            payment_pb2.WalletDetails(ledger_account_id=m.ledger_account_id, currency=m.currency)
        )
    return message
