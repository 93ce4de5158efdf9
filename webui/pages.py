"""The browser pages: upload, drawing, this browser's jobs, one job.

The pages are static shells; their scripts (``static/js/``) talk only to the JSON API
under ``/api/v1``. Nothing user-specific is rendered on the server: the list of jobs
lives in the browser's ``localStorage``, so no one sees another browser's jobs.
Data reaches the scripts through ``data-*`` attributes, never inline scripts, so the
Content-Security-Policy can forbid inline code entirely.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, render_template, request

bp = Blueprint("pages", __name__)

API_PREFIX = "/api/v1"

# Job ids are URL-safe tokens (≥ 128 random bits); anything else cannot be a job, so 404 early
# instead of handing an odd string to the page's script.
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")

# Pages only load their own scripts, styles and images; data: and blob: images are the
# drawing page's preview of a loaded file. No inline scripts, styles or event handlers anywhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "img-src 'self' data: blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@bp.after_app_request
def add_security_headers(response: Response) -> Response:
    """Add the security headers to every response of the app (pages, static files, API).

    ``setdefault`` leaves any header another blueprint set on purpose untouched.
    """
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _render(template: str, **context: object) -> str:
    """Render a page with the API base URL the scripts use (honours a mount prefix)."""
    return render_template(template, api_base=request.script_root + API_PREFIX, **context)


@bp.get("/")
def upload() -> str:
    """The upload page: drop or pick files, choose a mode, submit a job."""
    return _render("upload.html", active="upload")


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
    if not JOB_ID_PATTERN.fullmatch(job_id):
        abort(404)
    return _render("job.html", active="jobs", job_id=job_id)
