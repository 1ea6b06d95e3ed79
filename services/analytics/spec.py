"""How the runtime builds the analytics server: the ledger client, the feed consumer, the servicer.

Settings (environment):

* ``ANALYTICS_CLIENT_SECRET`` (or ``NEXAFI_CLIENT_SECRET``): the service identity it
  calls the ledger with (issued by the user service, so ``USER_ADDR`` must reach it).
* ``LEDGER_ADDR``: where the ledger is.
* ``CREDIT_ADDR``: where the credit service is (for the credit_portfolio report only; it is
  dialled per report, so analytics starts and serves everything else without it).
* ``ANALYTICS_DEFAULT_CURRENCY``: the reporting currency for users without entries or ledger accounts (USD).
* ``ANALYTICS_FEED_ENABLED``: 0 runs the API without consuming the feed (for a
  read replica when another replica consumes); default 1.
* ``ANALYTICS_FEED_MAX_BACKOFF_SECONDS``: the cap of the reconnect backoff (default 10).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc
from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from services.analytics.clients import CreditClient, LedgerClient
from services.analytics.consumer import FeedConsumer
from services.analytics.service import AnalyticsService
from services.analytics.servicer import AnalyticsServicer
from services.runtime.clients import ServiceTokenProvider
from services.runtime.config import ConfigError, env_int, env_str
from services.runtime.jobs import PeriodicJob
from services.runtime.money import CURRENCY_EXPONENTS
from services.runtime.server import ServiceContext, ServiceSpec
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.analytics")

#: How often expired idempotency keys (kept at least 24 hours) are deleted.
IDEMPOTENCY_PURGE_SECONDS = 3_600.0

SERVICE_NAME = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    assert context.engine is not None
    currency = env_str("ANALYTICS_DEFAULT_CURRENCY", "USD") or "USD"
    if currency not in CURRENCY_EXPONENTS:
        raise ConfigError(f"ANALYTICS_DEFAULT_CURRENCY must be a supported ISO 4217 code, got {currency!r}")
    provider = ServiceTokenProvider.from_env("analytics")
    # Two channels: the consumer rebuilds its own after an outage without disturbing API calls.
    ledger = LedgerClient.from_env(provider)
    service = AnalyticsService(context.engine, ledger, currency,
                               credit=lambda: CreditClient.from_env(provider), clock=context.clock)
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(AnalyticsServicer(service), server)
    if env_int("ANALYTICS_FEED_ENABLED", 1, maximum=1):
        feed = LedgerClient.from_env(provider)
        consumer = FeedConsumer(context.engine, feed,
                                max_backoff_seconds=float(env_int("ANALYTICS_FEED_MAX_BACKOFF_SECONDS", 10,
                                                                  minimum=1, maximum=300)))
        consumer.start()
        # Stop the stream before the channel closes, so the consumer ends on CANCELLED, not on an error.
        context.on_shutdown.append(consumer.stop)
        context.on_shutdown.append(feed.close)
    context.on_shutdown.append(ledger.close)
    purge = PeriodicJob("analytics-idempotency-purge", IDEMPOTENCY_PURGE_SECONDS,
                        lambda: _purge(service), log).start()
    context.on_shutdown.append(purge.stop)
    return [SERVICE_NAME]


def _purge(service: AnalyticsService) -> None:
    service.idempotency.purge_expired()


# Who calls analytics, and for what (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers({
    # PredictTrend's balance and income series; recommendations from the booked spending per category.
    "ai": {"GetDashboardSeries", "GetSpendingAnalysis"},
})

SPEC = ServiceSpec(name="analytics", register=register, service_callers=SERVICE_CALLERS)
