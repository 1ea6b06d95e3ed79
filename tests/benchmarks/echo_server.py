"""A bare grpcio echo server, the floor of a gRPC call here.

Run: ``python -m tests.benchmarks.echo_server PORT``.

No interceptors, no protobuf (bytes in, the same bytes out), the same thread-pool server
our services use, in its own process, so the deployed benchmark compares like with like.

It also answers ``LedgerService/GetAccount`` with one fixed account of the real reply's
shape (no interceptor, no database) and the health service: the trivial upstream that Envoy,
configured exactly as in front of the real ledger (same filters, same route), is measured
against, so Envoy's own cost is known apart from the ledger's.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from nexafi.common.v1 import common_pb2
from nexafi.ledger.v1 import ledger_pb2

METHOD = "/bench.Echo/Echo"


def _echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
    return request


def _money(amount_minor: int) -> common_pb2.Money:
    return common_pb2.Money(amount_minor=amount_minor, currency="USD")


# The shape and size of the ledger's real reply (an account with its balance), so Envoy
# transcodes the same JSON in front of both upstreams.
ACCOUNT = ledger_pb2.GetAccountResponse(
    account=ledger_pb2.Account(
        id="acc_01JEXAMPLE0000000000000000",
        owner_id="usr_01JEXAMPLE0000000000000000",
        name="bench",
        type=ledger_pb2.ACCOUNT_TYPE_LIABILITY,
        currency="USD",
        balance_rule=ledger_pb2.BALANCE_RULE_NON_NEGATIVE,
        create_time=Timestamp(seconds=1_796_000_000, nanos=123_456_000),
        balance=ledger_pb2.Balance(
            posted=_money(1_000_000_000_000),
            pending_debits=_money(0),
            pending_credits=_money(0),
            available=_money(1_000_000_000_000),
            as_of_time=Timestamp(seconds=1_796_000_000, nanos=654_321_000),
        ),
    )
)


def _get_account(
    _request: ledger_pb2.GetAccountRequest, _context: grpc.ServicerContext
) -> ledger_pb2.GetAccountResponse:
    return ACCOUNT


def main() -> int:
    port = int(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
    )
    ledger = grpc.method_handlers_generic_handler(
        "nexafi.ledger.v1.LedgerService",
        {
            "GetAccount": grpc.unary_unary_rpc_method_handler(
                _get_account,
                request_deserializer=ledger_pb2.GetAccountRequest.FromString,
                response_serializer=ledger_pb2.GetAccountResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler, ledger))
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("nexafi.ledger.v1.LedgerService", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
