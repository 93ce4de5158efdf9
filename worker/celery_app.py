"""The Celery application: JSON messages on Redis, late acks, one page per worker process at a time.

``make_celery(settings)`` builds the app for both sides: the web process uses it only to
``send_task`` by name (it never imports the tasks, hence never torch); worker processes
import ``worker.tasks`` through ``include``. ``celery -A worker.celery_app worker`` finds the
module-level ``app``, built from the environment on first access.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from worker.settings import Settings, broker_url

READ_PAGE = "formdigits.read_page"
EXPAND_JOB = "formdigits.expand_job"
PAGES_QUEUE = "pages"
# Drawings get their own queue so a single digit is not stuck behind a 200-page batch.
DIGITS_QUEUE = "digits"
# A message not acked within this time is handed to another worker (kombu's Redis transport
# restores unacked messages). It must exceed the longest page (the hard time limit) by a margin,
# or a slow page would be read twice; redelivery is harmless (slots are idempotent) but wasteful.
VISIBILITY_MARGIN_S = 300
# A new pool child loads the model (torch.jit trace and freeze) before it reports "up". Celery's
# default patience is 4 s; under load that was too short (the load test saw children killed and
# restarted in a loop for ~20 s after each max-tasks-per-child recycle).
CHILD_START_TIMEOUT_S = 60.0


def make_celery(settings: Settings) -> Celery:
    """A configured Celery app for ``settings``; needs ``settings.redis_url`` to be set."""
    if settings.redis_url is None:
        raise ValueError("make_celery needs a Redis URL (serve starts an embedded Redis when REDIS_URL is unset)")
    app = Celery("formdigits", broker=broker_url(settings.redis_url), include=["worker.tasks"])
    app.conf.update(celery_config(settings))
    app.conf.formdigits_settings = settings
    return app


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings that make page tasks safe to lose a worker on and cheap to retry."""
    return {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        # Results live in the job store; Celery keeps none.
        "task_ignore_result": True,
        "result_backend": None,
        # A page is acknowledged only once its result is stored; a worker that dies mid-page
        # gives it back to the queue.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.page_soft_time_limit_s,
        "task_time_limit": settings.page_hard_time_limit_s,
        "worker_max_tasks_per_child": settings.max_tasks_per_child,
        "worker_proc_alive_timeout": CHILD_START_TIMEOUT_S,
        "worker_concurrency": settings.worker_concurrency,
        "broker_connection_retry_on_startup": True,
        # When the broker connection drops, running pages are redelivered anyway (late acks):
        # cancel them instead of finishing work whose ack can no longer be sent.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_transport_options": {
            "visibility_timeout": visibility_timeout_s(settings),
            # Look for messages past their visibility timeout (those of a worker that died) every
            # few seconds on every scan; kombu's default looks only every 10th time, every 100 s.
            "unacked_restore_interval": max(1, min(10, visibility_timeout_s(settings) // 4)),
            "unacked_restore_throttle": 1,
            # Celery's own keys (queues, unacked messages, bindings) share the job store's prefix.
            "global_keyprefix": celery_key_prefix(settings.key_prefix),
        },
        "task_default_queue": PAGES_QUEUE,
        "task_routes": {READ_PAGE: {"queue": PAGES_QUEUE}, EXPAND_JOB: {"queue": PAGES_QUEUE}},
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "worker_enable_remote_control": True,
    }


def celery_key_prefix(key_prefix: str) -> str:
    """The prefix of Celery's own Redis keys (queues, unacked messages) under the service's ``key_prefix``."""
    return f"{key_prefix}:celery:"


def visibility_timeout_s(settings: Settings) -> int:
    """Seconds before an unacknowledged message is handed out again: the setting, or hard limit + margin."""
    return settings.visibility_timeout_s or int(settings.page_hard_time_limit_s) + VISIBILITY_MARGIN_S


def __getattr__(name: str) -> Celery:
    """``app`` (for ``celery -A worker.celery_app``): built from the environment on first access."""
    if name in ("app", "celery"):
        global _app
        if _app is None:
            _app = make_celery(Settings.from_env())
        return _app
    raise AttributeError(name)


_app: Celery | None = None
