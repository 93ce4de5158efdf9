"""Restarts: Redis (persistent) while jobs are queued, and the web process while jobs run.

While Redis is down every endpoint answers 503 with a JSON error (never a stack trace), and
the web process recovers by itself when Redis is back; workers reconnect by themselves and
every queued page is read. A restarted web process loses nothing: jobs live in Redis, and a
client polling through the restart sees its job finish.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import stop_process
from faultstack import (
    assert_each_page_once,
    digit_files,
    fault_settings,
    http,
    multipart,
    running_stack,
    wait_finished,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PNG_HEADERS = {"Content-Type": "image/png"}


def submit_http(base: str, files: list[tuple[str, bytes]], mode: str = "digit") -> str:
    body, headers = multipart(files, mode)
    status, answer = http(base + "/api/v1/jobs", body, headers)
    assert status == 202, answer
    return str(answer["id"])


def assert_unavailable(what: str, status: int, body: Any) -> None:
    """A 503 whose body is our JSON error, nothing else."""
    assert status == 503, (what, body)
    assert isinstance(body, dict), (what, body)
    error = body.get("error") or {}
    reason = error.get("message") or body.get("reason")
    assert reason and "Traceback" not in str(body), (what, body)


def test_redis_restart_while_jobs_are_queued(tmp_path: Path, weights_path: Path) -> None:
    settings = fault_settings(weights_path, tmp_path, test_page_delay_s=0.3)
    with running_stack(tmp_path, settings) as stack:
        stack.start_web()
        worker = stack.start_worker()
        base = stack.base_url
        job_ids = [submit_http(base, digit_files("0123", prefix=f"j{j}-")) for j in range(3)]
        wait_until(lambda: http(f"{base}/api/v1/jobs/{job_ids[0]}")[1]["progress"]["done"] >= 1, 60, "a first page")

        assert http(f"{base}/api/v1/jobs/{job_ids[-1]}")[1]["state"] == "queued"  # work is still waiting
        stack.redis.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]  # a crash, not a clean stop
        stack.redis.process.wait(10)  # type: ignore[union-attr]
        # Every endpoint: a JSON 503 while Redis is away.
        drawing = digit_files("5")[0][1]
        body, headers = multipart(digit_files("8"), "digit")
        answers = {
            "GET job": http(f"{base}/api/v1/jobs/{job_ids[0]}"),
            "GET csv": http(f"{base}/api/v1/jobs/{job_ids[0]}/results.csv"),
            "GET overlay": http(f"{base}/api/v1/jobs/{job_ids[0]}/pages/1/overlay.png"),
            "POST job": http(f"{base}/api/v1/jobs", body, headers),
            "POST digit": http(f"{base}/api/v1/digits", drawing, PNG_HEADERS),
            "healthz": http(f"{base}/healthz"),
            "metrics": http(f"{base}/metrics"),
        }
        for what, (status, answer) in answers.items():
            assert_unavailable(what, status, answer)

        stack.redis.start()  # same port, same data directory: the append-only file brings the jobs back
        # The web process reconnects by itself.
        wait_until(lambda: http(f"{base}/api/v1/jobs/{job_ids[0]}")[0] == 200, 30, "the web app to recover")
        wait_until(lambda: http(f"{base}/healthz")[0] == 200, 60, "a healthy service (worker heartbeat)")
        jobs = wait_finished(stack.store, job_ids, 120, logs=(worker.log_path,))
        for job in jobs.values():
            assert job["state"] == "done"
            assert_each_page_once(stack.store, job)
        assert worker.process.poll() is None
        # New work is accepted and read after the restart too.
        (late,) = wait_finished(
            stack.store, [submit_http(base, digit_files("9"))], 60, logs=(worker.log_path,)
        ).values()
        assert late["state"] == "done"


def test_web_restart_while_jobs_run_loses_nothing(tmp_path: Path, weights_path: Path) -> None:
    settings = fault_settings(weights_path, tmp_path, test_page_delay_s=0.5)
    with running_stack(tmp_path, settings) as stack:
        stack.start_web()
        stack.start_worker()
        base = stack.base_url
        job_ids = [submit_http(base, digit_files("012345", prefix=f"j{j}-")) for j in range(2)]
        seen: dict[str, list[Any]] = {job_id: [] for job_id in job_ids}
        failures: dict[str, list[str]] = {job_id: [] for job_id in job_ids}
        stop = threading.Event()

        def poll(job_id: str) -> None:
            """A client polling its job through the restart: errors are retried, like the page does."""
            while not stop.is_set():
                try:
                    status, job = http(f"{base}/api/v1/jobs/{job_id}", timeout_s=5)
                except OSError as exc:  # the web process is down for a moment
                    failures[job_id].append(type(exc).__name__)
                else:
                    seen[job_id].append((status, job["state"] if status == 200 else job))
                    if status == 200 and job["state"] in ("done", "failed"):
                        return
                stop.wait(0.1)

        pollers = [threading.Thread(target=poll, args=(j,), daemon=True) for j in job_ids]
        for thread in pollers:
            thread.start()
        wait_until(lambda: any(s == (200, "running") for s in seen[job_ids[0]]), 60, "job running")

        stack.web.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        stack.web.wait(10)  # type: ignore[union-attr]
        stack.web = None
        stack.start_web()
        try:
            for thread in pollers:
                thread.join(90)
        finally:
            stop.set()
        for job_id in job_ids:
            # Each client was polling while the web process was down (a poller stops only at its
            # job's end, so these failures came before the final answer): it did poll through the restart.
            assert failures[job_id], (job_id, seen[job_id][-5:])
            assert seen[job_id][-1] == (200, "done"), seen[job_id][-5:]
            assert all(status == 200 for status, _ in seen[job_id]), seen[job_id]
        jobs = wait_finished(stack.store, job_ids, 10)
        for job in jobs.values():
            assert_each_page_once(stack.store, job)
        stop_process(stack.web)  # type: ignore[arg-type]
        stack.web = None
