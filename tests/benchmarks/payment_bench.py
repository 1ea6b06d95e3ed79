"""Payment initiation: payments per second with p50 and p99, through gRPC and through Envoy.

Run with ``python -m tests.benchmarks.payment_bench`` (or ``python -m tests.benchmarks``).
It starts an embedded PostgreSQL, the real user, ledger, AI and payment servers on port 0
(wired as in the dev stack: the payment service calls the others with its service token)
and the real Envoy in front of the payment service, then times InitiatePayment (card
top-ups of 10.00 to 49.99 EUR by a few hundred customers, through the sandbox connector), both ways:

- direct: the generated gRPC stub;
- REST: POST /api/v1/payments/initiate with JSON over keep-alive HTTP/1.1 through Envoy.

An initiation is the whole synchronous flow: idempotency key, validation, limits, the AI
fraud check, the two-phase ledger reservation, and (when the model approves) the sandbox
charge and the ledger post; a payment the model holds for review returns after the
reservation. The outcome mix is printed, since it changes what an initiation costs.

Each mode runs sequentially (latency) and with CONCURRENCY clients (each with its own
customers: limits are serialized per user), for at most SECONDS_PER_RUN seconds or CALLS calls.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from nexafi.common.v1 import common_pb2
from nexafi.payment.v1 import payment_pb2, payment_pb2_grpc

from services.ai.spec import SPEC as AI
from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.envoy_process import Envoy, free_port
from services.gateway.envoy_config import write
from services.gateway.settings import GatewaySettings, RateLimit
from services.ledger.spec import SPEC as LEDGER
from services.payment.spec import SPEC as PAYMENT
from services.runtime.ids import new_id
from services.runtime.keys import Keyring
from services.user.spec import SPEC as USER
from tests.benchmarks.gateway_bench import percentiles
from tests.support.harness import ServiceRunner, TokenFactory, auth_settings_for, configure_test_environment

WARMUP = 20
CALLS = 400  # per run, at most
SECONDS_PER_RUN = 8.0
CONCURRENCY = 8
CUSTOMERS = 400  # each pays a few times in the whole run
CARD = "4242424242424242"


def outcome(status: str, failure_code: str) -> str:
    name = status.removeprefix("PAYMENT_STATUS_")
    return f"{name} ({failure_code})" if failure_code else name


class Account:
    """A benchmark customer: a user id, its token and a card."""

    def __init__(self, tokens: TokenFactory, stub: payment_pb2_grpc.PaymentServiceStub) -> None:
        self.user = new_id("usr")
        self.token = tokens.make(self.user, ["customer"], ttl_seconds=3600)
        self.metadata = (("authorization", f"Bearer {self.token}"),)
        card = payment_pb2.CardInput(number=CARD, exp_month=12, exp_year=time.gmtime().tm_year + 2, cvc="123")
        self.card = stub.AddPaymentMethod(
            payment_pb2.AddPaymentMethodRequest(user_id=self.user, card=card, request_id=uuid.uuid4().hex),
            metadata=self.metadata,
            timeout=30,
        ).payment_method.id


class Client:
    """One benchmark client (a thread): a gRPC stub and a keep-alive HTTP connection, paying for
    its own customers in turn (one customer paying hundreds of times a minute is what a fraud
    model calls card testing, and declines)."""

    def __init__(self, accounts: list[Account], stub: payment_pb2_grpc.PaymentServiceStub, port: int) -> None:
        self.accounts = accounts
        self.stub = stub
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.calls = 0
        self.statuses: Counter[str] = Counter()

    def _next(self) -> tuple[Account, int]:
        self.calls += 1
        # 10.00 to 49.99 EUR: amounts of ordinary top-ups, never the same twice in a row.
        return self.accounts[self.calls % len(self.accounts)], 1000 + (self.calls * 1373) % 4000

    def direct(self) -> None:
        account, amount = self._next()
        reply = self.stub.InitiatePayment(
            payment_pb2.InitiatePaymentRequest(
                user_id=account.user,
                kind=payment_pb2.PAYMENT_KIND_TOP_UP,
                amount=common_pb2.Money(amount_minor=amount, currency="EUR"),
                payment_method_id=account.card,
                request_id=uuid.uuid4().hex,
            ),
            metadata=account.metadata,
            timeout=30,
        )
        self.statuses[
            outcome(payment_pb2.PaymentStatus.Name(reply.payment.status), reply.payment.failure.code)
        ] += 1

    def rest(self) -> None:
        account, amount = self._next()
        body = json.dumps(
            {
                "user_id": account.user,
                "kind": "PAYMENT_KIND_TOP_UP",
                "amount": {"amount_minor": str(amount), "currency": "EUR"},
                "payment_method_id": account.card,
            }
        )
        headers = {
            "authorization": f"Bearer {account.token}",
            "content-type": "application/json",
            "idempotency-key": uuid.uuid4().hex,
        }
        self.connection.request("POST", "/api/v1/payments/initiate", body=body, headers=headers)
        reply = self.connection.getresponse()
        data = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"REST initiation failed: {reply.status} {data[:300]!r}")
        payment = json.loads(data)["payment"]
        self.statuses[outcome(payment["status"], payment.get("failure", {}).get("code", ""))] += 1


def run(clients: list[Client], pick: Callable[[Client], Callable[[], None]]) -> tuple[list[float], float]:
    """Each client calls until CALLS calls are made in all or SECONDS_PER_RUN pass; (latencies, wall)."""
    samples: list[float] = []
    lock = threading.Lock()
    remaining = [CALLS]
    deadline = time.monotonic() + SECONDS_PER_RUN
    errors: list[BaseException] = []

    def worker(client: Client) -> None:
        call = pick(client)
        while time.monotonic() < deadline:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                call()
            except BaseException as exc:  # reported after the run
                errors.append(exc)
                return
            elapsed = time.perf_counter() - started
            with lock:
                samples.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, the first: {errors[0]!r}")
    return samples, wall


def report(label: str, samples: list[float], wall: float) -> None:
    p = percentiles(samples)
    rate = len(samples) / wall
    print(f"  {label:<34}{len(samples):>7}{rate:>10.1f}{p['p50']:>9.2f}{p['p99']:>9.2f}{p['mean']:>9.2f}")


def main() -> int:
    configure_test_environment()
    os.environ.update(
        {
            "NEXAFI_PG_FAST": os.environ.get("NEXAFI_PG_FAST", "0"),
            "PAYMENT_RECOVERY_INTERVAL_SECONDS": "0",
            "PAYMENT_SANDBOX_CALLBACK_DELAY_SECONDS": "0",
            "PAYMENT_FINGERPRINT_KEY": "bench-fingerprint-key-0123456789abcdef",
            "PAYMENT_SANDBOX_WEBHOOK_SECRET": "whsec_bench_0123456789abcdef",
            # Enough head-room for every benchmark payment of a user in one day.
            "PAYMENT_DAILY_LIMIT_MINOR": str(10**12),
        }
    )
    with tempfile.TemporaryDirectory(prefix="payment-bench-") as tmp_name:
        tmp = Path(tmp_name)
        keys = tmp / "keys"
        Keyring(keys).ensure()
        pg = EmbeddedPostgres(tmp / "pg").start()
        runner = ServiceRunner(pg, auth_settings_for(keys))
        envoy: Envoy | None = None
        channel: grpc.Channel | None = None
        try:
            for spec in (USER, LEDGER, AI):
                runner.start(spec)
            payment = runner.start(PAYMENT)
            port, admin = free_port(), free_port()
            settings = GatewaySettings(
                listen_port=port,
                admin_port=admin,
                upstreams={"payment": f"127.0.0.1:{payment.port}"},
                listen_address="127.0.0.1",
                jwks_source=str(keys / "jwks.json"),
                rate_limit_global=RateLimit(1_000_000),
                rate_limit_user=RateLimit(1_000_000),
            )
            envoy = Envoy(write(settings, tmp / "envoy.json"), admin, stdout=(tmp / "access.log").open("w"))
            if not envoy.wait_ready():
                print("Envoy did not start", file=sys.stderr)
                return 1
            channel = grpc.insecure_channel(payment.address)
            stub = payment_pb2_grpc.PaymentServiceStub(channel)
            tokens = TokenFactory(Keyring(keys))
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                accounts = list(pool.map(lambda _: Account(tokens, stub), range(CUSTOMERS)))
            share = CUSTOMERS // CONCURRENCY
            clients = [Client(accounts[i * share : (i + 1) * share], stub, port) for i in range(CONCURRENCY)]
            for _ in range(WARMUP):
                clients[0].direct()
                clients[0].rest()
            for client in clients:
                client.statuses.clear()

            limits = f"at most {CALLS} calls or {SECONDS_PER_RUN:.0f} s per run"
            print(f"InitiatePayment (card top-ups of 10.00-49.99 EUR by {CUSTOMERS} customers), {limits}")
            print(f"  {'':<34}{'calls':>7}{'pay/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
            report("gRPC, 1 client", *run(clients[:1], lambda c: c.direct))
            report("REST via Envoy, 1 client", *run(clients[:1], lambda c: c.rest))
            report(f"gRPC, {CONCURRENCY} clients", *run(clients, lambda c: c.direct))
            report(f"REST via Envoy, {CONCURRENCY} clients", *run(clients, lambda c: c.rest))
            outcomes: Counter[str] = Counter()
            for client in clients:
                outcomes.update(client.statuses)
            mix = ", ".join(
                f"{name.removeprefix('PAYMENT_STATUS_')} {count}" for name, count in outcomes.most_common()
            )
            print(f"Outcomes (the fraud model decides how far each goes): {mix}")
            for client in clients:
                client.connection.close()
            return 0
        finally:
            if channel is not None:
                channel.close()
            if envoy is not None:
                envoy.stop()
            runner.stop_all()
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
