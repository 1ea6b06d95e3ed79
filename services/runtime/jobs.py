"""One background loop for the periodic work a service does beside its RPCs (recovery, sweeps).

A tick that raises is logged and the loop goes on: one failed run (the database restarting, a
peer away) must not end the recovery that exists to heal exactly that. ``stop`` wakes the loop
at once, so a service's shutdown is not held up by a sleeping job.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

# Set by the multi-process server (services/runtime/server.py, NEXAFI_WORKERS) in each worker.
WORKER_INDEX_ENV = "NEXAFI_WORKER_INDEX"


def worker_index() -> int | None:
    """This process's number among a multi-process server's workers; None when it runs alone."""
    raw = os.environ.get(WORKER_INDEX_ENV)
    return int(raw) if raw else None


class PeriodicJob:
    """Calls ``tick`` every ``interval_seconds`` on a daemon thread; an interval of 0 disables it
    (tests drive the same work by hand)."""

    def __init__(
        self, name: str, interval_seconds: float, tick: Callable[[], None], log: logging.Logger
    ) -> None:
        self.name = name
        self.interval_seconds = interval_seconds
        self.tick = tick
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> PeriodicJob:
        # Worker 0 of a multi-process server runs the jobs for all: each job is safe to run in
        # several processes (they run in every replica), but N workers sweeping the same rows
        # at once would be N times the database work for nothing.
        if self.interval_seconds > 0 and (worker_index() or 0) == 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.tick()
            except Exception:
                self.log.exception("%s failed; trying again in %.1f s", self.name, self.interval_seconds)
