"""Child processes that never outlive their launcher: a server's workers (NEXAFI_WORKERS),
and in development the embedded servers and the dev stack's services.

Linux's parent-death signal makes the kernel signal the child when the launcher dies,
however it dies (even SIGKILL), so no server is left orphaned holding a port or a data
directory.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
from collections.abc import Sequence


def dying_with_parent(argv: Sequence[str], sig: int = signal.SIGTERM) -> list[str]:
    """``argv`` run so that the child receives ``sig`` when its launcher dies, however it dies.

    util-linux's ``setpriv`` asks for the signal and execs ``argv`` (the setting survives execve).
    This replaces a ``preexec_fn``: Python code between fork and exec in a threaded launcher
    (grpc's threads, a test session's servers) can deadlock or abort the child. With Popen's
    ``user``/``group`` the signal is asked for after the privileges are dropped (setuid clears it)."""
    return ["setpriv", f"--pdeathsig={signal.Signals(sig).name}", "--", *argv]


def stop_process(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout_seconds: float = 10.0
) -> None:
    """Ask ``process`` to stop with ``sig``; kill it if it has not exited in time."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Ports this process has handed out: the kernel may offer a just-probed port again, and a launcher
# that asks for several ports before any child binds them must not get the same one twice.
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, and not handed out before by this process, for a child
    server told its port up front."""
    with _handed_out_lock:
        while True:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((host, 0))
                port: int = probe.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
