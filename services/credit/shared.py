"""Helpers shared by the credit service's use cases: transitions, ledger accounts, errors."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.bureau.base import Bureau
from services.credit.clients import Clients, ScoreResult
from services.credit.domain.ledger import AccountType, BalanceRule
from services.credit.domain.model import (
    Application,
    Financials,
    Status,
    StatusChange,
    can_transition,
)
from services.runtime import ledger_accounts
from services.runtime.clients import RemoteError
from services.runtime.clock import Clock, system_clock
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    FailedPrecondition,
    InsufficientFunds,
    NotFound,
    Unavailable,
)
from services.runtime.idempotency import IdempotencyStore
from services.runtime.ledger_client import LedgerClient

log = logging.getLogger("nexafi.credit")

SYSTEM_OWNER = "system"
ACTOR_UNDERWRITING = "system:underwriting"
WALLET_NAME = "wallet"
PURPOSE_INTEREST_INCOME = "loan_interest_income"
PURPOSE_CREDIT_LINE = "credit_line"


def key_digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def unavailable(exc: RemoteError) -> Unavailable:
    return Unavailable(
        f"the {exc.service} service cannot be reached; retry with the same request_id",
        f"{exc.service.upper()}_UNAVAILABLE",
    )


def illegal_transition(app: Application, target: Status) -> FailedPrecondition:
    return FailedPrecondition(
        f"application {app.id} is {app.status.name} and cannot become {target.name}",
        "ILLEGAL_STATUS_TRANSITION",
        {"status": app.status.name},
    )


def require_status(app: Application, current: Status, target: Status) -> None:
    """Refuses to move ``app`` to ``target`` unless it is ``current``, the one status allowed here."""
    if app.status is not current:
        raise illegal_transition(app, target)


def ledger_account(
    engine: Engine,
    ledger: LedgerClient,
    owner_id: str,
    purpose: str,
    currency: str,
    type_: AccountType,
    rule: BalanceRule,
) -> str:
    """The credit service's ledger account (owner, purpose, currency), opened on first use."""
    try:
        return ledger_accounts.opened_account(
            engine,
            ledger,
            owner_id=owner_id,
            purpose=purpose,
            currency=currency,
            type_=type_,
            rule=rule,
            request_id=f"credit:acct:{owner_id}:{purpose}:{currency}",
        )
    except RemoteError as exc:
        raise unavailable(exc) from None


def wallet_of(ledger: LedgerClient, user_id: str, currency: str, use: str) -> str:
    """The user's wallet in ``currency`` (opened by the payment service), found in the ledger;
    FAILED_PRECONDITION (WALLET_NOT_FOUND) naming its ``use`` when the user has none."""
    try:
        wallet = ledger_accounts.account_named(ledger, user_id, WALLET_NAME, currency)
    except RemoteError as exc:
        raise unavailable(exc) from None
    if wallet is None:
        raise FailedPrecondition(
            f"user {user_id} has no {currency} wallet {use}", "WALLET_NOT_FOUND", {"currency": currency}
        )
    return wallet


class CreditCore:
    def __init__(
        self,
        engine: Engine,
        clients: Clients,
        bureau: Bureau,
        idempotency: IdempotencyStore,
        *,
        clock: Clock = system_clock,
    ) -> None:
        self.engine = engine
        self.clients = clients
        self.bureau = bureau
        # The servicer runs each write under a key of this store; a use case records in it the
        # resource it created (attach), in the transaction that creates it, so a retry after a
        # crash resumes that resource instead of making another.
        self.idempotency = idempotency
        # Decision times (submission, approval, the schedule's first day, repayments) come from here.
        self.clock = clock

    def _score(
        self, ai_request_id: str, user_id: str, application_id: str, financials: Financials, amount: int
    ) -> ScoreResult:
        return self.clients.ai.score(ai_request_id, user_id, application_id, financials, amount)

    def get_application(self, application_id: str) -> Application:
        app = run_in_transaction(self.engine, lambda s: repo.get_application(s, application_id))
        if app is None:
            raise NotFound(f"loan application {application_id} not found", "APPLICATION_NOT_FOUND")
        return app

    @staticmethod
    def _load_locked(session: Session, application_id: str) -> Application:
        app = repo.get_application(session, application_id, lock=True)
        if app is None:
            raise NotFound(f"loan application {application_id} not found", "APPLICATION_NOT_FOUND")
        return app

    @staticmethod
    def _transition(
        session: Session, app: Application, target: Status, reason: str, actor: str, now: datetime
    ) -> None:
        if not can_transition(app.status, target):
            raise illegal_transition(app, target)
        change = StatusChange(app.status, target, reason, actor, now)
        repo.add_status_change(session, app.id, change)
        app.status = target
        app.update_time = now
        app.history = (*app.history, change)

    # -- ledger accounts --------------------------------------------------------------------------
    def _ledger_account(
        self, owner_id: str, purpose: str, currency: str, type_: AccountType, rule: BalanceRule
    ) -> str:
        """The ledger account for (owner, purpose, currency), opened on first use with a derived key."""
        return ledger_account(self.engine, self.clients.ledger, owner_id, purpose, currency, type_, rule)

    def _wallet(self, user_id: str, currency: str) -> str:
        """The borrower's wallet (opened by the payment service), found in the ledger."""
        return wallet_of(self.clients.ledger, user_id, currency, "to pay the loan into or from")

    @staticmethod
    def _ledger_error(exc: RemoteError) -> Exception:
        if exc.reason == "INSUFFICIENT_FUNDS":
            return InsufficientFunds("the wallet does not hold enough funds", "INSUFFICIENT_FUNDS")
        if not exc.refused:
            # UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, ABORTED, a reset connection: the
            # request may have reached the ledger and been committed there. Say so, never that
            # nothing moved. A retry with the same request_id (or the recovery job) sends the same
            # ledger key, which replays the entry if it was recorded and records it otherwise.
            log.warning("ledger entry in doubt: %s", exc)
            return Unavailable(
                "the outcome of the ledger entry is unknown (it may have been recorded); "
                "retry with the same request_id to complete it",
                "LEDGER_UNAVAILABLE",
            )
        log.error("ledger refused a credit posting: %s", exc)
        return FailedPrecondition(
            f"the ledger refused the entry: {exc.reason or exc.code.name}", "LEDGER_REJECTED"
        )
