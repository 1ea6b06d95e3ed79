"""How the runtime builds the credit server.

Settings (environment): ``CREDIT_CLIENT_SECRET`` (or ``NEXAFI_CLIENT_SECRET``), the
service's secret for ``IssueServiceToken``; ``CREDIT_AI_TIMEOUT_SECONDS`` (default 2),
the deadline of a scoring call, after which an application is referred to review;
``USER_ADDR``, ``LEDGER_ADDR``, ``AI_ADDR``; ``CREDIT_RECOVERY_INTERVAL_SECONDS`` (default 30,
0 disables the job) and ``CREDIT_STALE_AFTER_SECONDS`` (default 60): how often the recovery
job runs and how old a disbursement or repayment intent must be before it completes it;
``CREDIT_BUREAU`` (default ``sandbox``, the only bureau connector so far): which credit bureau
applications are checked with; ``CREDIT_LINE_ACCRUAL_INTERVAL_SECONDS`` (default 3600, 0 disables
it): how often credit lines are settled (daily interest, statements; services/credit/lines);
``CREDIT_IDEMPOTENCY_LOCK_SECONDS`` (default 60): how long a request holds its key (a duplicate
meanwhile is ABORTED; after a crash, a retry past it resumes). They are read here once, into
CreditSettings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import grpc
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc
from sqlalchemy.engine import Engine

from services.credit.bureau.base import Bureau
from services.credit.bureau.sandbox import SandboxBureau
from services.credit.clients import Clients
from services.credit.lines.service import CreditLineService
from services.credit.lines.settlement import accrual_job
from services.credit.recovery import CreditRecovery
from services.credit.service import CreditService
from services.credit.servicer import CreditServicer
from services.credit.settings import CreditSettings
from services.runtime.clock import Clock, system_clock
from services.runtime.config import env_int, env_str
from services.runtime.fingerprints import derived_fingerprint_key
from services.runtime.idempotency import IdempotencyStore
from services.runtime.jobs import PeriodicJob
from services.runtime.server import ServiceContext, ServiceSpec, page_token_key
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.credit")

SERVICE_NAME = credit_pb2.DESCRIPTOR.services_by_name["CreditService"].full_name


def _recover(recovery: CreditRecovery, stale_after_seconds: int) -> None:
    """Completes disbursements and repayments left in doubt (see CreditRecovery); purges expired keys."""
    recovery.service.idempotency.purge_expired()
    done = recovery.run(stale_after_seconds=stale_after_seconds)
    if done.disbursements_completed or done.disbursements_dropped or done.repayments_resolved:
        log.info("credit recovery: %s", done)


def build_bureau(name: str) -> Bureau:
    """The bureau connector named ``name``; a real bureau registers here beside the sandbox."""
    bureaus: dict[str, type[SandboxBureau]] = {"sandbox": SandboxBureau}
    if name not in bureaus:
        raise ValueError(
            f"CREDIT_BUREAU={name!r}: unknown credit bureau (known: {', '.join(sorted(bureaus))})"
        )
    return bureaus[name]()


def settings_from_env() -> CreditSettings:
    """The credit settings from the environment; the one place credit reads it."""
    return CreditSettings(
        ai_timeout_seconds=float(env_int("CREDIT_AI_TIMEOUT_SECONDS", 2, minimum=1, maximum=60)),
        bureau=env_str("CREDIT_BUREAU", "sandbox") or "sandbox",
        recovery_interval_seconds=float(env_int("CREDIT_RECOVERY_INTERVAL_SECONDS", 30, maximum=86400)),
        stale_after_seconds=env_int("CREDIT_STALE_AFTER_SECONDS", 60, minimum=1),
        idempotency_lock_seconds=env_int("CREDIT_IDEMPOTENCY_LOCK_SECONDS", 60, minimum=1, maximum=3600),
        line_accrual_interval_seconds=float(
            env_int("CREDIT_LINE_ACCRUAL_INTERVAL_SECONDS", 3600, maximum=86400)
        ),
    )


def build_service(engine: Engine, settings: CreditSettings, *, clock: Clock = system_clock) -> CreditService:
    """The credit use cases with their clients (closed by ``service.clients.close()``)."""
    bureau = build_bureau(settings.bureau)
    clients = Clients.connect(ai_timeout_seconds=settings.ai_timeout_seconds)
    idempotency = IdempotencyStore(engine, lock_seconds=settings.idempotency_lock_seconds)
    return CreditService(engine, clients, bureau, idempotency, clock=clock)


def register(
    server: grpc.Server,
    context: ServiceContext,
    read_settings: Callable[[], CreditSettings] = settings_from_env,
) -> Sequence[str]:
    assert context.engine is not None
    settings = read_settings()
    service = build_service(context.engine, settings, clock=context.clock)
    fingerprint_key = derived_fingerprint_key(page_token_key(context.settings))
    credit_pb2_grpc.add_CreditServiceServicer_to_server(CreditServicer(service, fingerprint_key), server)
    recovery = CreditRecovery(service)
    stale_after = settings.stale_after_seconds
    job = PeriodicJob(
        "credit-recovery", settings.recovery_interval_seconds, lambda: _recover(recovery, stale_after), log
    ).start()
    context.on_shutdown.append(job.stop)
    accrual = accrual_job(CreditLineService.of(service), settings.line_accrual_interval_seconds, log)
    context.on_shutdown.append(accrual.start().stop)
    context.on_shutdown.append(service.clients.close)
    return [SERVICE_NAME]


# Who calls credit, and for what (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers(
    {
        # The loan book of the credit_portfolio report.
        "analytics": {"ListLoanApplications"},
    }
)


def spec_with(settings: CreditSettings) -> ServiceSpec:
    """The credit server with these settings instead of the environment's (tests)."""
    return ServiceSpec(
        name="credit",
        register=lambda server, context: register(server, context, lambda: settings),
        service_callers=SERVICE_CALLERS,
    )


SPEC = ServiceSpec(name="credit", register=register, service_callers=SERVICE_CALLERS)
