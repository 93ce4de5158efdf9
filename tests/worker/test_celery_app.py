"""The Celery configuration that makes page tasks safe: JSON only, late acks, one page at a time, limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from worker.celery_app import make_celery
from worker.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_page_tasks_are_acked_late_json_only_and_time_limited() -> None:
    settings = Settings(
        redis_url="unix:///tmp/x.sock", key_prefix="fdx", page_soft_time_limit_s=10, page_hard_time_limit_s=20
    )
    conf = make_celery(settings).conf
    assert conf.broker_url == "redis+socket:///tmp/x.sock"
    assert (conf.task_serializer, conf.accept_content) == ("json", ["json"])
    assert conf.task_acks_late and conf.task_reject_on_worker_lost and conf.task_ignore_result
    assert conf.worker_prefetch_multiplier == 1
    assert (conf.task_soft_time_limit, conf.task_time_limit) == (10, 20)
    assert conf.worker_max_tasks_per_child == settings.max_tasks_per_child
    options = conf.broker_transport_options
    assert options["visibility_timeout"] > 20 and options["global_keyprefix"] == "fdx:celery:"


def test_make_celery_needs_a_redis_url() -> None:
    with pytest.raises(ValueError, match="Redis URL"):
        make_celery(Settings())


def test_module_app_is_built_from_the_environment() -> None:
    code = "import worker.celery_app as m; print(m.app.conf.broker_url, m.app.conf.formdigits_settings.key_prefix)"
    env = {"PATH": "/usr/bin:/bin", "REDIS_URL": "redis://127.0.0.1:6399/3", "FORMDIGITS_KEY_PREFIX": "envp"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["redis://127.0.0.1:6399/3", "envp"]
