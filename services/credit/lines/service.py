"""Using a credit line: draws into the wallet, daily interest, repayments and monthly statements.

The ledger is the book of record. A line's principal is the negative balance of its ledger
account (LIABILITY, ``BALANCE_RULE_CREDIT_LIMIT``, opened by ``UpdateCreditLine``); its unpaid
interest is the balance of a second account of the user, ``credit_line_interest`` (ASSET,
non-negative), charged against the platform's ``credit_line_interest_income`` (INCOME). Keeping
interest apart means the ledger's limit bounds the principal drawn, and interest is charged
even on a line drawn to its limit. Interest does not use up available credit: available =
limit - principal on an ACTIVE line, 0 otherwise.

One lock orders everything done to a line: its ``credit_lines`` row ``FOR UPDATE`` (the lock
``UpdateCreditLine`` takes too, so a freeze and a draw never cross). Under it, every operation
first *settles* the line: it completes the draws and repayments left in doubt, oldest first,
accruing the days before each, then accrues every full day up to yesterday (``clock()``'s
date). So when a day is accrued, the principal is the one at the end of that day, and a
repayment's interest-first split sees all interest of the days before it.

Money moves once:

* A draw or repayment is written down as an *intent* (its ledger key derived from its id, its
  amounts, its split) and committed on its own before the ledger call; the request's
  idempotency key (services/runtime/idempotency.py) records the operation's id in the same
  transaction. If the reply is lost or our commit fails, the intent is posted again, with the
  same key and body, by the next operation on the line or the daily job: the ledger replays it
  if it recorded it and records it otherwise. A retry with the request's key resumes that
  operation id and answers with its record. A refused intent never happened and is deleted.
* A day's interest has the ledger key ``credit:line:<line>:interest:<day>`` and an amount that
  depends only on the state committed before it: posted twice (a rerun, two replicas, a
  commit lost after the ledger call) it is replayed, never charged again; the
  ``credit_line_interest`` row (primary key line and day) records it once.

Statements cover calendar months (UTC) and are made once the month has ended and been accrued,
one per line and month (unique), by the job or the first operation after the month.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.credit import repository as credit_repo
from services.credit.clients import Clients
from services.credit.domain.ledger import AccountType, BalanceRule, EntryType
from services.credit.domain.model import CreditLine, LineStatus
from services.credit.lines import domain
from services.credit.lines import repository as repo
from services.credit.lines.repository import Draw, Intent, LineRepayment, LineState, Statement
from services.credit.service import CreditService
from services.runtime.clients import RemoteError
from services.runtime.clock import Clock, system_clock
from services.runtime.db import run_in_transaction
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from services.runtime.idempotency import Claim, IdempotencyStore
from services.runtime.ids import new_id
from services.runtime.jobs import PeriodicJob

log = logging.getLogger("nexafi.credit.lines")
R = TypeVar("R")

SYSTEM_OWNER = "system"
WALLET_NAME = "wallet"
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


def _unavailable(exc: RemoteError) -> Unavailable:
    return Unavailable(
        f"the {exc.service} service cannot be reached; retry with the same request_id",
        f"{exc.service.upper()}_UNAVAILABLE",
    )


def _in_doubt(exc: RemoteError) -> Unavailable:
    log.warning("credit line ledger entry in doubt: %s", exc)
    return Unavailable(
        "the outcome of the ledger entry is unknown (it may have been recorded); "
        "retry with the same request_id to complete it",
        "LEDGER_UNAVAILABLE",
    )


class CreditLineService:
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
    def of(cls, service: CreditService) -> CreditLineService:
        """Beside the credit service, on its database, clients and clock."""
        return cls(service.engine, service.clients, clock=service.clock)

    # -- reads ------------------------------------------------------------------------------------
    def _line(self, session: Session, user_id: str, *, lock: bool = False) -> CreditLine:
        line = credit_repo.get_line(session, user_id, lock=lock)
        if line is None:
            raise NotFound(f"user {user_id} has no credit line", "CREDIT_LINE_NOT_FOUND")
        return line

    def statements(self, user_id: str, before: date | None, limit: int) -> list[Statement]:
        def work(session: Session) -> list[Statement]:
            self._line(session, user_id)
            return repo.statements(session, user_id, before, limit)

        return run_in_transaction(self.engine, work)

    def statement(self, user_id: str, statement_id: str) -> Statement:
        found = run_in_transaction(self.engine, lambda s: repo.get_statement(s, statement_id))
        if found is None or found.user_id != user_id:
            raise NotFound(f"statement {statement_id} not found", "STATEMENT_NOT_FOUND")
        return found

    # -- ledger accounts ---------------------------------------------------------------------------
    def _account(
        self, owner_id: str, purpose: str, currency: str, type_: AccountType, rule: BalanceRule
    ) -> str:
        """The ledger account (owner, purpose, currency), opened on first use with a derived key."""
        found = run_in_transaction(
            self.engine, lambda s: credit_repo.ledger_account(s, owner_id, purpose, currency)
        )
        if found:
            return found
        try:
            account = self.clients.ledger.create_account(
                owner_id, purpose, type_, currency, rule, f"credit:acct:{owner_id}:{purpose}:{currency}"
            )
        except RemoteError as exc:
            raise _unavailable(exc) from None
        run_in_transaction(
            self.engine, lambda s: credit_repo.save_ledger_account(s, owner_id, purpose, currency, account.id)
        )
        return account.id

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
        try:
            accounts = self.clients.ledger.accounts_of(user_id)
        except RemoteError as exc:
            raise _unavailable(exc) from None
        for account in accounts:
            if account.name == WALLET_NAME and account.currency == currency:
                return account.id
        raise FailedPrecondition(
            f"user {user_id} has no {currency} wallet for the credit line",
            "WALLET_NOT_FOUND",
            {"currency": currency},
        )

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
                    raise (self._refused("interest", exc) if exc.refused else _in_doubt(exc)) from None
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
                raise _in_doubt(exc) from None
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
        after = ""
        while True:
            users = run_in_transaction(
                self.engine, functools.partial(repo.lines_in_use, after=after, limit=page)
            )
            if not users:
                return DailyRun(settled, failed)
            for user_id in users:
                try:
                    self.settle(user_id)
                    settled += 1
                except Exception:
                    log.exception("settling the credit line of %s failed; the next run retries", user_id)
                    failed += 1
            after = users[-1]

    # -- draws and repayments ----------------------------------------------------------------------
    def _operate(
        self,
        claim: Claim,
        *,
        kind: str,
        user_id: str,
        amount: int,
        currency: str,
        actor: str,
        check: Callable[[CreditLine, LineState], tuple[int, int]],
        done: Callable[[Session, str], R | None],
    ) -> tuple[R, LineUse]:
        line = run_in_transaction(self.engine, lambda s: self._line(s, user_id))
        if currency != line.currency:
            raise InvalidArgument(
                "the amount is in another currency than the credit line",
                field="amount.currency",
                description=f"must be the line's currency {line.currency}",
            )
        wallet = self._wallet(user_id, currency)
        accounts = self._interest_accounts(line)
        # A retry of a request whose earlier attempt got as far as its intent resumes that operation.
        op_id = claim.resource_id or new_id("cld" if kind == "draw" else "clr")

        def work(session: Session) -> tuple[R, LineUse]:
            locked = self._line(session, user_id, lock=True)
            state = self._settle(session, locked, accounts)
            record = done(session, op_id)
            if record is not None:
                return record, LineUse(locked, state.principal, state.interest_due)
            interest, principal = check(locked, state)
            intent = Intent(
                0,
                kind,
                op_id,
                locked.id,
                claim.scope,
                claim.key,
                actor,
                self.clock().date(),
                amount,
                interest,
                principal,
                wallet,
                f"credit:line:{locked.id}:{kind}:{op_id}",
                self.clock(),
            )

            def write(s: Session) -> int:
                self.idempotency.attach(s, claim, op_id)
                return repo.insert_intent(s, intent)

            # Committed before the ledger call, on its own connection (see the module docstring).
            intent = replace(intent, seq=run_in_transaction(self.engine, write))
            try:
                transaction_id = self._post(locked, intent, accounts[0])
            except RemoteError as exc:
                if not exc.refused:
                    raise _in_doubt(exc) from None
                run_in_transaction(self.engine, lambda s: repo.delete_intent(s, intent.seq))
                raise self._refused(kind, exc) from None
            state = self._record(session, locked, state, intent, transaction_id)
            repo.save_state(session, state, self.clock())
            record = done(session, op_id)
            assert record is not None
            return record, LineUse(locked, state.principal, state.interest_due)

        return run_in_transaction(self.engine, work)

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

    def draw(
        self, claim: Claim, *, user_id: str, amount: int, currency: str, actor: str
    ) -> tuple[Draw, LineUse]:
        """Moves ``amount`` from the line into the user's wallet, within the available credit.

        Run under the request's key by the servicer; ``claim.resource_id`` resumes a draw."""

        def check(line: CreditLine, state: LineState) -> tuple[int, int]:
            if line.status is LineStatus.FROZEN:
                raise FailedPrecondition(
                    "the credit line is frozen: it cannot be drawn on", "CREDIT_LINE_FROZEN"
                )
            if line.status is LineStatus.CLOSED:
                raise FailedPrecondition("the credit line is closed", "CREDIT_LINE_CLOSED")
            available = LineUse(line, state.principal, state.interest_due).available
            if amount > available:
                raise FailedPrecondition(
                    f"the draw exceeds the {available} of credit available",
                    "CREDIT_LIMIT_EXCEEDED",
                    {"available_minor": str(available)},
                )
            return 0, amount

        return self._operate(
            claim,
            kind="draw",
            user_id=user_id,
            amount=amount,
            currency=currency,
            actor=actor,
            check=check,
            done=repo.get_draw,
        )

    def repay(
        self, claim: Claim, *, user_id: str, amount: int, currency: str, actor: str
    ) -> tuple[LineRepayment, LineUse]:
        """Moves ``amount`` from the wallet to the line: interest first, then principal.

        Run under the request's key by the servicer; ``claim.resource_id`` resumes a repayment."""

        def check(line: CreditLine, state: LineState) -> tuple[int, int]:
            try:
                split = domain.split_repayment(amount, state.interest_due, state.principal)
            except domain.RepaymentExceedsOwed as exc:
                raise FailedPrecondition(
                    f"the repayment exceeds the {exc.owed} owed on the credit line",
                    "REPAYMENT_EXCEEDS_BALANCE",
                    {"owed_minor": str(exc.owed)},
                ) from None
            return split.interest, split.principal

        return self._operate(
            claim,
            kind="repayment",
            user_id=user_id,
            amount=amount,
            currency=currency,
            actor=actor,
            check=check,
            done=repo.get_repayment,
        )


def accrual_job(service: CreditLineService, interval: float, log_: logging.Logger) -> PeriodicJob:
    """The daily settlement of every line, every ``interval`` seconds (CreditSettings; 0 disables
    it): running it more often than daily costs a read per line, since each day is accrued once; a
    missed run is caught up by the next."""

    def tick() -> None:
        run = service.run_daily()
        if run.lines_failed:
            log_.warning("credit line accrual: %s", run)

    return PeriodicJob("credit-line-accrual", interval, tick, log_)
