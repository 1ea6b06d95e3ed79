"""The recovery job of money in doubt: disbursement and repayment intents left by a lost reply or a crash."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.domain.model import (
    Status,
)
from services.credit.service import CreditService
from services.credit.shared import log, unavailable
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    DomainError,
)


@dataclass(frozen=True)
class RecoveryRun:
    """What one recovery run settled."""

    disbursements_completed: int
    disbursements_dropped: int
    repayments_resolved: int


class CreditRecovery:
    """Finishes what a lost ledger reply or a crash left in doubt, by reading and replaying.

    * A disbursement intent older than ``stale_after_seconds``: if the loan's ledger account holds
      the payout, the entry is replayed with its key and body (the ledger returns the recorded one),
      and the disbursement recorded; if it holds nothing, the ledger never paid it out and the
      intent is dropped (a retry with the client's key then pays it out).
    * Repayment intents older than that: resolved as the next repayment would (posted again with
      their key and recorded once).

    The client's key stays bound to the loan (or the repayment's ledger key), so its retry
    answers with what recovery recorded; responses are rendered only at the edge.

    Row locks serialize it with requests: a request holds the application's row across its
    ledger call, so recovery sees an intent only once that call has ended."""

    def __init__(self, service: CreditService) -> None:
        self.service = service

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
                raise unavailable(exc) from None
            if not paid:
                repo.delete_disbursement_intent(session, app.id)
                return False
            service._record_disbursement(session, app, intent)
            log.info("recovery recorded the disbursement of %s that the ledger had made", app.id)
            return True

        return run_in_transaction(service.engine, work)

    def _repayments(self, application_id: str) -> int:
        service = self.service

        def work(session: Session) -> int:
            app = service._load_locked(session, application_id)
            before = len(app.repayments)
            service._resolve_intents(session, app)
            return len(app.repayments) - before

        return run_in_transaction(service.engine, work)
