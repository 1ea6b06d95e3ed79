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

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TypeVar

from sqlalchemy.orm import Session

from services.credit.domain.model import CreditLine, LineStatus
from services.credit.lines import domain
from services.credit.lines import repository as repo
from services.credit.lines.repository import Draw, Intent, LineRepayment, LineState, Statement
from services.credit.lines.settlement import LineSettlement, LineUse, in_doubt
from services.credit.service import CreditService
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound
from services.runtime.idempotency import Claim, IdempotencyStore
from services.runtime.ids import new_id

R = TypeVar("R")


class CreditLineService(LineSettlement):
    """Draws, repayments and statements of credit lines (settling each line first)."""

    @classmethod
    def of(cls, service: CreditService) -> CreditLineService:
        """Beside the credit service, on its database, clients and clock."""
        idempotency = IdempotencyStore(
            service.engine, table=repo.IDEMPOTENCY_TABLE, lock_seconds=service.idempotency.lock_seconds
        )
        return cls(service.engine, service.clients, clock=service.clock, idempotency=idempotency)

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
                    raise in_doubt(exc) from None
                run_in_transaction(self.engine, lambda s: repo.delete_intent(s, intent.seq))
                raise self._refused(kind, exc) from None
            state = self._record(session, locked, state, intent, transaction_id)
            repo.save_state(session, state, self.clock())
            record = done(session, op_id)
            assert record is not None
            return record, LineUse(locked, state.principal, state.interest_due)

        return run_in_transaction(self.engine, work)

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
