"""The analytics API over real gRPC, fed by the real ledger's change feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from nexafi.analytics.v1 import analytics_pb2
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2

from services.runtime.api import from_timestamp
from tests.integration.analytics.analytics_support import Books, time_range
from tests.support.grpc_errors import failure


def around_now() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=1), now + timedelta(hours=1)


@pytest.fixture(scope="module")
def household(books: Books) -> dict[str, str]:
    """Alice: salary, a top-up, groceries (by MCC), rent (by category), a transfer to Bob."""
    alice, alice_wallet = books.user()
    bob, bob_wallet = books.user()
    entries = [
        books.deposit(alice_wallet, 300_000, metadata={"category": "Salary"}, description="ACME payroll"),
        books.deposit(alice_wallet, 20_000, description="card top-up"),
        books.spend(alice_wallet, 12_000, metadata={"mcc": "5411"}, description="Supermarket"),
        books.spend(alice_wallet, 80_000, metadata={"category": "rent"}, description="Flat"),
        books.post(alice_wallet, bob_wallet, 8_000, ledger_pb2.TRANSACTION_TYPE_TRANSFER, user_id=alice),
    ]
    sequence = books.wait_applied(*entries)
    return {"alice": alice, "bob": bob, "alice_wallet": alice_wallet, "sequence": str(sequence)}


def spending(
    books: Books,
    user_id: str,
    *,
    currency: str = "",
    bounds: common_pb2.TimeRange | None = None,
    granularity: int = analytics_pb2.GRANULARITY_DAY,
) -> analytics_pb2.SpendingAnalysis:
    request = analytics_pb2.GetSpendingAnalysisRequest(
        user_id=user_id,
        time_range=bounds or time_range(*around_now()),
        granularity=analytics_pb2.Granularity.ValueType(granularity),
        currency=currency,
    )
    return books.analytics.GetSpendingAnalysis(
        request, metadata=books.customer(user_id), timeout=10
    ).spending_analysis


def income(books: Books, user_id: str) -> analytics_pb2.IncomeAnalysis:
    start, end = around_now()
    return books.analytics.GetIncomeAnalysis(
        analytics_pb2.GetIncomeAnalysisRequest(
            user_id=user_id, time_range=time_range(start, end), granularity=analytics_pb2.GRANULARITY_DAY
        ),
        metadata=books.customer(user_id),
        timeout=10,
    ).income_analysis


def test_spending_by_category_with_shares_and_periods(books: Books, household: dict[str, str]) -> None:
    result = spending(books, household["alice"])
    assert result.currency == "EUR"  # her only currency, chosen when none is asked for
    assert (result.total.amount_minor, result.total.currency) == (100_000, "EUR")
    assert result.transaction_count == 3
    assert [
        (c.category, c.total.amount_minor, c.transaction_count, c.share_bps) for c in result.categories
    ] == [("rent", 80_000, 1, 8000), ("groceries", 12_000, 1, 1200), ("transfer_out", 8_000, 1, 800)]
    assert all(not c.HasField("change_bps") for c in result.categories)
    assert not result.HasField("change_bps") and result.previous_total.amount_minor == 0
    assert sum(p.total.amount_minor for p in result.periods) == 100_000
    assert sum(p.transaction_count for p in result.periods) == 3
    assert from_timestamp(result.periods[0].start_time) == from_timestamp(result.time_range.start_time)
    assert from_timestamp(result.periods[-1].end_time) == from_timestamp(result.time_range.end_time)
    assert result.average_per_period.amount_minor == round(100_000 / len(result.periods))
    assert result.as_of_sequence >= int(household["sequence"])
    assert result.HasField("as_of_time")


def test_income_by_source(books: Books, household: dict[str, str]) -> None:
    alice = income(books, household["alice"])
    assert alice.total.amount_minor == 320_000 and alice.transaction_count == 2
    assert [(c.category, c.total.amount_minor) for c in alice.categories] == [
        ("salary", 300_000),
        ("top_up", 20_000),
    ]
    bob = income(books, household["bob"])
    assert [(c.category, c.total.amount_minor, c.share_bps) for c in bob.categories] == [
        ("transfer_in", 8_000, 10_000)
    ]
    assert spending(books, household["bob"]).total.amount_minor == 0


def test_trend_against_the_previous_range(books: Books) -> None:
    user, wallet = books.user()
    books.deposit(wallet, 10_000)
    before = books.spend(wallet, 1_000, metadata={"category": "groceries"})
    after = books.spend(wallet, 3_000, metadata={"category": "groceries"})
    last = books.spend(wallet, 500, metadata={"category": "fuel"})
    books.wait_applied(last)
    first, second = from_timestamp(before.timestamp), from_timestamp(after.timestamp)
    assert first < second
    middle = first + (second - first) / 2
    result = spending(books, user, bounds=time_range(middle, middle + timedelta(hours=1)))
    assert result.total.amount_minor == 3_500
    assert result.previous_total.amount_minor == 1_000
    assert result.change_bps == 25_000  # 3500 against 1000: 250 percent more
    by_name = {c.category: c for c in result.categories}
    assert by_name["groceries"].change_bps == 20_000
    assert not by_name["fuel"].HasField("change_bps")  # nothing on fuel before
    assert from_timestamp(result.previous_time_range.end_time) == middle
    assert from_timestamp(result.previous_time_range.start_time) == middle - timedelta(hours=1)


def test_unknown_user_gets_zero_totals_in_the_default_currency(books: Books) -> None:
    result = spending(books, "usr_nobody_has_this_id", granularity=analytics_pb2.GRANULARITY_UNSPECIFIED)
    assert result.total.amount_minor == 0 and result.currency == "USD"
    assert not result.categories and result.transaction_count == 0
    assert result.granularity == analytics_pb2.GRANULARITY_MONTH
    assert all(p.total.amount_minor == 0 for p in result.periods) and result.periods


def test_a_new_user_gets_the_currency_of_their_wallet(books: Books) -> None:
    """Right after sign-up (a wallet, no entry yet) the statement is in the wallet's currency."""
    for currency in ("EUR", "GBP"):
        user, _ = books.user(currency)
        result = spending(books, user, granularity=analytics_pb2.GRANULARITY_UNSPECIFIED)
        assert result.currency == currency and result.total.amount_minor == 0


def test_without_entries_in_the_range_the_users_own_currency_is_kept(books: Books) -> None:
    user, wallet = books.user("GBP")
    books.wait_applied(books.deposit(wallet, 5_000, currency="GBP"))
    later = datetime.now(UTC) + timedelta(days=2)
    result = spending(books, user, bounds=time_range(later, later + timedelta(days=1)))
    assert result.currency == "GBP" and result.total.amount_minor == 0


def test_other_currencies_are_left_out(books: Books, household: dict[str, str]) -> None:
    assert spending(books, household["alice"], currency="GBP").total.amount_minor == 0


def test_validation_reports_every_bad_field(books: Books) -> None:
    now = datetime.now(UTC)
    request = analytics_pb2.GetSpendingAnalysisRequest(
        user_id="",
        currency="eur",
        granularity=analytics_pb2.Granularity.ValueType(9),
        time_range=time_range(now, now - timedelta(days=1)),
    )
    result = failure(lambda: books.analytics.GetSpendingAnalysis(request, metadata=books.admin, timeout=10))
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(result.fields) == {"user_id", "currency", "granularity", "time_range.end_time"}
    too_long = analytics_pb2.GetIncomeAnalysisRequest(
        user_id="usr_x",
        granularity=analytics_pb2.GRANULARITY_DAY,
        time_range=time_range(now - timedelta(days=400), now),
    )
    result = failure(lambda: books.analytics.GetIncomeAnalysis(too_long, metadata=books.admin, timeout=10))
    assert result.code == grpc.StatusCode.INVALID_ARGUMENT and result.fields == ["time_range.start_time"]
    too_long.granularity = analytics_pb2.GRANULARITY_MONTH  # 400 days by month is fine
    books.analytics.GetIncomeAnalysis(too_long, metadata=books.admin, timeout=10)
    # Ranges at the ends of the calendar are refused, not an internal error.
    for start, granularity in (
        (datetime(1, 1, 2, tzinfo=UTC), analytics_pb2.GRANULARITY_DAY),
        (datetime(9999, 11, 1, tzinfo=UTC), analytics_pb2.GRANULARITY_MONTH),
    ):
        bounds = time_range(start, start + timedelta(days=20))
        extreme = analytics_pb2.GetSpendingAnalysisRequest(
            user_id="usr_x", granularity=granularity, time_range=bounds
        )
        result = failure(
            lambda r=extreme, b=books: b.analytics.GetSpendingAnalysis(r, metadata=b.admin, timeout=10)
        )
        assert result.code == grpc.StatusCode.INVALID_ARGUMENT and result.fields == ["time_range.start_time"]


def test_a_customer_reads_only_their_own_analysis(books: Books, household: dict[str, str]) -> None:
    request = analytics_pb2.GetSpendingAnalysisRequest(user_id=household["alice"])
    result = failure(
        lambda: books.analytics.GetSpendingAnalysis(
            request, metadata=books.customer(household["bob"]), timeout=10
        )
    )
    assert result.code == grpc.StatusCode.PERMISSION_DENIED
    support = books.tokens.metadata("usr_support", ["support"])
    allowed = books.analytics.GetSpendingAnalysis(request, metadata=support, timeout=10)
    assert allowed.spending_analysis.user_id == household["alice"]
    unauthenticated = failure(lambda: books.analytics.GetSpendingAnalysis(request, timeout=10))
    assert unauthenticated.code == grpc.StatusCode.UNAUTHENTICATED


def test_dashboard_series(books: Books, household: dict[str, str]) -> None:
    start, end = around_now()
    metrics = [
        analytics_pb2.DASHBOARD_METRIC_BALANCE,
        analytics_pb2.DASHBOARD_METRIC_SPENDING,
        analytics_pb2.DASHBOARD_METRIC_INCOME,
        analytics_pb2.DASHBOARD_METRIC_NET_CASH_FLOW,
    ]
    reply = books.analytics.GetDashboardSeries(
        analytics_pb2.GetDashboardSeriesRequest(
            user_id=household["alice"],
            metrics=metrics,
            time_range=time_range(start, end),
            granularity=analytics_pb2.GRANULARITY_DAY,
        ),
        metadata=books.customer(household["alice"]),
        timeout=10,
    )
    assert [s.metric for s in reply.series] == metrics and reply.currency == "EUR"
    balance, spent, received, net = ([p.value.amount_minor for p in s.points] for s in reply.series)
    assert sum(spent) == 100_000 and sum(received) == 320_000 and sum(net) == 220_000
    assert balance[-1] == 220_000  # what the wallet holds: every entry is in the range
    bad = failure(
        lambda: books.analytics.GetDashboardSeries(
            analytics_pb2.GetDashboardSeriesRequest(
                user_id=household["alice"], metrics=[analytics_pb2.DASHBOARD_METRIC_UNSPECIFIED]
            ),
            metadata=books.admin,
            timeout=10,
        )
    )
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT and bad.fields == ["metrics[0]"]


def test_feed_checkpoint_is_internal(books: Books, household: dict[str, str]) -> None:
    checkpoint = books.checkpoint()
    assert checkpoint.consumer == "analytics-summaries"
    assert checkpoint.last_sequence >= int(household["sequence"]) and checkpoint.applied_count > 0
    denied = failure(
        lambda: books.analytics.GetFeedCheckpoint(
            analytics_pb2.GetFeedCheckpointRequest(), metadata=books.customer(household["alice"]), timeout=10
        )
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    missing = failure(
        lambda: books.analytics.GetFeedCheckpoint(
            analytics_pb2.GetFeedCheckpointRequest(consumer="nope"), metadata=books.admin, timeout=10
        )
    )
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "CONSUMER_NOT_FOUND")
