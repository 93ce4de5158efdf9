"""The browser pages: upload, drawing, this browser's jobs, one job.

The pages are static shells; their scripts (``static/js/``) talk only to the JSON API
under ``/api/v1``. Nothing user-specific is rendered on the server: the list of jobs
lives in the browser's ``localStorage``, so no one sees another browser's jobs.
Data reaches the scripts through ``data-*`` attributes, never inline scripts, so the
Content-Security-Policy (set app-wide in :mod:`webui.app`) can forbid inline code entirely.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from webui.app import API_PREFIX
from worker.jobs import JOB_ID_RE

bp = Blueprint("pages", __name__)


def _render(template: str, **context: object) -> str:
    """Render a page with the API base URL the scripts use (honours a mount prefix)."""
    return render_template(template, api_base=request.script_root + API_PREFIX, **context)


@bp.get("/")
def upload() -> str:
    """The upload page: drop or pick files, choose a mode, submit a job.

    The upload limit is shown, and checked in the browser before sending, so a user does not
    wait for a large upload only to have it refused.
    """
    settings = current_app.extensions.get("formdigits_settings")
    max_bytes = getattr(settings, "max_upload_bytes", 0)
    return _render("upload.html", active="upload", max_upload_bytes=max_bytes)


@bp.get("/draw")
def draw() -> str:
    """The drawing page: draw one digit (or load an image of one) and read it."""
    return _render("draw.html", active="draw")


@bp.get("/jobs")
def jobs() -> str:
    """The jobs submitted from this browser (the list itself lives in localStorage)."""
    return _render("jobs.html", active="jobs")


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> str:
    """One job: progress while it runs, then overlays, fields and downloads."""
    # Anything that is not shaped like a job id cannot be a job: 404 here rather than in the script.
    if not JOB_ID_RE.fullmatch(job_id):
        abort(404)
    return _render("job.html", active="jobs", job_id=job_id)
