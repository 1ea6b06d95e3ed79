"""Through Envoy, a PostgreSQL outage is a 503 with retry advice (never a 500); reads ride out
a short restart on Envoy's retries, and writes retried with their Idempotency-Key happen once.

The ledger runs on this module's own embedded PostgreSQL, which the tests stop and start again;
the session's database is untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import requests
from nexafi.ledger.v1 import ledger_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres
from services.gateway.settings import RateLimit
from services.ledger.spec import SPEC
from services.runtime import migrations
from services.runtime.config import AuthSettings
from services.runtime.ids import new_id
from services.runtime.server import start_server
from tests.e2e.gateway.conftest import Gateway, assert_error, reason, start_gateway, upstream
from tests.integration.ledger.ledger_support import LedgerClient
from tests.support.harness import TokenFactory, service_settings


@dataclass
class Stack:
    pg: EmbeddedPostgres
    gateway: Gateway
    ledger: LedgerClient


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    auth_settings: AuthSettings,
    keys_dir: Path,
    tokens: TokenFactory,
) -> Iterator[Stack]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("outage-pg") / "data").start()
    server = gateway = None
    try:
        url = pg.url("nexafi_ledger")
        migrations.upgrade("ledger", url)
        server = start_server(SPEC, service_settings("ledger", url, auth_settings))
        gateway = start_gateway(
            tmp_path_factory.mktemp("outage-envoy"),
            {"ledger": upstream(server)},
            keys_dir,
            health_check_interval_seconds=1,
            health_check_no_traffic_seconds=1,
            # The readers and writers here are one customer and one admin at full speed; the
            # rate limits are tested elsewhere and must not answer 429 in the middle of this test.
            rate_limit_global=RateLimit(1_000_000),
            rate_limit_user=RateLimit(1_000_000),
        )
        with grpc.insecure_channel(server.address) as channel:
            yield Stack(pg, gateway, LedgerClient(ledger_pb2_grpc.LedgerServiceStub(channel), tokens))
    finally:
        if gateway is not None:
            gateway.envoy.stop()
        if server is not None:
            server.stop(0)
        pg.stop()


def retry_info(body: dict) -> str | None:
    for detail in body.get("details", []):
        if detail.get("@type", "").endswith("google.rpc.RetryInfo"):
            return str(detail["retry_delay"])
    return None


def test_an_outage_is_503_with_retry_advice_never_500(stack: Stack, tokens: TokenFactory):
    owner = new_id("usr")
    account = stack.ledger.wallet(owner)
    token = tokens.make(owner)
    path = f"/api/v1/ledger/accounts/{account.id}"
    assert stack.gateway.get(path, token=token).status_code == 200
    retried_before = stack.gateway.envoy.stat("cluster.ledger.upstream_rq_retry")

    stack.pg.stop()
    try:
        read = stack.gateway.get(path, token=token)
        body = assert_error(read, 503, grpc_code=grpc.StatusCode.UNAVAILABLE.value[0])
        assert reason(body) == "DATABASE_UNAVAILABLE"
        assert retry_info(body) == "1s"
        # Envoy retried the read before giving up.
        assert stack.gateway.envoy.stat("cluster.ledger.upstream_rq_retry") > retried_before
        # A write is answered the same way (and left to the client to retry with its key).
        # An admin's write: service tokens never pass the gateway (they carry the internal audience).
        admin = tokens.make("usr_outage_admin", ["admin"])
        write = stack.gateway.post(
            "/api/v1/ledger/accounts",
            token=admin,
            headers={"idempotency-key": new_id("req")},
            json={
                "owner_id": owner,
                "name": "savings",
                "currency": "USD",
                "type": "ACCOUNT_TYPE_LIABILITY",
                "balance_rule": "BALANCE_RULE_NON_NEGATIVE",
            },
        )
        assert (
            reason(assert_error(write, 503, grpc_code=grpc.StatusCode.UNAVAILABLE.value[0]))
            == "DATABASE_UNAVAILABLE"
        )
    finally:
        stack.pg.start()
    assert stack.gateway.get(path, token=token).status_code == 200


def test_a_restart_under_load_is_503s_never_500s_and_no_write_twice(stack: Stack, tokens: TokenFactory):
    """Readers and writers run through a 0.3 s restart of PostgreSQL. Every answer is 200 or a
    503 with its reason; a writer retries a 503 with the same Idempotency-Key until it is
    answered, and each key opens exactly one account."""
    owner = new_id("usr")
    account = stack.ledger.wallet(owner)
    # The writer is an admin: service tokens never pass the gateway (they carry the internal audience).
    customer, service = tokens.make(owner), tokens.make("usr_outage_admin", ["admin"])
    path = f"/api/v1/ledger/accounts/{account.id}"
    reads: list[requests.Response] = []
    writes: list[requests.Response] = []
    keys: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            reads.append(stack.gateway.get(path, token=customer))

    def writer() -> None:
        while not done.is_set():
            key = new_id("req")
            keys.append(key)
            body = {
                "owner_id": owner,
                "name": key,
                "currency": "USD",
                "type": "ACCOUNT_TYPE_LIABILITY",
                "balance_rule": "BALANCE_RULE_NON_NEGATIVE",
            }
            for _ in range(100):
                reply = stack.gateway.post(
                    "/api/v1/ledger/accounts", token=service, headers={"idempotency-key": key}, json=body
                )
                writes.append(reply)
                if reply.status_code != 503:
                    break
                time.sleep(0.1)

    threads = [threading.Thread(target=reader) for _ in range(2)] + [
        threading.Thread(target=writer) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        stack.pg.stop()
        time.sleep(0.3)
        stack.pg.start()
        time.sleep(0.7)
    finally:
        done.set()
        for thread in threads:
            thread.join(60)
        if stack.pg.process is None:
            stack.pg.start()
    for reply in [*reads, *writes]:
        assert reply.status_code in (200, 503), reply.text
        if reply.status_code == 503:
            assert reason(assert_error(reply, 503, grpc_code=14)) == "DATABASE_UNAVAILABLE"
    assert writes and writes[-1].status_code == 200 and reads[-1].status_code == 200
    names, page = [], ""
    while True:
        query = f"owner_id={owner}&page_size=100&page_token={page}"
        listed = stack.gateway.get(f"/api/v1/ledger/accounts?{query}", token=customer).json()
        names += [a["name"] for a in listed["accounts"] if a["name"] != "wallet"]
        page = listed["next_page_token"]
        if not page:
            break
    assert sorted(names) == sorted(keys), "every key opened one account, none twice"
    read_codes, write_codes = [r.status_code for r in reads], [w.status_code for w in writes]
    print(
        f"during a 0.3 s restart: reads {read_codes.count(200)} x 200, {read_codes.count(503)} x 503; "
        f"writes {write_codes.count(200)} x 200, {write_codes.count(503)} x 503"
    )
