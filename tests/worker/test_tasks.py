"""The task bodies run in this process against a real Redis (their Celery app made current, no worker)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import zipfile

import numpy as np
import pytest
from celery import _state
from conftest import draw_digit_image, png_bytes
from PIL import Image

from recognition.results import failed_page
from worker import tasks
from worker.celery_app import READ_PAGE, make_celery
from worker.jobs import JobStore
from worker.settings import Settings

PNG = png_bytes(np.full((30, 40), 255, dtype=np.uint8))


@pytest.fixture
def store(settings: Settings):  # type: ignore[no-untyped-def]
    previous = _state.get_current_app()
    app = make_celery(settings)
    app.set_current()
    s = JobStore.connect(settings, app)
    yield s
    s.redis.close()
    previous.set_current()


def _queued_pages(store: JobStore) -> list[list[object]]:
    """The (job, file, page) arguments of the read_page messages waiting in the pages queue."""
    messages = [json.loads(m) for m in store.redis.lrange(f"{store.prefix}:celery:pages", 0, -1)]
    bodies = [json.loads(base64.b64decode(m["body"])) for m in messages if m["headers"]["task"] == READ_PAGE]
    return sorted(args for args, _, _ in bodies)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _tiff(pages: int) -> bytes:
    frames = [Image.fromarray(np.full((20, 30), 255 - 10 * i, dtype=np.uint8)) for i in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def test_expand_plans_archives_pages_and_bad_files(store: JobStore) -> None:
    files = [("bundle.zip", _zip({"a.png": PNG, "b.png": PNG})), ("bad.png", b"not an image"), ("two.tiff", _tiff(2))]
    job_id = store.create_job(files, "page")
    assert tasks.expand_job.run(job_id) == 4
    plan = store.plan(job_id)
    assert [(f.source, f.pages, f.error is None) for f in plan] == [
        ("bundle.zip/a.png", 1, True),
        ("bundle.zip/b.png", 1, True),
        ("bad.png", 0, False),
        ("two.tiff", 2, True),
    ]
    assert _queued_pages(store) == [[job_id, 0, 1], [job_id, 1, 1], [job_id, 3, 1], [job_id, 3, 2]]
    job = store.get_job(job_id)
    assert job["progress"] == {"done": 0, "total": 4}
    assert job["results"][2]["error"]
    # A redelivered expansion reuses the plan and re-sends only pages without a result.
    store.record_failed_page(job_id, 0, 1, "x")
    assert tasks.expand_job.run(job_id) == 3


def test_page_that_keeps_killing_its_worker_fails(store: JobStore) -> None:
    job_id = store.create_job([("a.png", PNG)], "digit", expand=False)
    for _ in range(tasks.MAX_UNFINISHED_READS):
        store.start_attempt(job_id, 0, 1)  # three reads that never finished: the process died each time
    tasks.read_page.run(job_id, 0, 1)
    job = store.get_job(job_id)
    assert job["state"] == "failed"
    assert job["results"][0]["pages"] == [failed_page(1, "this page crashed the reader repeatedly", "reader_crashed")]


def test_crashes_are_counted_apart_from_celerys_retries(settings: Settings) -> None:
    poisoned = dataclasses.replace(settings, test_poison="raise:POISON")
    previous = _state.get_current_app()
    app = make_celery(poisoned)
    app.set_current()
    store = JobStore.connect(poisoned, app)
    try:
        job_id = store.create_job([("POISON.png", PNG)], "digit", expand=False)
        with pytest.raises(RuntimeError, match="test poison"):
            tasks.read_page.run(job_id, 0, 1)  # the first crash is retried (called directly: re-raised)
        assert store.get_job(job_id)["state"] == "queued"
        # The last allowed crash fails the page, whatever Celery's retry count says (0 here).
        tasks.read_page.run(job_id, 0, 1, crashes=tasks.CRASH_RETRIES)
        (page,) = store.get_job(job_id)["results"][0]["pages"]
        reason = f"the reader crashed on this page {tasks.CRASH_RETRIES + 1} times (RuntimeError)"
        assert page == failed_page(1, reason, "reader_crashed")
    finally:
        store.redis.close()
        previous.set_current()


def test_page_of_an_expired_upload_fails_with_reason(store: JobStore) -> None:
    job_id = store.create_job([("a.png", PNG)], "digit", expand=False)
    store.redis.delete(f"{store.prefix}:job:{job_id}:upload:0")
    tasks.read_page.run(job_id, 0, 1)
    assert "expired" in store.get_job(job_id)["results"][0]["pages"][0]["error"]


def test_page_of_a_deleted_job_is_dropped(store: JobStore) -> None:
    job_id = store.create_job([("a.png", PNG)], "digit", expand=False)
    store.delete_job(job_id)
    tasks.read_page.run(job_id, 0, 1)
    assert list(store.redis.scan_iter(match=f"{store.prefix}:job:*")) == []


@pytest.mark.parametrize(("threshold", "flagged"), [(0.0, False), (1.0, True)])
def test_pages_are_flagged_at_the_configured_review_threshold(
    settings: Settings, threshold: float, flagged: bool
) -> None:
    """``FORMDIGITS_REVIEW_THRESHOLD`` reaches the reader: at 1.0 every digit is below it, at 0.0 none."""
    configured = dataclasses.replace(settings, review_threshold=threshold)
    previous = _state.get_current_app()
    app = make_celery(configured)
    app.set_current()
    store = JobStore.connect(configured, app)
    try:
        job_id = store.create_job([("seven.png", png_bytes(draw_digit_image(7)))], "digit", expand=False)
        tasks.read_page.run(job_id, 0, 1)
        (page,) = store.get_job(job_id)["results"][0]["pages"]
        (field,) = page["fields"]
        assert field["text"] == "7"
        assert field["needs_review"] is flagged
    finally:
        store.redis.close()
        previous.set_current()
