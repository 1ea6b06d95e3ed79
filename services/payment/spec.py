"""How the runtime builds the payment server: clients, connectors, the servicer, the recovery job.

Settings (environment):

* ``PAYMENT_FINGERPRINT_KEY`` — HMAC key of card/bank fingerprints and request
  fingerprints, at least 32 characters. Required when ``NEXAFI_ENV=production``;
  elsewhere a fixed, publicly known development key is used (with a warning), so
  development fingerprints are stable across restarts but worthless as secrets.
* ``PAYMENT_SANDBOX_WEBHOOK_SECRET`` — signs the sandbox connector's callbacks;
  same rule (development default ``whsec_sandbox_development_only``).
* ``PAYMENT_SANDBOX_CALLBACK_DELAY_SECONDS`` — the sandbox settles 3-D Secure
  charges by a signed callback after this delay; 0 turns that off (default 2).
* ``PAYMENT_FRAUD_UNAVAILABLE_POLICY`` — ``review`` (default) or ``fail``.
* ``PAYMENT_RECOVERY_INTERVAL_SECONDS`` (default 30; 0 disables the background job),
  ``PAYMENT_STALE_AFTER_SECONDS`` (300), ``PAYMENT_PROCESSING_MAX_AGE_SECONDS`` (86400),
  ``PAYMENT_IDEMPOTENCY_RETENTION_HOURS`` (24), ``PAYMENT_AI_TIMEOUT_SECONDS`` (2),
  ``PAYMENT_LEASE_SECONDS`` (60: how long a crashed driver keeps a payment and its request key).
* Limits: ``PAYMENT_CURRENCIES`` and the amounts of ``load_limits``.

``load_config`` reads them once into a :class:`Config`; ``register_with`` also takes one built
by the caller (the tests do).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence

import grpc
from nexafi.payment.v1 import payment_pb2, payment_pb2_grpc

from services.payment.access import ACCESS
from services.payment.clients import Clients
from services.payment.config import Config
from services.payment.connectors.base import Connector
from services.payment.connectors.sandbox import SandboxConnector
from services.payment.domain.limits import (
    DEFAULT_CURRENCIES,
    DEFAULT_DAILY_LIMIT_MINOR,
    DEFAULT_MAX_AMOUNT_MINOR,
    Limits,
)
from services.payment.recovery import RecoveryAction
from services.payment.service import PaymentService
from services.payment.servicer import PaymentServicer
from services.runtime.config import ConfigError, env_int, env_str
from services.runtime.idempotency import IdempotencyStore
from services.runtime.jobs import PeriodicJob
from services.runtime.money import CURRENCY_EXPONENTS, MAX_AMOUNT_MINOR
from services.runtime.server import ServiceContext, ServiceSpec
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.payment")

SERVICE_NAME = payment_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name
DEV_FINGERPRINT_KEY = "nexafi-development-fingerprint-key-not-secret"
DEV_WEBHOOK_SECRET = "whsec_sandbox_development_only"  # noqa: S105 - public dev default, documented


def _secret(name: str, dev_default: str, minimum: int) -> str:
    value = env_str(name)
    if value:
        if len(value) < minimum:
            raise ConfigError(f"{name} must be at least {minimum} characters")
        return value
    if (env_str("NEXAFI_ENV", "development") or "").lower() in ("production", "prod"):
        raise ConfigError(f"{name} is not set (required in production)")
    log.warning("%s is not set: using the public development default", name)
    return dev_default


def load_config() -> Config:
    """The service's settings from the environment, read once at start."""
    policy = (env_str("PAYMENT_FRAUD_UNAVAILABLE_POLICY", "review") or "review").lower()
    if policy not in ("review", "fail"):
        raise ConfigError("PAYMENT_FRAUD_UNAVAILABLE_POLICY must be review or fail")
    key = _secret("PAYMENT_FINGERPRINT_KEY", DEV_FINGERPRINT_KEY, 32)
    return Config(
        fingerprint_key=hashlib.sha256(key.encode()).digest(),
        sandbox_webhook_secret=_secret("PAYMENT_SANDBOX_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET, 16),
        fraud_unavailable_policy=policy,
        stale_after_seconds=env_int("PAYMENT_STALE_AFTER_SECONDS", 300, minimum=1),
        lease_seconds=env_int("PAYMENT_LEASE_SECONDS", 60, minimum=1, maximum=3600),
        processing_max_age_seconds=env_int("PAYMENT_PROCESSING_MAX_AGE_SECONDS", 86400, minimum=1),
        idempotency_retention_hours=env_int("PAYMENT_IDEMPOTENCY_RETENTION_HOURS", 24, minimum=24),
        ai_timeout_seconds=float(env_int("PAYMENT_AI_TIMEOUT_SECONDS", 2, minimum=1, maximum=60)),
        recovery_interval_seconds=float(env_int("PAYMENT_RECOVERY_INTERVAL_SECONDS", 30, maximum=86400)),
        sandbox_callback_delay_seconds=float(
            env_int("PAYMENT_SANDBOX_CALLBACK_DELAY_SECONDS", 2, maximum=3600)
        ),
        limits=load_limits(),
    )


def load_limits() -> Limits:
    """``PAYMENT_CURRENCIES`` lists the supported ISO 4217 codes (default EUR,USD,GBP).
    ``PAYMENT_MAX_AMOUNT_MINOR`` and ``PAYMENT_DAILY_LIMIT_MINOR`` are the defaults for every
    currency; ``PAYMENT_MAX_AMOUNT_MINOR_<CUR>`` and ``PAYMENT_DAILY_LIMIT_MINOR_<CUR>`` override
    them for one currency."""
    raw = env_str("PAYMENT_CURRENCIES", "") or ""
    codes = [c.strip().upper() for c in raw.split(",") if c.strip()] or list(DEFAULT_CURRENCIES)
    unknown = [c for c in codes if c not in CURRENCY_EXPONENTS]
    if unknown:
        raise ConfigError(f"PAYMENT_CURRENCIES has unsupported codes: {', '.join(unknown)}")

    def amount(name: str, default: int) -> int:
        return env_int(name, default, minimum=1, maximum=MAX_AMOUNT_MINOR)

    default_max = amount("PAYMENT_MAX_AMOUNT_MINOR", DEFAULT_MAX_AMOUNT_MINOR)
    default_daily = amount("PAYMENT_DAILY_LIMIT_MINOR", DEFAULT_DAILY_LIMIT_MINOR)
    return Limits(
        currencies=frozenset(codes),
        max_amount_minor={c: amount(f"PAYMENT_MAX_AMOUNT_MINOR_{c}", default_max) for c in codes},
        daily_limit_minor={c: amount(f"PAYMENT_DAILY_LIMIT_MINOR_{c}", default_daily) for c in codes},
    )


def _recover(service: PaymentService, idempotency: IdempotencyStore) -> None:
    """Settles stale payments and purges expired idempotency keys."""
    done = service.recovery.recover(service.config.stale_after_seconds, 100, dry_run=False)
    changed = [r for r in done if r.action is not RecoveryAction.UNCHANGED]
    if changed:
        log.info("recovery settled %d stale payments", len(changed))
    idempotency.purge_expired()


def build_connectors(service_ref: list[PaymentService], config: Config) -> dict[str, Connector]:
    """The sandbox PSP, delivering its callbacks into (and timed by the clock of) ``service_ref[0]``."""

    def deliver(connector: str, body: bytes, signature: str) -> object:
        # The sandbox "POSTs" its webhook into the same verification path a real PSP's would take.
        return service_ref[0].callbacks.handle(connector, body, signature)

    sandbox = SandboxConnector(
        config.sandbox_webhook_secret,
        callback_delay_seconds=config.sandbox_callback_delay_seconds,
        deliver=deliver,
        clock=lambda: service_ref[0].clock(),
    )
    return {sandbox.name: sandbox}


ConnectorFactory = Callable[[list[PaymentService], Config], dict[str, Connector]]


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    return register_with(server, context, build_connectors)


def register_with(
    server: grpc.Server,
    context: ServiceContext,
    make_connectors: ConnectorFactory,
    config: Config | None = None,
) -> Sequence[str]:
    """``register`` with another set of connectors (a real PSP's, or a test's fault-injecting one)
    and, when given, settings built by the caller instead of read from the environment.

    ``make_connectors`` gets a one-element list that holds the service once it is built (for
    connectors that deliver callbacks into it)."""
    assert context.engine is not None
    config = config or load_config()
    clients = Clients.from_env(config.ai_timeout_seconds)
    idempotency = IdempotencyStore(
        context.engine, retention_hours=config.idempotency_retention_hours, lock_seconds=config.lease_seconds
    )
    holder: list[PaymentService] = []
    connectors = make_connectors(holder, config)
    service = PaymentService(context.engine, clients, connectors, config, clock=context.clock)
    holder.append(service)
    payment_pb2_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(service, idempotency), server)
    job = PeriodicJob(
        "payment-recovery", config.recovery_interval_seconds, lambda: _recover(service, idempotency), log
    ).start()
    context.on_shutdown.append(job.stop)
    for connector in connectors.values():
        close = getattr(connector, "close", None)
        if close is not None:
            context.on_shutdown.append(close)
    context.on_shutdown.append(clients.close)
    log.debug("payment service registered (pid %d)", os.getpid())
    return [SERVICE_NAME]


# The callback is public for the transport (gateways have no JWT); the HMAC signature authenticates
# it (access.py, its Public rule).
# No service calls payment: recovery runs inside it, and staff use their own tokens. An empty
# table refuses every service identity (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers({})

SPEC = ServiceSpec(
    name="payment",
    register=register,
    public_methods=ACCESS.public_methods(),
    service_callers=SERVICE_CALLERS,
)
