"""JobStore against a real Redis: ids, slots, progress without double counting, completion, TTLs, deletion."""

from __future__ import annotations

import json

import pytest
import redis

from recognition.results import failed_page
from worker.celery_app import make_celery
from worker.jobs import JobNotFound, JobStore, PlannedFile, safe_display_name
from worker.settings import Settings


@pytest.fixture
def store(settings: Settings):  # type: ignore[no-untyped-def]
    s = JobStore.connect(settings, make_celery(settings))
    yield s
    s.redis.close()


def _page(n: int) -> dict[str, object]:
    return {"page": n, "width": 10, "height": 20, "fields": []}


def _keys(store: JobStore, job_id: str) -> list[bytes]:
    return list(store.redis.scan_iter(match=f"{store.prefix}:job:{job_id}*"))


def test_created_job_is_queued_with_unguessable_id(store: JobStore) -> None:
    ids = {store.create_job([("a.png", b"x"), ("../../etc/b.png", b"y")], "page") for _ in range(5)}
    assert len(ids) == 5
    job_id = ids.pop()
    assert len(job_id) == 32  # 24 random bytes, base64: 192 bits
    job = store.get_job(job_id)
    assert job["state"] == "queued" and job["mode"] == "page"
    assert job["progress"] == {"done": 0, "total": 0}
    assert [r["source"] for r in job["results"]] == ["a.png", "b.png"]
    assert job["finished"] is None


def test_expand_task_is_enqueued_by_name_under_the_prefix(store: JobStore) -> None:
    job_id = store.create_job([("a.png", b"x")], "line")
    queued = store.redis.lrange(f"{store.prefix}:celery:pages", 0, -1)
    bodies = [json.loads(m) for m in queued]
    assert [(b["headers"]["task"], b["headers"]["argsrepr"]) for b in bodies] == [
        ("formdigits.expand_job", repr([job_id]))
    ]


def test_redelivered_page_overwrites_its_slot_and_job_finishes_once(store: JobStore) -> None:
    job_id = store.create_job([("a.pdf", b"pdf"), ("b.png", b"png")], "page")
    assert store.set_plan(job_id, [PlannedFile("a.pdf", "upload:0", 2), PlannedFile("b.png", "upload:1", 1)]) == 3
    assert store.record_page(job_id, 0, 1, _page(1)) == (1, 3)
    assert store.record_page(job_id, 0, 1, _page(1)) == (1, 3)  # redelivery: same slot
    assert store.page_reads(job_id) == {"0:1": 2}
    assert store.get_job(job_id)["state"] == "running"
    assert store.record_failed_page(job_id, 1, 1, "corrupt PNG") == (2, 3)
    assert store.file_bytes(job_id, "upload:0") == b"pdf"
    assert store.record_page(job_id, 0, 2, _page(2), b"PNGDATA") == (3, 3)
    job = store.get_job(job_id)
    assert job["state"] == "done" and job["finished"] is not None
    assert job["progress"] == {"done": 3, "total": 3}
    assert job["results"] == [
        {"source": "a.pdf", "error": None, "pages": [_page(1), _page(2)]},
        {"source": "b.png", "error": None, "pages": [failed_page(1, "corrupt PNG", "read_failed")]},
    ]
    # Uploaded bytes are released once read; the overlay is found by its index over the whole job.
    assert store.file_bytes(job_id, "upload:0") is None
    assert store.overlay(job_id, 2) == b"PNGDATA"
    assert store.overlay(job_id, 1) is None and store.overlay(job_id, 4) is None
    # A late duplicate after completion changes nothing.
    assert store.record_page(job_id, 0, 2, _page(2)) == (3, 3)
    assert store.get_job(job_id)["state"] == "done"


def test_job_whose_pages_all_failed_is_failed(store: JobStore) -> None:
    job_id = store.create_job([("a.png", b"x")], "page")
    store.set_plan(job_id, [PlannedFile("a.png", "upload:0", 1)])
    store.record_failed_page(job_id, 0, 1, "no ink")
    assert store.get_job(job_id)["state"] == "failed"


def test_job_without_readable_file_finishes_at_planning(store: JobStore) -> None:
    job_id = store.create_job([("a.txt", b"hello")], "page")
    store.set_plan(job_id, [PlannedFile("a.txt", "upload:0", 0, "unsupported file type")])
    job = store.get_job(job_id)
    assert job["state"] == "failed"
    assert job["results"] == [{"source": "a.txt", "error": "unsupported file type", "pages": []}]


def test_every_key_has_a_ttl_and_delete_removes_all(store: JobStore) -> None:
    job_id = store.create_job([("a.zip", b"zip")], "page")
    member = store.store_member(job_id, "upload:0", 0, b"member")
    store.set_plan(job_id, [PlannedFile("a.zip/p.png", member, 2)])
    store.start_attempt(job_id, 0, 1)
    store.record_page(job_id, 0, 1, _page(1), b"png")
    keys = _keys(store, job_id)
    assert len(keys) >= 6
    for key in keys:
        assert 0 < store.redis.ttl(key) <= store.ttl_s, key
    assert store.delete_job(job_id)
    assert _keys(store, job_id) == []
    with pytest.raises(JobNotFound):
        store.get_job(job_id)
    assert not store.delete_job(job_id)
    # A late page of a deleted job does not bring it back.
    assert store.record_page(job_id, 0, 2, _page(2)) == (-1, -1)
    assert _keys(store, job_id) == []


@pytest.mark.parametrize("job_id", ["nope", "A" * 32, "../" * 11, "*" * 32])
def test_unknown_or_malformed_ids_are_not_found(store: JobStore, job_id: str) -> None:
    with pytest.raises(JobNotFound):
        store.get_job(job_id)


def test_unfinished_jobs_index_is_pruned_when_a_job_is_created_and_only_read_by_active_states(
    store: JobStore,
) -> None:
    running = store.create_job([("a.png", b"x")], "page")
    store.record_page(running, 0, 1, _page(1))  # no plan yet: the job runs, unfinished
    # A job that expired unfinished: its id is in the index, scored older than the TTL, its hash gone.
    store.redis.zadd(store.active_key, {"expired-job-id": 1.0})
    assert store.active_states(100) == ["running"]
    assert store.redis.zscore(store.active_key, "expired-job-id") == 1.0  # reading changed nothing
    queued = store.create_job([("b.png", b"y")], "page")
    assert store.redis.zscore(store.active_key, "expired-job-id") is None
    assert store.active_states(100) == ["running", "queued"]
    assert store.active_states(1) == ["running"]
    assert set(store.redis.zrange(store.active_key, 0, -1)) == {running.encode(), queued.encode()}


def test_finished_job_latency_comes_from_its_creation_time(store: JobStore) -> None:
    job_id = store.create_job([("a.png", b"x")], "page")
    created = store.redis.zscore(store.active_key, job_id)
    assert created is not None
    store.redis.zadd(store.active_key, {job_id: created - 40.0})  # as if submitted 40 s earlier
    store.set_plan(job_id, [PlannedFile("a.png", "upload:0", 1)])
    store.record_page(job_id, 0, 1, _page(1))
    assert store.redis.zscore(store.active_key, job_id) is None
    latency = {k.decode(): v.decode() for k, v in store.redis.hgetall(store.latency_key).items()}
    assert latency["count"] == "1" and 40.0 <= float(latency["sum"]) < 70.0
    assert latency.get("le_60") == "1"  # the 40 s job lands in the (30, 60] bucket


def test_attempts_count_unfinished_reads(store: JobStore) -> None:
    job_id = store.create_job([("a.png", b"x")], "page")
    assert store.start_attempt(job_id, 0, 1) == 1
    store.end_attempt(job_id, 0, 1)
    assert store.start_attempt(job_id, 0, 1) == 1
    assert store.start_attempt(job_id, 0, 1) == 2  # the first of these never ended: a crash


def test_rate_limit_and_heartbeat(store: JobStore) -> None:
    assert [store.allow_post("1.2.3.4", 3) for _ in range(5)] == [True, True, True, False, False]
    assert store.allow_post("5.6.7.8", 3)
    assert all(store.allow_post("1.2.3.4", 0) for _ in range(5))
    assert store.workers_seen() == []
    store.beat("w1@host")
    assert store.workers_seen() == ["w1@host"]
    store.forget_worker("w1@host")
    assert store.workers_seen() == []


def test_display_names_never_carry_paths() -> None:
    assert safe_display_name("../../etc/passwd", "f") == "passwd"
    assert safe_display_name("C:\\x\\y.png", "f") == "y.png"
    assert safe_display_name("\x00\n", "file-1") == "file-1"
    assert len(safe_display_name("a" * 1000, "f")) == 200


def test_connect_to_a_dead_redis_fails_fast(settings: Settings) -> None:
    dead = Settings(redis_url="redis://127.0.0.1:1/0", key_prefix=settings.key_prefix)
    store = JobStore.connect(dead)
    with pytest.raises(redis.ConnectionError):
        store.ping()
