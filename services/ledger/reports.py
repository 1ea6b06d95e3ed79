"""Reads over the whole ledger: the change feed, the chain, the books, statements, reconciliation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.ledger import repository as repo
from services.ledger.accounts import AccountUseCases
from services.ledger.domain.chain import ChainReport, ChainVerifier
from services.ledger.domain.model import Account, Entry, PendingTransfer
from services.ledger.domain.rules import normal_side
from services.runtime.errors import InvalidArgument

MAX_STATEMENT_LINES = 10_000


@dataclass(frozen=True)
class Statement:
    account: Account
    opening_minor: int
    closing_minor: int
    lines: list[tuple[Entry, int, int]]


@dataclass(frozen=True)
class BooksReport:
    """What VerifyBooks found: the chain, the totals per currency, and the rows that disagree."""

    chain: ChainReport
    totals: list[tuple[str, int, int]]
    accounts_checked: int
    drifts: list[repo.BalanceDrift]
    open_pending: int
    late_holds: list[PendingTransfer]

    @property
    def clean(self) -> bool:
        return (
            self.chain.valid
            and not self.drifts
            and not self.late_holds
            and all(debits == credits for _, debits, credits in self.totals)
        )


class ReportUseCases(AccountUseCases):
    # -- feed and chain ---------------------------------------------------------------------------
    def entries_after(self, after_sequence: int, limit: int = 500) -> list[Entry]:
        return self._reading(lambda s: repo.entries_after(s, after_sequence, limit))

    def verify_chain(self) -> ChainReport:
        def work(session: Session) -> ChainReport:
            verifier = ChainVerifier()
            for batch in repo.iter_chain(session):
                if not verifier.feed(batch):
                    break
            return verifier.report()

        return self._reading(work)

    def stream(
        self, after_sequence: int, follow: bool, active: Callable[[], bool], poll_seconds: float = 0.25
    ) -> Iterator[Entry]:
        """Entries after ``after_sequence`` in order; with ``follow``, new ones as they commit.

        The checkpoint advances only past delivered entries and sequences are
        gap-free in commit order, so resuming from the last delivered sequence
        neither skips nor repeats.
        """
        cursor = after_sequence
        while active() and not self.notifier.closed:
            seen = self.notifier.generation()
            batch = self.entries_after(cursor)
            for entry in batch:
                yield entry
                cursor = entry.sequence
            if batch:
                continue
            if not follow:
                return
            self.notifier.wait(seen, poll_seconds)

    # -- reconciliation reads and the books ------------------------------------------------------
    def related(self, related_ids: list[str], *, full: bool) -> tuple[list[Entry], list[PendingTransfer]]:
        """Every entry and pending transfer naming one of ``related_ids``, read in one snapshot."""

        def work(session: Session) -> tuple[list[Entry], list[PendingTransfer]]:
            return (
                repo.related_entries(session, related_ids, full=full),
                repo.related_pending(session, related_ids),
            )

        return self._reading(work)

    def of_type(
        self,
        related_type: str,
        start: datetime | None,
        end: datetime | None,
        after: tuple[datetime, int] | None,
        limit: int,
        *,
        full: bool,
    ) -> list[Entry]:
        return self._reading(
            lambda s: repo.entries_of_type(s, related_type, start, end, after, limit, full=full)
        )

    def verify_books(self, *, hold_grace_seconds: int) -> BooksReport:
        """The ledger's invariants, each checked by the database over all of history.

        A hold is reported only ``hold_grace_seconds`` past its expiry: the sweeper releases
        lapsed holds every few seconds, so a just-lapsed one is not yet a fault."""
        chain = self.verify_chain()

        def work(session: Session) -> BooksReport:
            totals = repo.currency_totals(session)
            accounts, drifts = repo.balance_drifts(session)
            open_holds, late = repo.holds_past_expiry(session, hold_grace_seconds)
            return BooksReport(
                chain=chain,
                totals=totals,
                accounts_checked=accounts,
                drifts=drifts,
                open_pending=open_holds,
                late_holds=late,
            )

        return self._reading(work)

    def trial_balance(self, as_of: datetime | None) -> tuple[list[tuple[Account, int, int]], datetime]:
        def work(session: Session) -> tuple[list[tuple[Account, int, int]], datetime]:
            moment = as_of or repo.database_now(session)
            return repo.trial_balance(session, moment), moment

        return self._reading(work)

    def statement(self, account_id: str, start: datetime | None, end: datetime | None) -> Statement:
        def work(session: Session) -> Statement:
            account = self._account_with_balance(session, account_id)
            normal = normal_side(account.type)
            opening = repo.posted_as_of(session, account_id, normal, start, before=True) if start else 0
            movements = repo.account_movements(
                session, account_id, normal, start, end, MAX_STATEMENT_LINES + 1
            )
            if len(movements) > MAX_STATEMENT_LINES:
                raise InvalidArgument(
                    "the period has too many movements for one statement",
                    field="time_range",
                    description=f"must cover at most {MAX_STATEMENT_LINES} movements",
                )
            running = opening
            lines = []
            for entry, change in movements:
                running += change
                lines.append((entry, change, running))
            return Statement(account, opening, running, lines)

        return self._reading(work)
