"""Paying a loan out through the ledger, once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.domain.amortization import (
    build_schedule,
    redate,
)
from services.credit.domain.ledger import AccountType, BalanceRule, EntryType
from services.credit.domain.model import (
    Application,
    Status,
)
from services.credit.shared import CreditCore, require_status
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction
from services.runtime.idempotency import Claim


class DisbursementUseCases(CreditCore):
    # -- loans ------------------------------------------------------------------------------------
    def disburse(self, claim: Claim, *, application_id: str, actor: str) -> Application:
        """Pays the approved loan into the borrower's wallet; the caller has checked that ``actor`` may."""
        app = self.get_application(application_id)
        if claim.resource_id and app.status in (Status.DISBURSED, Status.REPAID):
            # This key's earlier attempt reached the ledger and was left in doubt; a retry (by any
            # key: the ledger key is the application's) or the recovery job has recorded it since.
            return app
        require_status(app, Status.APPROVED, Status.DISBURSED)
        wallet = self._wallet(app.user_id, app.currency)
        loan_account = self._ledger_account(
            app.user_id,
            f"loan:{app.id}",
            app.currency,
            AccountType.ASSET,
            BalanceRule.NON_NEGATIVE,
        )

        intent = repo.DisbursementIntent(app.id, claim.scope, claim.key, actor, wallet, loan_account)

        def save_intent(session: Session) -> None:
            repo.save_disbursement_intent(session, intent)
            # From here a retry with this key resumes this loan's disbursement, never starts afresh.
            self.idempotency.attach(session, claim, intent.application_id)

        def work(session: Session) -> Application:
            app = self._load_locked(session, application_id)
            require_status(app, Status.APPROVED, Status.DISBURSED)
            # Committed on its own before the ledger call: if the ledger pays out and this
            # transaction never commits, recovery finds the intent and completes the record.
            run_in_transaction(self.engine, save_intent)
            try:
                self._record_disbursement(session, app, intent)
            except RemoteError as exc:
                if exc.refused:
                    run_in_transaction(
                        self.engine, lambda s: repo.delete_disbursement_intent(s, application_id)
                    )
                raise self._ledger_error(exc) from None
            return app

        return run_in_transaction(self.engine, work)

    def _record_disbursement(
        self, session: Session, app: Application, intent: repo.DisbursementIntent
    ) -> None:
        """Posts the disbursement (or replays it: one key per application) and records it, with the
        application row locked by ``session``; deletes its intent in the same transaction."""
        # One key per application: whatever the client's key, a loan is paid out at most once.
        transaction_id = self.clients.ledger.post(
            user_id=app.user_id,
            type_=EntryType.LOAN_DISBURSEMENT,
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
