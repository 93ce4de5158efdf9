"""The job store: jobs, uploaded bytes and per-page results in Redis, shared by the web process and workers.

No torch and no OpenCV here: the web process imports this module. Tasks are enqueued by
name (``send_task``), so the web process never imports ``worker.tasks``.

Keys (``P`` = ``<prefix>:job:<id>``), every one with the job's TTL:

- ``P``            hash: ``state``, ``mode``, ``created``, ``finished``, ``total`` (-1 until the
  page plan is known), ``uploads`` (JSON list of file names), ``plan`` (JSON, see below).
- ``P:upload:<i>`` (and ``P:upload:<i>:<m>`` for archive members): the file bytes, deleted once
  every page of the job has been read.
- ``P:results``    hash: slot ``<file>:<page>`` -> the page's JSON. A redelivered page overwrites
  its own slot, so progress (the number of slots) never double counts.
- ``P:overlays``   hash: slot -> overlay PNG bytes rendered by the worker.
- ``P:failed``     set of slots whose page failed (to tell a ``failed`` job from a ``done`` one).
- ``P:attempts``   hash: slot -> page reads started and not finished (crash detection).
- ``P:reads``      hash: slot -> results recorded (1 unless a page was redelivered after its read).

Service-wide keys for ``/metrics``: ``<prefix>:stats`` (hash of counters: pages done/failed,
counted once per slot; jobs submitted/done/failed), ``<prefix>:stats:latency`` (hash: job
latency histogram buckets, sum and count) and ``<prefix>:jobs:active`` (sorted set of the ids of
unfinished jobs, scored by creation time: the one record of it).

The plan is a list of files ``{"source", "key", "pages", "error"}`` in submission order (archives
expanded); pages are numbered from 1 within each file.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery

from recognition.results import failed_page
from worker.celery_app import DIGITS_QUEUE, EXPAND_JOB, PAGES_QUEUE, READ_PAGE
from worker.job_scripts import RECORD_PAGE_LUA, SET_PLAN_LUA
from worker.settings import Settings

log = logging.getLogger(__name__)

MODES = ("page", "line", "digit")
STATES = ("queued", "running", "done", "failed")
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
# A worker is "seen" when its heartbeat is younger than this; workers beat every HEARTBEAT_EVERY_S.
HEARTBEAT_EVERY_S = 5.0
HEARTBEAT_FRESH_S = 20.0
MAX_NAME_CHARS = 200
# Enqueueing must fail fast when Redis is down, so the web answers 503 instead of hanging.
SEND_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.0, "interval_step": 0.2, "interval_max": 0.5}
# Upper bounds (seconds) of the job latency histogram's buckets, submission to last page.
LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class JobNotFound(LookupError):
    """No job with this id (never created, deleted, or expired)."""


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One file of a job after archive expansion: its display name, bytes key, page count or error."""

    source: str
    key: str
    pages: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "key": self.key, "pages": self.pages, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannedFile:
        return cls(str(data["source"]), str(data["key"]), int(data["pages"]), data.get("error"))


def new_job_id() -> str:
    """An unguessable job id: 24 random bytes (192 bits), URL-safe base64, 32 characters."""
    return secrets.token_urlsafe(24)


def safe_display_name(name: str, fallback: str) -> str:
    """A file name fit for display only: last path component, no control characters, bounded length."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip()
    return cleaned[:MAX_NAME_CHARS] or fallback


class JobStore:
    """Create, advance, read and delete jobs in Redis; enqueue their tasks through Celery by name."""

    def __init__(self, settings: Settings, client: redis.Redis, celery: Celery | None = None) -> None:
        self.settings = settings
        self.redis = client
        self.celery = celery
        self.prefix = settings.key_prefix
        self.ttl_s = settings.job_ttl_s
        self._record_page = client.register_script(RECORD_PAGE_LUA)
        self._set_plan = client.register_script(SET_PLAN_LUA)

    @classmethod
    def connect(cls, settings: Settings, celery: Celery | None = None) -> JobStore:
        """A store on ``settings.redis_url`` with short socket timeouts (a down Redis fails fast)."""
        if settings.redis_url is None:
            raise ValueError("JobStore.connect needs settings.redis_url")
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=30
        )
        return cls(settings, client, celery)

    # --- keys -----------------------------------------------------------------------------------
    def _key(self, job_id: str, *parts: str) -> str:
        return ":".join((self.prefix, "job", job_id, *parts))

    @property
    def stats_key(self) -> str:
        return f"{self.prefix}:stats"

    @property
    def active_key(self) -> str:
        return f"{self.prefix}:jobs:active"

    @property
    def latency_key(self) -> str:
        return f"{self.prefix}:stats:latency"

    # --- submission (web side) --------------------------------------------------------------------
    def create_job(self, files: Sequence[tuple[str, bytes]], mode: str, *, expand: bool = True) -> str:
        """Store ``files`` (display name, bytes) as a new job in ``mode`` and enqueue it; returns the id.

        With ``expand`` the job goes through ``expand_job`` (archives, page counting); without it
        (single drawings) each file is taken as one single-page image and read at once on the
        digits queue.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if not files:
            raise ValueError("a job needs at least one file")
        if self.celery is None:
            raise RuntimeError("this JobStore has no Celery app to enqueue with")
        job_id = new_job_id()
        names = [safe_display_name(name, f"file-{i + 1}") for i, (name, _) in enumerate(files)]
        meta: dict[Any, str] = {
            "state": "queued",
            "mode": mode,
            "created": _now_iso(),
            "finished": "",
            "total": "-1",
            "uploads": json.dumps(names),
            "plan": "",
        }
        if not expand:
            plan = [PlannedFile(n, f"upload:{i}", 1).to_dict() for i, n in enumerate(names)]
            meta.update(plan=json.dumps(plan), total=str(len(plan)))
        pipe = self.redis.pipeline(transaction=True)
        for i, (_, data) in enumerate(files):
            pipe.set(self._key(job_id, "upload", str(i)), data, ex=self.ttl_s)
        pipe.hset(self._key(job_id), mapping=meta)
        pipe.expire(self._key(job_id), self.ttl_s)
        now = time.time()
        # The index of unfinished jobs is pruned here, where it grows: a job whose hash expired
        # unfinished (older than the TTL) is gone.
        pipe.zremrangebyscore(self.active_key, "-inf", now - self.ttl_s)
        pipe.zadd(self.active_key, {job_id: now})
        pipe.hincrby(self.stats_key, "jobs_submitted", 1)
        pipe.execute()
        try:
            if expand:
                self.celery.send_task(
                    EXPAND_JOB, args=[job_id], queue=PAGES_QUEUE, retry=True, retry_policy=SEND_RETRY_POLICY
                )
            else:
                for i in range(len(files)):
                    self.enqueue_page(job_id, i, 1, queue=DIGITS_QUEUE)
        except Exception:
            # Not enqueued: do not leave a job that will never move.
            self.delete_job(job_id)
            raise
        log.info("job=%s created: %d file(s), mode %s", job_id, len(files), mode)
        return job_id

    def enqueue_page(self, job_id: str, file_index: int, page: int, *, queue: str = PAGES_QUEUE) -> None:
        """Send one ``read_page`` task by name (idempotent: a duplicate overwrites its own slot)."""
        assert self.celery is not None
        self.celery.send_task(
            READ_PAGE, args=[job_id, file_index, page], queue=queue, retry=True, retry_policy=SEND_RETRY_POLICY
        )

    # --- worker side ---------------------------------------------------------------------------
    def uploads(self, job_id: str) -> list[tuple[str, str]]:
        """``(display name, bytes key)`` of each uploaded file, in submission order."""
        raw = self.redis.hget(self._key(job_id), "uploads")
        if raw is None:
            raise JobNotFound(job_id)
        return [(name, f"upload:{i}") for i, name in enumerate(json.loads(raw))]

    def file_bytes(self, job_id: str, key: str) -> bytes | None:
        """The stored bytes of a file of the job, or None once they have been released."""
        data = self.redis.get(self._key(job_id, key))
        return None if data is None else bytes(data)  # type: ignore[arg-type]

    def store_member(self, job_id: str, upload_key: str, index: int, data: bytes) -> str:
        """Store an archive member's bytes next to its archive; returns the member's key."""
        key = f"{upload_key}:{index}"
        self.redis.set(self._key(job_id, key), data, ex=self.ttl_s)
        return key

    def set_plan(self, job_id: str, plan: Sequence[PlannedFile]) -> int:
        """Record the files and page counts of a job; returns the total number of pages to read."""
        total = sum(f.pages for f in plan)
        keys = [self._key(job_id), self._key(job_id, "results"), self._key(job_id, "failed")]
        args: list[Any] = [json.dumps([f.to_dict() for f in plan]), total, _now_iso()]
        if self._set_plan(keys=keys, args=args) == 1:
            self._release_uploads(job_id)
            self._observe_finished(job_id)
        return total

    def plan(self, job_id: str) -> list[PlannedFile]:
        """The job's planned files (empty until ``expand_job`` has run)."""
        raw = self.redis.hget(self._key(job_id), "plan")
        if raw is None:
            raise JobNotFound(job_id)
        return [PlannedFile.from_dict(d) for d in json.loads(raw)] if raw else []

    def mode(self, job_id: str) -> str:
        raw = self.redis.hget(self._key(job_id), "mode")
        if raw is None:
            raise JobNotFound(job_id)
        return raw.decode()  # type: ignore[union-attr]

    def has_result(self, job_id: str, file_index: int, page: int) -> bool:
        return bool(self.redis.hexists(self._key(job_id, "results"), f"{file_index}:{page}"))

    def record_page(
        self, job_id: str, file_index: int, page: int, result: dict[str, Any], overlay_png: bytes | None = None
    ) -> tuple[int, int]:
        """Store one page's result (or failure) in its slot; returns (pages done, total) after it."""
        failed = "error" in result and result["error"] is not None
        keys = [self._key(job_id)] + [self._key(job_id, s) for s in ("results", "overlays", "failed", "reads")]
        keys.append(self.stats_key)
        args: list[Any] = [
            f"{file_index}:{page}",
            json.dumps(result),
            overlay_png or b"",
            int(failed),
            _now_iso(),
            self.ttl_s,
        ]
        done, total, finished = self._record_page(keys=keys, args=args)
        if finished:
            self._release_uploads(job_id)
            self._observe_finished(job_id)
            log.info("job=%s finished: %d page(s)", job_id, total)
        return int(done), int(total)

    def record_failed_page(
        self, job_id: str, file_index: int, page: int, message: str, code: str = "read_failed"
    ) -> tuple[int, int]:
        """Mark one page failed with a reason, shaped as ``formdigits read`` shapes a failed page."""
        return self.record_page(job_id, file_index, page, failed_page(page, message, code))

    def page_reads(self, job_id: str) -> dict[str, int]:
        """Slot -> how many times a result was recorded for it (every slot 1: each page read once)."""
        raw = self.redis.hgetall(self._key(job_id, "reads"))
        return {k.decode(): int(v) for k, v in raw.items()}  # type: ignore[union-attr]

    def start_attempt(self, job_id: str, file_index: int, page: int) -> int:
        """Count a read of this page as started; returns how many started reads never finished."""
        key = self._key(job_id, "attempts")
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(key, f"{file_index}:{page}", 1)
        pipe.expire(key, self.ttl_s)
        return int(pipe.execute()[0])

    def end_attempt(self, job_id: str, file_index: int, page: int) -> None:
        """The read of this page finished (with a result or an error): it did not crash the process."""
        self.redis.hincrby(self._key(job_id, "attempts"), f"{file_index}:{page}", -1)

    def fail_job(self, job_id: str, message: str) -> None:
        """Mark the whole job failed (expansion itself broke); keeps what is stored for inspection."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self._key(job_id), mapping={"state": "failed", "finished": _now_iso(), "error": message})
        pipe.execute()
        self._observe_finished(job_id)

    def _observe_finished(self, job_id: str) -> None:
        """Count a job that just finished and add its latency to the histogram (once per job)."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zscore(self.active_key, job_id)  # the creation time
        pipe.zrem(self.active_key, job_id)
        pipe.hget(self._key(job_id), "state")
        created, removed, state = pipe.execute()
        if not removed:
            return  # already observed (or deleted)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hincrby(self.stats_key, f"jobs_{(state or b'failed').decode()}", 1)
        if created is not None:
            latency = max(0.0, time.time() - float(created))
            bucket = next((f"le_{b:g}" for b in LATENCY_BUCKETS_S if latency <= b), "le_inf")
            pipe.hincrby(self.latency_key, bucket, 1)
            pipe.hincrby(self.latency_key, "count", 1)
            pipe.hincrbyfloat(self.latency_key, "sum", latency)
        pipe.execute()

    def _release_uploads(self, job_id: str) -> None:
        """Drop the uploaded bytes once every page has been read (the results stay until the TTL)."""
        keys = [self._key(job_id, f.key) for f in self.plan(job_id)]
        keys += [self._key(job_id, key) for _, key in self.uploads(job_id)]
        self.redis.delete(*keys)

    # --- reading (web side) ---------------------------------------------------------------------
    def active_states(self, limit: int) -> list[str]:
        """The states of up to ``limit`` unfinished jobs, oldest first (read only: see ``create_job``)."""
        ids = self.redis.zrangebyscore(self.active_key, time.time() - self.ttl_s, "+inf", start=0, num=limit)
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hget(self._key(job_id.decode()), "state")
        return [state.decode() for state in pipe.execute() if state is not None]

    def get_job(self, job_id: str, *, with_results: bool = True) -> dict[str, Any]:
        """The job as the API shows it: id, state, progress, times, mode and ``read``-shaped results.

        Without ``with_results`` the (possibly large) results are not read and ``results`` is empty:
        cheap polling of progress.
        """
        if not JOB_ID_RE.match(job_id):
            raise JobNotFound(job_id)
        results_key = self._key(job_id, "results")
        pipe = self.redis.pipeline(transaction=True)
        pipe.hgetall(self._key(job_id))
        if with_results:
            pipe.hgetall(results_key)
        else:
            pipe.hlen(results_key)
        meta_raw, slots_raw = pipe.execute()
        if not meta_raw:
            raise JobNotFound(job_id)
        meta = {k.decode(): v.decode() for k, v in meta_raw.items()}
        total = int(meta["total"])
        results: list[dict[str, Any]] = []
        if with_results:
            slots = {k.decode(): json.loads(v) for k, v in slots_raw.items()}
            done = len(slots)
            results = _results(meta, slots)
        else:
            done = int(slots_raw)
        job: dict[str, Any] = {
            "id": job_id,
            "state": meta["state"],
            "mode": meta["mode"],
            "progress": {"done": done, "total": max(total, 0)},
            "created": meta["created"],
            "finished": meta["finished"] or None,
            "results": results,
        }
        if meta.get("error"):
            job["error"] = meta["error"]
        return job

    def page_slots(self, job_id: str) -> Iterator[tuple[int, int]]:
        """(file index, page) of every planned page in job order: overlay page n is the n-th of these."""
        for i, f in enumerate(self.plan(job_id)):
            for p in range(1, f.pages + 1):
                yield i, p

    def overlay(self, job_id: str, n: int) -> bytes | None:
        """The overlay PNG of the job's n-th page (1-based over all its pages), None if not rendered."""
        if not JOB_ID_RE.match(job_id):
            raise JobNotFound(job_id)
        for index, (i, p) in enumerate(self.page_slots(job_id), start=1):
            if index == n:
                data = self.redis.hget(self._key(job_id, "overlays"), f"{i}:{p}")
                return None if data is None else bytes(data)  # type: ignore[arg-type]
        return None

    def delete_job(self, job_id: str) -> bool:
        """Remove the job and everything stored for it; False when there was no such job."""
        if not JOB_ID_RE.match(job_id):
            return False
        try:
            files = {key for _, key in self.uploads(job_id)} | {f.key for f in self.plan(job_id)}
        except JobNotFound:
            return False
        self.redis.zrem(self.active_key, job_id)
        parts = ("results", "overlays", "failed", "attempts", "reads", *sorted(files))
        return self.redis.delete(self._key(job_id), *(self._key(job_id, part) for part in parts)) > 0

    # --- service health and limits --------------------------------------------------------------
    def beat(self, worker_name: str) -> None:
        """A worker says it is alive (called every HEARTBEAT_EVERY_S seconds by each worker)."""
        key = f"{self.prefix}:workers"
        now = time.time()
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(key, {worker_name: now})
        pipe.zremrangebyscore(key, "-inf", now - 10 * HEARTBEAT_FRESH_S)
        pipe.execute()

    def forget_worker(self, worker_name: str) -> None:
        """A worker shutting down removes its heartbeat."""
        self.redis.zrem(f"{self.prefix}:workers", worker_name)

    def workers_seen(self, within_s: float = HEARTBEAT_FRESH_S) -> list[str]:
        """Names of the workers whose last heartbeat is younger than ``within_s`` seconds."""
        names = self.redis.zrangebyscore(f"{self.prefix}:workers", time.time() - within_s, "+inf")
        return [n.decode() for n in names]  # type: ignore[union-attr]

    def allow_post(self, client: str, limit_per_min: int) -> bool:
        """Count one POST by ``client`` in the current minute; False once it is over ``limit_per_min``."""
        if limit_per_min <= 0:
            return True
        key = f"{self.prefix}:rate:{client}:{int(time.time() // 60)}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
        return int(count) <= limit_per_min

    def ping(self) -> None:
        """Raise redis.ConnectionError when Redis cannot be reached."""
        self.redis.ping()


def _results(meta: dict[str, str], slots: dict[str, Any]) -> list[dict[str, Any]]:
    """``read``-shaped results: per planned file its pages with a result, in page order."""
    if not meta["plan"]:
        return [{"source": name, "error": None, "pages": []} for name in json.loads(meta["uploads"])]
    plan = [PlannedFile.from_dict(d) for d in json.loads(meta["plan"])]
    return [
        {
            "source": f.source,
            "error": f.error,
            "pages": [slots[s] for s in (f"{i}:{p}" for p in range(1, f.pages + 1)) if s in slots],
        }
        for i, f in enumerate(plan)
    ]


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
