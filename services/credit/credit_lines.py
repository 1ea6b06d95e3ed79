"""Credit lines: reading one with its use and opening or changing it (limit, status, APR)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import grpc
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.credit import repository as repo
from services.credit.domain.ledger import AccountType, BalanceRule
from services.credit.domain.model import (
    CreditLine,
    LineStatus,
)
from services.credit.shared import PURPOSE_CREDIT_LINE, CreditCore, key_digest, unavailable
from services.runtime.clients import RemoteError
from services.runtime.db import run_in_transaction
from services.runtime.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from services.runtime.idempotency import Claim
from services.runtime.ids import new_id
from services.runtime.ledger_client import LedgerAccount


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


class CreditLineUseCases(CreditCore):
    # -- credit lines -----------------------------------------------------------------------------
    def _view(self, line: CreditLine) -> LineView:
        try:
            account = self.clients.ledger.get_account(line.ledger_account_id)
        except RemoteError as exc:
            raise unavailable(exc) from None
        return _line_view(line, account)

    def get_line(self, user_id: str) -> LineView:
        line = run_in_transaction(self.engine, lambda s: repo.get_line(s, user_id))
        if line is None:
            raise NotFound(f"user {user_id} has no credit line", "CREDIT_LINE_NOT_FOUND")
        return self._view(line)

    def update_line(self, claim: Claim, change: LineChange) -> LineView:
        user_id, limit, apr_bps = change.user_id, change.limit, change.apr_bps
        if change.actor == user_id:
            # As with loan decisions: nobody grants credit to themselves, opening or changing a line.
            raise PermissionDenied("an underwriter may not change their own credit line", "SELF_DECISION")
        if run_in_transaction(self.engine, lambda s: repo.get_line(s, user_id)) is None:
            return self._open_line(claim, change)

        if claim.resource_id:
            return self.get_line(user_id)  # changed by an attempt with this key that died after

        def work(session: Session) -> LineView:
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
            account = self._set_ledger_limit(
                claim, line.id, line.ledger_account_id, ledger_limit(limit, new_status, used)
            )
            updated = replace(
                line,
                limit=limit,
                status=new_status,
                apr_bps=apr_bps if apr_bps is not None else line.apr_bps,
                update_time=self.clock(),
            )
            repo.update_line(session, updated)
            repo.add_line_change(session, updated, change.reason, change.actor, claim.key)
            self.idempotency.attach(session, claim, line.id)
            return _line_view(updated, account)

        return run_in_transaction(self.engine, work)

    def _set_ledger_limit(
        self, claim: Claim, line_id: str, account_id: str, credit_limit: int
    ) -> LedgerAccount:
        """The line's ledger account with its floor set to ``credit_limit``, under a ledger key derived
        from the request's, so a retry replays the change instead of making another."""
        try:
            return self.clients.ledger.update_limit(
                account_id=account_id,
                credit_limit=credit_limit,
                request_id=f"credit:line:{line_id}:{key_digest(claim.scope, claim.key)}",
            )
        except RemoteError as exc:
            if exc.code == grpc.StatusCode.FAILED_PRECONDITION:
                # Drawn on since it was read (or after an earlier opening failed past setting its
                # limit): the ledger refused to set its floor above the balance.
                raise FailedPrecondition(
                    "the new limit is below the amount in use", "LIMIT_BELOW_USED"
                ) from None
            # In doubt otherwise: nothing is recorded here, and a retry with the same request_id
            # sends the same ledger key, which replays the change.
            raise self._ledger_error(exc) from None

    def _open_line(self, claim: Claim, change: LineChange) -> LineView:
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
                owner_id=user_id,
                name=PURPOSE_CREDIT_LINE,
                type_=AccountType.LIABILITY,
                currency=currency,
                rule=BalanceRule.CREDIT_LIMIT,
                request_id=f"credit:line:{user_id}:{currency}",
                credit_limit=0,
            )
        except RemoteError as exc:
            raise unavailable(exc) from None

        def work(session: Session) -> LineView:
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
            limited = self._set_ledger_limit(claim, line.id, account.id, ledger_limit(limit, new_status, 0))
            repo.add_line_change(session, line, change.reason, change.actor, claim.key)
            self.idempotency.attach(session, claim, line.id)
            return _line_view(line, limited)

        return run_in_transaction(self.engine, work)


def ledger_limit(limit: int, status: LineStatus, used: int) -> int:
    """How far the ledger lets the account go negative: the limit, or no further than now unless ACTIVE."""
    return limit if status is LineStatus.ACTIVE else min(limit, used)


def _line_view(line: CreditLine, account: LedgerAccount) -> LineView:
    # A liability account: drawing makes its balance negative; what is below zero is in use.
    used = max(0, -account.available)
    available = max(0, line.limit - used) if line.status is LineStatus.ACTIVE else 0
    return LineView(line, used, available)
