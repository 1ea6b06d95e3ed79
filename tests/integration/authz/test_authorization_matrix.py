"""The authorization matrix: every RPC of every service by every kind of caller, over real gRPC.

The RPCs come from the descriptor set in gen/ (what Envoy and clients see), so a new RPC without
an entry in ``MATRIX`` fails ``test_every_rpc_has_an_entry``. Each entry says who may call the RPC
and how to build a request that reaches its authorization: valid enough, aimed at the resources
of a real customer (the *owner*) made once for the module. A call counts as *refused* when it
ends in PERMISSION_DENIED, or UNAUTHENTICATED for want of a valid token (reason ``TOKEN_*``);
anything else (success, NOT_FOUND, a failed precondition...) passed authorization, except where a
rule is ``hidden``: that callee answers NOT_FOUND to whoever may not see the resource.

Callers: anonymous (no token), the owner, another customer, each staff role, and each service
identity as IssueServiceToken makes it (internal audience, ``client_id``). The services run once
per session; this module makes its own owner, resources and fresh users where an RPC destroys.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api import httpbody_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from nexafi.ai.v1 import ai_pb2
from nexafi.analytics.v1 import analytics_pb2
from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2
from nexafi.document.v1 import document_pb2
from nexafi.ledger.v1 import ledger_pb2
from nexafi.payment.v1 import payment_pb2
from nexafi.user.v1 import user_pb2, user_pb2_grpc

from services.ai.spec import SPEC as AI
from services.analytics.spec import SPEC as ANALYTICS
from services.credit.spec import SPEC as CREDIT
from services.devtools.embedded_s3 import EmbeddedS3
from services.document.spec import SPEC as DOCUMENT
from services.ledger.spec import SPEC as LEDGER
from services.payment.spec import SPEC as PAYMENT
from services.runtime.generated import DESCRIPTOR
from services.runtime.ids import new_id
from services.user.spec import SPEC as USER
from tests.integration.ai.ai_support import credit_request, fraud_request
from tests.support.grpc_errors import describe
from tests.support.harness import TEST_PASSWORD, ServiceRunner, TokenFactory, register_user

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("user", "ledger", "payment", "credit", "analytics", "ai", "document")

# -- callers ------------------------------------------------------------------------------------
ANONYMOUS, OWNER, OTHER = "anonymous", "owner", "other_customer"
SUPPORT, UNDERWRITER, COMPLIANCE, ADMIN = "support", "underwriter", "compliance", "admin"
SVC_PAYMENT, SVC_CREDIT, SVC_ANALYTICS, SVC_AI = "svc_payment", "svc_credit", "svc_analytics", "svc_ai"
# These two call nothing but the revocation feed.
SVC_LEDGER, SVC_DOCUMENT = "svc_ledger", "svc_document"
STAFF_ROLES = {SUPPORT: "support", UNDERWRITER: "underwriter", COMPLIANCE: "compliance", ADMIN: "admin"}
SERVICE_CALLERS = (SVC_PAYMENT, SVC_CREDIT, SVC_ANALYTICS, SVC_AI, SVC_LEDGER, SVC_DOCUMENT)
CALLERS = (ANONYMOUS, OWNER, OTHER, *STAFF_ROLES, *SERVICE_CALLERS)

EVERYONE = frozenset(CALLERS)
# Who reads a customer's data besides the customer (the runtime's STAFF_READ_ROLES, less services).
READERS = frozenset({OWNER, SUPPORT, COMPLIANCE, ADMIN})


def last_day() -> common_pb2.TimeRange:
    end = int(time.time())
    return common_pb2.TimeRange(start_time={"seconds": end - 86_400}, end_time={"seconds": end})


def rid() -> str:
    return secrets.token_hex(16)


def eur(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency="EUR")


# -- the world the requests aim at --------------------------------------------------------------
@dataclass
class World:
    users: user_pb2_grpc.UserServiceStub
    tokens: TokenFactory
    channels: dict[str, grpc.Channel]
    owner: str = ""
    other: str = ""
    wallet: str = ""
    clearing: str = ""
    transaction: str = ""
    pending: str = ""
    payment: str = ""
    payment_method: str = ""
    application: str = ""
    document: str = ""
    inference: str = ""
    model: str = ""
    definition: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def md(self, subject: str, roles: list[str]) -> tuple[tuple[str, str], ...]:
        return self.tokens.metadata(subject, roles)

    def admin(self) -> tuple[tuple[str, str], ...]:
        return self.md("usr_matrix_admin", ["admin"])

    def call(self, service: str, method: str, request: Any, metadata: Any) -> Any:
        return invoke(self.channels[service], method_descriptor(service, method), request, metadata)

    def fresh_user(self) -> str:
        return register_user(self.users)


def card() -> payment_pb2.CardInput:
    return payment_pb2.CardInput(
        number="4242424242424242",
        exp_month=12,
        exp_year=time.gmtime().tm_year + 2,
        cvc="314",
        holder_name="Ada Lovelace",
    )


def financials() -> credit_pb2.ApplicantFinancials:
    return credit_pb2.ApplicantFinancials(
        monthly_income=eur(500_000),
        monthly_debt=eur(50_000),
        employment_status=credit_pb2.EMPLOYMENT_STATUS_EMPLOYED,
        employment_months=48,
        total_debt=eur(500_000),
        credit_history_months=180,
        utilization_bps=800,
        delinquencies_24m=0,
        open_accounts=3,
        inquiries_6m=0,
    )


def upload_stream(user_id: str) -> Iterator[document_pb2.UploadDocumentRequest]:
    content = b"%PDF-1.4\n" + secrets.token_bytes(1000) + b"\n%%EOF\n"
    yield document_pb2.UploadDocumentRequest(
        request_id=rid(),
        user_id=user_id,
        filename="statement.pdf",
        document_type=document_pb2.DOCUMENT_TYPE_BANK_STATEMENT,
        http_body=httpbody_pb2.HttpBody(content_type="application/pdf", data=content),
    )


def build_world(world: World) -> World:
    admin = world.admin()
    world.owner, world.other = world.fresh_user(), world.fresh_user()
    owner_md = world.md(world.owner, ["customer"])

    def ledger(method: str, request: Any) -> Any:
        return world.call("ledger", method, request, admin)

    world.wallet = ledger(
        "CreateAccount",
        ledger_pb2.CreateAccountRequest(
            owner_id=world.owner,
            name="wallet",
            type=ledger_pb2.ACCOUNT_TYPE_LIABILITY,
            currency="EUR",
            balance_rule=ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
            request_id=rid(),
        ),
    ).account.id
    world.clearing = ledger(
        "CreateAccount",
        ledger_pb2.CreateAccountRequest(
            owner_id="system",
            name="external_clearing",
            type=ledger_pb2.ACCOUNT_TYPE_ASSET,
            currency="EUR",
            balance_rule=ledger_pb2.BALANCE_RULE_UNBOUNDED,
            request_id=rid(),
        ),
    ).account.id
    world.transaction = ledger("CreateTransaction", transfer(world, 10_000)).transaction.id
    world.pending = ledger("CreatePendingTransfer", pending(world)).pending_transfer.id
    world.payment_method = world.call(
        "payment",
        "AddPaymentMethod",
        payment_pb2.AddPaymentMethodRequest(user_id=world.owner, card=card(), request_id=rid()),
        owner_md,
    ).payment_method.id
    world.payment = world.call("payment", "InitiatePayment", top_up(world), owner_md).payment.id
    world.application = world.call(
        "credit", "SubmitLoanApplication", loan(world.owner), owner_md
    ).loan_application.id
    world.document = world.call(
        "document", "UploadDocument", upload_stream(world.owner), owner_md
    ).document.id
    world.inference = world.call(
        "ai", "CheckFraud", fraud_request(world.owner), world.md("svc_payment", ["service"])
    ).assessment.inference_id
    world.definition = world.call(
        "analytics", "CreateReportDefinition", report_definition(world.owner), owner_md
    ).definition.id
    models = world.call("ai", "ListModels", ai_pb2.ListModelsRequest(), admin).models
    world.model = models[0].name
    return world


def report_definition(user_id: str) -> analytics_pb2.CreateReportDefinitionRequest:
    return analytics_pb2.CreateReportDefinitionRequest(
        user_id=user_id,
        request_id=rid(),
        definition=analytics_pb2.ReportDefinition(
            name="matrix",
            currency="EUR",
            direction=analytics_pb2.FLOW_DIRECTION_SPENDING,
            time_range=last_day(),
            grouping=analytics_pb2.REPORT_GROUPING_DAY,
            measures=[analytics_pb2.REPORT_MEASURE_SUM],
        ),
    )


def _fresh_definition(w: World, user: str) -> Any:
    made = w.call("analytics", "CreateReportDefinition", report_definition(user), w.md(user, ["customer"]))
    return analytics_pb2.DeleteReportDefinitionRequest(definition_id=made.definition.id)


def transfer(w: World, amount: int = 1) -> ledger_pb2.CreateTransactionRequest:
    return ledger_pb2.CreateTransactionRequest(
        user_id=w.owner,
        type=ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
        description="matrix",
        request_id=rid(),
        postings=[
            ledger_pb2.Posting(
                account_id=w.clearing, direction=ledger_pb2.POSTING_DIRECTION_DEBIT, amount=eur(amount)
            ),
            ledger_pb2.Posting(
                account_id=w.wallet, direction=ledger_pb2.POSTING_DIRECTION_CREDIT, amount=eur(amount)
            ),
        ],
    )


def pending(w: World) -> ledger_pb2.CreatePendingTransferRequest:
    return ledger_pb2.CreatePendingTransferRequest(
        debit_account_id=w.clearing,
        credit_account_id=w.wallet,
        amount=eur(1),
        user_id=w.owner,
        type=ledger_pb2.TRANSACTION_TYPE_DEPOSIT,
        request_id=rid(),
    )


def top_up(w: World) -> payment_pb2.InitiatePaymentRequest:
    return payment_pb2.InitiatePaymentRequest(
        user_id=w.owner,
        kind=payment_pb2.PAYMENT_KIND_TOP_UP,
        amount=eur(1_000),
        payment_method_id=w.payment_method,
        description="matrix",
        request_id=rid(),
    )


def loan(user_id: str) -> credit_pb2.SubmitLoanApplicationRequest:
    return credit_pb2.SubmitLoanApplicationRequest(
        user_id=user_id,
        amount=eur(600_000),
        term_months=12,
        purpose=credit_pb2.LOAN_PURPOSE_HOME_IMPROVEMENT,
        financials=financials(),
        request_id=rid(),
    )


# -- the table ----------------------------------------------------------------------------------
# A builder makes the request (a list of messages for a client stream) and names its owner.
Build = Callable[[World], Any]


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[str]
    build: Build
    # The resource's owner when not the module's owner (an RPC that destroys gets a fresh user).
    owner: Callable[[World, Any], str] | None = None
    # The callee answers a caller who may not see the resource NOT_FOUND, hiding that it exists.
    hides: bool = False


def hidden(allowed: set[str], build: Build, owner: Callable[[World, Any], str] | None = None) -> Rule:
    """A rule whose refusals are NOT_FOUND (the resource's existence is not revealed)."""
    return Rule(frozenset(allowed), build, owner, hides=True)


def rule(
    allowed: set[str] | frozenset[str], build: Build, owner: Callable[[World, Any], str] | None = None
) -> Rule:
    return Rule(frozenset(allowed), build, owner)


def fresh(make: Callable[[World, str], Any]) -> tuple[Build, Callable[[World, Any], str]]:
    """A builder aimed at a user registered for this RPC alone, and how to find that user."""

    def build(w: World) -> Any:
        user = w.fresh_user()
        w.extra["fresh"] = user
        return make(w, user)

    return build, lambda w, _request: w.extra["fresh"]


def _fresh_document(w: World, user: str) -> Any:
    uploaded = w.call("document", "UploadDocument", upload_stream(user), w.md(user, ["customer"])).document
    return document_pb2.DeleteDocumentRequest(document_id=uploaded.id, reason="matrix")


U, L, P, C = user_pb2, ledger_pb2, payment_pb2, credit_pb2
AN, A, D = analytics_pb2, ai_pb2, document_pb2
DELETE_USER = fresh(lambda w, u: U.DeleteUserRequest(user_id=u))
GRANT_ROLE = fresh(lambda w, u: U.GrantRoleRequest(user_id=u, role=U.ROLE_SUPPORT))
REVOKE_ROLE = fresh(lambda w, u: U.RevokeRoleRequest(user_id=u, role=U.ROLE_SUPPORT))
DELETE_DOCUMENT = fresh(_fresh_document)
DELETE_DEFINITION = fresh(_fresh_definition)
REVOKE_SESSIONS = fresh(lambda w, u: U.RevokeSessionsRequest(user_id=u))

MATRIX: dict[str, Rule] = {
    # -- user: the credential is in the request for the public methods --------------------------
    "nexafi.user.v1.UserService/Register": rule(
        EVERYONE,
        lambda w: U.RegisterRequest(
            username="m" + secrets.token_hex(6),
            email=f"m{secrets.token_hex(6)}@example.com",
            password=TEST_PASSWORD,
            request_id=rid(),
        ),
    ),
    "nexafi.user.v1.UserService/Login": rule(
        EVERYONE, lambda w: U.LoginRequest(login="nobody-" + rid(), password="wrong password 1")
    ),
    "nexafi.user.v1.UserService/RefreshToken": rule(
        EVERYONE, lambda w: U.RefreshTokenRequest(refresh_token=rid())
    ),
    "nexafi.user.v1.UserService/Logout": rule(EVERYONE, lambda w: U.LogoutRequest(refresh_token=rid())),
    "nexafi.user.v1.UserService/RequestPasswordReset": rule(
        EVERYONE, lambda w: U.RequestPasswordResetRequest(email=f"nobody{secrets.token_hex(4)}@example.com")
    ),
    "nexafi.user.v1.UserService/ConfirmPasswordReset": rule(
        EVERYONE, lambda w: U.ConfirmPasswordResetRequest(reset_token=rid(), new_password=TEST_PASSWORD)
    ),
    "nexafi.user.v1.UserService/IssueServiceToken": rule(
        EVERYONE,
        lambda w: U.IssueServiceTokenRequest(
            client_id="analytics", client_secret="not-the-secret-0123456789"
        ),
    ),
    "nexafi.user.v1.UserService/GetJwks": rule(EVERYONE, lambda w: U.GetJwksRequest()),
    # Payment checks the payee, credit the borrower.
    "nexafi.user.v1.UserService/GetUser": rule(
        READERS | {SVC_PAYMENT, SVC_CREDIT}, lambda w: U.GetUserRequest(user_id=w.owner)
    ),
    "nexafi.user.v1.UserService/UpdateUser": rule(
        {OWNER, ADMIN},
        lambda w: U.UpdateUserRequest(
            user_id=w.owner, profile=U.Profile(first_name="Ada"), update_mask={"paths": ["first_name"]}
        ),
    ),
    "nexafi.user.v1.UserService/DeleteUser": rule({OWNER, ADMIN}, *DELETE_USER),
    "nexafi.user.v1.UserService/ListUsers": rule(
        {SUPPORT, COMPLIANCE, ADMIN}, lambda w: U.ListUsersRequest()
    ),
    "nexafi.user.v1.UserService/SearchUsers": rule(
        {SUPPORT, COMPLIANCE, ADMIN}, lambda w: U.SearchUsersRequest(query="matrix")
    ),
    "nexafi.user.v1.UserService/GrantRole": rule({ADMIN}, *GRANT_ROLE),
    "nexafi.user.v1.UserService/RevokeRole": rule({ADMIN}, *REVOKE_ROLE),
    "nexafi.user.v1.UserService/ListStaffActions": rule({ADMIN}, lambda w: U.ListStaffActionsRequest()),
    "nexafi.user.v1.UserService/ListAccessEvents": rule(
        {OWNER, SUPPORT, COMPLIANCE, ADMIN}, lambda w: U.ListAccessEventsRequest(user_id=w.owner)
    ),
    "nexafi.user.v1.UserService/RevokeSessions": rule({OWNER, ADMIN}, *REVOKE_SESSIONS),
    # Every service's token verifier reads the revocation feed.
    "nexafi.user.v1.UserService/ListRevocations": rule(
        set(SERVICE_CALLERS), lambda w: U.ListRevocationsRequest()
    ),
    # -- ledger: services write within their account scopes (services/ledger/domain/scopes.py) ----
    # A customer's wallet: payment opens it; credit may not.
    "nexafi.ledger.v1.LedgerService/CreateAccount": rule(
        {ADMIN, SVC_PAYMENT},
        lambda w: L.CreateAccountRequest(
            owner_id=w.owner,
            name="wallet",
            type=L.ACCOUNT_TYPE_LIABILITY,
            currency="EUR",
            balance_rule=L.BALANCE_RULE_NON_NEGATIVE,
            request_id=rid(),
        ),
    ),
    # A wallet's limit is nobody's business but staff's (credit sets limits on its lines only).
    "nexafi.ledger.v1.LedgerService/UpdateAccountLimit": rule(
        {ADMIN},
        lambda w: L.UpdateAccountLimitRequest(account_id=w.wallet, credit_limit_minor=0, request_id=rid()),
    ),
    "nexafi.ledger.v1.LedgerService/GetAccount": rule(
        READERS | {SVC_CREDIT, SVC_ANALYTICS}, lambda w: L.GetAccountRequest(account_id=w.wallet)
    ),
    "nexafi.ledger.v1.LedgerService/ListAccounts": rule(
        READERS | {SVC_CREDIT, SVC_ANALYTICS}, lambda w: L.ListAccountsRequest(owner_id=w.owner)
    ),
    "nexafi.ledger.v1.LedgerService/GetBalance": rule(
        READERS, lambda w: L.GetBalanceRequest(account_id=w.wallet)
    ),
    # Clearing to wallet: payment's books; credit touches no account of its own here.
    "nexafi.ledger.v1.LedgerService/CreateTransaction": rule({ADMIN, SVC_PAYMENT}, transfer),
    "nexafi.ledger.v1.LedgerService/CreateTransactions": rule(
        {ADMIN},
        lambda w: L.CreateTransactionsRequest(
            transfers=[
                L.Transfer(
                    debit_account_id=w.clearing,
                    credit_account_id=w.wallet,
                    amount=eur(1),
                    type=L.TRANSACTION_TYPE_DEPOSIT,
                    request_id=rid(),
                )
            ]
        ),
    ),
    "nexafi.ledger.v1.LedgerService/GetTransaction": rule(
        READERS | {SVC_PAYMENT}, lambda w: L.GetTransactionRequest(transaction_id=w.transaction)
    ),
    "nexafi.ledger.v1.LedgerService/ListUserTransactions": rule(
        READERS, lambda w: L.ListUserTransactionsRequest(user_id=w.owner)
    ),
    "nexafi.ledger.v1.LedgerService/ListAccountTransactions": rule(
        READERS, lambda w: L.ListAccountTransactionsRequest(account_id=w.wallet)
    ),
    "nexafi.ledger.v1.LedgerService/ReverseTransaction": rule(
        {ADMIN, SVC_PAYMENT},
        lambda w: L.ReverseTransactionRequest(
            transaction_id=w.transaction, reason="matrix", request_id=rid()
        ),
    ),
    "nexafi.ledger.v1.LedgerService/CreatePendingTransfer": rule({ADMIN, SVC_PAYMENT}, pending),
    "nexafi.ledger.v1.LedgerService/GetPendingTransfer": rule(
        {SUPPORT, COMPLIANCE, ADMIN, SVC_PAYMENT},
        lambda w: L.GetPendingTransferRequest(pending_transfer_id=w.pending),
    ),
    "nexafi.ledger.v1.LedgerService/PostPendingTransfer": rule(
        {ADMIN, SVC_PAYMENT},
        lambda w: L.PostPendingTransferRequest(pending_transfer_id=w.pending, request_id=rid()),
    ),
    "nexafi.ledger.v1.LedgerService/VoidPendingTransfer": rule(
        {ADMIN, SVC_PAYMENT},
        lambda w: L.VoidPendingTransferRequest(pending_transfer_id=w.pending, reason="matrix"),
    ),
    "nexafi.ledger.v1.LedgerService/StreamTransactions": rule(
        {ADMIN, SVC_ANALYTICS}, lambda w: L.StreamTransactionsRequest(after_sequence=2**62, follow=False)
    ),
    # Reconciliation reads: payment and credit read the entries that name their records.
    "nexafi.ledger.v1.LedgerService/BatchGetRelatedEntries": rule(
        {COMPLIANCE, ADMIN, SVC_PAYMENT, SVC_CREDIT},
        lambda w: L.BatchGetRelatedEntriesRequest(related_entity_ids=["pay_matrix"]),
    ),
    "nexafi.ledger.v1.LedgerService/ListRelatedEntries": rule(
        {COMPLIANCE, ADMIN},
        lambda w: L.ListRelatedEntriesRequest(related_entity_type="pay", time_range=last_day()),
    ),
    "nexafi.ledger.v1.LedgerService/ExportRelatedEntries": rule(
        {COMPLIANCE, ADMIN, SVC_PAYMENT},
        lambda w: L.ExportRelatedEntriesRequest(related_entity_type="pay", time_range=last_day()),
    ),
    "nexafi.ledger.v1.LedgerService/VerifyBooks": rule({COMPLIANCE, ADMIN}, lambda w: L.VerifyBooksRequest()),
    "nexafi.ledger.v1.LedgerService/VerifyChain": rule({COMPLIANCE, ADMIN}, lambda w: L.VerifyChainRequest()),
    "nexafi.ledger.v1.LedgerService/GetTrialBalance": rule(
        {COMPLIANCE, ADMIN, SVC_ANALYTICS}, lambda w: L.GetTrialBalanceRequest()
    ),
    "nexafi.ledger.v1.LedgerService/GetAccountStatement": rule(
        READERS, lambda w: L.GetAccountStatementRequest(account_id=w.wallet)
    ),
    # -- payment: no service calls it ------------------------------------------------------------
    "nexafi.payment.v1.PaymentService/InitiatePayment": rule({OWNER, ADMIN}, top_up),
    "nexafi.payment.v1.PaymentService/GetPayment": rule(
        {OWNER, SUPPORT, ADMIN}, lambda w: P.GetPaymentRequest(payment_id=w.payment)
    ),
    "nexafi.payment.v1.PaymentService/ListPayments": rule(
        {OWNER, SUPPORT, ADMIN}, lambda w: P.ListPaymentsRequest(user_id=w.owner)
    ),
    "nexafi.payment.v1.PaymentService/ListPaymentsInReview": rule(
        {SUPPORT, ADMIN}, lambda w: P.ListPaymentsInReviewRequest()
    ),
    "nexafi.payment.v1.PaymentService/UpdatePaymentStatus": rule(
        {SUPPORT, ADMIN},
        # A payment that does not exist: who may decide is checked before the look-up, and which
        # transitions staff may make is the state machine's business, tested with the payments.
        lambda w: P.UpdatePaymentStatusRequest(
            payment_id=new_id("pay"), status=P.PAYMENT_STATUS_FAILED, reason="matrix", request_id=rid()
        ),
    ),
    "nexafi.payment.v1.PaymentService/CancelPayment": rule(
        {OWNER, SUPPORT, ADMIN},
        lambda w: P.CancelPaymentRequest(payment_id=w.payment, reason="matrix", request_id=rid()),
    ),
    "nexafi.payment.v1.PaymentService/RefundPayment": rule(
        {SUPPORT, ADMIN},
        lambda w: P.RefundPaymentRequest(
            payment_id=w.payment, reason="matrix", request_id=rid(), amount=eur(1)
        ),
    ),
    "nexafi.payment.v1.PaymentService/AddPaymentMethod": rule(
        {OWNER}, lambda w: P.AddPaymentMethodRequest(user_id=w.owner, card=card(), request_id=rid())
    ),
    "nexafi.payment.v1.PaymentService/ListPaymentMethods": rule(
        {OWNER}, lambda w: P.ListPaymentMethodsRequest(user_id=w.owner)
    ),
    "nexafi.payment.v1.PaymentService/RemovePaymentMethod": rule(
        {OWNER}, lambda w: P.RemovePaymentMethodRequest(payment_method_id=w.payment_method)
    ),
    # Public for the transport: the HMAC signature is its credential.
    "nexafi.payment.v1.PaymentService/HandleConnectorCallback": rule(
        EVERYONE,
        lambda w: P.HandleConnectorCallbackRequest(
            connector="sandbox",
            signature="t=1,v1=00",
            payload=httpbody_pb2.HttpBody(content_type="application/json", data=b"{}"),
        ),
    ),
    "nexafi.payment.v1.PaymentService/GetReconciliationReport": rule(
        {ADMIN}, lambda w: P.GetReconciliationReportRequest(time_range=last_day())
    ),
    "nexafi.payment.v1.PaymentService/RecoverStalePayments": rule(
        {ADMIN},
        lambda w: P.RecoverStalePaymentsRequest(stale_after_seconds=3600, dry_run=True, request_id=rid()),
    ),
    "nexafi.payment.v1.PaymentService/ListStaffActions": rule({ADMIN}, lambda w: P.ListStaffActionsRequest()),
    # -- credit: analytics reads the loan book ---------------------------------------------------
    "nexafi.credit.v1.CreditService/SubmitLoanApplication": rule({OWNER, ADMIN}, lambda w: loan(w.owner)),
    "nexafi.credit.v1.CreditService/GetLoanApplication": rule(
        {OWNER, UNDERWRITER, ADMIN}, lambda w: C.GetLoanApplicationRequest(application_id=w.application)
    ),
    "nexafi.credit.v1.CreditService/ListLoanApplications": rule(
        {OWNER, UNDERWRITER, ADMIN, SVC_ANALYTICS}, lambda w: C.ListLoanApplicationsRequest(user_id=w.owner)
    ),
    "nexafi.credit.v1.CreditService/DecideLoanApplication": rule(
        {UNDERWRITER, ADMIN},
        lambda w: C.DecideLoanApplicationRequest(
            application_id=w.application, decision=C.LOAN_DECISION_REJECT, note="matrix", request_id=rid()
        ),
    ),
    "nexafi.credit.v1.CreditService/CancelLoanApplication": rule(
        {OWNER, ADMIN},
        lambda w: C.CancelLoanApplicationRequest(application_id=w.application, request_id=rid()),
    ),
    "nexafi.credit.v1.CreditService/DisburseLoan": rule(
        {OWNER, ADMIN}, lambda w: C.DisburseLoanRequest(application_id=w.application, request_id=rid())
    ),
    "nexafi.credit.v1.CreditService/RecordRepayment": rule(
        {OWNER, ADMIN},
        lambda w: C.RecordRepaymentRequest(application_id=w.application, amount=eur(100), request_id=rid()),
    ),
    "nexafi.credit.v1.CreditService/GetCreditScore": rule(
        {OWNER, UNDERWRITER, ADMIN}, lambda w: C.GetCreditScoreRequest(user_id=w.owner)
    ),
    "nexafi.credit.v1.CreditService/RefreshCreditScore": rule(
        {OWNER, UNDERWRITER, ADMIN},
        lambda w: C.RefreshCreditScoreRequest(user_id=w.owner, financials=financials(), request_id=rid()),
    ),
    "nexafi.credit.v1.CreditService/ListCreditScoreHistory": rule(
        {OWNER, UNDERWRITER, ADMIN}, lambda w: C.ListCreditScoreHistoryRequest(user_id=w.owner)
    ),
    "nexafi.credit.v1.CreditService/GetCreditLine": rule(
        {OWNER, UNDERWRITER, ADMIN}, lambda w: C.GetCreditLineRequest(user_id=w.owner)
    ),
    "nexafi.credit.v1.CreditService/UpdateCreditLine": rule(
        {UNDERWRITER, ADMIN},
        lambda w: C.UpdateCreditLineRequest(
            user_id=w.owner, limit=eur(100_000), apr_bps=1500, reason="matrix", request_id=rid()
        ),
    ),
    # Drawing moves credit into the holder's wallet: the holder alone; a repayment from it, also an admin.
    "nexafi.credit.v1.CreditService/DrawCreditLine": rule(
        {OWNER}, lambda w: C.DrawCreditLineRequest(user_id=w.owner, amount=eur(100), request_id=rid())
    ),
    "nexafi.credit.v1.CreditService/RepayCreditLine": rule(
        {OWNER, ADMIN}, lambda w: C.RepayCreditLineRequest(user_id=w.owner, amount=eur(100), request_id=rid())
    ),
    "nexafi.credit.v1.CreditService/ListCreditLineStatements": rule(
        {OWNER, UNDERWRITER, ADMIN}, lambda w: C.ListCreditLineStatementsRequest(user_id=w.owner)
    ),
    "nexafi.credit.v1.CreditService/GetCreditLineStatement": rule(
        {OWNER, UNDERWRITER, ADMIN},
        lambda w: C.GetCreditLineStatementRequest(user_id=w.owner, statement_id=new_id("cls")),
    ),
    "nexafi.credit.v1.CreditService/GetLoanReconciliationReport": rule(
        {ADMIN}, lambda w: C.GetLoanReconciliationReportRequest()
    ),
    "nexafi.credit.v1.CreditService/ListStaffActions": rule({ADMIN}, lambda w: C.ListStaffActionsRequest()),
    # -- analytics: AI reads the series behind PredictTrend and the spending behind recommendations --
    "nexafi.analytics.v1.AnalyticsService/GetSpendingAnalysis": rule(
        READERS | {SVC_AI}, lambda w: AN.GetSpendingAnalysisRequest(user_id=w.owner)
    ),
    "nexafi.analytics.v1.AnalyticsService/GetIncomeAnalysis": rule(
        READERS, lambda w: AN.GetIncomeAnalysisRequest(user_id=w.owner)
    ),
    "nexafi.analytics.v1.AnalyticsService/GetReport": rule(
        READERS, lambda w: AN.GetReportRequest(report_type="cash_flow", user_id=w.owner)
    ),
    "nexafi.analytics.v1.AnalyticsService/GetDashboardSeries": rule(
        READERS | {SVC_AI},
        lambda w: AN.GetDashboardSeriesRequest(
            user_id=w.owner, metrics=[AN.DASHBOARD_METRIC_BALANCE], time_range=last_day()
        ),
    ),
    # Custom reports and charts: the owner's own, or an admin's look.
    "nexafi.analytics.v1.AnalyticsService/CreateReportDefinition": rule(
        {OWNER, ADMIN}, lambda w: report_definition(w.owner)
    ),
    "nexafi.analytics.v1.AnalyticsService/GetReportDefinition": hidden(
        {OWNER, ADMIN}, lambda w: AN.GetReportDefinitionRequest(definition_id=w.definition)
    ),
    "nexafi.analytics.v1.AnalyticsService/ListReportDefinitions": rule(
        {OWNER, ADMIN}, lambda w: AN.ListReportDefinitionsRequest(user_id=w.owner)
    ),
    "nexafi.analytics.v1.AnalyticsService/DeleteReportDefinition": hidden({OWNER, ADMIN}, *DELETE_DEFINITION),
    "nexafi.analytics.v1.AnalyticsService/RunCustomReport": hidden(
        {OWNER, ADMIN},
        lambda w: AN.RunCustomReportRequest(definition_id=w.definition, format=AN.REPORT_FORMAT_JSON),
    ),
    "nexafi.analytics.v1.AnalyticsService/RenderCustomReportChart": hidden(
        {OWNER, ADMIN},
        lambda w: AN.RenderCustomReportChartRequest(
            definition_id=w.definition, image_format=AN.IMAGE_FORMAT_PNG, measure=AN.REPORT_MEASURE_SUM
        ),
    ),
    "nexafi.analytics.v1.AnalyticsService/RenderChart": rule(
        READERS,
        lambda w: AN.RenderChartRequest(
            chart=AN.CHART_KIND_DASHBOARD, user_id=w.owner, image_format=AN.IMAGE_FORMAT_PNG
        ),
    ),
    "nexafi.analytics.v1.AnalyticsService/GetFeedCheckpoint": rule(
        {ADMIN}, lambda w: AN.GetFeedCheckpointRequest()
    ),
    # -- AI: payment checks fraud, credit scores ---------------------------------------------------
    "nexafi.ai.v1.AiService/CheckFraud": rule({ADMIN, SVC_PAYMENT}, lambda w: fraud_request(w.owner)),
    "nexafi.ai.v1.AiService/ScoreCredit": rule({ADMIN, SVC_CREDIT}, lambda w: credit_request(w.owner)),
    "nexafi.ai.v1.AiService/GetRecommendations": rule(
        {OWNER, SUPPORT, ADMIN}, lambda w: A.GetRecommendationsRequest(user_id=w.owner)
    ),
    "nexafi.ai.v1.AiService/PredictTrend": rule(
        {OWNER, SUPPORT, ADMIN},
        lambda w: A.PredictTrendRequest(
            user_series=A.UserSeries(user_id=w.owner, metric=A.TREND_METRIC_SPENDING)
        ),
    ),
    "nexafi.ai.v1.AiService/ListModels": rule({ADMIN}, lambda w: A.ListModelsRequest()),
    "nexafi.ai.v1.AiService/GetModel": rule({ADMIN}, lambda w: A.GetModelRequest(name=w.model)),
    "nexafi.ai.v1.AiService/ActivateModelVersion": rule(
        {ADMIN},
        lambda w: A.ActivateModelVersionRequest(name=w.model, version="v-does-not-exist", reason="matrix"),
    ),
    "nexafi.ai.v1.AiService/GetInference": rule(
        {COMPLIANCE, ADMIN}, lambda w: A.GetInferenceRequest(inference_id=w.inference)
    ),
    # -- document: no service reads or writes customers' documents ---------------------------------
    "nexafi.document.v1.DocumentService/UploadDocument": rule(
        {OWNER, ADMIN}, lambda w: list(upload_stream(w.owner))
    ),
    "nexafi.document.v1.DocumentService/GetDocument": rule(
        READERS, lambda w: D.GetDocumentRequest(document_id=w.document)
    ),
    "nexafi.document.v1.DocumentService/DownloadDocument": rule(
        READERS, lambda w: D.DownloadDocumentRequest(document_id=w.document)
    ),
    "nexafi.document.v1.DocumentService/DeleteDocument": rule({OWNER, ADMIN}, *DELETE_DOCUMENT),
    "nexafi.document.v1.DocumentService/ListUserDocuments": rule(
        READERS, lambda w: D.ListUserDocumentsRequest(user_id=w.owner)
    ),
    "nexafi.document.v1.DocumentService/ListDocumentVersions": rule(
        READERS, lambda w: D.ListDocumentVersionsRequest(document_id=w.document)
    ),
    "nexafi.document.v1.DocumentService/ReviewDocument": rule(
        {COMPLIANCE, ADMIN},
        lambda w: D.ReviewDocumentRequest(
            document_id=w.document, decision=D.REVIEW_DECISION_APPROVE, reason="matrix", request_id=rid()
        ),
    ),
    "nexafi.document.v1.DocumentService/CheckStorageConsistency": rule(
        {ADMIN}, lambda w: D.CheckStorageConsistencyRequest(page_size=1)
    ),
    "nexafi.document.v1.DocumentService/ListDocumentAccessEvents": rule(
        {OWNER, COMPLIANCE, ADMIN}, lambda w: D.ListDocumentAccessEventsRequest(document_id=w.document)
    ),
    "nexafi.document.v1.DocumentService/ListDocumentsInReview": rule(
        {COMPLIANCE, ADMIN}, lambda w: D.ListDocumentsInReviewRequest(page_size=1)
    ),
}


# -- the RPCs of the contracts, from the descriptor set ------------------------------------------
def contract_rpcs() -> dict[str, descriptor_pb2.MethodDescriptorProto]:
    files = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "gen" / DESCRIPTOR).read_bytes())
    out = {}
    for proto in files.file:
        if proto.package.startswith("nexafi.") and proto.package.endswith(".v1"):
            for service in proto.service:
                for method in service.method:
                    out[f"{proto.package}.{service.name}/{method.name}"] = method
    return out


def method_descriptor(service: str, method: str) -> Any:
    name = f"nexafi.{service}.v1.{service.capitalize()}Service.{method}"
    return descriptor_pool.Default().FindMethodByName(name)


def invoke(channel: grpc.Channel, method: Any, request: Any, metadata: Any) -> Any:
    """Call ``method`` generically (any of the four shapes); the response, or the list for a stream."""
    path = f"/{method.containing_service.full_name}/{method.name}"

    def serialize(message: Message) -> bytes:
        return message.SerializeToString()

    deserialize = message_factory.GetMessageClass(method.output_type).FromString
    kwargs: dict[str, Any] = {"metadata": metadata, "timeout": 20}
    if method.client_streaming:
        messages = iter([request] if isinstance(request, Message) else list(request))
        if method.server_streaming:
            return list(channel.stream_stream(path, serialize, deserialize)(messages, **kwargs))
        return channel.stream_unary(path, serialize, deserialize)(messages, **kwargs)
    if method.server_streaming:
        return list(channel.unary_stream(path, serialize, deserialize)(request, **kwargs))
    return channel.unary_unary(path, serialize, deserialize)(request, **kwargs)


def refused(error: grpc.RpcError) -> bool:
    """Refused by authentication or authorization (not by validation, state or a missing resource)."""
    if error.code() == grpc.StatusCode.PERMISSION_DENIED:
        return True
    return error.code() == grpc.StatusCode.UNAUTHENTICATED and describe(error).reason.startswith("TOKEN_")


def caller_metadata(w: World, caller: str, owner: str) -> tuple[tuple[str, str], ...]:
    if caller == ANONYMOUS:
        return ()
    if caller == OWNER:
        return w.md(owner, ["customer"])
    if caller == OTHER:
        return w.md(w.other, ["customer"])
    if caller in STAFF_ROLES:
        return w.md(f"usr_matrix_{caller}", [STAFF_ROLES[caller]])
    return w.md(caller, ["service"])


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(services: ServiceRunner, s3: EmbeddedS3, tokens: TokenFactory) -> Iterator[World]:
    # In dependency order: each finds the ones started before it (<NAME>_ADDR).
    for spec in (USER, LEDGER, AI, ANALYTICS, CREDIT, PAYMENT, DOCUMENT):
        services.start(spec)
    channels = {name: grpc.insecure_channel(services.running[name].address) for name in SERVICES}
    try:
        yield build_world(World(user_pb2_grpc.UserServiceStub(channels["user"]), tokens, channels))
    finally:
        for channel in channels.values():
            channel.close()


# -- the tests ----------------------------------------------------------------------------------
def test_every_rpc_has_an_entry() -> None:
    rpcs = set(contract_rpcs())
    assert rpcs, "the descriptor set lists no RPCs"
    missing, stale = sorted(rpcs - set(MATRIX)), sorted(set(MATRIX) - rpcs)
    assert not missing, f"RPCs without an entry in the authorization matrix: {missing}"
    assert not stale, f"entries of the authorization matrix for RPCs that do not exist: {stale}"


@pytest.mark.parametrize("rpc", sorted(MATRIX))
def test_who_may_call(rpc: str, world: World) -> None:
    entry = MATRIX[rpc]
    service = rpc.split(".")[1]
    method = rpc.rsplit("/", 1)[1]
    mismatches = []
    for caller in CALLERS:
        request = entry.build(world)
        owner = entry.owner(world, request) if entry.owner else world.owner
        try:
            world.call(service, method, request, caller_metadata(world, caller, owner))
            outcome, detail = True, "OK"
        except grpc.RpcError as error:
            outcome = not refused(error) and not (entry.hides and error.code() == grpc.StatusCode.NOT_FOUND)
            found = describe(error)
            detail = f"{found.code.name} {found.reason}: {found.message}"
        if outcome != (caller in entry.allowed):
            expected = "allowed" if caller in entry.allowed else "refused"
            mismatches.append(f"{caller}: expected {expected}, got {detail}")
    assert not mismatches, f"{rpc}:\n  " + "\n  ".join(mismatches)
