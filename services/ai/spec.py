"""How the runtime builds the AI service: the registry (registered from disk, active versions loaded),
the servicer, and the poller that picks up activations made through other replicas.

Settings (``AiSettings``, read once at start by ``AiSettings.from_env``; nothing else in the
service reads the environment), from the environment:

- ``AI_MODELS_DIR``: an extra folder of ``<model>/<version>/`` versions registered at start besides
  the built-in ``services/ai/models``; its versions are candidates until activated.
- ``AI_REGISTRY_POLL_SECONDS``: how often a replica re-reads the active versions (default 5).
- ``ANALYTICS_ADDR``, ``USER_ADDR``, ``AI_CLIENT_SECRET``: how PredictTrend reaches analytics for
  balance and income series, with the AI service's own token. Read on first use, not at start:
  the service starts and serves everything else without them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc

from services.ai.clients import AnalyticsHistory
from services.ai.registry import ModelRegistry, default_roots
from services.ai.service import AiService
from services.ai.servicer import AiServicer
from services.runtime.clients import ServiceTokenProvider
from services.runtime.config import env_int, env_str, service_addr
from services.runtime.fingerprints import derived_fingerprint_key
from services.runtime.jobs import PeriodicJob
from services.runtime.server import ServiceContext, ServiceSpec, page_token_key
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.ai")

#: How often expired idempotency keys (kept at least 24 hours) are deleted.
IDEMPOTENCY_PURGE_SECONDS = 3_600.0

SERVICE_NAME = ai_pb2.DESCRIPTOR.services_by_name["AiService"].full_name


@dataclass(frozen=True)
class AiSettings:
    """The AI service's own settings, read once at start (``from_env``) or built by a test."""

    #: an extra folder of ``<model>/<version>/`` versions registered besides the built-in ones
    models_dir: Path | None = None
    #: how often a replica re-reads the active versions
    registry_poll_seconds: float = 5.0
    #: (analytics, user service) addresses as configured now: asked on every PredictTrend history
    #: read, so a process that learns them late (a dev stack starting in any order) still finds them
    history_addresses: Callable[[], tuple[str, str]] = field(
        default=lambda: (service_addr("analytics"), service_addr("user"))
    )
    #: the AI service's identity towards analytics (``AI_CLIENT_SECRET``), made on first use
    history_tokens: Callable[[], ServiceTokenProvider] = field(
        default=lambda: ServiceTokenProvider.from_env("ai")
    )

    @classmethod
    def from_env(cls) -> AiSettings:
        models_dir = env_str("AI_MODELS_DIR")
        return cls(
            models_dir=Path(models_dir) if models_dir else None,
            registry_poll_seconds=float(env_int("AI_REGISTRY_POLL_SECONDS", 5, minimum=1, maximum=3600)),
        )


def build_service(context: ServiceContext, settings: AiSettings) -> AiService:
    assert context.engine is not None
    registry = ModelRegistry(
        context.engine, default_roots(str(settings.models_dir) if settings.models_dir else None)
    )
    registry.register_from_disk()
    registry.start_polling(settings.registry_poll_seconds)
    context.on_shutdown.append(registry.stop)
    history = AnalyticsHistory(settings.history_addresses, settings.history_tokens)
    context.on_shutdown.append(history.close)
    service = AiService(context.engine, registry, clock=context.clock, history=history)
    purge = PeriodicJob(
        "ai-idempotency-purge", IDEMPOTENCY_PURGE_SECONDS, lambda: _purge(service), log
    ).start()
    context.on_shutdown.append(purge.stop)
    return service


def _purge(service: AiService) -> None:
    service.idempotency.purge_expired()


def register_with(server: grpc.Server, context: ServiceContext, settings: AiSettings) -> Sequence[str]:
    servicer = AiServicer(
        build_service(context, settings), derived_fingerprint_key(page_token_key(context.settings))
    )
    ai_pb2_grpc.add_AiServiceServicer_to_server(servicer, server)
    return [SERVICE_NAME]


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    return register_with(server, context, AiSettings.from_env())


# Who calls the AI service, and for what (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers(
    {
        "payment": {"CheckFraud"},
        "credit": {"ScoreCredit"},
    }
)

SPEC = ServiceSpec(name="ai", register=register, public_methods=frozenset(), service_callers=SERVICE_CALLERS)


def spec_with(settings: AiSettings) -> ServiceSpec:
    """The AI service built with ``settings`` instead of the environment's (tests, embedding)."""
    return replace(SPEC, register=lambda server, context: register_with(server, context, settings))
