"""Settings: defaults, parsing of every variable, and clear start-up errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.settings import ENV_NAMES, Settings, SettingsError, broker_url


def test_defaults_without_environment() -> None:
    s = Settings.from_env({})
    assert s.redis_url is None
    assert s.data_dir == Path.home() / ".local" / "share" / "formdigits"
    assert s.job_ttl_s == 7 * 24 * 3600
    assert s.max_upload_bytes == 64 * 2**20
    assert s.weights_path is None
    assert s.review_threshold == 0.9


def test_the_default_review_threshold_is_the_readers() -> None:
    from recognition.reader import ReadParams

    assert Settings().review_threshold == ReadParams().review_threshold


def test_every_variable_is_read() -> None:
    env = {
        "REDIS_URL": "redis://example:6380/2",
        "FORMDIGITS_DATA_DIR": "~/fd",
        "FORMDIGITS_KEY_PREFIX": "fd2",
        "FORMDIGITS_JOB_TTL_S": "60",
        "FORMDIGITS_MAX_UPLOAD_BYTES": "1_000",
        "FORMDIGITS_MAX_PIXELS": "2000",
        "FORMDIGITS_MAX_PAGES": "3",
        "FORMDIGITS_MAX_ARCHIVE_FILES": "4",
        "FORMDIGITS_MAX_ARCHIVE_BYTES": "5000",
        "FORMDIGITS_PAGE_SOFT_TIME_LIMIT_S": "1.5",
        "FORMDIGITS_PAGE_HARD_TIME_LIMIT_S": "2.5",
        "FORMDIGITS_WORKER_CONCURRENCY": "3",
        "FORMDIGITS_MAX_TASKS_PER_CHILD": "7",
        "FORMDIGITS_RATE_LIMIT": "0",
        "FORMDIGITS_WEIGHTS": "/models/w.pt",
        "FORMDIGITS_REVIEW_THRESHOLD": "0.95",
        "FORMDIGITS_VISIBILITY_TIMEOUT_S": "8",
        "FORMDIGITS_TEST_PAGE_DELAY_S": "0.5",
        "FORMDIGITS_TEST_POISON": "raise:bad",
    }
    assert set(env) == set(ENV_NAMES.values())
    s = Settings.from_env(env)
    assert (s.redis_url, s.key_prefix, s.job_ttl_s, s.max_upload_bytes) == ("redis://example:6380/2", "fd2", 60, 1000)
    assert s.data_dir == Path.home() / "fd"
    assert (s.max_pixels, s.max_pages, s.max_archive_files, s.max_archive_bytes) == (2000, 3, 4, 5000)
    assert (s.page_soft_time_limit_s, s.page_hard_time_limit_s) == (1.5, 2.5)
    assert (s.worker_concurrency, s.max_tasks_per_child, s.rate_limit_per_min) == (3, 7, 0)
    assert s.weights_path == Path("/models/w.pt")
    assert s.review_threshold == 0.95
    assert (s.visibility_timeout_s, s.test_page_delay_s, s.test_poison) == (8, 0.5, "raise:bad")
    # to_env round-trips through from_env.
    assert Settings.from_env(s.to_env()) == s


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("FORMDIGITS_JOB_TTL_S", "soon", "FORMDIGITS_JOB_TTL_S"),
        ("FORMDIGITS_MAX_PAGES", "0", "max_pages must be positive"),
        ("FORMDIGITS_RATE_LIMIT", "-1", "rate_limit_per_min"),
        ("FORMDIGITS_PAGE_HARD_TIME_LIMIT_S", "10", "hard time limit"),
        ("REDIS_URL", "http://x", "REDIS_URL"),
        ("FORMDIGITS_KEY_PREFIX", "a b", "key_prefix"),
        ("FORMDIGITS_TEST_POISON", "explode:x", "test_poison"),
        ("FORMDIGITS_VISIBILITY_TIMEOUT_S", "-1", "visibility_timeout_s"),
        ("FORMDIGITS_REVIEW_THRESHOLD", "1.5", "review_threshold must be between 0 and 1"),
        ("FORMDIGITS_REVIEW_THRESHOLD", "high", "FORMDIGITS_REVIEW_THRESHOLD"),
    ],
)
def test_bad_values_fail_with_the_variable_named(variable: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        Settings.from_env({variable: value})


def test_broker_url_spells_unix_sockets_for_kombu() -> None:
    assert broker_url("unix:///tmp/r.sock") == "redis+socket:///tmp/r.sock"
    assert broker_url("redis://h:1/0") == "redis://h:1/0"
