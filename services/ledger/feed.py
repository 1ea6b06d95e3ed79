"""Wake-ups of the change feed's streams."""

from __future__ import annotations

import threading


class FeedNotifier:
    """Wakes change-feed streams when this process seals entries, and ends them on shutdown.

    Streams also poll, so entries committed by another replica are seen within
    the poll interval; the local wake-up only makes the common case immediate.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0
        self.closed = False

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self.closed = True
            self._condition.notify_all()

    def generation(self) -> int:
        with self._condition:
            return self._generation

    def wait(self, seen_generation: int, timeout: float) -> None:
        with self._condition:
            if self._generation == seen_generation and not self.closed:
                self._condition.wait(timeout)
