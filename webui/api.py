"""The JSON API under ``/api/v1``: submit jobs and drawings, poll them, download results, delete them.

Views are thin: check the request (size, type by magic bytes, mode), hand the bytes to the job
store, return its answer. Errors leave through ``webui.errors`` as JSON.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from werkzeug.exceptions import BadRequest, NotFound, TooManyRequests

from recognition import results as read_results
from segmentation.errors import InvalidInput, UnsupportedFormat
from segmentation.formats import IMAGE_FORMATS, UPLOAD_FORMATS, sniff_format
from webui.app import job_store
from webui.openapi import openapi_document
from worker.jobs import MODES

bp = Blueprint("api", __name__)

SNIFF_BYTES = 2048
DATA_URL_PREFIX = "data:"


@bp.before_request
def _rate_limit() -> None:
    """Refuse POSTs beyond the configured number per client and minute (429)."""
    if request.method != "POST":
        return
    limit = job_store().settings.rate_limit_per_min
    if not job_store().allow_post(request.remote_addr or "unknown", limit):
        raise TooManyRequests(f"more than {limit} submissions in a minute from this client; wait a little")


@bp.after_request
def _no_store(response: Response) -> Response:
    """Job states change while polled and belong to whoever holds the id: never cache them."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _checked_upload(name: str, data: bytes, allowed: tuple[str, ...]) -> None:
    """Raise InvalidInput for an empty file and UnsupportedFormat when the magic bytes are not ``allowed``."""
    if not data:
        raise InvalidInput(f"{name}: the file is empty")
    kind = sniff_format(data[:SNIFF_BYTES])
    if kind not in allowed:
        what = "an unknown file type" if kind is None else f"a {kind.upper()} file"
        raise UnsupportedFormat(f"{name}: {what}; accepted types are {', '.join(allowed)}")


def _accepted(job_id: str) -> tuple[Response, int, dict[str, str]]:
    url = url_for("api.get_job", job_id=job_id)
    return jsonify({"id": job_id, "url": url}), 202, {"Location": url}


@bp.post("/jobs")
def submit_job() -> tuple[Response, int, dict[str, str]]:
    """Multipart upload of one or more ``files`` with a ``mode`` (default ``page``) -> 202 {id, url}."""
    mode = request.form.get("mode", "page") or "page"
    if mode not in MODES:
        raise BadRequest(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    uploads = request.files.getlist("files")
    if not uploads:
        raise BadRequest("no files: send one or more files in multipart fields named 'files'")
    files = []
    for upload in uploads:
        name = upload.filename or "upload"
        data = upload.read()
        _checked_upload(name, data, UPLOAD_FORMATS)
        files.append((name, data))
    return _accepted(job_store().create_job(files, mode))


@bp.post("/digits")
def submit_digit() -> tuple[Response, int, dict[str, str]]:
    """One drawn digit: a raw image body (``Content-Type: image/png``) or JSON ``{"image": data URL}``."""
    if request.mimetype.startswith("image/"):
        data = request.get_data(cache=False)
    elif request.is_json:
        body = request.get_json(silent=True)
        data = _decode_data_url(body.get("image") if isinstance(body, dict) else None)
    else:
        raise UnsupportedFormat('send the drawing as an image body (image/png) or JSON {"image": data URL}')
    _checked_upload("drawing", data, IMAGE_FORMATS)
    return _accepted(job_store().create_job([("drawing", data)], "digit", expand=False))


def _decode_data_url(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith(DATA_URL_PREFIX) or "," not in value:
        raise BadRequest('expected JSON {"image": "data:image/png;base64,..."}')
    header, payload = value.split(",", 1)
    if not header.endswith(";base64"):
        raise BadRequest("the data URL must be base64-encoded")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("the data URL's base64 payload is malformed") from exc


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    """The job's state, progress and results so far (``?results=0``: without results, for cheap polling)."""
    with_results = request.args.get("results", "1").lower() not in ("0", "false", "no")
    return jsonify(job_store().get_job(job_id, with_results=with_results))


@bp.get("/jobs/<job_id>/results.json")
def results_json(job_id: str) -> Response:
    """The results exactly as ``formdigits read --format json`` prints them, as a download."""
    job = job_store().get_job(job_id)
    response = jsonify({"results": job["results"]})
    response.headers["Content-Disposition"] = f'attachment; filename="formdigits-{job_id}.json"'
    return response


@bp.get("/jobs/<job_id>/results.csv")
def results_csv(job_id: str) -> Response:
    """The CSV of ``formdigits read --format csv``: one row per field, and per failed file or page."""
    job = job_store().get_job(job_id)
    response = Response(read_results.results_csv(job["results"]), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="formdigits-{job_id}.csv"'
    return response


@bp.get("/jobs/<job_id>/pages/<int:n>/overlay.png")
def overlay(job_id: str, n: int) -> Response:
    """The overlay of the job's n-th page (1-based over all its pages in order)."""
    png = job_store().overlay(job_id, n)
    if png is None:
        raise NotFound(f"page {n} of this job has no overlay (not read yet, failed, or no such page)")
    return Response(png, mimetype="image/png")


@bp.delete("/jobs/<job_id>")
def delete_job(job_id: str) -> tuple[str, int]:
    """Remove the job, its uploads and results."""
    if not job_store().delete_job(job_id):
        raise NotFound("no such job (it may have expired or been deleted)")
    return "", 204


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
