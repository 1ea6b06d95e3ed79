"""Document uploads and downloads: MiB/s and latency per size, and what the encryption costs.

Run with ``python -m tests.benchmarks.document_bench`` (or ``python -m tests.benchmarks``).
It starts an embedded PostgreSQL, the embedded S3-protocol server (moto, as in ``make
run``) and the real document service on port 0, then times, sequentially over gRPC:

- UploadDocument (client-streaming, 64 KiB messages): sniffing, SHA-256, segment-wise
  AES-256-GCM, the object written to S3, metadata and the audit event in PostgreSQL;
- DownloadDocument (server-streaming): object read, every segment authenticated, the
  whole SHA-256 checked before the last bytes leave, the audit event written first.

For scale, the same content is also encrypted and decrypted in process (the service's
``SegmentEncryptor`` and ``SegmentDecryptor``), which bounds what the RPCs could reach. The S3
server here is moto (Python, in memory), not MinIO: the figures are a floor.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import grpc
from nexafi.document.v1 import document_pb2_grpc

from services.devtools.embedded_pg import EmbeddedPostgres
from services.devtools.embedded_s3 import EmbeddedS3
from services.document.crypto import SegmentDecryptor, SegmentEncryptor, new_data_key
from services.document.spec import SPEC as DOCUMENT
from services.runtime.keys import Keyring
from tests.benchmarks.gateway_bench import percentiles
from tests.integration.document.document_support import DocumentClient, new_user, pdf
from tests.support.harness import ServiceRunner, TokenFactory, auth_settings_for, configure_test_environment

MIB = 1024 * 1024
# (size, at most this many calls) per size; each size runs for at most SECONDS_PER_SIZE.
SIZES = [(64 * 1024, 200), (1 * MIB, 60), (8 * MIB, 12)]
SECONDS_PER_SIZE = 10.0


def label(size: int) -> str:
    return f"{size // 1024} KiB" if size < MIB else f"{size // MIB} MiB"


def in_process(content: bytes) -> tuple[float, float]:
    """Seconds to encrypt ``content`` the way an upload does, and to authenticate and decrypt it."""
    key = new_data_key()
    started = time.perf_counter()
    encryptor = SegmentEncryptor(key, b"bench-object")
    parts = [encryptor.header()]
    for offset in range(0, len(content), 64 * 1024):
        parts.extend(encryptor.update(content[offset : offset + 64 * 1024]))
    parts.append(encryptor.finish())
    encrypted = time.perf_counter() - started
    started = time.perf_counter()
    decryptor = SegmentDecryptor(key, b"bench-object")
    size = sum(len(plain) for part in parts for plain in decryptor.update(part)) + len(decryptor.finish())
    decrypted = time.perf_counter() - started
    assert size == len(content)
    return encrypted, decrypted


def row(name: str, size: int, samples: list[float]) -> None:
    p = percentiles(samples)
    mib_s = size * len(samples) / sum(samples) / MIB
    print(f"  {name:<10}{label(size):>8}{len(samples):>7}{mib_s:>10.1f}{p['p50']:>10.1f}{p['p99']:>10.1f}")


def main() -> int:
    configure_test_environment()
    os.environ["NEXAFI_PG_FAST"] = os.environ.get("NEXAFI_PG_FAST", "0")
    os.environ["DOCUMENT_MAX_BYTES"] = str(max(size for size, _ in SIZES))
    with tempfile.TemporaryDirectory(prefix="document-bench-") as tmp_name:
        tmp = Path(tmp_name)
        keys = tmp / "keys"
        Keyring(keys).ensure()
        pg = EmbeddedPostgres(tmp / "pg").start()
        s3 = EmbeddedS3(log_path=tmp / "s3.log").start()
        os.environ.update(s3.env())
        runner = ServiceRunner(pg, auth_settings_for(keys))
        channel: grpc.Channel | None = None
        try:
            running = runner.start(DOCUMENT)
            channel = grpc.insecure_channel(
                running.address, options=[("grpc.max_receive_message_length", 16 * MIB)]
            )
            stub = document_pb2_grpc.DocumentServiceStub(channel)
            client = DocumentClient(stub, TokenFactory(Keyring(keys)))
            user = new_user()
            client.download(client.upload(pdf(64 * 1024), user_id=user).id, user)  # warm-up
            print(
                f"Documents over gRPC, sequential, at most {SECONDS_PER_SIZE:.0f} s per size "
                "(S3: moto in memory; PostgreSQL with fsync on)"
            )
            print(f"  {'':<10}{'size':>8}{'calls':>7}{'MiB/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
            for size, calls in SIZES:
                content = pdf(size)
                uploads: list[float] = []
                ids: list[str] = []
                deadline = time.monotonic() + SECONDS_PER_SIZE
                while len(uploads) < calls and time.monotonic() < deadline:
                    started = time.perf_counter()
                    ids.append(client.upload(content, user_id=user).id)
                    uploads.append(time.perf_counter() - started)
                downloads: list[float] = []
                for document_id in ids:
                    started = time.perf_counter()
                    got = client.download(document_id, user)
                    downloads.append(time.perf_counter() - started)
                    if len(got.content) != size:
                        raise RuntimeError(f"downloaded {len(got.content)} bytes of {size}")
                row("upload", size, uploads)
                row("download", size, downloads)
            content = pdf(8 * MIB)
            encrypted, decrypted = in_process(content)
            print(
                f"In process, 8 MiB: encrypt {8 / encrypted:.0f} MiB/s, "
                f"authenticate+decrypt {8 / decrypted:.0f} MiB/s (AES-256-GCM, 256 KiB segments)"
            )
            return 0
        finally:
            if channel is not None:
                channel.close()
            runner.stop_all()
            s3.stop()
            pg.stop()


if __name__ == "__main__":
    sys.exit(main())
