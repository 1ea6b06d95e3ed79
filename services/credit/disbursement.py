"""Paying a loan out through the ledger, once."""

from __future__ import annotations

from collections.abc import Callable

from nexafi.ledger.v1 import ledger_pb2
from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.domain.amortization import (
    build_schedule,
    redate,
)
from services.credit.domain.model import (
    Application,
    Status,
)
from services.credit.shared import CreditCore, Idem, Render, _require_status, replayable
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction


class DisbursementUseCases(CreditCore):
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
