"""What a worker process holds for its whole life: the classifier, the job store, the heartbeat.

The classifier is loaded once per worker process, right after the pool forks it
(``worker_process_init``), and lazily on first use where that signal does not fire (the
solo pool, tests). The main worker process writes a heartbeat every few seconds so that
``/healthz`` can tell whether any worker is alive without a round trip through the broker.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from celery import Celery, current_app
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from worker.jobs import HEARTBEAT_EVERY_S, JobStore
from worker.settings import Settings

log = logging.getLogger(__name__)

_model: Any = None
# (pid, store): a forked child opens its own connections; new settings (tests) get a new store.
_store: tuple[int, JobStore] | None = None
_heartbeat_stop = threading.Event()
_heartbeat_of: dict[str, object] = {}


def settings_of(app: Celery | None = None) -> Settings:
    """The Settings the Celery app was made with (``make_celery`` stores them in its conf)."""
    conf = (app or current_app).conf
    settings = conf.get("formdigits_settings")
    if settings is None:
        raise RuntimeError("this Celery app was not made by worker.celery_app.make_celery")
    return settings  # type: ignore[no-any-return]


def classifier() -> Any:
    """The process's classifier (``recognition.classifier.Classifier``), loaded on first use."""
    global _model
    if _model is None:
        _model = load_model(settings_of())
    return _model


def load_model(settings: Settings) -> Any:
    """Load the weights named by the settings (the shipped weights by default), one torch thread."""
    import torch

    from recognition.classifier import DEFAULT_WEIGHTS, load_classifier

    # N worker processes share the cores; one intra-op thread each avoids oversubscription.
    torch.set_num_threads(1)
    return load_classifier(settings.weights_path or DEFAULT_WEIGHTS)


def job_store() -> JobStore:
    """This process's JobStore (reconnected after a fork)."""
    global _store
    settings = settings_of()
    if _store is None or _store[0] != os.getpid() or _store[1].settings != settings:
        _store = (os.getpid(), JobStore.connect(settings, current_app))
    return _store[1]


@worker_process_init.connect
def _load_model_in_child(**_: object) -> None:
    global _model
    try:
        _model = load_model(settings_of())
    except Exception:  # the lazy path will raise the same error with the page that needs it
        log.exception("could not load the digit model at worker start")


def _beat_forever(store: JobStore, name: str) -> None:
    while not _heartbeat_stop.is_set():
        try:
            store.beat(name)
        except Exception as exc:  # Redis away: keep trying, the next beat may succeed
            log.warning("heartbeat failed: %s", exc)
        _heartbeat_stop.wait(HEARTBEAT_EVERY_S)


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: object) -> None:
    app = getattr(sender, "app", None) or current_app
    name = f"{getattr(sender, 'hostname', None) or socket.gethostname()}:{os.getpid()}"
    store = JobStore.connect(settings_of(app))
    _heartbeat_stop.clear()
    _heartbeat_of.update(store=store, name=name)
    threading.Thread(target=_beat_forever, args=(store, name), name="formdigits-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(**_: object) -> None:
    """Stop beating and say goodbye, so /healthz stops counting this worker at once."""
    _heartbeat_stop.set()
    store, name = _heartbeat_of.get("store"), _heartbeat_of.get("name")
    if isinstance(store, JobStore) and isinstance(name, str):
        try:
            store.forget_worker(name)
        except Exception as exc:  # Redis away: the heartbeat simply goes stale
            log.warning("could not unregister worker %s: %s", name, exc)
