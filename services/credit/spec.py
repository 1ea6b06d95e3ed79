"""How the runtime builds the credit server.

Settings (environment): ``CREDIT_CLIENT_SECRET`` (or ``NEXAFI_CLIENT_SECRET``), the
service's secret for ``IssueServiceToken``; ``CREDIT_AI_TIMEOUT_SECONDS`` (default 2),
the deadline of a scoring call, after which an application is referred to review;
``USER_ADDR``, ``LEDGER_ADDR``, ``AI_ADDR``.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from nexafi.credit.v1 import credit_pb2, credit_pb2_grpc

from services.credit.clients import Clients
from services.credit.service import CreditService
from services.credit.servicer import CreditServicer
from services.runtime.config import env_int
from services.runtime.server import ServiceContext, ServiceSpec

SERVICE_NAME = credit_pb2.DESCRIPTOR.services_by_name["CreditService"].full_name


def register(server: grpc.Server, context: ServiceContext) -> Sequence[str]:
    assert context.engine is not None
    clients = Clients.from_env(float(env_int("CREDIT_AI_TIMEOUT_SECONDS", 2, minimum=1, maximum=60)))
    credit_pb2_grpc.add_CreditServiceServicer_to_server(
        CreditServicer(CreditService(context.engine, clients)), server
    )
    context.on_shutdown.append(clients.close)
    return [SERVICE_NAME]


SPEC = ServiceSpec(name="credit", register=register)
