"""How the runtime builds the AI service: the registry (registered from disk, active versions loaded),
the servicer, and the poller that picks up activations made through other replicas.

Environment:

- ``AI_MODELS_DIR``: an extra folder of ``<model>/<version>/`` versions registered at start besides
  the built-in ``services/ai/models``; its versions are candidates until activated.
- ``AI_REGISTRY_POLL_SECONDS``: how often a replica re-reads the active versions (default 5).
- ``ANALYTICS_ADDR``, ``USER_ADDR``, ``AI_CLIENT_SECRET``: how PredictTrend reaches analytics for
  balance and income series, with the AI service's own token. Read on first use, not at start:
  the service starts and serves everything else without them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc
from nexafi.ai.v1 import ai_pb2, ai_pb2_grpc

from services.ai.clients import AnalyticsHistory
from services.ai.registry import ModelRegistry, default_roots
from services.ai.service import AiService
from services.ai.servicer import AiServicer
from services.runtime.config import env_int, env_str
from services.runtime.jobs import PeriodicJob
from services.runtime.server import ServiceContext, ServiceSpec
from services.runtime.service_access import service_callers

log = logging.getLogger("nexafi.ai")

#: How often expired idempotency keys (kept at least 24 hours) are deleted.
IDEMPOTENCY_PURGE_SECONDS = 3_600.0

SERVICE_NAME = ai_pb2.DESCRIPTOR.services_by_name["AiService"].full_name


def build_service(context: ServiceContext) -> AiService:
    assert context.engine is not None
    registry = ModelRegistry(context.engine, default_roots(env_str("AI_MODELS_DIR")))
    registry.register_from_disk()
    registry.start_polling(float(env_int("AI_REGISTRY_POLL_SECONDS", 5, minimum=1, maximum=3600)))
    context.on_shutdown.append(registry.stop)
    history = AnalyticsHistory("ai")
    context.on_shutdown.append(history.close)
    service = AiService(context.engine, registry, clock=context.clock, history=history)
    purge = PeriodicJob("ai-idempotency-purge", IDEMPOTENCY_PURGE_SECONDS,
                        lambda: _purge(service), log).start()
    context.on_shutdown.append(purge.stop)
    return service


def _purge(service: AiService) -> None:
    service.idempotency.purge_expired()


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    ai_pb2_grpc.add_AiServiceServicer_to_server(AiServicer(build_service(context)), server)
    return [SERVICE_NAME]


# Who calls the AI service, and for what (least privilege; services.runtime.service_access).
SERVICE_CALLERS = service_callers({
    "payment": {"CheckFraud"},
    "credit": {"ScoreCredit"},
})

SPEC = ServiceSpec(name="ai", register=register, public_methods=frozenset(), service_callers=SERVICE_CALLERS)
