"""Typed clients of the ledger, AI and user services, injected into the credit service.

Calls carry the credit service's own service token (``ServiceTokenProvider``,
secret ``CREDIT_CLIENT_SECRET``) and a deadline; money-moving calls carry an
idempotency key derived from the application id and step. gRPC errors become
:class:`RemoteError` with the callee's ``ErrorInfo.reason``.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2, ledger_pb2_grpc

from services.credit.domain.ledger import AccountType, BalanceRule, EntryType
from services.credit.domain.model import Financials, Reason
from services.runtime.api import to_money
from services.runtime.clients import ServiceChannels, UserClient, call


@dataclass(frozen=True)
class ScoreResult:
    score: int
    default_probability_bps: int
    reasons: tuple[Reason, ...]
    model_version: str


@dataclass(frozen=True)
class LedgerAccount:
    id: str
    owner_id: str
    name: str
    currency: str
    # The posted balance on the account's normal side, and what can be spent now.
    posted: int
    available: int
    credit_limit: int


_ACCOUNT_TYPES = {
    AccountType.ASSET: ledger_pb2.ACCOUNT_TYPE_ASSET,
    AccountType.LIABILITY: ledger_pb2.ACCOUNT_TYPE_LIABILITY,
    AccountType.INCOME: ledger_pb2.ACCOUNT_TYPE_INCOME,
}
_BALANCE_RULES = {
    BalanceRule.NON_NEGATIVE: ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
    BalanceRule.UNBOUNDED: ledger_pb2.BALANCE_RULE_UNBOUNDED,
    BalanceRule.CREDIT_LIMIT: ledger_pb2.BALANCE_RULE_CREDIT_LIMIT,
}
_ENTRY_TYPES = {
    EntryType.LOAN_DISBURSEMENT: ledger_pb2.TRANSACTION_TYPE_LOAN_DISBURSEMENT,
    EntryType.LOAN_REPAYMENT: ledger_pb2.TRANSACTION_TYPE_LOAN_REPAYMENT,
    EntryType.FEE: ledger_pb2.TRANSACTION_TYPE_FEE,
}
_ENTRY_TYPES_BACK = {int(v): k for k, v in _ENTRY_TYPES.items()}


def _account(account: ledger_pb2.Account) -> LedgerAccount:
    return LedgerAccount(
        account.id,
        account.owner_id,
        account.name,
        account.currency,
        account.balance.posted.amount_minor,
        account.balance.available.amount_minor,
        account.credit_limit_minor,
    )


class LedgerClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = ledger_pb2_grpc.LedgerServiceStub(channel)

    def create_account(
        self,
        owner_id: str,
        name: str,
        type_: AccountType,
        currency: str,
        rule: BalanceRule,
        request_id: str,
        credit_limit: int = 0,
    ) -> LedgerAccount:
        reply = call(
            "ledger",
            self.stub.CreateAccount,
            ledger_pb2.CreateAccountRequest(
                owner_id=owner_id,
                name=name,
                type=_ACCOUNT_TYPES[type_],
                currency=currency,
                balance_rule=_BALANCE_RULES[rule],
                credit_limit_minor=credit_limit,
                request_id=request_id,
            ),
        )
        return _account(reply.account)

    def get_account(self, account_id: str) -> LedgerAccount:
        reply = call("ledger", self.stub.GetAccount, ledger_pb2.GetAccountRequest(account_id=account_id))
        return _account(reply.account)

    def accounts_of(self, owner_id: str) -> list[LedgerAccount]:
        out: list[LedgerAccount] = []
        token = ""
        while True:
            reply = call(
                "ledger",
                self.stub.ListAccounts,
                ledger_pb2.ListAccountsRequest(owner_id=owner_id, page_size=100, page_token=token),
            )
            out.extend(_account(a) for a in reply.accounts)
            token = reply.next_page_token
            if not token:
                return out

    def update_limit(self, *, account_id: str, credit_limit: int, request_id: str) -> LedgerAccount:
        reply = call(
            "ledger",
            self.stub.UpdateAccountLimit,
            ledger_pb2.UpdateAccountLimitRequest(
                account_id=account_id, credit_limit_minor=credit_limit, request_id=request_id
            ),
        )
        return _account(reply.account)

    def post(
        self,
        *,
        user_id: str,
        type_: EntryType,
        description: str,
        related_id: str,
        currency: str,
        debits: list[tuple[str, int]],
        credits: list[tuple[str, int]],
        request_id: str,
    ) -> str:
        """Record one balanced journal entry; the transaction id (the original one on a replay)."""
        postings = [
            ledger_pb2.Posting(
                account_id=a, direction=ledger_pb2.POSTING_DIRECTION_DEBIT, amount=to_money(m, currency)
            )
            for a, m in debits
            if m
        ]
        postings += [
            ledger_pb2.Posting(
                account_id=a, direction=ledger_pb2.POSTING_DIRECTION_CREDIT, amount=to_money(m, currency)
            )
            for a, m in credits
            if m
        ]
        reply = call(
            "ledger",
            self.stub.CreateTransaction,
            ledger_pb2.CreateTransactionRequest(
                user_id=user_id,
                type=_ENTRY_TYPES[type_],
                description=description,
                related_entity_id=related_id,
                postings=postings,
                request_id=request_id,
            ),
        )
        return reply.transaction.id


    def related(self, application_ids: list[str]) -> list[tuple[str, str, EntryType, int]]:
        """(entry id, related id, type, amount) of every entry naming one of ``application_ids``."""
        reply = call(
            "ledger",
            self.stub.BatchGetRelatedEntries,
            ledger_pb2.BatchGetRelatedEntriesRequest(
                related_entity_ids=application_ids, view=ledger_pb2.TRANSACTION_VIEW_BASIC
            ),
            30.0,
        )
        return [
            (t.id, t.related_entity_id, _ENTRY_TYPES_BACK.get(int(t.type), EntryType.OTHER),
             t.amount.amount_minor)
            for t in reply.transactions
        ]


class AiClient:
    def __init__(self, channel: grpc.Channel, timeout_seconds: float) -> None:
        self.stub = ai_pb2_grpc.AiServiceStub(channel)
        self.timeout_seconds = timeout_seconds

    def score(
        self,
        request_id: str,
        user_id: str,
        application_id: str,
        financials: Financials,
        requested_amount: int,
    ) -> ScoreResult:
        currency = financials.currency
        reply = call(
            "ai",
            self.stub.ScoreCredit,
            ai_pb2.ScoreCreditRequest(
                request_id=request_id,
                user_id=user_id,
                application_id=application_id,
                annual_income=to_money(financials.monthly_income * 12, currency),
                monthly_debt_payments=to_money(financials.monthly_debt, currency),
                total_debt=to_money(financials.total_debt, currency),
                credit_history_months=financials.credit_history_months,
                utilization_bps=financials.utilization_bps,
                delinquencies_24m=financials.delinquencies_24m,
                open_accounts=financials.open_accounts,
                inquiries_6m=financials.inquiries_6m,
                employment_months=financials.employment_months,
                requested_amount=to_money(requested_amount, currency),
            ),
            self.timeout_seconds,
        )
        score = reply.credit_score
        # The model's probability is a float; the contract stores it as integer basis points.
        probability_bps = min(10_000, max(0, round(score.probability_of_default * 10_000)))
        return ScoreResult(
            score.score,
            probability_bps,
            tuple(Reason(r.code, r.description) for r in score.reason_codes),
            score.model_version,
        )


@dataclass
class Clients:
    ledger: LedgerClient
    ai: AiClient
    users: UserClient
    channels: ServiceChannels

    @classmethod
    def connect(cls, *, ai_timeout_seconds: float) -> Clients:
        """Channels to the ledger, AI and user services at the runtime's addresses, with credit's token."""
        channels = ServiceChannels("credit")
        return cls(
            LedgerClient(channels.open("ledger")),
            AiClient(channels.open("ai"), ai_timeout_seconds),
            UserClient(channels.open("user")),
            channels,
        )

    def close(self) -> None:
        self.channels.close()
