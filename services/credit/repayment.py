"""Repayments through the ledger, with intents that make a lost reply complete once."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.domain.amortization import (
    RepaymentExceedsBalance,
    apply_repayment,
    outstanding,
)
from services.credit.domain.ledger import AccountType, BalanceRule, EntryType
from services.credit.domain.model import (
    Application,
    Repayment,
    RepaymentIntent,
    Status,
)
from services.credit.shared import (
    PURPOSE_INTEREST_INCOME,
    SYSTEM_OWNER,
    CreditCore,
    key_digest,
    log,
    require_status,
)
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
)
from services.runtime.idempotency import Claim
from services.runtime.ids import new_id


class RepaymentUseCases(CreditCore):
    def repay(
        self, claim: Claim, *, application_id: str, amount: int, currency: str, actor: str
    ) -> tuple[Application, Repayment]:
        """Takes ``amount`` from the borrower's wallet for the loan; the caller checked that ``actor`` may.

        A retry of a request left in doubt (``claim.resource_id`` is its ledger key) answers with
        the repayment that completing its intent recorded, by this retry, another request or the
        recovery job."""
        app = self.get_application(application_id)
        if not claim.resource_id:
            # A resumed request may have paid the loan off already: it answers below.
            require_status(app, Status.DISBURSED, Status.REPAID)
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
            AccountType.INCOME,
            BalanceRule.UNBOUNDED,
        )
        # First complete what earlier requests left in doubt (this very one too, if it is a
        # retry), committed on its own so that it stays done even if this request is then refused.
        run_in_transaction(
            self.engine, lambda s: self._resolve_intents(s, self._load_locked(s, application_id))
        )

        def work(session: Session) -> tuple[Application, Repayment]:
            app = self._load_locked(session, application_id)
            # Intents left by requests that ended while this one waited for the row.
            self._resolve_intents(session, app)
            if claim.resource_id:
                mine = [r for r in app.repayments if r.request_id == claim.key]
                if mine:
                    return app, mine[-1]
            return self._new_repayment(session, app, claim, amount, actor, wallet, income)

        return run_in_transaction(self.engine, work)

    def _new_repayment(
        self,
        session: Session,
        app: Application,
        claim: Claim,
        amount: int,
        actor: str,
        wallet: str,
        income: str,
    ) -> tuple[Application, Repayment]:
        require_status(app, Status.DISBURSED, Status.REPAID)
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
            claim.scope,
            claim.key,
            actor,
            amount,
            allocation.principal,
            allocation.interest,
            wallet,
            income,
            f"{app.id}:repayment:{key_digest(claim.scope, claim.key)}",
        )

        def save_intent(s: Session) -> int:
            seq = repo.insert_repayment_intent(s, intent)
            # From here a retry with this key resumes this repayment, never posts another.
            self.idempotency.attach(s, claim, intent.ledger_key)
            return seq

        # Committed before the ledger call, on another connection: if the ledger posts and this
        # transaction never commits, the intent survives to be completed with exactly this entry.
        seq = run_in_transaction(self.engine, save_intent)
        intent = replace(intent, seq=seq)
        try:
            transaction_id = self._post_repayment(app, intent)
        except RemoteError as exc:
            if exc.refused:
                run_in_transaction(self.engine, lambda s: repo.delete_repayment_intent(s, seq))
            raise self._ledger_error(exc) from None
        repayment = self._record_repayment(session, app, intent, transaction_id)
        repo.delete_repayment_intent(session, intent.seq)
        return app, repayment

    def _resolve_intents(self, session: Session, app: Application) -> None:
        """Completes the application's repayments left in doubt, oldest first, under its row lock.

        Each intent is posted again with its own ledger key and entry: the ledger replays it if it
        was recorded and records it now otherwise, so its money moves once either way. No repayment
        proceeds while one is unresolved, so its split still matches the schedule. The recorded
        repayment keeps its request's key, and a retry of that request answers with it."""
        for intent in repo.repayment_intents(session, app.id):
            try:
                transaction_id = self._post_repayment(app, intent)
            except RemoteError as exc:
                if exc.refused:
                    # The ledger refuses the entry now, so it did not record it before: nothing moved.
                    log.warning("repayment intent %s of %s refused: %s", intent.seq, app.id, exc)
                    repo.delete_repayment_intent(session, intent.seq)
                    continue
                raise self._ledger_error(exc) from None
            self._record_repayment(session, app, intent, transaction_id)
            repo.delete_repayment_intent(session, intent.seq)

    def _post_repayment(self, app: Application, intent: RepaymentIntent) -> str:
        return self.clients.ledger.post(
            user_id=app.user_id,
            type_=EntryType.LOAN_REPAYMENT,
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
