"""A thin client of the payment service for tests: users, cards, wallets, payments, ledger checks."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from nexafi.payment.v1 import payment_pb2, payment_pb2_grpc
from nexafi.user.v1 import user_pb2_grpc

from services.payment import spec as payment_spec
from services.payment.config import Config
from services.payment.connectors.base import (
    BankAccountData,
    CallbackEvent,
    CardData,
    ConnectorUnavailable,
    GatewayResult,
    Outcome,
)
from services.payment.connectors.sandbox import SandboxConnector, event_body, sign
from services.runtime.clock import Clock
from services.runtime.money import Money
from services.runtime.server import RunningServer, ServiceSpec, start_server
from tests.support.grpc_errors import describe
from tests.support.harness import ServiceRunner, TokenFactory, register_user, service_settings

WEBHOOK_SECRET = "whsec_test_0123456789abcdef"
CARD_OK = "4242424242424242"
CARD_DECLINE = "4000000000000002"
CARD_ASYNC = "4000000000003220"
CARD_TIMEOUT = "4000000000000119"
CARD_REFUND_DECLINED = "4000000000005126"
CVC = "314"
IBAN = "DE89370400440532013000"
S = payment_pb2


def reason_of(error: grpc.RpcError) -> str:
    """The ErrorInfo reason of a failed call, read by the shared reader ("" when there is none)."""
    return describe(error).reason


def key() -> str:
    return uuid.uuid4().hex


class PaymentApi:
    def __init__(
        self,
        payments: payment_pb2_grpc.PaymentServiceStub,
        ledger: ledger_pb2_grpc.LedgerServiceStub,
        users: user_pb2_grpc.UserServiceStub,
        tokens: TokenFactory,
        clock: Clock,
    ) -> None:
        self.clock = clock  # the payment service's: callbacks are signed at its time
        self.payments = payments
        self.ledger = ledger
        self.users = users
        self.tokens = tokens

    # -- identities -------------------------------------------------------------------------------
    def register(self) -> str:
        return register_user(self.users)

    def md(self, subject: str, roles: list[str] | None = None) -> tuple[tuple[str, str], ...]:
        return self.tokens.metadata(subject, roles or ["customer"])

    def admin(self) -> tuple[tuple[str, str], ...]:
        return self.tokens.metadata("usr_01ADMIN0000000000000000000", ["admin"])

    support_subject = "usr_01SUPPORT000000000000000000"[:30]

    def support(self) -> tuple[tuple[str, str], ...]:
        return self.tokens.metadata(self.support_subject, ["support"])

    def service(self) -> tuple[tuple[str, str], ...]:
        """Who runs recovery by hand: an admin (no other service may call payment)."""
        return self.tokens.metadata("usr_ops_admin", ["admin"])

    # -- methods ----------------------------------------------------------------------------------
    def add_card(self, user: str, number: str = CARD_OK, **kw: Any) -> payment_pb2.PaymentMethod:
        card = S.CardInput(
            number=number,
            exp_month=12,
            exp_year=self.clock().year + 2,
            cvc=CVC,
            holder_name="Ada Lovelace",
        )
        return self.payments.AddPaymentMethod(
            S.AddPaymentMethodRequest(user_id=user, card=card, request_id=kw.get("request_id", key())),
            metadata=self.md(user),
        ).payment_method

    def add_bank(self, user: str, iban: str = IBAN) -> payment_pb2.PaymentMethod:
        return self.payments.AddPaymentMethod(
            S.AddPaymentMethodRequest(
                user_id=user, bank_account=S.BankAccountInput(iban=iban, holder_name="Ada"), request_id=key()
            ),
            metadata=self.md(user),
        ).payment_method

    # -- payments ---------------------------------------------------------------------------------
    def initiate(
        self,
        user: str,
        kind: int,
        amount: int,
        *,
        method: str = "",
        payee: str = "",
        currency: str = "EUR",
        request_id: str | None = None,
        metadata: dict[str, str] | None = None,
        caller: tuple[tuple[str, str], ...] | None = None,
    ) -> payment_pb2.Payment:
        return self.payments.InitiatePayment(
            S.InitiatePaymentRequest(
                user_id=user,
                kind=kind,
                amount=common_pb2.Money(amount_minor=amount, currency=currency),
                payment_method_id=method,
                payee_user_id=payee,
                description="test",
                metadata=metadata or {},
                request_id=request_id or key(),
            ),
            metadata=caller or self.md(user),
        ).payment

    def top_up(self, user: str, amount: int, card: str | None = None) -> payment_pb2.Payment:
        method = card or self.add_card(user).id
        return self.initiate(user, S.PAYMENT_KIND_TOP_UP, amount, method=method)

    def get(self, payment_id: str, caller: tuple[tuple[str, str], ...]) -> payment_pb2.Payment:
        return self.payments.GetPayment(S.GetPaymentRequest(payment_id=payment_id), metadata=caller).payment

    def set_status(
        self, payment_id: str, status: int, caller: tuple[tuple[str, str], ...], reason: str = "reviewed"
    ) -> payment_pb2.Payment:
        return self.payments.UpdatePaymentStatus(
            S.UpdatePaymentStatusRequest(
                payment_id=payment_id, status=status, reason=reason, request_id=key()
            ),
            metadata=caller,
        ).payment

    def refund(
        self, payment_id: str, amount: int | None = None, currency: str = "EUR", request_id: str | None = None
    ) -> payment_pb2.RefundPaymentResponse:
        request = S.RefundPaymentRequest(
            payment_id=payment_id, reason="customer request", request_id=request_id or key()
        )
        if amount is not None:
            request.amount.CopyFrom(common_pb2.Money(amount_minor=amount, currency=currency))
        return self.payments.RefundPayment(request, metadata=self.admin())

    def recover(self, stale_after: int = 1) -> payment_pb2.RecoverStalePaymentsResponse:
        return self.payments.RecoverStalePayments(
            S.RecoverStalePaymentsRequest(stale_after_seconds=stale_after, request_id=key()),
            metadata=self.service(),
        )

    def callback(
        self,
        payment_id: str,
        outcome: Outcome,
        event_id: str | None = None,
        *,
        secret: str = WEBHOOK_SECRET,
        created: int | None = None,
    ) -> payment_pb2.HandleConnectorCallbackResponse:
        now = created or int(self.clock().timestamp())
        body = event_body(
            event_id or f"evt_{key()}",
            payment_id,
            outcome,
            "ch_ext",
            now,
            "CARD_DECLINED" if outcome is Outcome.FAILED else "",
        )
        from google.api import httpbody_pb2

        return self.payments.HandleConnectorCallback(
            S.HandleConnectorCallbackRequest(
                connector="sandbox",
                payload=httpbody_pb2.HttpBody(content_type="application/json", data=body),
                signature=sign(secret, body, now),
            )
        )

    # -- ledger -----------------------------------------------------------------------------------
    def wallet_balance(self, user: str, currency: str = "EUR") -> ledger_pb2.Balance:
        accounts = self.ledger.ListAccounts(
            ledger_pb2.ListAccountsRequest(owner_id=user), metadata=self.admin()
        ).accounts
        wallets = [a for a in accounts if a.name == "wallet" and a.currency == currency]
        assert len(wallets) == 1, wallets
        return wallets[0].balance

    def ledger_entries(self, user: str, payment_id: str) -> list[ledger_pb2.Transaction]:
        reply = self.ledger.ListUserTransactions(
            ledger_pb2.ListUserTransactionsRequest(user_id=user, page_size=100), metadata=self.admin()
        )
        return [t for t in reply.transactions if t.related_entity_id == payment_id]

    def pending(self, pending_id: str) -> ledger_pb2.PendingTransfer:
        return self.ledger.GetPendingTransfer(
            ledger_pb2.GetPendingTransferRequest(pending_transfer_id=pending_id), metadata=self.admin()
        ).pending_transfer


# -- extra payment instances ----------------------------------------------------------------------
class FlakyConnector:
    """The sandbox PSP with switchable faults: refunds (or everything) fail as if the PSP were down.

    Not a mock of a NexaFi service: it stands in for an external gateway's outage, and
    delegates everything else to the real sandbox connector.
    """

    def __init__(self, inner: SandboxConnector) -> None:
        self.inner = inner
        self.name = inner.name
        self.refunds_down = False
        self.refund_calls: list[str] = []

    def tokenize_card(self, card: CardData) -> str:
        return self.inner.tokenize_card(card)

    def tokenize_bank_account(self, account: BankAccountData) -> str:
        return self.inner.tokenize_bank_account(account)

    def charge(self, reference: str, token: str, amount: Money) -> GatewayResult:
        return self.inner.charge(reference, token, amount)

    def payout(self, reference: str, token: str, amount: Money) -> GatewayResult:
        return self.inner.payout(reference, token, amount)

    def refund(self, reference: str, charge_reference: str, amount: Money) -> GatewayResult:
        self.refund_calls.append(reference)
        if self.refunds_down:
            raise ConnectorUnavailable("the sandbox gateway is down")
        return self.inner.refund(reference, charge_reference, amount)

    def fetch_status(self, reference: str) -> GatewayResult | None:
        return self.inner.fetch_status(reference)

    def parse_callback(self, body: bytes, signature: str, now: datetime) -> CallbackEvent:
        return self.inner.parse_callback(body, signature, now)

    def close(self) -> None:
        self.inner.close()


def dead_address() -> str:
    """An address nothing listens on (a port bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def payment_config(**changes: Any) -> Config:
    """The payment settings of the tests, built here rather than read from the environment:
    recovery and the sandbox's own callbacks are driven by the tests, not by timers."""
    base = Config(
        fingerprint_key=hashlib.sha256(b"test-fingerprint-key-0123456789abcdef").digest(),
        sandbox_webhook_secret=WEBHOOK_SECRET,
        recovery_interval_seconds=0,
        sandbox_callback_delay_seconds=0,
    )
    return replace(base, **changes)


def payment_spec_with(
    config: Config, make_connectors: payment_spec.ConnectorFactory | None = None
) -> ServiceSpec:
    """The payment service's spec, registered with ``config`` (and optionally other connectors)."""
    factory = make_connectors or payment_spec.build_connectors
    return ServiceSpec(
        name="payment",
        register=lambda server, context: payment_spec.register_with(server, context, factory, config),
        public_methods=payment_spec.SPEC.public_methods,
        service_callers=payment_spec.SPEC.service_callers,
    )


def start_payment_instance(
    services: ServiceRunner,
    config: Config,
    make_connectors: payment_spec.ConnectorFactory | None = None,
    clock: Clock | None = None,
    ai_address: str | None = None,
) -> RunningServer:
    """Another payment server on the session's payment database, with ``config``, optionally other
    connectors and an AI service at ``ai_address`` (where the service finds its peers: the
    environment, read when it is built)."""
    saved = os.environ.get("AI_ADDR")
    if ai_address is not None:
        os.environ["AI_ADDR"] = ai_address
    try:
        settings = service_settings("payment", services.database_url("payment"), services.auth)
        return start_server(
            payment_spec_with(config, make_connectors), settings, clock=clock or services.clock("payment")
        )
    finally:
        if saved is None:
            os.environ.pop("AI_ADDR", None)
        else:
            os.environ["AI_ADDR"] = saved
