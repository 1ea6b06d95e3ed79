"""OpenTelemetry: off by default; with an exporter, gRPC calls and SQL queries become spans."""

from __future__ import annotations

import signal
from pathlib import Path

import grpc

from services.devtools.embedded_pg import EmbeddedPostgres
from tests.integration.runtime.test_process import free_port, launch, wait_serving
from tests.support import probe_service
from tests.support.harness import TokenFactory


def run_probe_and_call(env: dict[str, str], tokens: TokenFactory) -> str:
    port = free_port()
    proc = launch({"PROBE_PORT": str(port), **env}, "--with-db")
    try:
        wait_serving(f"127.0.0.1:{port}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            assert (
                channel.unary_unary(f"/{probe_service.SERVICE}/DbNow")(
                    b"", metadata=tokens.metadata("usr_1"), timeout=10
                )
                == b"1"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    return out


def test_console_exporter_records_rpc_and_sql_spans(
    pg: EmbeddedPostgres, keys_dir: Path, tokens: TokenFactory
):
    out = run_probe_and_call(
        {
            "OTEL_TRACES_EXPORTER": "console",
            "DATABASE_URL": pg.url("postgres"),
            "NEXAFI_KEYS_DIR": str(keys_dir),
        },
        tokens,
    )
    assert f'"name": "/{probe_service.SERVICE}/DbNow"' in out
    assert '"name": "SELECT' in out or '"db.statement": "SELECT 1"' in out


def test_tracing_is_off_by_default(pg: EmbeddedPostgres, keys_dir: Path, tokens: TokenFactory):
    out = run_probe_and_call(
        {"OTEL_TRACES_EXPORTER": "", "DATABASE_URL": pg.url("postgres"), "NEXAFI_KEYS_DIR": str(keys_dir)},
        tokens,
    )
    assert '"trace_id"' not in out
