"""The credit service's use cases: scoring, underwriting, loans through the ledger, credit lines.

Idempotency: a request's key (scoped to the caller) is stored with the first
response in the same transaction as the effect it guards; requests with the same
key are serialized on a transaction-level advisory lock, so a concurrent replay
waits for the first and then returns its response. Calls that move money carry a
ledger idempotency key derived from the application id (and the client's key for
a repayment), so a retry after a crash between the ledger and our commit replays
the ledger entry instead of posting it twice. A repayment's entry depends on the
schedule, so it is written down first as a repayment intent (committed on its
own), and every repayment completes the pending intents before anything new.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Concatenate, ParamSpec

import grpc
from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.bureau.base import Bureau, BureauError, mask_national_id
from services.credit.clients import Clients, LedgerAccount, ScoreResult
from services.credit.domain.amortization import (
    RepaymentExceedsBalance,
    apply_repayment,
    build_schedule,
    outstanding,
    redate,
)
from services.credit.domain.model import (
    OPEN_STATUSES,
    Application,
    BureauCheck,
    BureauStatus,
    CreditLine,
    Financials,
    LineStatus,
    Purpose,
    Reason,
    Repayment,
    RepaymentIntent,
    Score,
    Status,
    StatusChange,
    can_transition,
)
from services.credit.domain.underwriting import Outcome, debt_to_income_bps, underwrite
from services.runtime.audit import StaffAction
from services.runtime.clients import RemoteError
from services.runtime.clock import Clock, system_clock
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    Aborted,
    AlreadyExists,
    DomainError,
    FailedPrecondition,
    InsufficientFunds,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.credit")

SYSTEM_OWNER = "system"
ACTOR_UNDERWRITING = "system:underwriting"
WALLET_NAME = "wallet"
PURPOSE_INTEREST_INCOME = "loan_interest_income"
PURPOSE_CREDIT_LINE = "credit_line"

Render = Callable[[Application], bytes]
P = ParamSpec("P")


def replayable(
    method: Callable[Concatenate[CreditService, Idem, P], bytes],
) -> Callable[Concatenate[CreditService, Idem, P], bytes]:
    """Answer a request whose key already has a response with that response, before and after checks.

    The checks before ``_guarded`` (an open application, the status, the wallet) run outside the
    key's lock; a concurrent request with the same key may finish in between and make them fail.
    Its stored response, not that failure, is the answer to a replay."""

    @functools.wraps(method)
    def wrapper(self: CreditService, idem: Idem, *args: P.args, **kwargs: P.kwargs) -> bytes:
        stored = self.replay(idem)
        if stored is not None:
            return stored
        try:
            return method(self, idem, *args, **kwargs)
        except DomainError:
            stored = self.replay(idem)
            if stored is not None:
                return stored
            raise

    return wrapper


@dataclass(frozen=True)
class Idem:
    """A request's idempotency key: who used it, for what, and the fingerprint of the body."""

    scope: str
    key: str
    operation: str
    fingerprint: str


@dataclass(frozen=True)
class NewApplication:
    user_id: str
    amount: int
    currency: str
    term_months: int
    purpose: Purpose
    purpose_description: str
    financials: Financials
    # The applicant's consent to a bureau check and the id the bureau knows them by (required with it).
    bureau_consent: bool = False
    national_id: str = ""


@dataclass(frozen=True)
class LineChange:
    """A requested change of a user's credit line (opening it when the user has none)."""

    user_id: str
    limit: int
    currency: str
    # None keeps the line's status (ACTIVE for a new line); apr_bps None keeps its APR.
    status: LineStatus | None
    apr_bps: int | None
    reason: str
    actor: str


@dataclass(frozen=True)
class LineView:
    """A credit line with its use, read from its ledger account."""

    line: CreditLine
    used: int
    available: int


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _unavailable(exc: RemoteError) -> Unavailable:
    return Unavailable(
        f"the {exc.service} service cannot be reached; retry with the same request_id",
        f"{exc.service.upper()}_UNAVAILABLE",
    )


def _illegal(app: Application, target: Status) -> FailedPrecondition:
    return FailedPrecondition(
        f"application {app.id} is {app.status.name} and cannot become {target.name}",
        "ILLEGAL_STATUS_TRANSITION",
        {"status": app.status.name},
    )


def _require_status(app: Application, current: Status, target: Status) -> None:
    """Refuses to move ``app`` to ``target`` unless it is ``current``, the one status allowed here."""
    if app.status is not current:
        raise _illegal(app, target)


class CreditService:
    def __init__(
        self, engine: Engine, clients: Clients, bureau: Bureau, *, clock: Clock = system_clock
    ) -> None:
        self.engine = engine
        self.clients = clients
        self.bureau = bureau
        # Decision times (submission, approval, the schedule's first day, repayments) come from here.
        self.clock = clock

    # -- idempotency ------------------------------------------------------------------------------
    def _tx(self, work: Callable[[Session], bytes]) -> bytes:
        return run_in_transaction(self.engine, work)

    @staticmethod
    def _stored(session: Session, idem: Idem) -> bytes | None:
        row = repo.get_key(session, idem.scope, idem.key)
        if row is None:
            return None
        operation, fingerprint, response = row
        if operation != idem.operation or fingerprint != idem.fingerprint:
            raise AlreadyExists(
                f"request_id {idem.key!r} was already used with a different request",
                "IDEMPOTENCY_KEY_REUSED",
                {"request_id": idem.key},
            )
        return response

    def replay(self, idem: Idem) -> bytes | None:
        """The stored response of an earlier request with this key, if any."""
        return run_in_transaction(self.engine, lambda s: self._stored(s, idem))

    def _guarded(self, idem: Idem, work: Callable[[Session], bytes]) -> bytes:
        """Run ``work`` under the key's lock unless the key has a response already; store what it returns."""

        def locked(session: Session) -> bytes:
            repo.lock_key(session, idem.scope, idem.key)
            stored = self._stored(session, idem)
            if stored is not None:
                return stored
            response = work(session)
            repo.save_key(session, idem.scope, idem.key, idem.operation, idem.fingerprint, response)
            return response

        return self._tx(locked)

    # -- scores -----------------------------------------------------------------------------------
    def _score(
        self, ai_request_id: str, user_id: str, application_id: str, financials: Financials, amount: int
    ) -> ScoreResult:
        return self.clients.ai.score(ai_request_id, user_id, application_id, financials, amount)

    def get_score(self, user_id: str) -> Score:
        score = run_in_transaction(self.engine, lambda s: repo.latest_score(s, user_id))
        if score is None:
            raise NotFound(f"user {user_id} has no credit score yet", "CREDIT_SCORE_NOT_FOUND")
        return score

    def list_scores(
        self,
        user_id: str,
        start: datetime | None,
        end: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Score]:
        return run_in_transaction(
            self.engine, lambda s: repo.list_scores(s, user_id, start, end, after, limit)
        )

    @replayable
    def refresh_score(
        self, idem: Idem, user_id: str, financials: Financials | None, render: Callable[[Score], bytes]
    ) -> bytes:
        try:
            if not self.clients.users.exists(user_id):
                raise NotFound(f"user {user_id} not found", "USER_NOT_FOUND")
        except RemoteError as exc:
            raise _unavailable(exc) from None
        if financials is None:
            financials = run_in_transaction(self.engine, lambda s: repo.latest_financials(s, user_id))
            if financials is None:
                raise InvalidArgument(
                    "the user has no loan application to take financials from",
                    field="financials",
                    description="is required when the user has no loan application",
                )
        try:
            # Derived from the caller's key, so a retry re-reads the same inference.
            result = self._score(
                f"credit:refresh:{_digest(idem.scope, idem.key)}", user_id, "", financials, 0
            )
        except RemoteError as exc:
            raise Unavailable(
                "the credit scoring model cannot be reached; retry with the same request_id",
                "SCORING_UNAVAILABLE",
            ) from exc
        score = Score(
            new_id("cs"),
            user_id,
            result.score,
            result.default_probability_bps,
            result.reasons,
            result.model_version,
            self.clock(),
        )

        def work(session: Session) -> bytes:
            repo.insert_score(session, score)
            return render(score)

        return self._guarded(idem, work)

    # -- applications -----------------------------------------------------------------------------
    def get_application(self, application_id: str) -> Application:
        app = run_in_transaction(self.engine, lambda s: repo.get_application(s, application_id))
        if app is None:
            raise NotFound(f"loan application {application_id} not found", "APPLICATION_NOT_FOUND")
        return app

    def list_applications(
        self,
        user_id: str | None,
        statuses: list[int],
        currency: str | None,
        start: datetime | None,
        end: datetime | None,
        before_id: str | None,
        limit: int,
    ) -> list[Application]:
        return run_in_transaction(
            self.engine,
            lambda s: repo.list_applications(s, user_id, statuses, currency, start, end, before_id, limit),
        )

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
            raise _illegal(app, target)
        change = StatusChange(app.status, target, reason, actor, now)
        repo.add_status_change(session, app.id, change)
        app.status = target
        app.update_time = now
        app.history = (*app.history, change)

    @staticmethod
    def _approve(
        app: Application,
        amount: int,
        apr_bps: int,
        decided_by: str,
        reasons: tuple[Reason, ...],
        now: datetime,
    ) -> None:
        schedule = build_schedule(amount, apr_bps, app.term_months, now.date())
        app.approved_amount = amount
        app.apr_bps = apr_bps
        app.installment_amount = schedule.installment_amount
        app.schedule = schedule.installments
        app.debt_to_income_bps = debt_to_income_bps(
            app.financials.monthly_debt, schedule.installment_amount, app.financials.monthly_income
        )
        app.decided_by = decided_by
        app.decision_time = now
        app.decision_reasons = reasons

    def _bureau_check(self, new: NewApplication, app_id: str) -> BureauCheck:
        """Pull the applicant's report if they consented; an unreachable bureau is recorded, not raised."""
        if not new.bureau_consent:
            return BureauCheck(BureauStatus.NO_CONSENT, None)
        # Consent is recorded as given with this request, when the service received it.
        consent_time = self.clock()
        masked = mask_national_id(new.national_id)
        try:
            report = self.bureau.pull(new.national_id, app_id)
        except BureauError as exc:
            log.warning(
                "credit bureau %s failed for %s, referring to review: %s", self.bureau.name, app_id, exc
            )
            return BureauCheck(BureauStatus.UNAVAILABLE, consent_time, masked)
        return BureauCheck(BureauStatus.REPORTED, consent_time, masked, report)

    @replayable
    def submit(self, idem: Idem, new: NewApplication, actor: str, render: Render) -> bytes:
        self._check_no_open_application(new.user_id)
        app_id = new_id("app")
        bureau = self._bureau_check(new, app_id)
        result: ScoreResult | None
        try:
            result = self._score(f"credit:{app_id}:score", new.user_id, app_id, new.financials, new.amount)
        except RemoteError as exc:
            # Underwriting goes on without a score: the application is referred to an underwriter.
            log.warning("credit scoring failed for %s, referring to review: %s", app_id, exc)
            result = None
        decision = underwrite(
            new.amount,
            new.term_months,
            new.financials,
            result.score if result else None,
            result.reasons if result else (),
            bureau=bureau,
        )

        def work(session: Session) -> bytes:
            now = self.clock()
            app = Application(
                id=app_id,
                user_id=new.user_id,
                amount=new.amount,
                currency=new.currency,
                term_months=new.term_months,
                purpose=new.purpose,
                purpose_description=new.purpose_description,
                financials=new.financials,
                status=Status.SUBMITTED,
                request_id=idem.key,
                create_time=now,
                update_time=now,
                debt_to_income_bps=decision.debt_to_income_bps,
                priced_apr_bps=decision.apr_bps,
            )
            if result is not None:
                score = Score(
                    new_id("cs"),
                    new.user_id,
                    result.score,
                    result.default_probability_bps,
                    result.reasons,
                    result.model_version,
                    now,
                    app_id,
                )
                repo.insert_score(session, score)
                app.credit_score, app.credit_score_id = score.score, score.id
            try:
                with session.begin_nested():
                    repo.insert_application(session, app)
            except IntegrityError:
                raise self._open_exists(new.user_id) from None
            repo.insert_bureau_check(session, app.id, bureau)
            app.bureau = bureau
            change = StatusChange(None, Status.SUBMITTED, "submitted", actor, now)
            repo.add_status_change(session, app.id, change)
            app.history = (change,)
            summary = "; ".join(r.code for r in decision.reasons)
            if decision.outcome is Outcome.APPROVE:
                self._approve(app, new.amount, decision.apr_bps, ACTOR_UNDERWRITING, decision.reasons, now)
                self._transition(
                    session, app, Status.APPROVED, f"automatic approval: {summary}", ACTOR_UNDERWRITING, now
                )
            elif decision.outcome is Outcome.REJECT:
                app.decided_by, app.decision_time, app.decision_reasons = (
                    ACTOR_UNDERWRITING,
                    now,
                    decision.reasons,
                )
                self._transition(
                    session, app, Status.REJECTED, f"automatic rejection: {summary}", ACTOR_UNDERWRITING, now
                )
            else:
                app.decision_reasons = decision.reasons
                self._transition(
                    session,
                    app,
                    Status.UNDER_REVIEW,
                    f"referred to an underwriter: {summary}",
                    ACTOR_UNDERWRITING,
                    now,
                )
            repo.update_application(session, app)
            return render(app)

        return self._guarded(idem, work)

    @staticmethod
    def _open_exists(user_id: str) -> FailedPrecondition:
        return FailedPrecondition(
            f"user {user_id} already has an open loan application", "OPEN_APPLICATION_EXISTS"
        )

    def _check_no_open_application(self, user_id: str) -> None:
        def work(session: Session) -> bool:
            return any(
                a.status in OPEN_STATUSES
                for a in repo.list_applications(
                    session, user_id, [int(s) for s in OPEN_STATUSES], None, None, None, None, 1
                )
            )

        if run_in_transaction(self.engine, work):
            raise self._open_exists(user_id)

    def decide(
        self,
        idem: Idem,
        application_id: str,
        approve: bool,
        reasons: tuple[Reason, ...],
        approved_amount: tuple[int, str] | None,
        apr_bps: int | None,
        note: str,
        actor: str,
        render: Render,
    ) -> bytes:
        def work(session: Session) -> bytes:
            app = self._load_locked(session, application_id)
            if app.user_id == actor:
                raise _self_decision()
            target = Status.APPROVED if approve else Status.REJECTED
            if app.status not in (Status.SUBMITTED, Status.UNDER_REVIEW):
                raise _illegal(app, target)
            now = self.clock()
            if approve:
                amount = app.amount
                if approved_amount is not None:
                    amount, currency = approved_amount
                    if currency != app.currency:
                        raise InvalidArgument(
                            "approved_amount is in another currency",
                            field="approved_amount.currency",
                            description=f"must be the requested currency {app.currency}",
                        )
                    if amount > app.amount:
                        raise InvalidArgument(
                            "approved_amount exceeds the amount requested",
                            field="approved_amount.amount_minor",
                            description=f"must not exceed {app.amount}",
                        )
                apr = apr_bps if apr_bps is not None else app.priced_apr_bps
                if apr_bps is None and app.priced_apr_bps == 0:
                    raise InvalidArgument(
                        "automatic underwriting priced no APR: give one",
                        field="apr_bps",
                        description="is required: the application has no priced APR",
                    )
                self._approve(
                    app,
                    amount,
                    apr,
                    actor,
                    reasons or (Reason("UNDERWRITER_APPROVAL", "Approved by an underwriter."),),
                    now,
                )
            else:
                app.decided_by, app.decision_time, app.decision_reasons = actor, now, reasons
            self._transition(session, app, target, note or f"underwriter decision: {target.name}", actor, now)
            repo.update_application(session, app)
            return render(app)

        return self._guarded(idem, work)

    def cancel(
        self,
        idem: Idem,
        application_id: str,
        reason: str,
        actor: str,
        authorize: Callable[[Application], None],
        render: Render,
    ) -> bytes:
        def work(session: Session) -> bytes:
            app = self._load_locked(session, application_id)
            authorize(app)
            if app.status is Status.CANCELLED:
                return render(app)
            if app.status is Status.APPROVED:
                self._refuse_if_disbursed(session, app)
            self._transition(session, app, Status.CANCELLED, reason or "cancelled", actor, self.clock())
            repo.update_application(session, app)
            return render(app)

        return self._guarded(idem, work)

    def _refuse_if_disbursed(self, session: Session, app: Application) -> None:
        """Refuses to cancel a loan the ledger paid out although our record of it was lost.

        A disbursement posts to the ledger before our commit: a lost reply or a failed commit
        leaves the application APPROVED with the money in the wallet. Its loan account then has a
        balance; retrying DisburseLoan replays the ledger entry (same key) and completes our record."""
        account_id = repo.ledger_account(session, app.user_id, f"loan:{app.id}", app.currency)
        if account_id is None:
            # The account is opened and saved before any posting: without it nothing was paid out.
            return
        try:
            account = self.clients.ledger.get_account(account_id)
        except RemoteError as exc:
            raise _unavailable(exc) from None
        if account.posted != 0:
            raise FailedPrecondition(
                f"loan {app.id} was paid out by the ledger but its disbursement is not recorded yet; "
                "retry DisburseLoan to complete it",
                "DISBURSEMENT_IN_DOUBT",
                {"loan_account_id": account_id},
            )

    # -- ledger accounts --------------------------------------------------------------------------
    def _ledger_account(self, owner_id: str, purpose: str, currency: str, type_: int, rule: int) -> str:
        """The ledger account for (owner, purpose, currency), opened on first use with a derived key."""
        existing = run_in_transaction(
            self.engine, lambda s: repo.ledger_account(s, owner_id, purpose, currency)
        )
        if existing:
            return existing
        try:
            account = self.clients.ledger.create_account(
                owner_id, purpose, type_, currency, rule, f"credit:acct:{owner_id}:{purpose}:{currency}"
            )
        except RemoteError as exc:
            raise _unavailable(exc) from None

        def save(session: Session) -> None:
            repo.save_ledger_account(session, owner_id, purpose, currency, account.id)

        run_in_transaction(self.engine, save)
        return account.id

    def _wallet(self, user_id: str, currency: str) -> str:
        """The borrower's wallet (opened by the payment service), found in the ledger."""
        try:
            accounts = self.clients.ledger.accounts_of(user_id)
        except RemoteError as exc:
            raise _unavailable(exc) from None
        for account in accounts:
            if account.name == WALLET_NAME and account.currency == currency:
                return account.id
        raise FailedPrecondition(
            f"user {user_id} has no {currency} wallet to pay the loan into or from",
            "WALLET_NOT_FOUND",
            {"currency": currency},
        )

    # -- the audit trail of staff actions ---------------------------------------------------------
    def staff_actions(self, actor_id: str | None, before: tuple[datetime, str] | None,
                      limit: int) -> list[StaffAction]:
        return run_in_transaction(self.engine, lambda s: repo.staff_actions(s, actor_id, before, limit))

    # -- loans ------------------------------------------------------------------------------------
    @replayable
    def disburse(
        self,
        idem: Idem,
        *,
        application_id: str,
        actor: str,
        authorize: Callable[[Application], None],
        render: Render,
    ) -> bytes:
        app = self.get_application(application_id)
        authorize(app)
        _require_status(app, Status.APPROVED, Status.DISBURSED)
        wallet = self._wallet(app.user_id, app.currency)
        loan_account = self._ledger_account(
            app.user_id,
            f"loan:{app.id}",
            app.currency,
            ledger_pb2.ACCOUNT_TYPE_ASSET,
            ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
        )

        intent = repo.DisbursementIntent(
            app.id, idem.scope, idem.key, idem.operation, idem.fingerprint, actor, wallet, loan_account
        )

        def work(session: Session) -> bytes:
            app = self._load_locked(session, application_id)
            _require_status(app, Status.APPROVED, Status.DISBURSED)
            # Committed on its own before the ledger call: if the ledger pays out and this
            # transaction never commits, recovery finds the intent and completes the record.
            run_in_transaction(self.engine, lambda s: repo.save_disbursement_intent(s, intent))
            try:
                self._record_disbursement(session, app, intent)
            except RemoteError as exc:
                if exc.refused:
                    run_in_transaction(
                        self.engine, lambda s: repo.delete_disbursement_intent(s, application_id)
                    )
                raise self._ledger_error(exc) from None
            return render(app)

        return self._guarded(idem, work)

    def _record_disbursement(
        self, session: Session, app: Application, intent: repo.DisbursementIntent
    ) -> None:
        """Posts the disbursement (or replays it: one key per application) and records it, with the
        application row locked by ``session``; deletes its intent in the same transaction."""
        # One key per application: whatever the client's key, a loan is paid out at most once.
        transaction_id = self.clients.ledger.post(
            user_id=app.user_id,
            type_=ledger_pb2.TRANSACTION_TYPE_LOAN_DISBURSEMENT,
            description=f"loan {app.id} disbursement",
            related_id=app.id,
            currency=app.currency,
            debits=[(intent.loan_account_id, app.approved_amount)],
            credits=[(intent.wallet_account_id, app.approved_amount)],
            request_id=f"{app.id}:disbursement",
        )
        now = self.clock()
        app.schedule = redate(
            build_schedule(app.approved_amount, app.apr_bps, app.term_months, now.date()), now.date()
        ).installments
        app.loan_account_id, app.disbursement_transaction_id, app.disburse_time = (
            intent.loan_account_id,
            transaction_id,
            now,
        )
        self._transition(session, app, Status.DISBURSED, "disbursed", intent.actor, now)
        repo.update_application(session, app)
        repo.delete_disbursement_intent(session, app.id)

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

    @replayable
    def repay(
        self,
        idem: Idem,
        *,
        application_id: str,
        amount: int,
        currency: str,
        actor: str,
        authorize: Callable[[Application], None],
        render: Callable[[Application, Repayment], bytes],
    ) -> bytes:
        app = self.get_application(application_id)
        authorize(app)
        _require_status(app, Status.DISBURSED, Status.REPAID)
        if currency != app.currency:
            raise InvalidArgument(
                "the repayment is in another currency than the loan",
                field="amount.currency",
                description=f"must be the loan's currency {app.currency}",
            )
        wallet = self._wallet(app.user_id, app.currency)
        income = self._ledger_account(
            SYSTEM_OWNER,
            PURPOSE_INTEREST_INCOME,
            app.currency,
            ledger_pb2.ACCOUNT_TYPE_INCOME,
            ledger_pb2.BALANCE_RULE_UNBOUNDED,
        )
        # First complete what earlier requests left in doubt, committed on its own so that it stays
        # done even if this request is then refused. It may complete this very request (a retry):
        # its response is then stored under its key and replayed below.
        run_in_transaction(
            self.engine,
            lambda s: self._resolve_intents(s, self._load_locked(s, application_id), render, None),
        )

        def locked(session: Session) -> bytes:
            repo.lock_key(session, idem.scope, idem.key)
            stored = self._stored(session, idem)
            if stored is not None:
                return stored
            app = self._load_locked(session, application_id)
            # While this waited for the row, another request may have completed this one's intent.
            stored = self._stored(session, idem)
            if stored is not None:
                return stored
            response = self._resolve_intents(session, app, render, idem)
            if response is None:
                response = self._new_repayment(session, app, idem, amount, actor, wallet, income, render)
            repo.save_key(session, idem.scope, idem.key, idem.operation, idem.fingerprint, response)
            return response

        return self._tx(locked)

    def _new_repayment(
        self,
        session: Session,
        app: Application,
        idem: Idem,
        amount: int,
        actor: str,
        wallet: str,
        income: str,
        render: Callable[[Application, Repayment], bytes],
    ) -> bytes:
        _require_status(app, Status.DISBURSED, Status.REPAID)
        try:
            allocation = apply_repayment(app.schedule, amount)
        except RepaymentExceedsBalance:
            raise FailedPrecondition(
                f"the repayment exceeds the outstanding balance of {outstanding(app.schedule)}",
                "REPAYMENT_EXCEEDS_BALANCE",
                {"outstanding_minor": str(outstanding(app.schedule))},
            ) from None
        intent = RepaymentIntent(
            0,
            app.id,
            idem.scope,
            idem.key,
            idem.operation,
            idem.fingerprint,
            actor,
            amount,
            allocation.principal,
            allocation.interest,
            wallet,
            income,
            f"{app.id}:repayment:{_digest(idem.scope, idem.key)}",
        )
        # Committed before the ledger call, on another connection: if the ledger posts and this
        # transaction never commits, the intent survives to be completed with exactly this entry.
        seq = run_in_transaction(self.engine, lambda s: repo.insert_repayment_intent(s, intent))
        intent = replace(intent, seq=seq)
        try:
            transaction_id = self._post_repayment(app, intent)
        except RemoteError as exc:
            if exc.refused:
                run_in_transaction(self.engine, lambda s: repo.delete_repayment_intent(s, seq))
            raise self._ledger_error(exc) from None
        repayment = self._record_repayment(session, app, intent, transaction_id)
        repo.delete_repayment_intent(session, intent.seq)
        return render(app, repayment)

    def _resolve_intents(
        self,
        session: Session,
        app: Application,
        render: Callable[[Application, Repayment], bytes],
        own: Idem | None,
    ) -> bytes | None:
        """Completes the application's repayments left in doubt, oldest first, under its row lock.

        Each intent is posted again with its own ledger key and entry: the ledger replays it if it
        was recorded and records it now otherwise, so its money moves once either way. No repayment
        proceeds while one is unresolved, so its split still matches the schedule. A completed
        request's response is stored under its key, unless it is ``own`` (the caller stores it):
        that response is then returned and later intents are left to the next request."""
        for intent in repo.repayment_intents(session, app.id):
            mine = own is not None and (intent.scope, intent.request_id) == (own.scope, own.key)
            if mine and own is not None and intent.fingerprint != own.fingerprint:
                raise AlreadyExists(
                    f"request_id {own.key!r} was already used with a different request",
                    "IDEMPOTENCY_KEY_REUSED",
                    {"request_id": own.key},
                )
            try:
                transaction_id = self._post_repayment(app, intent)
            except RemoteError as exc:
                if exc.refused:
                    # The ledger refuses the entry now, so it did not record it before: nothing moved.
                    log.warning("repayment intent %s of %s refused: %s", intent.seq, app.id, exc)
                    repo.delete_repayment_intent(session, intent.seq)
                    continue
                raise self._ledger_error(exc) from None
            repayment = self._record_repayment(session, app, intent, transaction_id)
            repo.delete_repayment_intent(session, intent.seq)
            response = render(app, repayment)
            if mine:
                return response
            repo.save_key(
                session, intent.scope, intent.request_id, intent.operation, intent.fingerprint, response
            )
        return None

    def _post_repayment(self, app: Application, intent: RepaymentIntent) -> str:
        return self.clients.ledger.post(
            user_id=app.user_id,
            type_=ledger_pb2.TRANSACTION_TYPE_LOAN_REPAYMENT,
            description=f"loan {app.id} repayment",
            related_id=app.id,
            currency=app.currency,
            debits=[(intent.wallet_account_id, intent.amount)],
            credits=[(app.loan_account_id, intent.principal), (intent.income_account_id, intent.interest)],
            request_id=intent.ledger_key,
        )

    def _record_repayment(
        self, session: Session, app: Application, intent: RepaymentIntent, transaction_id: str
    ) -> Repayment:
        """Applies a repayment the ledger recorded to the schedule, with the split the ledger got."""
        try:
            allocation = apply_repayment(app.schedule, intent.amount)
        except RepaymentExceedsBalance:
            allocation = None
        if allocation is None or (allocation.principal, allocation.interest) != (
            intent.principal,
            intent.interest,
        ):
            # Cannot happen while intents are resolved before any new repayment; never guess.
            raise RuntimeError(f"repayment intent {intent.seq} of {app.id} no longer fits its schedule")
        now = self.clock()
        repayment = Repayment(
            new_id("rpy"),
            intent.amount,
            intent.principal,
            intent.interest,
            transaction_id,
            intent.request_id,
            now,
        )
        repo.insert_repayment(session, app.id, repayment)
        app.schedule = allocation.installments
        app.repayments = (*app.repayments, repayment)
        app.update_time = now
        if outstanding(app.schedule) == 0:
            self._transition(session, app, Status.REPAID, "repaid in full", intent.actor, now)
        repo.update_application(session, app)
        return repayment

    # -- credit lines -----------------------------------------------------------------------------
    def _view(self, line: CreditLine) -> LineView:
        try:
            account = self.clients.ledger.get_account(line.ledger_account_id)
        except RemoteError as exc:
            raise _unavailable(exc) from None
        return _line_view(line, account)

    def get_line(self, user_id: str) -> LineView:
        line = run_in_transaction(self.engine, lambda s: repo.get_line(s, user_id))
        if line is None:
            raise NotFound(f"user {user_id} has no credit line", "CREDIT_LINE_NOT_FOUND")
        return self._view(line)

    @replayable
    def update_line(self, idem: Idem, change: LineChange, render: Callable[[LineView], bytes]) -> bytes:
        user_id, limit, apr_bps = change.user_id, change.limit, change.apr_bps
        if change.actor == user_id:
            # As with loan decisions: nobody grants credit to themselves, opening or changing a line.
            raise PermissionDenied("an underwriter may not change their own credit line", "SELF_DECISION")
        if run_in_transaction(self.engine, lambda s: repo.get_line(s, user_id)) is None:
            return self._open_line(idem, change, render)

        def work(session: Session) -> bytes:
            # The line's row stays locked across the ledger call, so concurrent changes apply
            # one after the other, in the same order in the ledger and here.
            line = repo.get_line(session, user_id, lock=True)
            assert line is not None
            if change.currency != line.currency:
                raise InvalidArgument(
                    "the limit's currency differs from the line's",
                    field="limit.currency",
                    description=f"must be the line's currency {line.currency}",
                )
            if line.status is LineStatus.CLOSED:
                raise FailedPrecondition("the credit line is closed", "CREDIT_LINE_CLOSED")
            new_status = change.status or line.status
            used = self._view(line).used
            if limit < used:
                raise FailedPrecondition(
                    f"the new limit is below the {used} in use", "LIMIT_BELOW_USED", {"used_minor": str(used)}
                )
            if new_status is LineStatus.CLOSED and used > 0:
                raise FailedPrecondition(
                    "a credit line in use cannot be closed", "CREDIT_LINE_IN_USE", {"used_minor": str(used)}
                )
            try:
                account = self.clients.ledger.update_limit(
                    account_id=line.ledger_account_id,
                    credit_limit=ledger_limit(limit, new_status, used),
                    request_id=f"credit:line:{line.id}:{_digest(idem.scope, idem.key)}",
                )
            except RemoteError as exc:
                if exc.code == grpc.StatusCode.FAILED_PRECONDITION:
                    # Drawn on since we read it: the ledger refused to set its floor above the balance.
                    raise FailedPrecondition(
                        "the new limit is below the amount in use", "LIMIT_BELOW_USED"
                    ) from None
                # In doubt otherwise: nothing is recorded here, and a retry with the same
                # request_id sends the same ledger key, which replays the change.
                raise self._ledger_error(exc) from None
            updated = replace(
                line,
                limit=limit,
                status=new_status,
                apr_bps=apr_bps if apr_bps is not None else line.apr_bps,
                update_time=self.clock(),
            )
            repo.update_line(session, updated)
            repo.add_line_change(session, updated, change.reason, change.actor, idem.key)
            return render(_line_view(updated, account))

        return self._guarded(idem, work)

    def _open_line(self, idem: Idem, change: LineChange, render: Callable[[LineView], bytes]) -> bytes:
        user_id, limit, currency, apr_bps = change.user_id, change.limit, change.currency, change.apr_bps
        if apr_bps is None:
            raise InvalidArgument(
                "apr_bps is required to open a credit line",
                field="apr_bps",
                description="is required for a new credit line",
            )
        new_status = change.status or LineStatus.ACTIVE
        if new_status is LineStatus.CLOSED:
            raise InvalidArgument(
                "a new credit line cannot be closed",
                field="status",
                description="must be ACTIVE, FROZEN or unspecified for a new credit line",
            )
        try:
            if not self.clients.users.exists(user_id):
                raise NotFound(f"user {user_id} not found", "USER_NOT_FOUND")
            # Keyed on the user and currency only, with no limit: concurrent first calls (whatever
            # their limits) and retries after a failure all get this one account, never an orphan
            # holding a limit. The limit is set below, by the call that opens the line.
            account = self.clients.ledger.create_account(
                user_id,
                PURPOSE_CREDIT_LINE,
                ledger_pb2.ACCOUNT_TYPE_LIABILITY,
                currency,
                ledger_pb2.BALANCE_RULE_CREDIT_LIMIT,
                f"credit:line:{user_id}:{currency}",
                0,
            )
        except RemoteError as exc:
            raise _unavailable(exc) from None

        def work(session: Session) -> bytes:
            if repo.get_line(session, user_id, lock=True) is not None:
                raise Aborted("the credit line was opened concurrently; retry", "CONCURRENT_MODIFICATION")
            now = self.clock()
            line = CreditLine(
                new_id("cl"), user_id, currency, limit, new_status, apr_bps, account.id, now, now
            )
            try:
                # A concurrent opening waits here until the first commits, then fails: only the
                # call that holds the new line's row sets the account's limit.
                with session.begin_nested():
                    repo.insert_line(session, line)
            except IntegrityError:
                raise Aborted(
                    "the credit line was opened concurrently; retry", "CONCURRENT_MODIFICATION"
                ) from None
            try:
                limited = self.clients.ledger.update_limit(
                    account_id=account.id,
                    credit_limit=ledger_limit(limit, new_status, 0),
                    request_id=f"credit:line:{line.id}:{_digest(idem.scope, idem.key)}",
                )
            except RemoteError as exc:
                if exc.code == grpc.StatusCode.FAILED_PRECONDITION:
                    # Drawn on after an earlier opening failed past setting its limit.
                    raise FailedPrecondition(
                        "the new limit is below the amount in use", "LIMIT_BELOW_USED"
                    ) from None
                raise self._ledger_error(exc) from None
            repo.add_line_change(session, line, change.reason, change.actor, idem.key)
            return render(_line_view(line, limited))

        return self._guarded(idem, work)


@dataclass(frozen=True)
class RecoveryRun:
    """What one recovery run settled."""

    disbursements_completed: int
    disbursements_dropped: int
    repayments_resolved: int


@dataclass(frozen=True)
class LoanMismatch:
    """A loan whose ledger entries differ from its record here."""

    application_id: str
    kind: str  # UNRECORDED_DISBURSEMENT | MISSING_LEDGER_ENTRY | DUPLICATE_LEDGER_ENTRY | AMOUNT_MISMATCH
    transaction_id: str
    detail: str


@dataclass(frozen=True)
class LoanReport:
    loans_checked: int
    ledger_transactions_checked: int
    in_doubt: int
    mismatches: list[LoanMismatch]


class CreditRecovery:
    """Finishes what a lost ledger reply or a crash left in doubt, by reading and replaying.

    * A disbursement intent older than ``stale_after_seconds``: if the loan's ledger account holds
      the payout, the entry is replayed with its key and body (the ledger returns the recorded one),
      the disbursement recorded and the response stored under the client's key; if it holds
      nothing, the ledger never paid it out and the intent is dropped (a retry starts afresh).
    * Repayment intents older than that: resolved as the next repayment would (posted again with
      their key, recorded once, their responses stored under their keys).

    Row locks serialize it with requests: a request holds the application's row across its
    ledger call, so recovery sees an intent only once that call has ended."""

    def __init__(
        self,
        service: CreditService,
        *,
        render_disbursement: Render,
        render_repayment: Callable[[Application, Repayment], bytes],
    ) -> None:
        self.service = service
        self.render_disbursement = render_disbursement
        self.render_repayment = render_repayment

    def run(self, *, stale_after_seconds: int, limit: int = 100) -> RecoveryRun:
        engine = self.service.engine
        completed = dropped = resolved = 0
        for intent in run_in_transaction(
            engine, lambda s: repo.stale_disbursement_intents(s, stale_after_seconds, limit)
        ):
            try:
                if self._disbursement(intent):
                    completed += 1
                else:
                    dropped += 1
            except (RemoteError, DomainError) as exc:
                log.warning("recovery of the disbursement of %s failed: %s", intent.application_id, exc)
        for application_id in run_in_transaction(
            engine, lambda s: repo.stale_repayment_applications(s, stale_after_seconds, limit)
        ):
            try:
                resolved += self._repayments(application_id)
            except (RemoteError, DomainError) as exc:
                log.warning("recovery of the repayments of %s failed: %s", application_id, exc)
        return RecoveryRun(completed, dropped, resolved)

    def _disbursement(self, intent: repo.DisbursementIntent) -> bool:
        service = self.service

        def work(session: Session) -> bool:
            app = service._load_locked(session, intent.application_id)
            if app.status is not Status.APPROVED:
                repo.delete_disbursement_intent(session, app.id)  # recorded (or cancelled) meanwhile
                return False
            try:
                paid = service.clients.ledger.get_account(intent.loan_account_id).posted != 0
            except RemoteError as exc:
                raise _unavailable(exc) from None
            if not paid:
                repo.delete_disbursement_intent(session, app.id)
                return False
            service._record_disbursement(session, app, intent)
            repo.save_key(session, intent.scope, intent.request_id, intent.operation, intent.fingerprint,
                          self.render_disbursement(app))
            log.info("recovery recorded the disbursement of %s that the ledger had made", app.id)
            return True

        return run_in_transaction(service.engine, work)

    def _repayments(self, application_id: str) -> int:
        service = self.service

        def work(session: Session) -> int:
            app = service._load_locked(session, application_id)
            before = len(app.repayments)
            service._resolve_intents(session, app, self.render_repayment, None)
            return len(app.repayments) - before

        return run_in_transaction(service.engine, work)


def reconcile_loans(service: CreditService, *, page: int = 1000) -> LoanReport:
    """Every loan that may have ledger entries against the entries naming it, each counted once.

    Read in pages of a thousand loans, one batched ledger read per page. A loan with a repayment
    or disbursement intent still pending is counted as in doubt, not as a mismatch: recovery
    finishes it."""
    mismatches: list[LoanMismatch] = []
    checked = entries_checked = in_doubt = 0
    after = ""
    while True:
        loans = run_in_transaction(
            service.engine, functools.partial(repo.booked_loans, after_id=after, limit=page)
        )
        if not loans:
            break
        after = loans[-1].id
        ids = [loan.id for loan in loans]
        doubtful = run_in_transaction(
            service.engine, functools.partial(repo.pending_intent_applications, application_ids=ids)
        )
        try:
            transactions = service.clients.ledger.related(ids)
        except RemoteError as exc:
            raise _unavailable(exc) from None
        per_loan: dict[str, dict[str, tuple[int, int]]] = {i: {} for i in ids}
        for entry_id, related, type_, amount in transactions:
            per_loan[related][entry_id] = (type_, amount)
        entries_checked += len(transactions)
        for loan in loans:
            checked += 1
            if loan.id in doubtful:
                in_doubt += 1
                continue
            mismatches += _loan_mismatches(loan, per_loan[loan.id])
    return LoanReport(checked, entries_checked, in_doubt, mismatches)


def _loan_mismatches(loan: repo.BookedLoan, entries: dict[str, tuple[int, int]]) -> list[LoanMismatch]:
    out: list[LoanMismatch] = []
    paid_out = ledger_pb2.TRANSACTION_TYPE_LOAN_DISBURSEMENT
    repaid = ledger_pb2.TRANSACTION_TYPE_LOAN_REPAYMENT
    disbursements = {i: a for i, (t, a) in entries.items() if t == paid_out}
    repayments = {i: a for i, (t, a) in entries.items() if t == repaid}
    if loan.status in (Status.DISBURSED, Status.REPAID):
        if len(disbursements) > 1:
            out.append(LoanMismatch(loan.id, "DUPLICATE_LEDGER_ENTRY", next(iter(disbursements)),
                                    f"{len(disbursements)} disbursements in the ledger"))
        amount = disbursements.get(loan.disbursement_transaction_id)
        if amount is None:
            out.append(LoanMismatch(loan.id, "MISSING_LEDGER_ENTRY", loan.disbursement_transaction_id,
                                    "the recorded disbursement is not in the ledger"))
        elif amount != loan.approved_amount:
            out.append(LoanMismatch(loan.id, "AMOUNT_MISMATCH", loan.disbursement_transaction_id,
                                    f"the ledger paid out {amount}, the loan says {loan.approved_amount}"))
    elif disbursements:
        out.append(LoanMismatch(loan.id, "UNRECORDED_DISBURSEMENT", next(iter(disbursements)),
                                f"the ledger paid out a {Status(loan.status).name} loan"))
    for txn, amount in loan.repayments.items():
        if txn not in repayments:
            out.append(LoanMismatch(loan.id, "MISSING_LEDGER_ENTRY", txn,
                                    "a recorded repayment is not in the ledger"))
        elif repayments[txn] != amount:
            out.append(LoanMismatch(loan.id, "AMOUNT_MISMATCH", txn,
                                    f"the ledger took {repayments[txn]}, the repayment says {amount}"))
    for txn in repayments.keys() - loan.repayments.keys():
        out.append(LoanMismatch(loan.id, "UNRECORDED_REPAYMENT", txn,
                                "the ledger took a repayment that is not recorded"))
    return out


def _self_decision() -> Exception:
    return PermissionDenied("an underwriter may not decide their own application", "SELF_DECISION")


def ledger_limit(limit: int, status: LineStatus, used: int) -> int:
    """How far the ledger lets the account go negative: the limit, or no further than now unless ACTIVE."""
    return limit if status is LineStatus.ACTIVE else min(limit, used)


def _line_view(line: CreditLine, account: LedgerAccount) -> LineView:
    # A liability account: drawing makes its balance negative; what is below zero is in use.
    used = max(0, -account.available)
    available = max(0, line.limit - used) if line.status is LineStatus.ACTIVE else 0
    return LineView(line, used, available)
