"""Throughput through Redis + Celery against in-process reading, and the drawing round trip.

    python benchmarks/bench_service.py [--pages 200] [--mode page] [--workers 2] [--digits 100]

1. In-process: load the classifier once, then load and read every page one after another
   (what ``formdigits read`` does), timed.
2. Queue: a real ``formdigits worker --concurrency N`` process on Redis ($REDIS_URL, else
   127.0.0.1:6379) under a fresh key prefix; the same pages are submitted as one job through
   the job store and timed from submission until the job is done (a warm-up job first).
3. Drawing round trip: POST /api/v1/digits to a real HTTP server (werkzeug, threaded) and poll
   GET /api/v1/jobs/<id> every 2 ms until done; p50 / p95 over ``--digits`` drawings.
4. Load: ``--clients`` concurrent HTTP clients submit ``--jobs`` jobs each (the pages shared out),
   against the web app in its own process; lost and duplicated pages and the web's memory.

Everything runs on loopback and stops by itself; the Redis keys it made are deleted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognition.classifier import DEFAULT_WEIGHTS, load_classifier  # noqa: E402
from recognition.reader import read_page  # noqa: E402
from segmentation.loading import load_pages  # noqa: E402
from worker.jobs import JobStore  # noqa: E402
from worker.settings import Settings  # noqa: E402


def make_page(rng: np.random.Generator, width: int = 1240, height: int = 1754) -> bytes:
    """A 150 dpi A4 form: six labelled lines of handwritten-looking digits on underlines, as PNG."""
    page = np.full((height, width), 245, dtype=np.uint8)
    cv2.putText(page, "FORM", (80, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 40, 3)
    for row in range(6):
        y = 300 + row * 220
        cv2.line(page, (300, y + 10), (1100, y + 10), 90, 2)
        digits = "".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(3, 9))))
        x = 320
        for d in digits:
            scale = float(rng.uniform(2.2, 2.8))
            cv2.putText(page, d, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 20, int(rng.integers(5, 9)), cv2.LINE_AA)
            x += int(40 * scale)
    noise = rng.normal(0, 6, page.shape)
    page = np.clip(page + noise, 0, 255).astype(np.uint8)
    ok, png = cv2.imencode(".png", page)
    assert ok
    return png.tobytes()


def in_process(pages: list[bytes], mode: str, weights: Path) -> float:
    """Seconds to load and read every page in this process."""
    model = load_classifier(weights)
    read_page(model, next(load_pages(pages[0], "warm.png")), mode)  # warm-up
    start = time.perf_counter()
    for i, data in enumerate(pages):
        for page in load_pages(data, f"page-{i}.png"):
            read_page(model, page, mode)
    return time.perf_counter() - start


def wait_done(store: JobStore, job_id: str, timeout_s: float, interval_s: float = 0.05) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = store.get_job(job_id)
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(interval_s)
    raise TimeoutError(f"job {job_id} not done in {timeout_s} s")


def via_queue(pages: list[bytes], mode: str, settings: Settings, store: JobStore) -> float:
    """Seconds from submitting all pages as one job until the job is done."""
    wait_done(store, store.create_job([("warm.png", pages[0])], mode), 120)
    start = time.perf_counter()
    job_id = store.create_job([(f"page-{i}.png", data) for i, data in enumerate(pages)], mode)
    job = wait_done(store, job_id, 3600)
    elapsed = time.perf_counter() - start
    progress = job["progress"]
    assert job["state"] == "done" and progress == {"done": len(pages), "total": len(pages)}, progress  # type: ignore[comparison-overlap]
    return elapsed


def digit_round_trips(settings: Settings, n: int) -> list[float]:
    """Milliseconds from POST /digits until GET shows the result, for ``n`` drawings."""
    from werkzeug.serving import make_server

    from webui.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    drawing = np.full((200, 200), 255, dtype=np.uint8)
    cv2.putText(drawing, "7", (50, 160), cv2.FONT_HERSHEY_SIMPLEX, 5, 0, 16, cv2.LINE_AA)
    body = cv2.imencode(".png", drawing)[1].tobytes()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    latencies = []
    try:
        for i in range(n + 5):  # the first 5 warm up
            start = time.perf_counter()
            conn.request("POST", "/api/v1/digits", body=body, headers={"Content-Type": "image/png"})
            response = conn.getresponse()
            url = json.loads(response.read())["url"]
            while True:
                conn.request("GET", url)
                job = json.loads(conn.getresponse().read())
                if job["state"] in ("done", "failed"):
                    break
                time.sleep(0.002)
            if i >= 5:
                latencies.append((time.perf_counter() - start) * 1000)
    finally:
        conn.close()
        server.shutdown()
    return latencies


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_phase(
    settings: Settings, store: JobStore, pages: list[bytes], clients: int, jobs: int, per_job: int, mode: str
) -> None:
    """``clients`` concurrent HTTP clients each submit ``jobs`` jobs of ``per_job`` pages, one job at a time.

    The web app runs as its own process (``formdigits serve --workers 0``) so its memory can be
    watched; afterwards every page must have exactly one recorded result.
    """
    from concurrent.futures import ThreadPoolExecutor

    from worker.cli import submit_files, wait_for_job

    port = 18000 + secrets.randbelow(20000)
    env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "formdigits.cli", "serve", f"--port={port}", "--workers=0"]
    web = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        files = [(f"p{i}.png", pages[i % len(pages)]) for i in range(per_job)]

        def client(rounds: int) -> list[str]:
            ids = []
            for _ in range(rounds):
                accepted = submit_files(base, files, mode)
                wait_for_job(base, accepted["url"], 3600)
                ids.append(accepted["id"])
            return ids

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(client, [1] * clients))  # warm-up round: the web process reaches its working size
            before = rss_mb(web.pid)
            start = time.perf_counter()
            job_ids = [i for ids in pool.map(client, [jobs] * clients) for i in ids]
        elapsed = time.perf_counter() - start
        after = rss_mb(web.pid)
        reads = [store.page_reads(j) for j in job_ids]
        total = len(job_ids) * per_job
        lost = sum(per_job - len(r) for r in reads)
        duplicated = sum(n - 1 for r in reads for n in r.values() if n > 1)
        print(
            f"load: {clients} clients x {jobs} jobs x {per_job} pages = {total} pages in {elapsed:.1f} s "
            f"({total / elapsed:.1f} pages/s); lost {lost}, duplicated {duplicated}; "
            f"web RSS {before:.0f} MB -> {after:.0f} MB"
        )
    finally:
        web.terminate()
        web.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--mode", choices=("page", "line"), default="page")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--digits", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clients", type=int, default=20, help="load phase: concurrent clients (0: skip)")
    parser.add_argument("--jobs", type=int, default=5, help="load phase: jobs per client")
    parser.add_argument("--job-pages", type=int, default=5, help="load phase: pages per job")
    args = parser.parse_args()

    weights = Path(os.environ.get("FORMDIGITS_WEIGHTS") or DEFAULT_WEIGHTS)
    rng = np.random.default_rng(args.seed)
    pages = [make_page(rng) for _ in range(args.pages)]
    settings = Settings(
        redis_url=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        key_prefix=f"fdbench-{secrets.token_hex(4)}",
        weights_path=weights,
        rate_limit_per_min=0,
    )
    print(f"{args.pages} pages ({args.mode} mode), {args.workers} worker processes, Redis {settings.redis_url}")
    local_s = in_process(pages, args.mode, weights)
    print(f"in-process read : {local_s:7.2f} s  {args.pages / local_s:7.2f} pages/s")

    env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "formdigits.cli", "worker", f"--concurrency={args.workers}", "--loglevel=WARNING"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env)
    store = JobStore.connect(settings, __import__("worker.celery_app").celery_app.make_celery(settings))
    try:
        deadline = time.monotonic() + 60
        while not store.workers_seen() and time.monotonic() < deadline:
            time.sleep(0.1)
        queue_s = via_queue(pages, args.mode, settings, store)
        print(f"queue (Celery)  : {queue_s:7.2f} s  {args.pages / queue_s:7.2f} pages/s")
        print(f"queue / in-process throughput: {local_s / queue_s:.1%} (target >= 85%)")
        if args.digits:
            ms = digit_round_trips(settings, args.digits)
            p95 = statistics.quantiles(ms, n=20)[18]
            print(
                f"drawing round trip over {len(ms)}: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms (target p95 <= 150 ms)"
            )
        if args.clients:
            load_phase(settings, store, pages, args.clients, args.jobs, args.job_pages, args.mode)
    finally:
        worker.terminate()
        worker.wait(60)
        keys = list(store.redis.scan_iter(match=f"{settings.key_prefix}:*", count=1000))
        if keys:
            store.redis.delete(*keys)
    return 0


if __name__ == "__main__":
    sys.exit(main())
