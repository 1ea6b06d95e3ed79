"""Where the time goes: py-spy on the ledger's and the AI service's processes under load, and
pg_stat_statements on the database, as deployed (tests/benchmarks/deployed.py).

Run with ``python -m tests.benchmarks.profile_hot_paths OUT_DIR`` (py-spy needs ptrace rights
on the service processes: root, or ``kernel.yama.ptrace_scope=0``). For each hot path (single
ledger transfers, fraud checks: 16 clients in 4 processes; GetAccount: 1 client; card top-ups
through Envoy: 16 clients in 4 processes, after one top-up per customer) it drives the load
while ``py-spy record`` samples the service (all threads) into ``OUT_DIR/<path>.txt``
(collapsed stacks; for top-ups, the payment, ledger and AI processes each), then prints the
statements that took the most database time. Not part of ``make bench``.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa

from services.runtime.ids import new_id
from tests.benchmarks import deployed
from tests.support.harness import TokenFactory

DURATION = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*):\s*(.*)")
# Envoy's route for a card top-up (REST), as tests/benchmarks/deployed.py drives it.
TOPUP_PATH = "/api/v1/payments/initiate"


def _record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(py_spy),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "-o",
            str(out.with_suffix(".txt")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _statements(log: Path, title: str) -> None:
    """The statements of ``log`` that took the most time in total (literals folded)."""
    totals: dict[str, list[float]] = {}
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        found = DURATION.search(line)
        if found:
            # A statement that starts with a line break (a multi-line SQL constant) goes on the next line.
            text = found.group(2).strip() or (lines[i + 1].strip() if i + 1 < len(lines) else "")
            shape = re.sub(r"'[^']*'|\b\d+\b", "?", text)[:130]
            totals.setdefault(shape, []).append(float(found.group(1)))
    print(f"-- {title}: top statements by total time (PostgreSQL's own durations)")
    for shape, durations in sorted(totals.items(), key=lambda kv: -sum(kv[1]))[:12]:
        print(
            f"  {len(durations):>7} calls {sum(durations):>10.1f} ms total "
            f"{sum(durations) / len(durations):>8.3f} ms mean  {shape}"
        )


def _one_topup_each(envoy: str, customers: tuple[str, ...]) -> None:
    """One top-up per customer, so the profiled top-ups are not a customer's first (which also
    opens the customer's ledger account): the steady state, as ``deployed.commits_per_topup``."""
    host, _, port = envoy.rpartition(":")

    def topup(customer: str) -> None:
        user, token, method = customer.split("|")
        body = {
            "user_id": user,
            "kind": "PAYMENT_KIND_TOP_UP",
            "amount": {"amount_minor": "1000", "currency": "EUR"},
            "payment_method_id": method,
        }
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request(
                "POST",
                TOPUP_PATH,
                body=json.dumps(body),
                headers=headers | {"idempotency-key": new_id("req")},
            )
            reply = connection.getresponse()
            data = reply.read()
            if reply.status != 200:
                raise RuntimeError(f"top-up failed: {reply.status} {data[:300]!r}")
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(topup, customers))


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "profiles")
    out.mkdir(parents=True, exist_ok=True)
    seconds = max(5.0, deployed.SECONDS)
    with deployed.stack() as s:
        # The embedded PostgreSQL (pgserver's build) has no pg_stat_statements: every statement's
        # duration goes to its log instead (log_min_duration_statement = 0), summed up per statement.
        admin = sa.create_engine(s.pg.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text("ALTER SYSTEM SET log_min_duration_statement = 0"))
            connection.execute(sa.text("SELECT pg_reload_conf()"))
        admin.dispose()
        log = s.pg.data_dir / "server.log"
        service = TokenFactory(s.keyring).metadata("usr_bench_admin", ["admin"])  # outside any service scope
        figures, ledger, wallets = deployed.ledger_rows(s, service)
        ai = s.service("ai")
        users = tuple(new_id("usr") for _ in range(50))
        for title, kind, address, params, pid in (
            ("ledger_transfer", "transfer", ledger, wallets, s.pid(0)),
            ("fraud_check", "fraud", ai, users, s.pid(-1)),
        ):
            deployed.SECONDS = seconds
            log.write_text("")  # only this path's statements (PostgreSQL appends: O_APPEND)
            recorder: list[subprocess.Popen[bytes]] = []

            # The recorder starts once the clients are connected (they warm up for a few seconds).
            def start(p: int = pid, t: str = title, r: list[subprocess.Popen[bytes]] = recorder) -> None:
                r.append(_record(p, seconds, out / t))

            timer = threading.Timer(3.0, start)
            timer.start()
            result = deployed.drive(kind, address, service, params, 16, 4)
            timer.join()
            for proc in recorder:
                proc.wait(60)
            print(
                f"== {title}: {result.rate:.0f}/s p50 {result.p50:.2f} ms p99 {result.p99:.2f} ms "
                f"(load {result.load:.1f}); profile in {out / title}.txt"
            )
            _statements(log, title)
        deployed.SECONDS = seconds
        # GetAccount, one client: what a read costs beside the interceptor and gRPC.
        log.write_text("")
        pid = s.pid(0)
        get_recorder: list[subprocess.Popen[bytes]] = []
        timer = threading.Timer(3.0, lambda: get_recorder.append(_record(pid, seconds, out / "get_account")))
        timer.start()
        result = deployed.drive("get_account", ledger, service, (wallets[0],), 1, 1)
        timer.join()
        for proc in get_recorder:
            proc.wait(60)
        print(
            f"== get_account: {result.rate:.0f}/s p50 {result.p50:.2f} ms (load {result.load:.1f}); "
            f"profile in {out / 'get_account'}.txt"
        )
        _statements(log, "get_account")
        # Card top-ups through Envoy: the payment process and the two it calls, at once.
        with deployed.payment_gateway(s, ledger, ai) as (envoy, customers):
            _one_topup_each(envoy, customers)
            log.write_text("")
            pids = {"topup_payment": s.pid(-1), "topup_ledger": s.pid(0), "topup_ai": s.pid(1)}
            recorders: list[subprocess.Popen[bytes]] = []

            def start_all() -> None:
                recorders.extend(_record(p, seconds, out / name) for name, p in pids.items())

            timer = threading.Timer(3.0, start_all)
            timer.start()
            result = deployed.drive("topup", envoy, (), customers, 16, 4)
            timer.join()
            for proc in recorders:
                proc.wait(60)
            print(
                f"== topup: {result.rate:.0f}/s p50 {result.p50:.2f} ms p99 {result.p99:.2f} ms "
                f"(load {result.load:.1f}); profiles in {out}/topup_*.txt"
            )
            _statements(log, "topup")
        print("ledger figures before profiling:", *(f"{r.figure}: {r.measured}" for r in figures), sep="\n  ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
