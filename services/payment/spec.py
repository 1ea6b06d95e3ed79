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
* Limits: see ``services/payment/domain/limits.py``.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence

import grpc
from nexafi.payment.v1 import payment_pb2, payment_pb2_grpc

from services.payment.clients import Clients
from services.payment.connectors.base import Connector
from services.payment.connectors.sandbox import SandboxConnector
from services.payment.domain.limits import Limits
from services.payment.service import Config, PaymentService
from services.payment.servicer import PaymentServicer
from services.runtime.config import ConfigError, env_int, env_str
from services.runtime.idempotency import IdempotencyStore
from services.runtime.jobs import PeriodicJob
from services.runtime.server import ServiceContext, ServiceSpec
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.payment")

SERVICE_NAME = payment_pb2.DESCRIPTOR.services_by_name["PaymentService"].full_name
CALLBACK_METHOD = f"/{SERVICE_NAME}/HandleConnectorCallback"
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
    policy = (env_str("PAYMENT_FRAUD_UNAVAILABLE_POLICY", "review") or "review").lower()
    if policy not in ("review", "fail"):
        raise ConfigError("PAYMENT_FRAUD_UNAVAILABLE_POLICY must be review or fail")
    key = _secret("PAYMENT_FINGERPRINT_KEY", DEV_FINGERPRINT_KEY, 32)
    return Config(
        fingerprint_key=hashlib.sha256(key.encode()).digest(),
        fraud_unavailable_policy=policy,
        stale_after_seconds=env_int("PAYMENT_STALE_AFTER_SECONDS", 300, minimum=1),
        # How long a crashed driver's lease (and its request's idempotency lock) keeps others out.
        lease_seconds=env_int("PAYMENT_LEASE_SECONDS", 60, minimum=1, maximum=3600),
        processing_max_age_seconds=env_int("PAYMENT_PROCESSING_MAX_AGE_SECONDS", 86400, minimum=1),
    )


def _recover(service: PaymentService) -> None:
    """Settles stale payments and purges expired idempotency keys."""
    done = service.recover(service.config.stale_after_seconds, 100, dry_run=False)
    changed = [r for r in done if r.action != "UNCHANGED"]
    if changed:
        log.info("recovery settled %d stale payments", len(changed))
    service.idempotency.purge_expired()


def build_connectors(service_ref: list[PaymentService]) -> dict[str, Connector]:
    """The sandbox PSP, delivering its callbacks into (and timed by the clock of) ``service_ref[0]``."""
    delay = float(env_int("PAYMENT_SANDBOX_CALLBACK_DELAY_SECONDS", 2, maximum=3600))

    def deliver(connector: str, body: bytes, signature: str) -> object:
        # The sandbox "POSTs" its webhook into the same verification path a real PSP's would take.
        return service_ref[0].handle_callback(connector, body, signature)

    sandbox = SandboxConnector(
        _secret("PAYMENT_SANDBOX_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET, 16),
        callback_delay_seconds=delay,
        deliver=deliver,
        clock=lambda: service_ref[0].clock(),
    )
    return {sandbox.name: sandbox}


ConnectorFactory = Callable[[list[PaymentService]], dict[str, Connector]]


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    return register_with(server, context, build_connectors)


def register_with(
    server: grpc.Server, context: ServiceContext, make_connectors: ConnectorFactory
) -> Sequence[str]:
    """``register`` with another set of connectors (a real PSP's, or a test's fault-injecting one).

    ``make_connectors`` gets a one-element list that holds the service once it is built (for
    connectors that deliver callbacks into it)."""
    assert context.engine is not None
    config = load_config()
    clients = Clients.from_env(float(env_int("PAYMENT_AI_TIMEOUT_SECONDS", 2, minimum=1, maximum=60)))
    idempotency = IdempotencyStore(
        context.engine,
        retention_hours=env_int("PAYMENT_IDEMPOTENCY_RETENTION_HOURS", 24, minimum=24),
        lock_seconds=config.lease_seconds,
    )
    holder: list[PaymentService] = []
    connectors = make_connectors(holder)
    service = PaymentService(
        context.engine, clients, connectors, Limits.from_env(), config, idempotency, clock=context.clock
    )
    holder.append(service)
    payment_pb2_grpc.add_PaymentServiceServicer_to_server(PaymentServicer(service), server)
    interval = float(env_int("PAYMENT_RECOVERY_INTERVAL_SECONDS", 30, maximum=86400))
    job = PeriodicJob("payment-recovery", interval, lambda: _recover(service), log).start()
    context.on_shutdown.append(job.stop)
    for connector in connectors.values():
        close = getattr(connector, "close", None)
        if close is not None:
            context.on_shutdown.append(close)
    context.on_shutdown.append(clients.close)
    log.debug("payment service registered (pid %d)", os.getpid())
    return [SERVICE_NAME]


# The callback is public for the transport (gateways have no JWT); the HMAC signature authenticates it.
# No service calls payment: recovery runs inside it, and staff use their own tokens. An empty
# table refuses every service identity (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers({})

SPEC = ServiceSpec(name="payment", register=register, public_methods=frozenset({CALLBACK_METHOD}),
                   service_callers=SERVICE_CALLERS)
