"""Loan applications: submission with automatic underwriting, decisions, cancellation, reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.bureau.base import BureauError, mask_national_id
from services.credit.clients import ScoreResult
from services.credit.domain.amortization import (
    build_schedule,
)
from services.credit.domain.model import (
    OPEN_STATUSES,
    Application,
    BureauCheck,
    BureauStatus,
    Financials,
    Purpose,
    Reason,
    Score,
    Status,
    StatusChange,
)
from services.credit.domain.underwriting import Outcome, debt_to_income_bps, underwrite
from services.credit.shared import (
    ACTOR_UNDERWRITING,
    CreditCore,
    illegal_transition,
    log,
    unavailable,
)
from services.runtime.audit import StaffAction
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
)
from services.runtime.idempotency import Claim
from services.runtime.ids import new_id


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


class ApplicationUseCases(CreditCore):
    def list_applications(
        self, where: repo.ApplicationFilter, before_id: str | None, limit: int
    ) -> list[Application]:
        return run_in_transaction(self.engine, lambda s: repo.list_applications(s, where, before_id, limit))

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

    def submit(self, claim: Claim, new: NewApplication, actor: str) -> Application:
        if claim.resource_id:
            # An earlier attempt with this key committed the application, then died before answering.
            return self.get_application(claim.resource_id)
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

        def work(session: Session) -> Application:
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
                request_id=claim.key,
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
            self.idempotency.attach(session, claim, app.id)
            return app

        return run_in_transaction(self.engine, work)

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
                    session,
                    repo.ApplicationFilter(user_id, statuses=tuple(int(s) for s in OPEN_STATUSES)),
                    None,
                    1,
                )
            )

        if run_in_transaction(self.engine, work):
            raise self._open_exists(user_id)

    def decide(
        self,
        claim: Claim,
        application_id: str,
        approve: bool,
        reasons: tuple[Reason, ...],
        approved_amount: tuple[int, str] | None,
        apr_bps: int | None,
        note: str,
        actor: str,
    ) -> Application:
        if claim.resource_id:
            return self.get_application(claim.resource_id)  # decided by an attempt that died after

        def work(session: Session) -> Application:
            app = self._load_locked(session, application_id)
            if app.user_id == actor:
                raise _self_decision()
            target = Status.APPROVED if approve else Status.REJECTED
            if app.status not in (Status.SUBMITTED, Status.UNDER_REVIEW):
                raise illegal_transition(app, target)
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
            self.idempotency.attach(session, claim, app.id)
            return app

        return run_in_transaction(self.engine, work)

    def cancel(self, claim: Claim, application_id: str, reason: str, actor: str) -> Application:
        """Cancels the application; the caller has checked that ``actor`` may (its owner or an admin)."""

        def work(session: Session) -> Application:
            app = self._load_locked(session, application_id)
            if app.status is Status.CANCELLED:
                return app
            if app.status is Status.APPROVED:
                self._refuse_if_disbursed(session, app)
            self._transition(session, app, Status.CANCELLED, reason or "cancelled", actor, self.clock())
            repo.update_application(session, app)
            return app

        return run_in_transaction(self.engine, work)

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
            raise unavailable(exc) from None
        if account.posted != 0:
            raise FailedPrecondition(
                f"loan {app.id} was paid out by the ledger but its disbursement is not recorded yet; "
                "retry DisburseLoan to complete it",
                "DISBURSEMENT_IN_DOUBT",
                {"loan_account_id": account_id},
            )

    # -- the audit trail of staff actions ---------------------------------------------------------
    def staff_actions(
        self, actor_id: str | None, before: tuple[datetime, str] | None, limit: int
    ) -> list[StaffAction]:
        return run_in_transaction(self.engine, lambda s: repo.staff_actions(s, actor_id, before, limit))


def _self_decision() -> Exception:
    return PermissionDenied("an underwriter may not decide their own application", "SELF_DECISION")
