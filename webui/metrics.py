"""``GET /metrics``: the service's state in the Prometheus text format (version 0.0.4).

Everything is read from Redis at scrape time, so any web process answers for the whole
service: queue lengths (the Celery lists), unacknowledged messages, unfinished jobs by state,
jobs and pages counted by the workers (each page once, when its slot is first filled), the job
latency histogram (submission to last page) and the workers whose heartbeat is fresh.
When Redis is down the scrape gets the usual 503 JSON error (the scrape itself is the alarm).
"""

from __future__ import annotations

from flask import Blueprint, Response

from webui.app import job_store
from worker.celery_app import DIGITS_QUEUE, PAGES_QUEUE, celery_key_prefix
from worker.jobs import LATENCY_BUCKETS_S, JobStore

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# kombu's Redis transport keeps messages with a priority in sibling lists "<queue>\x06\x16<p>".
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
# Unfinished jobs looked at per scrape (their states are read one by one).
MAX_ACTIVE_JOBS_SCANNED = 10_000


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus exposition of the service's queues, jobs, pages, latencies and workers."""
    return Response(render_metrics(job_store()), mimetype=None, content_type=CONTENT_TYPE)


def render_metrics(store: JobStore) -> str:
    """The whole exposition as text (one line per sample, ``# HELP``/``# TYPE`` before each family)."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

    celery = celery_key_prefix(store.prefix)
    pipe = store.redis.pipeline(transaction=False)
    for queue in (PAGES_QUEUE, DIGITS_QUEUE):
        for key in (queue, *(f"{queue}{PRIORITY_SEPARATOR}{p}" for p in PRIORITY_STEPS)):
            pipe.llen(celery + key)
    pipe.zcard(celery + "unacked_index")
    pipe.hgetall(store.stats_key)
    pipe.hgetall(store.latency_key)
    *lengths, unacked, stats_raw, latency_raw = pipe.execute()
    per_queue = len(PRIORITY_STEPS) + 1
    family(
        "formdigits_queue_length",
        "gauge",
        "Tasks waiting in a Celery queue (pages: expansions and page reads; digits: drawings).",
        [
            (f'{{queue="{q}"}}', sum(lengths[i * per_queue : (i + 1) * per_queue]))
            for i, q in enumerate((PAGES_QUEUE, DIGITS_QUEUE))
        ],
    )
    family(
        "formdigits_unacked_tasks", "gauge", "Tasks delivered to a worker and not yet acknowledged.", [("", unacked)]
    )

    states = store.active_states(MAX_ACTIVE_JOBS_SCANNED)
    family(
        "formdigits_jobs",
        "gauge",
        "Unfinished jobs by state.",
        [(f'{{state="{s}"}}', states.count(s)) for s in ("queued", "running")],
    )
    stats = {k.decode(): int(v) for k, v in stats_raw.items()}
    family("formdigits_jobs_submitted_total", "counter", "Jobs accepted.", [("", stats.get("jobs_submitted", 0))])
    family(
        "formdigits_jobs_finished_total",
        "counter",
        "Jobs finished, by final state.",
        [(f'{{state="{s}"}}', stats.get(f"jobs_{s}", 0)) for s in ("done", "failed")],
    )
    family(
        "formdigits_pages_total",
        "counter",
        "Pages read (each counted once, however often it was delivered), by outcome.",
        [('{outcome="read"}', stats.get("pages_done", 0)), ('{outcome="failed"}', stats.get("pages_failed", 0))],
    )

    latency = {k.decode(): v.decode() for k, v in latency_raw.items()}
    buckets, cumulative = [], 0
    for bound in LATENCY_BUCKETS_S:
        cumulative += int(latency.get(f"le_{bound:g}", 0))
        buckets.append((f'_bucket{{le="{bound:g}"}}', cumulative))
    buckets.append(('_bucket{le="+Inf"}', int(latency.get("count", 0))))
    lines.append("# HELP formdigits_job_latency_seconds Time from submission to the job's last page.")
    lines.append("# TYPE formdigits_job_latency_seconds histogram")
    lines.extend(f"formdigits_job_latency_seconds{suffix} {_number(v)}" for suffix, v in buckets)
    lines.append(f"formdigits_job_latency_seconds_sum {_number(float(latency.get('sum', 0)))}")
    lines.append(f"formdigits_job_latency_seconds_count {int(latency.get('count', 0))}")

    family("formdigits_workers_seen", "gauge", "Workers whose heartbeat is fresh.", [("", len(store.workers_seen()))])
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
