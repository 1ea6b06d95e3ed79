"""A thin client of the credit service for tests: users, applications, wallets, ledger checks."""

from __future__ import annotations

import uuid
from typing import Any

from nexafi.common.v1 import common_pb2
from nexafi.credit.v1 import credit_pb2
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc
from nexafi.user.v1 import user_pb2_grpc

from services.runtime.fingerprints import derived_fingerprint_key
from services.runtime.idempotency import IdempotencyStore
from services.runtime.request_keys import RequestKeys
from services.runtime.server import RunningServer, page_token_key
from tests.support.harness import TokenFactory, register_user

C = credit_pb2
L = ledger_pb2
UNDERWRITER = "usr_01UNDERWRITER00000000000000"[:30]
ADMIN = "usr_01ADMIN0000000000000000000"[:30]
# Sandbox bureau test identities (services/credit/bureau/sandbox.py): the last four characters decide.
GOOD_ID = "DE-1000-7777"
THIN_ID = "DE-1000-0001"
DEFAULTED_ID = "DE-1000-0002"
BUREAU_DOWN_ID = "DE-1000-0003"


def key() -> str:
    return uuid.uuid4().hex


def eur(amount: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount, currency="EUR")


def financials(**fields: Any) -> credit_pb2.ApplicantFinancials:
    """A solid applicant by default: 5,000 EUR a month, 500 EUR of debt payments, a long clean history."""
    values: dict[str, Any] = {
        "monthly_income": eur(500_000),
        "monthly_debt": eur(50_000),
        "employment_status": C.EMPLOYMENT_STATUS_EMPLOYED,
        "employment_months": 48,
        "total_debt": eur(500_000),
        "credit_history_months": 180,
        "utilization_bps": 800,
        "delinquencies_24m": 0,
        "open_accounts": 3,
        "inquiries_6m": 0,
    }
    values.update(fields)
    return C.ApplicantFinancials(**values)


# A thin file: maxed-out, delinquent, many inquiries.
RISKY = {
    "credit_history_months": 6,
    "utilization_bps": 12_000,
    "delinquencies_24m": 6,
    "inquiries_6m": 10,
    "total_debt": eur(5_000_000),
}


def server_keys(server: RunningServer, store: IdempotencyStore) -> RequestKeys:
    """``store``'s keys fingerprinted as ``server``'s servicer does, so a key a test takes is the
    one a retry over gRPC finds."""
    return RequestKeys(store, derived_fingerprint_key(page_token_key(server.context.settings)))


class CreditApi:
    def __init__(
        self,
        credit: Any,
        ledger: ledger_pb2_grpc.LedgerServiceStub,
        users: user_pb2_grpc.UserServiceStub,
        tokens: TokenFactory,
    ) -> None:
        self.credit = credit
        self.ledger = ledger
        self.users = users
        self.tokens = tokens

    # -- identities -------------------------------------------------------------------------------
    def register(self) -> str:
        return register_user(self.users)

    def md(self, subject: str, *roles: str) -> tuple[tuple[str, str], ...]:
        return self.tokens.metadata(subject, list(roles) or ["customer"])

    def underwriter(self) -> tuple[tuple[str, str], ...]:
        return self.md(UNDERWRITER, "underwriter")

    def admin(self) -> tuple[tuple[str, str], ...]:
        return self.md(ADMIN, "admin")

    def service(self) -> tuple[tuple[str, str], ...]:
        """The analytics service's identity: the one service that calls credit (its loan book)."""
        return self.tokens.service("analytics")

    # -- credit calls ------------------------------------------------------------------------------
    def submit_request(
        self, user_id: str, amount: int = 600_000, term: int = 12, national_id: str = GOOD_ID, **fin: Any
    ) -> credit_pb2.SubmitLoanApplicationRequest:
        """With the applicant's consent to a bureau check; ``national_id=""`` submits without it."""
        return C.SubmitLoanApplicationRequest(
            user_id=user_id,
            amount=eur(amount),
            term_months=term,
            purpose=C.LOAN_PURPOSE_HOME_IMPROVEMENT,
            financials=financials(**fin),
            request_id=key(),
            bureau_consent=bool(national_id),
            national_id=national_id,
        )

    def submit(
        self, user_id: str, amount: int = 600_000, term: int = 12, national_id: str = GOOD_ID, **fin: Any
    ) -> Any:
        request = self.submit_request(user_id, amount, term, national_id, **fin)
        return self.credit.SubmitLoanApplication(request, metadata=self.md(user_id)).loan_application

    def get(self, application_id: str, metadata: Any) -> Any:
        return self.credit.GetLoanApplication(
            C.GetLoanApplicationRequest(application_id=application_id), metadata=metadata
        ).loan_application

    def decide(self, application_id: str, decision: int = C.LOAN_DECISION_APPROVE, **fields: Any) -> Any:
        request = C.DecideLoanApplicationRequest(
            application_id=application_id, decision=decision, request_id=key(), **fields
        )
        return self.credit.DecideLoanApplication(request, metadata=self.underwriter()).loan_application

    def approved(self, user_id: str, amount: int = 600_000, term: int = 12) -> Any:
        """An APPROVED application of ``user_id``: automatic approval, or an underwriter's after referral."""
        app = self.submit(user_id, amount, term)
        if app.status == C.LOAN_APPLICATION_STATUS_UNDER_REVIEW:
            app = self.decide(app.id, apr_bps=1299)
        assert app.status == C.LOAN_APPLICATION_STATUS_APPROVED, app
        return app

    def disburse(self, application_id: str, user_id: str, request_id: str | None = None) -> Any:
        return self.credit.DisburseLoan(
            C.DisburseLoanRequest(application_id=application_id, request_id=request_id or key()),
            metadata=self.md(user_id),
        ).loan_application

    def repay(self, application_id: str, user_id: str, amount: int, request_id: str | None = None) -> Any:
        return self.credit.RecordRepayment(
            C.RecordRepaymentRequest(
                application_id=application_id, amount=eur(amount), request_id=request_id or key()
            ),
            metadata=self.md(user_id),
        )

    def update_line(
        self, user_id: str, limit: int, apr: int | None = 1500, metadata: Any = None, **fields: Any
    ) -> Any:
        request = C.UpdateCreditLineRequest(
            user_id=user_id, limit=eur(limit), reason="annual review", request_id=key(), **fields
        )
        if apr is not None:
            request.apr_bps = apr
        return self.credit.UpdateCreditLine(request, metadata=metadata or self.underwriter()).credit_line

    # -- ledger ------------------------------------------------------------------------------------
    def account(self, owner: str, name: str, type_: int, rule: int) -> str:
        reply = self.ledger.CreateAccount(
            L.CreateAccountRequest(
                owner_id=owner, name=name, type=type_, currency="EUR", balance_rule=rule, request_id=key()
            ),
            metadata=self.admin(),
        )
        return str(reply.account.id)

    def wallet(self, user_id: str, funds: int = 0) -> str:
        """A EUR wallet as the payment service opens it, funded from a test clearing account."""
        wallet = self.account(user_id, "wallet", L.ACCOUNT_TYPE_LIABILITY, L.BALANCE_RULE_NON_NEGATIVE)
        if funds:
            clearing = self.account("system", "test_clearing", L.ACCOUNT_TYPE_ASSET, L.BALANCE_RULE_UNBOUNDED)
            self.post(clearing, wallet, funds)
        return wallet

    def post(self, debit: str, credit: str, amount: int) -> str:
        reply = self.ledger.CreateTransaction(
            L.CreateTransactionRequest(
                user_id="",
                type=L.TRANSACTION_TYPE_DEPOSIT,
                description="test funds",
                request_id=key(),
                postings=[
                    L.Posting(account_id=debit, direction=L.POSTING_DIRECTION_DEBIT, amount=eur(amount)),
                    L.Posting(account_id=credit, direction=L.POSTING_DIRECTION_CREDIT, amount=eur(amount)),
                ],
            ),
            metadata=self.admin(),
        )
        return str(reply.transaction.id)

    def balance(self, account_id: str) -> int:
        reply = self.ledger.GetAccount(L.GetAccountRequest(account_id=account_id), metadata=self.admin())
        return int(reply.account.balance.posted.amount_minor)

    def ledger_account(self, account_id: str) -> Any:
        return self.ledger.GetAccount(
            L.GetAccountRequest(account_id=account_id), metadata=self.admin()
        ).account
