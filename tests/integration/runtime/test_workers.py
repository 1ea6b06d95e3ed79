"""The multi-process server (NEXAFI_WORKERS): workers sharing one port, and their end with the parent."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import grpc

from tests.integration.runtime.test_process import free_port, launch, wait_serving
from tests.support import probe_service
from tests.support.harness import TokenFactory


def _parent_of(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ")".
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _answering_pids(address: str, tokens: TokenFactory, connections: int) -> set[int]:
    """The processes that answered one call on each of ``connections`` new connections."""
    pids = set()
    for index in range(connections):
        # A distinct channel argument: a new subchannel, so a new TCP connection each time.
        with grpc.insecure_channel(address, options=[("grpc.channel_id", str(index))]) as channel:
            answer = channel.unary_unary(f"/{probe_service.SERVICE}/Pid")(
                b"", metadata=tokens.metadata("usr_1"), timeout=10
            )
            pids.add(int(answer))
    return pids


def test_two_workers_answer_on_one_port_and_end_with_their_parent(
    keys_dir: Path, tokens: TokenFactory
) -> None:
    port = free_port()
    proc = launch(
        {
            "PROBE_PORT": str(port),
            "PROBE_HOST": "127.0.0.1",
            "NEXAFI_KEYS_DIR": str(keys_dir),
            "NEXAFI_WORKERS": "2",
        }
    )
    workers: set[int] = set()
    try:
        address = f"127.0.0.1:{port}"
        wait_serving(address)
        # The kernel hashes each connection to one of the two listening sockets: with 64 new
        # connections, both workers answer unless the hash sent all 64 the same way (2^-63).
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            workers |= _answering_pids(address, tokens, 64)
        assert len(workers) == 2
        assert proc.pid not in workers
        assert all(_parent_of(pid) == proc.pid for pid in workers)

        # However the parent dies (SIGKILL: no handler of its own runs), its workers follow.
        proc.send_signal(signal.SIGKILL)
        proc.wait(15)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _children_of(pid: int) -> list[int]:
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    return [p for p in pids if _alive(p) and _parent_of(p) == pid]


def test_sigterm_stops_every_worker(keys_dir: Path) -> None:
    port = free_port()
    proc = launch(
        {
            "PROBE_PORT": str(port),
            "PROBE_HOST": "127.0.0.1",
            "NEXAFI_KEYS_DIR": str(keys_dir),
            "NEXAFI_WORKERS": "2",
            "SHUTDOWN_GRACE_SECONDS": "2",
        }
    )
    try:
        wait_serving(f"127.0.0.1:{port}")
        workers = _children_of(proc.pid)
        assert len(workers) == 2
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert not any(_alive(pid) for pid in workers)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
