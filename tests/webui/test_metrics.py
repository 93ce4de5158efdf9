"""``GET /metrics`` against a real Redis: queue lengths, jobs by state, page counters, latency, workers."""

from __future__ import annotations

import io
import re

import numpy as np
from conftest import png_bytes

from webui.app import create_app
from worker.jobs import PlannedFile
from worker.settings import Settings

PNG = png_bytes(np.full((20, 30), 255, dtype=np.uint8))
SAMPLE = re.compile(r'^([a-z_]+)(\{[a-z]+="[^"]*"\})? (-?[0-9.e+]+)$')


def scrape(client) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Parse the exposition strictly: HELP and TYPE before each family, then well-formed samples."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, float] = {}
    declared: set[str] = set()
    for line in response.get_data(as_text=True).splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter", "histogram")
            declared.add(name)
            continue
        match = SAMPLE.match(line)
        assert match, line
        name, labels, value = match.groups()
        assert re.sub(r"_(bucket|sum|count)$", "", name) in declared or name in declared, line
        samples[name + (labels or "")] = float(value)
    return samples


def _job(client, *files: tuple[str, bytes]) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/jobs", data={"files": [(io.BytesIO(d), n) for n, d in files], "mode": "line"})
    assert response.status_code == 202
    return str(response.get_json()["id"])


def test_metrics_follow_jobs_pages_and_workers(app, client) -> None:  # type: ignore[no-untyped-def]
    store = app.extensions["formdigits_store"]
    empty = scrape(client)
    assert empty['formdigits_queue_length{queue="pages"}'] == 0
    assert empty['formdigits_pages_total{outcome="read"}'] == 0
    assert empty['formdigits_job_latency_seconds_bucket{le="+Inf"}'] == 0
    assert empty["formdigits_workers_seen"] == 0

    first = _job(client, ("a.png", PNG))
    second = _job(client, ("b.png", PNG), ("c.png", PNG))
    drawing = client.post("/api/v1/digits", data=PNG, content_type="image/png").get_json()["id"]
    queued = scrape(client)
    assert queued['formdigits_queue_length{queue="pages"}'] == 2  # one expansion task per job
    assert queued['formdigits_queue_length{queue="digits"}'] == 1
    assert queued['formdigits_jobs{state="queued"}'] == 3 and queued["formdigits_jobs_submitted_total"] == 3

    # A worker reads the drawing twice (a redelivery): it is counted once.
    result = {"page": 1, "fields": []}
    store.record_page(drawing, 0, 1, result)
    store.record_page(drawing, 0, 1, result)
    # The first job turns out to have two pages: one is read, one fails.
    store.set_plan(first, [PlannedFile("a.png", "upload:0", 2)])
    store.record_page(first, 0, 1, result)
    assert scrape(client)['formdigits_jobs{state="running"}'] == 1
    store.record_failed_page(first, 0, 2, "unreadable")
    store.beat("worker@test:1")

    after = scrape(client)
    assert after['formdigits_pages_total{outcome="read"}'] == 2
    assert after['formdigits_pages_total{outcome="failed"}'] == 1
    assert after['formdigits_jobs_finished_total{state="done"}'] == 2
    assert after['formdigits_jobs{state="queued"}'] == 1 and after['formdigits_jobs{state="running"}'] == 0
    buckets = [v for k, v in after.items() if k.startswith("formdigits_job_latency_seconds_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] == 2 == after["formdigits_job_latency_seconds_count"]
    assert 0 < after["formdigits_job_latency_seconds_sum"] < 60  # two jobs finished within this test
    assert after["formdigits_workers_seen"] == 1

    # A deleted job leaves the gauges.
    assert client.delete(f"/api/v1/jobs/{second}").status_code == 204
    assert scrape(client)['formdigits_jobs{state="queued"}'] == 0


def test_metrics_without_redis_is_a_json_503(settings: Settings) -> None:
    app = create_app(Settings.from_env({**settings.to_env(), "REDIS_URL": "redis://127.0.0.1:1/0"}))
    response = app.test_client().get("/metrics")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "unavailable"
