"""The Flask application factory: the JSON API, the health check, and the pages when they are installed.

The web process holds a :class:`worker.jobs.JobStore` and a Celery app used only to send
tasks by name; it never imports torch or OpenCV.
"""

from __future__ import annotations

import io
import logging
from typing import IO, Any

from flask import Flask, Request, Response, current_app, jsonify
from redis import RedisError

from webui.errors import register_error_handlers
from worker.celery_app import make_celery
from worker.jobs import HEARTBEAT_FRESH_S, JobStore
from worker.settings import Settings

log = logging.getLogger(__name__)

# Multipart framing (boundaries, part headers, the mode field) on top of the file bytes.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
# The JSON API's mount point (the pages' scripts and the OpenAPI document use it too).
API_PREFIX = "/api/v1"
# Pages and static files may show data:/blob: images (the drawing preview); the API needs nothing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class InMemoryRequest(Request):
    """Uploaded files stay in memory (bounded by MAX_CONTENT_LENGTH): nothing user-supplied touches the disk."""

    def _get_file_stream(self, *args: Any, **kwargs: Any) -> IO[bytes]:
        return io.BytesIO()


def create_app(settings: Settings, *, store: JobStore | None = None) -> Flask:
    """A web app for ``settings`` (``settings.redis_url`` must be set; ``serve`` fills it in)."""
    app = Flask(__name__)
    app.request_class = InMemoryRequest
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        MAX_FORM_PARTS=settings.max_archive_files + 10,
        JSON_SORT_KEYS=False,
    )
    app.extensions["formdigits_settings"] = settings
    app.extensions["formdigits_store"] = store or JobStore.connect(settings, make_celery(settings))
    register_error_handlers(app)

    # Registered first so it runs last: headers a blueprint set on purpose stay as they are.
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    from webui.api import bp as api_bp

    app.register_blueprint(api_bp, url_prefix=API_PREFIX)
    from webui.metrics import bp as metrics_bp

    app.register_blueprint(metrics_bp)
    from webui.pages import bp as pages_bp

    app.register_blueprint(pages_bp)
    app.add_url_rule("/healthz", "healthz", healthz)
    return app


def job_store() -> JobStore:
    """The current app's job store."""
    return current_app.extensions["formdigits_store"]  # type: ignore[no-any-return]


def healthz() -> tuple[Response, int]:
    """200 when Redis answers and a worker's heartbeat is fresh, else 503 with the reason."""
    store = job_store()
    try:
        store.ping()
        workers = store.workers_seen()
    except RedisError as exc:
        log.warning("health check: Redis unreachable: %s", exc)
        return jsonify({"status": "unavailable", "reason": "Redis cannot be reached"}), 503
    if not workers:
        reason = f"no worker has been seen in the last {HEARTBEAT_FRESH_S:.0f} s"
        return jsonify({"status": "unavailable", "reason": reason}), 503
    return jsonify({"status": "ok", "workers": len(workers)}), 200
