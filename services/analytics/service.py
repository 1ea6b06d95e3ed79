"""The analytics service layer: analyses, dashboards and reports from the summaries.

Every read runs in one REPEATABLE READ transaction, so the figures and the
``as_of_sequence`` returned with them describe the same committed state of the
summaries. Ranges reaching this layer are validated and resolved already. The
trial balance asks the ledger and credit_portfolio the credit service instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import grpc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.analytics import report_tables as tables
from services.analytics import repository as repo
from services.analytics.clients import CreditClient, LedgerClient
from services.analytics.consumer import SUMMARIES_CONSUMER
from services.analytics.domain import custom
from services.analytics.domain import reports as rpt
from services.analytics.domain.analysis import (
    CashFlowPoint,
    Figures,
    cash_flow,
    figures,
    pick_currency,
    previous_range,
)
from services.analytics.domain.ledger_types import AccountType, label
from services.analytics.domain.model import Direction
from services.analytics.domain.periods import Granularity, ceil_day, floor_day, periods
from services.analytics.domain.portfolio import Portfolio
from services.analytics.domain.reports import Column, ColumnType, Table
from services.runtime.clients import RemoteError
from services.runtime.clock import Clock, system_clock
from services.runtime.db import UnitOfWork, run_in_transaction
from services.runtime.errors import DomainError, FieldViolation, InvalidArgument, NotFound, Unavailable
from services.runtime.idempotency import Claim, IdempotencyStore
from services.runtime.ids import new_id

log = logging.getLogger("nexafi.analytics")

T = TypeVar("T")
#: Analytics' idempotency keys (migration 0003; services/runtime/idempotency.py).
IDEMPOTENCY_TABLE = "idempotency_keys"


class ReportNotAvailable(DomainError):
    """A documented report type this deployment cannot produce (its data source is not configured)."""

    code = grpc.StatusCode.UNIMPLEMENTED
    default_reason = "REPORT_NOT_AVAILABLE"


# Opens a client of the credit service. Called per report rather than once at start-up,
# so analytics starts, and serves every other report, whether or not credit is up.
CreditConnector = Callable[[], CreditClient]


@dataclass(frozen=True)
class AsOf:
    sequence: int
    time: datetime | None


@dataclass(frozen=True)
class Analysis:
    user_id: str
    start: datetime
    end: datetime
    granularity: Granularity
    currency: str
    figures: Figures
    previous_start: datetime
    previous_end: datetime
    as_of: AsOf


@dataclass(frozen=True)
class Dashboard:
    user_id: str
    start: datetime
    end: datetime
    granularity: Granularity
    currency: str
    points: list[CashFlowPoint]
    as_of: AsOf


@dataclass(frozen=True)
class GeneratedReport:
    report_type: str
    user_id: str
    start: datetime
    end: datetime
    currency: str
    table: Table
    as_of: AsOf


class AnalyticsService:
    def __init__(
        self,
        engine: Engine,
        ledger: LedgerClient | None,
        default_currency: str,
        clock: Clock = system_clock,
        credit: CreditConnector | None = None,
        idempotency: IdempotencyStore | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.credit = credit
        self.default_currency = default_currency
        self.clock = clock
        # The keys of CreateReportDefinition, claimed by the servicer (the edge).
        self.idempotency = idempotency or IdempotencyStore(engine, table=IDEMPOTENCY_TABLE)
        self._uow = UnitOfWork(engine)

    def _read(self, work: Callable[[Session], T]) -> T:
        with self._uow() as session:
            repo.set_snapshot(session)
            return work(session)

    @staticmethod
    def _as_of(session: Session) -> AsOf:
        checkpoint = repo.get_checkpoint(session, SUMMARIES_CONSUMER)
        if checkpoint is None or checkpoint.last_sequence == 0:
            return AsOf(0, None)
        return AsOf(checkpoint.last_sequence, checkpoint.update_time)

    def _currency(self, session: Session, user_id: str, currency: str, start: datetime, end: datetime) -> str:
        """The requested currency, else the user's own: the one they used most in the range, else over
        all their entries, else that of their first ledger account (their wallet, opened before any
        entry), and only when the user has no account at all the configured default."""
        if currency:
            return currency
        counts = repo.currency_counts(session, user_id, start, end) or repo.currency_counts(
            session, user_id, datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
        )
        if counts:
            return pick_currency(counts, self.default_currency)
        return self._account_currency(user_id) or self.default_currency

    def _account_currency(self, user_id: str) -> str | None:
        """The currency of the user's oldest ledger account, or None (no account, or the ledger is down:
        a statement in the default currency is better than none)."""
        if self.ledger is None:
            return None
        try:
            return self.ledger.first_account_currency(user_id)
        except RemoteError as exc:
            log.warning("cannot read %s's accounts from the ledger: %s", user_id, exc.code.name)
            return None

    # -- analyses ------------------------------------------------------------------------------------

    def analysis(
        self,
        direction: Direction,
        user_id: str,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        currency: str,
    ) -> Analysis:
        def work(session: Session) -> Analysis:
            as_of = self._as_of(session)
            chosen = self._currency(session, user_id, currency, start, end)
            previous_start, previous_end = previous_range(start, end)
            current = repo.day_rows(session, user_id, chosen, start, end)
            previous = repo.day_rows(session, user_id, chosen, previous_start, previous_end)
            result = figures(direction, current, previous, periods(start, end, granularity))
            return Analysis(
                user_id, start, end, granularity, chosen, result, previous_start, previous_end, as_of
            )

        return self._read(work)

    def dashboard(
        self, user_id: str, start: datetime, end: datetime, granularity: Granularity, currency: str
    ) -> Dashboard:
        def work(session: Session) -> Dashboard:
            as_of = self._as_of(session)
            chosen = self._currency(session, user_id, currency, start, end)
            opening = repo.balance_before(session, user_id, chosen, start)
            points = cash_flow(
                repo.day_rows(session, user_id, chosen, start, end), periods(start, end, granularity), opening
            )
            return Dashboard(user_id, start, end, granularity, chosen, points, as_of)

        return self._read(work)

    # -- reports ---------------------------------------------------------------------------------------

    def report(
        self, report_type: str, user_id: str, start: datetime, end: datetime, currency: str
    ) -> GeneratedReport:
        if report_type == rpt.CREDIT_PORTFOLIO:
            return self._credit_portfolio(start, end, currency)
        if report_type == rpt.TRIAL_BALANCE:
            return self._trial_balance(start, end, currency)

        def work(session: Session) -> GeneratedReport:
            as_of = self._as_of(session)
            if report_type == rpt.PAYMENT_VOLUMES:
                # Volumes are kept per UTC day: the range widens to whole days and says so.
                days = floor_day(start), ceil_day(end)
                table = tables.volumes_table(repo.volumes(session, currency, *days), currency)
                return GeneratedReport(report_type, "", *days, currency, table, as_of)
            chosen = self._currency(session, user_id, currency, start, end)
            opening = repo.balance_before(session, user_id, chosen, start)
            if report_type == rpt.MONTHLY_STATEMENT:
                lines = repo.flow_lines(session, user_id, chosen, start, end)
                table = tables.statement_table(lines, start, opening)
            else:
                points = cash_flow(
                    repo.day_rows(session, user_id, chosen, start, end),
                    periods(start, end, Granularity.MONTH),
                    opening,
                )
                table = tables.cash_flow_table(points)
            return GeneratedReport(report_type, user_id, start, end, chosen, table, as_of)

        return self._read(work)

    def _trial_balance(self, start: datetime, end: datetime, currency: str) -> GeneratedReport:
        assert self.ledger is not None, "trial_balance needs the ledger client"
        as_of = self._read(self._as_of)
        # The ledger is the authority on balances: its trial balance as of the range's end.
        try:
            lines = self.ledger.trial_balance(min(end, self.clock()))
        except RemoteError as exc:
            raise Unavailable(
                f"the ledger cannot give its trial balance ({exc.code.name}); retry later",
                "LEDGER_UNAVAILABLE",
            ) from None
        table = Table(
            [
                Column("account_id", ColumnType.STRING, "The ledger account."),
                Column("name", ColumnType.STRING, "The account's name."),
                Column("type", ColumnType.STRING, "The account's accounting class."),
                Column("debit", ColumnType.MONEY, "The debit balance (zero when the balance is a credit)."),
                Column("credit", ColumnType.MONEY, "The credit balance (zero when the balance is a debit)."),
            ]
        )
        debits = credits = 0
        for line in sorted(lines, key=lambda item: item.account_id):
            if line.currency != currency:
                continue
            table.add(
                line.account_id, line.name, label(AccountType, line.type), line.debit_minor, line.credit_minor
            )
            debits += line.debit_minor
            credits += line.credit_minor
        table.totals = [None, "total", None, debits, credits]
        return GeneratedReport(rpt.TRIAL_BALANCE, "", start, end, currency, table, as_of)

    def _credit_portfolio(self, start: datetime, end: datetime, currency: str) -> GeneratedReport:
        if self.credit is None:
            raise ReportNotAvailable("credit_portfolio needs the credit service, not configured here")
        portfolio = Portfolio(as_of=end.astimezone(UTC).date())
        client = self.credit()
        try:
            portfolio.extend(client.loans(currency, start, end))
        except RemoteError as exc:
            if exc.unreachable:
                raise Unavailable(
                    f"the credit service cannot be reached ({exc.code.name}); retry later",
                    "CREDIT_SERVICE_UNAVAILABLE",
                ) from None
            log.error("credit_portfolio: the credit service refused the loan listing: %s", exc)
            raise Unavailable(
                "the credit service refused the loan listing; retry later", "CREDIT_SERVICE_UNAVAILABLE"
            ) from None
        finally:
            client.close()
        # The loan book is not part of the ledger feed: no feed position describes it.
        return GeneratedReport(
            rpt.CREDIT_PORTFOLIO, "", start, end, currency, tables.portfolio_table(portfolio), AsOf(0, None)
        )

    # -- custom reports ----------------------------------------------------------------------------------

    def create_definition(
        self, user_id: str, request_id: str, definition: custom.Definition, claim: Claim | None = None
    ) -> repo.StoredDefinition:
        """Save ``definition`` for ``user_id`` (the caller is authorized), under the idempotency key the
        edge claimed: the key names the definition in the transaction that saves it, so a retry that
        takes over a crashed attempt's key returns that definition instead of saving a second one."""
        if claim is not None and claim.resource_id:
            saved = self._read(lambda s: repo.get_definition(s, claim.resource_id))
            if saved is not None:
                return saved

        def work(session: Session) -> repo.StoredDefinition:
            unknown = custom.unknown_categories(definition.categories, repo.user_categories(session, user_id))
            if unknown:
                raise InvalidArgument(
                    "unknown category",
                    reason="UNKNOWN_CATEGORY",
                    violations=[
                        FieldViolation(
                            f"definition.categories[{i}]",
                            "is neither a standard category nor one of the user's",
                        )
                        for i in unknown
                    ],
                )
            stored = repo.insert_definition(
                session, new_id("rdf"), user_id, request_id, definition.fingerprint(), definition.to_json()
            )
            if claim is not None:
                self.idempotency.attach(session, claim, stored.id)
            return stored

        return run_in_transaction(self.engine, work)

    def definition(self, definition_id: str) -> repo.StoredDefinition:
        """The definition (who may see it is the edge's rule; anyone else gets ``no_definition``)."""
        found = self._read(lambda s: repo.get_definition(s, definition_id))
        if found is None:
            raise no_definition(definition_id)
        return found

    def list_definitions(
        self, user_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[repo.StoredDefinition]:
        return self._read(lambda s: repo.list_definitions(s, user_id, after=after, limit=limit))

    def delete_definition(self, found: repo.StoredDefinition) -> repo.StoredDefinition:
        run_in_transaction(self.engine, lambda s: repo.delete_definition(s, found.id))
        return found

    def run_custom(self, stored: repo.StoredDefinition) -> tuple[custom.Definition, GeneratedReport]:
        definition = custom.Definition.from_json(stored.definition)
        by_category = definition.grouping is custom.Grouping.CATEGORY

        def work(session: Session) -> GeneratedReport:
            as_of = self._as_of(session)
            rows = repo.custom_rows(
                session,
                stored.user_id,
                currency=definition.currency,
                direction=definition.direction,
                start=definition.start,
                end=definition.end,
                account_ids=definition.account_ids,
                categories=definition.categories,
                counterparties=definition.counterparties,
                by_category=by_category,
            )
            groups = custom.group_categories(rows) if by_category else custom.group_days(definition, rows)
            return GeneratedReport(
                custom.CUSTOM,
                stored.user_id,
                definition.start,
                definition.end,
                definition.currency,
                custom.table(definition, groups),
                as_of,
            )

        return definition, self._read(work)

    # -- checkpoint -------------------------------------------------------------------------------------

    def checkpoint(self, consumer: str) -> repo.Checkpoint:
        found = self._read(lambda s: repo.get_checkpoint(s, consumer))
        if found is None:
            raise NotFound(f"no feed consumer named {consumer!r}", "CONSUMER_NOT_FOUND")
        return found


def no_definition(definition_id: str) -> NotFound:
    """What a missing definition, and one the caller may not see, are answered with alike."""
    return NotFound(f"no report definition {definition_id[:64]!r}", "REPORT_DEFINITION_NOT_FOUND")
