"""Settling a credit line: what is left in doubt, daily interest up to yesterday, monthly statements.

The rules (one lock per line, money moved once, statements per calendar month) are in
services/credit/lines/service.py's docstring; this is their settling half, shared by draws,
repayments and the daily job."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.credit import repository as credit_repo
from services.credit.clients import Clients
from services.credit.domain.ledger import AccountType, BalanceRule, EntryType
from services.credit.domain.model import CreditLine, LineStatus
from services.credit.lines import domain
from services.credit.lines import repository as repo
from services.credit.lines.repository import Draw, Intent, LineRepayment, LineState, Statement
from services.credit.shared import SYSTEM_OWNER, ledger_account, wallet_of
from services.runtime.clients import RemoteError
from services.runtime.clock import Clock, system_clock
from services.runtime.db import in_batches, run_in_transaction
from services.runtime.errors import FailedPrecondition, NotFound, Unavailable
from services.runtime.idempotency import IdempotencyStore
from services.runtime.ids import new_id
from services.runtime.jobs import PeriodicJob

log = logging.getLogger("nexafi.credit.lines")

PURPOSE_INTEREST = "credit_line_interest"
PURPOSE_INTEREST_INCOME = "credit_line_interest_income"


@dataclass(frozen=True)
class LineUse:
    """A line and what is owed on it, after settling."""

    line: CreditLine
    principal: int
    interest_due: int

    @property
    def available(self) -> int:
        return max(0, self.line.limit - self.principal) if self.line.status is LineStatus.ACTIVE else 0


@dataclass(frozen=True)
class DailyRun:
    lines_settled: int
    lines_failed: int


def in_doubt(exc: RemoteError) -> Unavailable:
    log.warning("credit line ledger entry in doubt: %s", exc)
    return Unavailable(
        "the outcome of the ledger entry is unknown (it may have been recorded); "
        "retry with the same request_id to complete it",
        "LEDGER_UNAVAILABLE",
    )


class LineSettlement:
    def __init__(
        self,
        engine: Engine,
        clients: Clients,
        *,
        clock: Clock = system_clock,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self.engine = engine
        self.clients = clients
        self.clock = clock
        self.idempotency = idempotency or IdempotencyStore(engine, table=repo.IDEMPOTENCY_TABLE)

    @classmethod

    # -- reads ------------------------------------------------------------------------------------
    def _line(self, session: Session, user_id: str, *, lock: bool = False) -> CreditLine:
        line = credit_repo.get_line(session, user_id, lock=lock)
        if line is None:
            raise NotFound(f"user {user_id} has no credit line", "CREDIT_LINE_NOT_FOUND")
        return line

    # -- ledger accounts ---------------------------------------------------------------------------
    def _account(
        self, owner_id: str, purpose: str, currency: str, type_: AccountType, rule: BalanceRule
    ) -> str:
        """The ledger account (owner, purpose, currency), opened on first use with a derived key."""
        return ledger_account(self.engine, self.clients.ledger, owner_id, purpose, currency, type_, rule)

    def _interest_accounts(self, line: CreditLine) -> tuple[str, str]:
        receivable = self._account(
            line.user_id,
            PURPOSE_INTEREST,
            line.currency,
            AccountType.ASSET,
            BalanceRule.NON_NEGATIVE,
        )
        income = self._account(
            SYSTEM_OWNER,
            PURPOSE_INTEREST_INCOME,
            line.currency,
            AccountType.INCOME,
            BalanceRule.UNBOUNDED,
        )
        return receivable, income

    def interest_account(self, line: CreditLine) -> str:
        return self._interest_accounts(line)[0]

    def _wallet(self, user_id: str, currency: str) -> str:
        return wallet_of(self.clients.ledger, user_id, currency, "for the credit line")

    # -- settling: intents in doubt, then interest up to yesterday ----------------------------------
    def _accrue(
        self, session: Session, line: CreditLine, state: LineState, through: date, accounts: tuple[str, str]
    ) -> LineState:
        day = state.accrued_through + timedelta(days=1)
        while day <= through:
            accrued = domain.accrue_day(day, state.principal, line.apr_bps, state.carry)
            transaction_id = ""
            if accrued.interest:
                try:
                    transaction_id = self.clients.ledger.post(
                        user_id=line.user_id,
                        type_=EntryType.FEE,
                        description=f"credit line {line.id} interest {day.isoformat()}",
                        related_id=line.id,
                        currency=line.currency,
                        debits=[(accounts[0], accrued.interest)],
                        credits=[(accounts[1], accrued.interest)],
                        request_id=f"credit:line:{line.id}:interest:{day.isoformat()}",
                    )
                except RemoteError as exc:
                    raise (self._refused("interest", exc) if exc.refused else in_doubt(exc)) from None
            if state.principal or accrued.interest:
                repo.insert_interest(
                    session,
                    line.id,
                    day,
                    state.principal,
                    line.apr_bps,
                    accrued.interest,
                    accrued.carry,
                    transaction_id,
                    self.clock(),
                )
            state = replace(
                state,
                interest_due=state.interest_due + accrued.interest,
                carry=accrued.carry,
                accrued_through=day,
            )
            day += timedelta(days=1)
        return state

    def _post(self, line: CreditLine, intent: Intent, interest_account: str) -> str:
        if intent.kind == "draw":
            return self.clients.ledger.post(
                user_id=line.user_id,
                type_=EntryType.LOAN_DISBURSEMENT,
                description=f"credit line {line.id} draw",
                related_id=intent.op_id,
                currency=line.currency,
                debits=[(line.ledger_account_id, intent.amount)],
                credits=[(intent.wallet_account_id, intent.amount)],
                request_id=intent.ledger_key,
            )
        return self.clients.ledger.post(
            user_id=line.user_id,
            type_=EntryType.LOAN_REPAYMENT,
            description=f"credit line {line.id} repayment",
            related_id=intent.op_id,
            currency=line.currency,
            debits=[(intent.wallet_account_id, intent.amount)],
            credits=[(interest_account, intent.interest), (line.ledger_account_id, intent.principal)],
            request_id=intent.ledger_key,
        )

    def _record(
        self, session: Session, line: CreditLine, state: LineState, intent: Intent, transaction_id: str
    ) -> LineState:
        now = self.clock()
        if intent.kind == "draw":
            repo.insert_draw(
                session,
                Draw(
                    intent.op_id,
                    line.id,
                    line.user_id,
                    intent.amount,
                    line.currency,
                    intent.day,
                    transaction_id,
                    intent.request_id,
                    intent.actor,
                    now,
                ),
            )
            state = replace(state, principal=state.principal + intent.amount)
        else:
            if intent.interest > state.interest_due or intent.principal > state.principal:
                # Cannot happen: intents are completed in order, after the same accrual they were split on.
                raise RuntimeError(f"repayment intent {intent.seq} of {line.id} no longer fits the line")
            repo.insert_repayment(
                session,
                LineRepayment(
                    intent.op_id,
                    line.id,
                    line.user_id,
                    intent.amount,
                    intent.interest,
                    intent.principal,
                    line.currency,
                    intent.day,
                    transaction_id,
                    intent.request_id,
                    intent.actor,
                    now,
                ),
            )
            state = replace(
                state,
                interest_due=state.interest_due - intent.interest,
                principal=state.principal - intent.principal,
            )
        repo.delete_intent(session, intent.seq)
        return state

    def _settle(self, session: Session, line: CreditLine, accounts: tuple[str, str]) -> LineState:
        """Completes the line's intents and accrues up to yesterday, with ``line``'s row locked."""
        today = self.clock().date()
        pending = repo.intents(session, line.id)
        state = repo.get_state(session, line.id)
        if state is None:
            # First use; or a first draw whose transaction was lost after the ledger: accrue from its day.
            start = min([today, *(intent.day for intent in pending)])
            state = LineState(line.id, 0, 0, 0, start - timedelta(days=1))
        for intent in pending:
            state = self._accrue(session, line, state, intent.day - timedelta(days=1), accounts)
            try:
                transaction_id = self._post(line, intent, accounts[0])
            except RemoteError as exc:
                if exc.refused:
                    log.warning(
                        "credit line intent %s (%s) refused by the ledger: %s", intent.seq, intent.op_id, exc
                    )
                    repo.delete_intent(session, intent.seq)
                    continue
                raise in_doubt(exc) from None
            state = self._record(session, line, state, intent, transaction_id)
        state = self._accrue(session, line, state, today - timedelta(days=1), accounts)
        repo.save_state(session, state, self.clock())
        self._statements(session, line, state)
        return state

    def _statements(self, session: Session, line: CreditLine, state: LineState) -> None:
        """Makes the statements of the months that ended and were accrued, oldest first."""
        latest = repo.latest_statement(session, line.id)
        if latest is not None:
            period = domain.month_of(latest.period_start).next()
            opening = latest.closing_balance
        else:
            first = repo.first_activity_day(session, line.id)
            if first is None:
                return
            period, opening = domain.month_of(first), 0
        while period.last <= state.accrued_through:
            sums = repo.period_sums(session, line.id, period.first, period.last)
            if opening or sums.active or sums.interest:
                figures = domain.statement_figures(
                    opening_balance=opening,
                    draws=sums.draws,
                    repayments=sums.repayments,
                    interest=sums.interest,
                    currency=line.currency,
                )
                repo.insert_statement(
                    session,
                    Statement(
                        new_id("cls"),
                        line.id,
                        line.user_id,
                        line.currency,
                        period.first,
                        period.last,
                        figures.opening_balance,
                        figures.draws,
                        figures.repayments,
                        figures.interest,
                        figures.closing_balance,
                        figures.minimum_payment,
                        period.due_date,
                        line.apr_bps,
                        self.clock(),
                    ),
                )
                opening = figures.closing_balance
            period = period.next()

    def settle(self, user_id: str) -> LineUse:
        """Completes what is in doubt, accrues interest up to yesterday and makes due statements."""
        line = run_in_transaction(self.engine, lambda s: self._line(s, user_id))
        accounts = self._interest_accounts(line)

        def work(session: Session) -> LineUse:
            locked = self._line(session, user_id, lock=True)
            state = self._settle(session, locked, accounts)
            return LineUse(locked, state.principal, state.interest_due)

        return run_in_transaction(self.engine, work)

    def run_daily(self, *, page: int = 200) -> DailyRun:
        """The job: settles every line that was ever drawn on (each in its own transaction)."""
        settled = failed = 0
        batches = in_batches(
            self.engine,
            lambda session, after: repo.lines_in_use(session, after=after, limit=page),
            key=lambda user_id: user_id,
            start="",
        )
        for users in batches:
            for user_id in users:
                try:
                    self.settle(user_id)
                    settled += 1
                except Exception:
                    log.exception("settling the credit line of %s failed; the next run retries", user_id)
                    failed += 1
        return DailyRun(settled, failed)

    @staticmethod
    def _refused(kind: str, exc: RemoteError) -> Exception:
        if exc.reason == "INSUFFICIENT_FUNDS":
            if kind == "draw":
                return FailedPrecondition("the draw exceeds the credit line's limit", "CREDIT_LIMIT_EXCEEDED")
            return FailedPrecondition("the wallet does not hold enough funds", "INSUFFICIENT_FUNDS")
        log.error("ledger refused a credit line posting: %s", exc)
        return FailedPrecondition(
            f"the ledger refused the entry: {exc.reason or exc.code.name}", "LEDGER_REJECTED"
        )


def accrual_job(service: LineSettlement, interval: float, log_: logging.Logger) -> PeriodicJob:
    """The daily settlement of every line, every ``interval`` seconds (CreditSettings; 0 disables
    it): running it more often than daily costs a read per line, since each day is accrued once; a
    missed run is caught up by the next."""

    def tick() -> None:
        run = service.run_daily()
        if run.lines_failed:
            log_.warning("credit line accrual: %s", run)

    return PeriodicJob("credit-line-accrual", interval, tick, log_)
