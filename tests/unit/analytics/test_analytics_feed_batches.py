"""How the feed consumer groups a stream into transactions: what has arrived, in order, bounded."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest

from services.analytics import consumer
from services.analytics.consumer import _batches


class Stream:
    """A blocking stream: yields what is released to it, ends or fails when told."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self.ready = threading.Condition()
        self.cancelled = False

    def push(self, *items: object) -> None:
        with self.ready:
            self.items.extend(items)
            self.ready.notify_all()

    def cancel(self) -> None:
        self.push(StopIteration)
        self.cancelled = True

    def __iter__(self) -> Iterator[object]:
        while True:
            with self.ready:
                self.ready.wait_for(lambda: bool(self.items))
                item = self.items.pop(0)
            if item is StopIteration:
                return
            if isinstance(item, Exception):
                raise item
            yield item


class Broken(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


def test_a_quiet_feed_is_applied_entry_by_entry_and_a_backlog_in_bounded_batches(monkeypatch) -> None:
    monkeypatch.setattr(consumer, "MAX_BATCH", 3)
    stream = Stream()
    batches = _batches(stream)
    stream.push(1)
    assert next(batches) == [1]
    stream.push(2, 3, 4, 5, 6, 7, 8)
    # Whatever the reader has received by now, in order, at most MAX_BATCH at a time.
    seen: list[int] = []
    while len(seen) < 7:
        batch = next(batches)
        assert 1 <= len(batch) <= 3
        seen += batch
    assert seen == [2, 3, 4, 5, 6, 7, 8]
    stream.push(StopIteration)
    assert list(batches) == []


def test_a_broken_stream_delivers_what_came_before_then_raises() -> None:
    stream = Stream()
    batches = _batches(stream)
    stream.push(1, 2, Broken())
    received: list[int] = []
    with pytest.raises(Broken):
        for batch in batches:
            received += batch
    assert received == [1, 2]


def test_stopping_early_cancels_the_stream() -> None:
    stream = Stream()
    batches = _batches(stream)
    stream.push(1, 2)
    next(batches)
    batches.close()
    assert stream.cancelled
