"""The two Celery tasks, thin: take ids, call one core function, store the result in the job store.

- ``formdigits.expand_job(job_id)``: expand archives, count the pages of each file, record the
  plan, then fan out one ``read_page`` per page. A bad file becomes that file's error.
- ``formdigits.read_page(job_id, file_index, page)``: load one page, read it, store its result
  (or its failure) in its own slot. Bad input fails the page without retry; Redis hiccups retry
  with backoff; an unexpected exception (a bug the page triggers) is retried CRASH_RETRIES times,
  then the page fails with the exception's type as its reason; a page that keeps killing its
  worker process fails after MAX_UNFINISHED_READS.

Every log line carries ``job=<id> page=<file>:<n>``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from typing import Any

import redis
from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from recognition.documents import read_one_page
from recognition.reader import ReadParams
from segmentation.archive import ArchiveLimits, expand_upload
from segmentation.errors import FormdigitsError
from segmentation.formats import sniff_format
from segmentation.loading import LoadLimits, count_pages
from worker import resources
from worker.celery_app import EXPAND_JOB, READ_PAGE
from worker.jobs import JobNotFound, PlannedFile
from worker.settings import Settings

log = logging.getLogger(__name__)

# A page whose read started this many times without finishing (the process died each time:
# segfault, OOM kill, hard time limit) is failed instead of being handed out again.
MAX_UNFINISHED_READS = 3
# A page whose read raises an unexpected exception is tried this many more times (the cause may
# be passing: memory pressure, a flaky library) before it is failed with the exception's type.
CRASH_RETRIES = 2
CRASH_RETRY_DELAY_S = 0.5
TRANSIENT = (redis.ConnectionError, redis.TimeoutError)
RETRY = {"autoretry_for": TRANSIENT, "retry_backoff": 1, "retry_backoff_max": 30, "retry_jitter": True}


def load_limits(settings: Settings) -> LoadLimits:
    return LoadLimits(
        max_file_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels, max_pages=settings.max_pages
    )


def read_params(settings: Settings) -> ReadParams:
    return ReadParams(review_threshold=settings.review_threshold)


def archive_limits(settings: Settings) -> ArchiveLimits:
    return ArchiveLimits(
        max_members=settings.max_archive_files,
        max_member_bytes=settings.max_upload_bytes,
        max_total_bytes=settings.max_archive_bytes,
    )


class PageTask(Task):  # type: ignore[misc]
    """Records a failed page when a read ends in an error no handler caught (a bug, a hard time limit)."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        reason = "timed out" if isinstance(exc, TimeLimitExceeded) else f"internal error ({type(exc).__name__})"
        log.error("task %s%r failed: %r", self.name, tuple(args), exc)
        try:
            if self.name == READ_PAGE and len(args) == 3:
                job_id, file_index, page = args
                resources.job_store().record_failed_page(job_id, file_index, page, reason)
            elif self.name == EXPAND_JOB and len(args) == 1:
                resources.job_store().fail_job(args[0], f"the job could not be expanded: {reason}")
        except Exception as store_exc:  # Redis is gone too: the job's TTL will clean up
            log.error("task %s%r could not record its failure: %r", self.name, tuple(args), store_exc)


@shared_task(name=EXPAND_JOB, base=PageTask, max_retries=5, **RETRY)
def expand_job(job_id: str) -> int:
    """Plan the job's pages and enqueue them; returns the number of pages."""
    store = resources.job_store()
    settings = resources.settings_of()
    try:
        plan = store.plan(job_id)
    except JobNotFound:
        log.info("job=%s gone before expansion", job_id)
        return 0
    if not plan:  # not planned yet (a redelivered expansion reuses the stored plan)
        plan = [entry for name, key in store.uploads(job_id) for entry in _plan_upload(job_id, name, key, settings)]
        store.set_plan(job_id, plan)
    queued = 0
    for file_index, entry in enumerate(plan):
        for page in range(1, entry.pages + 1):
            if not store.has_result(job_id, file_index, page):
                store.enqueue_page(job_id, file_index, page)
                queued += 1
    log.info("job=%s expanded: %d file(s), %d page(s) queued", job_id, len(plan), queued)
    return queued


def _plan_upload(job_id: str, name: str, key: str, settings: Settings) -> list[PlannedFile]:
    """The planned files of one upload: itself, or its archive members; errors stay with their file."""
    store = resources.job_store()
    data = store.file_bytes(job_id, key)
    if data is None:
        return [PlannedFile(name, key, 0, "the upload expired before it was read")]
    try:
        if sniff_format(data[:2048]) == "zip":
            members = expand_upload(name, data, archive_limits(settings))
            # Members are shown as "archive.zip/member.png" (labels only: nothing touches the disk).
            files = [
                (f"{name}/{m.name}", store.store_member(job_id, key, i, m.data), m.data) for i, m in enumerate(members)
            ]
        else:
            files = [(name, key, data)]
    except FormdigitsError as exc:
        log.info("job=%s file %r refused: %s", job_id, name, exc.message)
        return [PlannedFile(name, key, 0, exc.message)]
    planned = []
    for source, file_key, file_data in files:
        try:
            planned.append(PlannedFile(source, file_key, count_pages(file_data, source, load_limits(settings))))
        except FormdigitsError as exc:
            planned.append(PlannedFile(source, file_key, 0, exc.message))
    return planned


@shared_task(name=READ_PAGE, base=PageTask, bind=True, max_retries=5, **RETRY)
def read_page(self: Task, job_id: str, file_index: int, page: int, crashes: int = 0) -> None:
    """Read page ``page`` (from 1) of the job's file ``file_index`` into its slot.

    ``crashes``: how many earlier tries of this page raised an unexpected exception (Celery's
    own retry count also counts the retries after Redis errors).
    """
    store = resources.job_store()
    try:
        mode = store.mode(job_id)  # also tells that the job still exists
        entry = _job_plan(store, job_id)[file_index]
    except (JobNotFound, IndexError):
        log.info("job=%s page=%s:%s: job gone, nothing to do", job_id, file_index, page)
        return
    if store.has_result(job_id, file_index, page):
        return  # a redelivered duplicate of a page already read
    unfinished = store.start_attempt(job_id, file_index, page)
    if unfinished > MAX_UNFINISHED_READS:
        log.error("job=%s page=%s:%s killed its worker %d times", job_id, file_index, page, unfinished - 1)
        store.record_failed_page(job_id, file_index, page, "this page crashed the reader repeatedly", "reader_crashed")
        return
    try:
        result, overlay = _read(store, job_id, entry, page, mode)
        store.record_page(job_id, file_index, page, result, overlay)
    except FormdigitsError as exc:
        log.info("job=%s page=%s:%s failed: %s", job_id, file_index, page, exc.message)
        store.record_failed_page(job_id, file_index, page, exc.message, exc.code)
    except SoftTimeLimitExceeded:
        log.warning("job=%s page=%s:%s timed out", job_id, file_index, page)
        store.record_failed_page(job_id, file_index, page, "timed out", "timeout")
    except TRANSIENT:
        raise  # autoretry_for: Redis will be back
    except Exception as exc:  # the task edge: a bug this page triggers must not take the job down
        tries = crashes + 1
        if tries <= CRASH_RETRIES:
            log.warning("job=%s page=%s:%s reader crashed (%r); retry %d", job_id, file_index, page, exc, tries)
            raise self.retry(exc=exc, countdown=CRASH_RETRY_DELAY_S, kwargs={"crashes": tries}) from exc
        log.error("job=%s page=%s:%s reader crashed %d times: %r", job_id, file_index, page, tries, exc)
        reason = f"the reader crashed on this page {tries} times ({type(exc).__name__})"
        store.record_failed_page(job_id, file_index, page, reason, "reader_crashed")
    finally:
        # Reached on every way out but a dead process; a Redis error here leaves the count
        # one too high, which costs at most one of the MAX_UNFINISHED_READS.
        with contextlib.suppress(redis.RedisError):
            store.end_attempt(job_id, file_index, page)


def _read(store: Any, job_id: str, entry: PlannedFile, page: int, mode: str) -> tuple[dict[str, Any], bytes | None]:
    """Load, read and render one page: (the page's JSON, its overlay PNG)."""
    _test_hooks(store.settings, entry.source)
    data = _upload_bytes(store, job_id, entry.key)
    if data is None:
        raise FormdigitsError("the upload expired before this page was read")
    settings = store.settings
    return read_one_page(
        resources.classifier(), entry.source, data, page, mode, read_params(settings), limits=load_limits(settings)
    )


# The pages of one job mostly reach the same process one after another: keep the last job's
# parsed plan (it never changes once set) and the last upload's bytes rather than fetching and
# parsing them from Redis again for every page.
_last_plan: tuple[str, list[PlannedFile]] | None = None
_last_upload: tuple[tuple[str, str], bytes] | None = None


def _job_plan(store: Any, job_id: str) -> list[PlannedFile]:
    """The job's planned files, from this process's one-entry cache when it holds them."""
    global _last_plan
    if _last_plan is not None and _last_plan[0] == job_id:
        return _last_plan[1]
    plan = store.plan(job_id)
    _last_plan = (job_id, plan) if plan else None  # an empty plan is not final yet
    return plan


def _upload_bytes(store: Any, job_id: str, key: str) -> bytes | None:
    """The bytes of one stored upload, from this process's one-entry cache when it holds them."""
    global _last_upload
    if _last_upload is not None and _last_upload[0] == (job_id, key):
        return _last_upload[1]
    data = store.file_bytes(job_id, key)
    _last_upload = None if data is None else ((job_id, key), data)
    return data


def _test_hooks(settings: Settings, source: str) -> None:
    """The test/debug knobs of Settings (off by default): a delay per page, poison pages."""
    if settings.test_page_delay_s:
        time.sleep(settings.test_page_delay_s)
    if settings.test_poison:
        action, marker = settings.test_poison.split(":", 1)
        if marker in source:
            if action == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"test poison page {source!r}")
