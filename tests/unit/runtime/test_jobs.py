"""The shared periodic job: a failing run does not end the loop; stop ends it; 0 disables it;
worker 0 alone runs it in a multi-process server."""

from __future__ import annotations

import logging
import threading

from services.runtime.jobs import PeriodicJob

log = logging.getLogger("test.jobs")


def test_a_failing_tick_is_logged_and_the_loop_goes_on(caplog):
    calls: list[int] = []
    second = threading.Event()

    def tick() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database is restarting")
        second.set()

    job = PeriodicJob("test-job", 0.01, tick, log).start()
    try:
        assert second.wait(10), "the loop ended after a failed run"
    finally:
        job.stop()
    assert not job._thread.is_alive()
    assert any("test-job failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_stop_wakes_a_sleeping_job():
    job = PeriodicJob("sleepy", 3600, lambda: None, log).start()
    job.stop()
    assert not job._thread.is_alive()


def test_an_interval_of_zero_never_runs():
    ran = threading.Event()
    job = PeriodicJob("off", 0, ran.set, log).start()
    job.stop()
    assert not job._thread.is_alive() and not ran.is_set()


def test_only_worker_zero_of_a_multi_process_server_runs_jobs(monkeypatch):
    for index, runs in (("1", False), ("0", True)):
        monkeypatch.setenv("NEXAFI_WORKER_INDEX", index)
        job = PeriodicJob("test-job", 3600, lambda: None, log).start()
        try:
            assert job._thread.is_alive() is runs
        finally:
            job.stop()
