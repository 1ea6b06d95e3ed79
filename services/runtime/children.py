"""Child processes that never outlive their launcher: embedded servers and the dev stack's services.

Linux's parent-death signal makes the kernel signal the child when the launcher dies,
however it dies (even SIGKILL), so no server is left orphaned holding a port or a data
directory.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """In a child (``preexec_fn``): receive ``sig`` when the launcher dies.

    Call it after any setuid, which clears the setting."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig)
    if os.getppid() == 1:
        os._exit(1)  # the launcher died before prctl took effect


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM,
                 timeout_seconds: float = 10.0) -> None:
    """Ask ``process`` to stop with ``sig``; kill it if it has not exited in time."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now, for a child server told its port up front."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
