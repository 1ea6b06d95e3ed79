"""How the runtime builds the analytics server: the ledger client, the feed consumer, the servicer.

Settings (``AnalyticsSettings``, read once at start by ``AnalyticsSettings.from_env``; nothing else in
the service reads the environment), from the environment:

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import grpc
from nexafi.analytics.v1 import analytics_pb2, analytics_pb2_grpc

from services.analytics.clients import CreditClient, LedgerClient
from services.analytics.consumer import FeedConsumer
from services.analytics.service import AnalyticsService
from services.analytics.servicer import AnalyticsServicer
from services.runtime.clients import ServiceTokenProvider, grpc_service, service_channel
from services.runtime.config import ConfigError, env_int, env_str
from services.runtime.fingerprints import derived_fingerprint_key
from services.runtime.jobs import PeriodicJob
from services.runtime.money import CURRENCY_EXPONENTS
from services.runtime.server import ServiceContext, ServiceSpec, page_token_key
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.analytics")

#: How often expired idempotency keys (kept at least 24 hours) are deleted.
IDEMPOTENCY_PURGE_SECONDS = 3_600.0

SERVICE_NAME = analytics_pb2.DESCRIPTOR.services_by_name["AnalyticsService"].full_name


@dataclass(frozen=True)
class AnalyticsSettings:
    """The analytics service's own settings, read once at start (``from_env``) or built by a test."""

    #: the reporting currency of users without entries or ledger accounts
    default_currency: str = "USD"
    #: False serves the API without consuming the ledger feed (a read replica beside the consumer)
    feed_enabled: bool = True
    feed_max_backoff_seconds: float = 10.0
    #: the service identity towards the ledger and the credit service (``ANALYTICS_CLIENT_SECRET``)
    tokens: Callable[[], ServiceTokenProvider] = field(
        default=lambda: ServiceTokenProvider.from_env("analytics")
    )

    def __post_init__(self) -> None:
        if self.default_currency not in CURRENCY_EXPONENTS:
            raise ConfigError(
                f"ANALYTICS_DEFAULT_CURRENCY must be a supported ISO 4217 code, got {self.default_currency!r}"
            )

    @classmethod
    def from_env(cls) -> AnalyticsSettings:
        return cls(
            default_currency=env_str("ANALYTICS_DEFAULT_CURRENCY", "USD") or "USD",
            feed_enabled=bool(env_int("ANALYTICS_FEED_ENABLED", 1, maximum=1)),
            feed_max_backoff_seconds=float(
                env_int("ANALYTICS_FEED_MAX_BACKOFF_SECONDS", 10, minimum=1, maximum=300)
            ),
        )


def ledger_client(provider: ServiceTokenProvider) -> LedgerClient:
    """A ledger client with analytics' identity; each (re)connection dials ``LEDGER_ADDR`` as set then."""
    return LedgerClient.connecting(lambda: service_channel("ledger", grpc_service("ledger"), provider.token))


def credit_client(provider: ServiceTokenProvider) -> CreditClient:
    return CreditClient(service_channel("credit", grpc_service("credit"), provider.token))


def register_with(server: grpc.Server, context: ServiceContext, settings: AnalyticsSettings) -> Sequence[str]:
    assert context.engine is not None
    provider = settings.tokens()
    # Two channels: the consumer rebuilds its own after an outage without disturbing API calls.
    ledger = ledger_client(provider)
    service = AnalyticsService(
        context.engine,
        ledger,
        settings.default_currency,
        credit=lambda: credit_client(provider),
        clock=context.clock,
    )
    servicer = AnalyticsServicer(service, derived_fingerprint_key(page_token_key(context.settings)))
    analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server(servicer, server)
    if settings.feed_enabled:
        feed = ledger_client(provider)
        consumer = FeedConsumer(context.engine, feed, max_backoff_seconds=settings.feed_max_backoff_seconds)
        consumer.start()
        # Stop the stream before the channel closes, so the consumer ends on CANCELLED, not on an error.
        context.on_shutdown.append(consumer.stop)
        context.on_shutdown.append(feed.close)
    context.on_shutdown.append(ledger.close)
    purge = PeriodicJob(
        "analytics-idempotency-purge", IDEMPOTENCY_PURGE_SECONDS, lambda: _purge(service), log
    ).start()
    context.on_shutdown.append(purge.stop)
    return [SERVICE_NAME]


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    return register_with(server, context, AnalyticsSettings.from_env())


def _purge(service: AnalyticsService) -> None:
    service.idempotency.purge_expired()


# Who calls analytics, and for what (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers(
    {
        # PredictTrend's balance and income series; recommendations from the booked spending per category.
        "ai": {"GetDashboardSeries", "GetSpendingAnalysis"},
    }
)

SPEC = ServiceSpec(name="analytics", register=register, service_callers=SERVICE_CALLERS)


def spec_with(settings: AnalyticsSettings) -> ServiceSpec:
    """The analytics service built with ``settings`` instead of the environment's (tests, embedding)."""
    return replace(SPEC, register=lambda server, context: register_with(server, context, settings))
