"""A credit line in use, over real gRPC with the real ledger on the session's PostgreSQL.

A second credit server runs on the session's database with its own injected clock (a
ShiftedClock), so days and months pass when the test says so: grant, draw, days of interest,
the month's statement, repayments. The daily job's work (``CreditLineService.settle``, what
``run_daily`` does per line) is driven by hand with the same clock. After each step the
ledger's trial balance balances and the line's ledger accounts hold what the service says.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

import grpc
import pytest
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc
from nexafi.ledger.v1 import ledger_pb2

from services.credit.clients import Clients
from services.credit.lines import domain
from services.credit.lines.service import CreditLineService
from services.credit.settings import CreditSettings
from services.credit.spec import spec_with
from services.runtime.clock import ShiftedClock, system_clock
from services.runtime.idempotency import Claim
from services.runtime.ids import new_id
from services.runtime.request_keys import RequestKeys
from services.runtime.server import RunningServer, start_server
from tests.integration.credit.credit_support import CreditApi, eur, key, server_keys
from tests.support.grpc_errors import failure
from tests.support.harness import ServiceRunner, service_settings

C = credit_pb2
L = ledger_pb2
APR = 1999
LIMIT = 500_000


@dataclass
class LineWorld:
    clock: ShiftedClock
    stub: credit_pb2_grpc.CreditServiceStub
    lines: CreditLineService
    # The line keys as this server's servicer takes them (the same request fingerprints).
    keys: RequestKeys


@pytest.fixture(scope="module")
def world(credit_server: RunningServer, services: ServiceRunner) -> Iterator[LineWorld]:
    # The 3rd of last month at noon: months and days pass only when a test advances the clock.
    now = system_clock()
    last_month = (now.replace(day=1) - timedelta(days=1)).replace(
        day=3, hour=12, minute=0, second=0, microsecond=0
    )
    clock = ShiftedClock(last_month.astimezone(UTC))
    # This server's jobs stay off: on its clock, every intent of the session would look stale.
    quiet = spec_with(CreditSettings(recovery_interval_seconds=0, line_accrual_interval_seconds=0))
    server = start_server(
        quiet, service_settings("credit", services.database_url("credit"), services.auth), clock=clock
    )
    channel = grpc.insecure_channel(server.address)
    clients = Clients.connect(ai_timeout_seconds=2.0)
    assert server.context.engine is not None
    lines = CreditLineService(server.context.engine, clients, clock=clock)
    yield LineWorld(
        clock, credit_pb2_grpc.CreditServiceStub(channel), lines, server_keys(server, lines.idempotency)
    )
    clients.close()
    channel.close()
    server.stop(0)


def draw(
    world: LineWorld,
    credit: CreditApi,
    user: str,
    amount: int,
    request_id: str | None = None,
    metadata: Any = None,
) -> Any:
    return world.stub.DrawCreditLine(
        C.DrawCreditLineRequest(user_id=user, amount=eur(amount), request_id=request_id or key()),
        metadata=metadata or credit.md(user),
    )


def repay(world: LineWorld, credit: CreditApi, user: str, amount: int, metadata: Any = None) -> Any:
    return world.stub.RepayCreditLine(
        C.RepayCreditLineRequest(user_id=user, amount=eur(amount), request_id=key()),
        metadata=metadata or credit.md(user),
    )


def open_line(world: LineWorld, credit: CreditApi, user: str, **fields: Any) -> Any:
    request = C.UpdateCreditLineRequest(
        user_id=user, limit=eur(LIMIT), apr_bps=APR, reason="granted", request_id=key(), **fields
    )
    return world.stub.UpdateCreditLine(request, metadata=credit.underwriter()).credit_line


def assert_books(
    credit: CreditApi, world: LineWorld, line: Any, user: str, *, principal: int, interest_due: int
) -> None:
    """The ledger balances and holds the line's principal and unpaid interest."""
    totals = credit.ledger.GetTrialBalance(L.GetTrialBalanceRequest(), metadata=credit.admin()).totals
    assert totals and all(t.balanced and t.total_debits_minor == t.total_credits_minor for t in totals)
    assert credit.balance(line.ledger_account_id) == -principal
    interest_account = world.lines.interest_account(world.lines.settle(user).line)
    assert credit.balance(interest_account) == interest_due


def test_draw_interest_statement_and_repayment_with_the_books_balanced_at_each_step(
    world: LineWorld, credit: CreditApi
) -> None:
    user = credit.register()
    wallet = credit.wallet(user, funds=100_000)
    line = open_line(world, credit, user)
    assert_books(credit, world, line, user, principal=0, interest_due=0)

    # Draw into the wallet.
    drawn_on = world.clock().date()
    request_id = key()
    first = draw(world, credit, user, 200_000, request_id)
    assert first.draw.amount.amount_minor == 200_000 and first.draw.id.startswith("cld_")
    assert (first.credit_line.used.amount_minor, first.credit_line.available.amount_minor) == (
        200_000,
        300_000,
    )
    assert credit.balance(wallet) == 300_000
    assert_books(credit, world, line, user, principal=200_000, interest_due=0)

    # A retry moves nothing and answers the same; the key with another amount is refused.
    assert draw(world, credit, user, 200_000, request_id) == first
    assert credit.balance(wallet) == 300_000
    reused = failure(lambda: draw(world, credit, user, 1_000, request_id))
    assert (reused.code, reused.reason) == (grpc.StatusCode.ALREADY_EXISTS, "IDEMPOTENCY_KEY_REUSED")

    # Beyond the available credit: refused, nothing moves.
    over = failure(lambda: draw(world, credit, user, 300_001))
    assert (over.code, over.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CREDIT_LIMIT_EXCEEDED")
    assert over.metadata["available_minor"] == "300000"
    assert_books(credit, world, line, user, principal=200_000, interest_due=0)

    # Days pass to two days after the end of the draw's month; the job accrues and states.
    period = domain.month_of(drawn_on)
    world.clock.advance(timedelta(days=(period.last - drawn_on).days + 2))
    assert world.clock().date() == period.last + timedelta(days=2)
    settled = world.lines.settle(user)
    month_interest = sum(d.interest for d in domain.accrue_days(drawn_on, period.last, 200_000, APR, 0))
    through_yesterday = sum(
        d.interest for d in domain.accrue_days(drawn_on, period.last + timedelta(days=1), 200_000, APR, 0)
    )
    assert month_interest > 0 and settled.interest_due == through_yesterday
    assert_books(credit, world, line, user, principal=200_000, interest_due=through_yesterday)
    # Settling again (a rerun, another replica) charges nothing more.
    assert world.lines.settle(user).interest_due == through_yesterday
    assert_books(credit, world, line, user, principal=200_000, interest_due=through_yesterday)

    statements = world.stub.ListCreditLineStatements(
        C.ListCreditLineStatementsRequest(user_id=user), metadata=credit.md(user)
    ).statements
    assert len(statements) == 1
    statement = statements[0]
    closing = 200_000 + month_interest
    assert (statement.period_start_date, statement.period_end_date) == (
        period.first.isoformat(),
        period.last.isoformat(),
    )
    assert statement.opening_balance.amount_minor == 0
    assert statement.draws.amount_minor == 200_000
    assert statement.repayments.amount_minor == 0
    assert statement.interest.amount_minor == month_interest
    assert statement.closing_balance.amount_minor == closing
    assert statement.minimum_payment.amount_minor == domain.minimum_payment(closing, month_interest, "EUR")
    assert statement.minimum_payment.amount_minor == max(2_500, -(-closing // 100) + month_interest)
    assert statement.due_date == (period.last + timedelta(days=25)).isoformat()
    assert date.fromisoformat(statement.due_date) > period.last
    fetched = world.stub.GetCreditLineStatement(
        C.GetCreditLineStatementRequest(user_id=user, statement_id=statement.id), metadata=credit.md(user)
    )
    assert fetched.statement == statement

    # Repay: interest first, then principal, which restores available credit.
    paid = repay(world, credit, user, through_yesterday + 50_000)
    assert (paid.repayment.interest.amount_minor, paid.repayment.principal.amount_minor) == (
        through_yesterday,
        50_000,
    )
    assert (paid.credit_line.used.amount_minor, paid.credit_line.available.amount_minor) == (150_000, 350_000)
    assert paid.interest_due.amount_minor == 0
    assert credit.balance(wallet) == 300_000 - through_yesterday - 50_000
    assert_books(credit, world, line, user, principal=150_000, interest_due=0)

    too_much = failure(lambda: repay(world, credit, user, 150_001))
    assert (too_much.code, too_much.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "REPAYMENT_EXCEEDS_BALANCE",
    )
    assert too_much.metadata["owed_minor"] == "150000"

    rest = repay(world, credit, user, 150_000)
    assert (rest.credit_line.used.amount_minor, rest.credit_line.available.amount_minor) == (0, LIMIT)
    assert_books(credit, world, line, user, principal=0, interest_due=0)
    got = credit.credit.GetCreditLine(
        C.GetCreditLineRequest(user_id=user), metadata=credit.md(user)
    ).credit_line
    assert (got.used.amount_minor, got.available.amount_minor) == (0, LIMIT)


def test_a_frozen_line_refuses_draws_but_takes_repayments(world: LineWorld, credit: CreditApi) -> None:
    user = credit.register()
    credit.wallet(user, funds=10_000)
    line = open_line(world, credit, user)
    draw(world, credit, user, 40_000)
    world.stub.UpdateCreditLine(
        C.UpdateCreditLineRequest(
            user_id=user,
            limit=eur(LIMIT),
            status=C.CREDIT_LINE_STATUS_FROZEN,
            reason="missed payments",
            request_id=key(),
        ),
        metadata=credit.underwriter(),
    )
    frozen = failure(lambda: draw(world, credit, user, 1_000))
    assert (frozen.code, frozen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CREDIT_LINE_FROZEN")
    paid = repay(world, credit, user, 10_000)
    assert paid.credit_line.used.amount_minor == 30_000
    assert paid.credit_line.available.amount_minor == 0  # frozen: nothing may be drawn
    again = failure(lambda: draw(world, credit, user, 1_000))
    assert again.reason == "CREDIT_LINE_FROZEN"
    assert_books(credit, world, line, user, principal=30_000, interest_due=0)


def test_who_may_draw_repay_and_read_statements(world: LineWorld, credit: CreditApi) -> None:
    user, other = credit.register(), credit.register()
    credit.wallet(user, funds=5_000)
    open_line(world, credit, user)
    for metadata in (credit.md(other), credit.admin(), credit.underwriter(), credit.service()):
        denied = failure(lambda md=metadata: draw(world, credit, user, 1_000, metadata=md))
        assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    assert failure(lambda: repay(world, credit, user, 1, metadata=credit.md(other))).code == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    draw(world, credit, user, 2_000)
    assert repay(world, credit, user, 500, metadata=credit.admin()).repayment.principal.amount_minor == 500
    listing = C.ListCreditLineStatementsRequest(user_id=user)
    assert failure(lambda: world.stub.ListCreditLineStatements(listing, metadata=credit.md(other))).code == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    world.stub.ListCreditLineStatements(listing, metadata=credit.underwriter())
    missing = failure(
        lambda: world.stub.GetCreditLineStatement(
            C.GetCreditLineStatementRequest(user_id=user, statement_id=new_id("cls")),
            metadata=credit.md(user),
        )
    )
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "STATEMENT_NOT_FOUND")
    bad = failure(
        lambda: world.stub.DrawCreditLine(
            C.DrawCreditLineRequest(user_id=user, amount=eur(0)), metadata=credit.md(user)
        )
    )
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(bad.fields) == {"amount.amount_minor", "request_id"}
    nobody = credit.register()
    none = failure(lambda: draw(world, credit, nobody, 1_000))
    assert (none.code, none.reason) == (grpc.StatusCode.NOT_FOUND, "CREDIT_LINE_NOT_FOUND")


class CrashAfterLedger(Exception):
    """The credit service died after the ledger committed the draw, before its own commit."""


def test_a_draw_lost_after_the_ledger_is_completed_once_by_the_retry(
    world: LineWorld, credit: CreditApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = credit.register()
    wallet = credit.wallet(user)
    line = open_line(world, credit, user)
    request_id = key()
    request = C.DrawCreditLineRequest(user_id=user, amount=eur(70_000), request_id=request_id)

    ledger = world.lines.clients.ledger
    real = ledger.post

    def post_then_die(**fields: Any) -> str:
        real(**fields)
        monkeypatch.setattr(ledger, "post", real)
        raise CrashAfterLedger()

    def execute(claim: Claim) -> Any:
        world.lines.draw(claim, user_id=user, amount=70_000, currency="EUR", actor=user)
        return C.DrawCreditLineResponse()

    # As the servicer runs it, under the request's key; the service dies right after the ledger's commit.
    monkeypatch.setattr(ledger, "post", post_then_die)
    with pytest.raises(CrashAfterLedger):
        world.keys.run(user, "DrawCreditLine", request, execute)
    assert credit.balance(wallet) == 70_000  # the ledger has it; our record rolled back
    # The job completes it before anyone retries: recorded once, from the intent written before the call.
    assert world.lines.settle(user).principal == 70_000
    assert credit.balance(wallet) == 70_000
    retried = draw(world, credit, user, 70_000, request_id)
    assert retried.draw.amount.amount_minor == 70_000
    assert retried.credit_line.used.amount_minor == 70_000
    assert credit.balance(wallet) == 70_000  # moved once
    assert draw(world, credit, user, 70_000, request_id) == retried
    assert_books(credit, world, line, user, principal=70_000, interest_due=0)


def test_two_replicas_settling_at_once_charge_each_day_once(world: LineWorld, credit: CreditApi) -> None:
    user = credit.register()
    credit.wallet(user)
    line = open_line(world, credit, user)
    drawn_on = world.clock().date()
    draw(world, credit, user, 333_333)
    world.clock.advance(timedelta(days=3))
    replicas = [
        CreditLineService(world.lines.engine, world.lines.clients, clock=world.clock) for _ in range(2)
    ]
    errors: list[BaseException] = []

    def run(service: CreditLineService) -> None:
        try:
            service.settle(user)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    yesterday = world.clock().date() - timedelta(days=1)
    expected = sum(d.interest for d in domain.accrue_days(drawn_on, yesterday, 333_333, APR, 0))
    assert expected > 0
    assert_books(credit, world, line, user, principal=333_333, interest_due=expected)
