"""One table from errors to HTTP answers: every error leaves as JSON ``{"error": {"code", "message"}}``.

Input errors carry their ``FormdigitsError`` code; HTTP errors raised by Flask or werkzeug keep
their status; an unreachable Redis is a 503 with a message; anything else is a logged 500
whose answer says nothing about the internals (never a stack trace).
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify
from kombu.exceptions import OperationalError
from werkzeug.exceptions import HTTPException

from segmentation.errors import FormdigitsError, InvalidInput, LimitExceeded, ModelError, UnsupportedFormat
from worker.jobs import JobNotFound

log = logging.getLogger(__name__)

# FormdigitsError subclass -> HTTP status; looked up along the class's MRO, most specific first.
STATUS_OF_ERROR: dict[type[FormdigitsError], int] = {
    InvalidInput: 400,
    UnsupportedFormat: 415,
    LimitExceeded: 413,
    ModelError: 503,
    FormdigitsError: 400,
}
# Stable codes for HTTP errors raised by Flask/werkzeug or by the views themselves.
CODE_OF_STATUS = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_format",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
UNAVAILABLE_MESSAGE = "the job store (Redis) cannot be reached; try again shortly"


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The JSON error body with its status."""
    return jsonify({"error": {"code": code, "message": message}}), status


def status_of(error: FormdigitsError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]  # type: ignore[index]
    return 400


def register_error_handlers(app: Flask) -> None:
    """Install the handlers of the table above on ``app``."""

    @app.errorhandler(FormdigitsError)
    def _formdigits_error(error: FormdigitsError) -> tuple[Response, int]:
        return error_response(status_of(error), error.code, error.message)

    @app.errorhandler(JobNotFound)
    def _job_not_found(error: JobNotFound) -> tuple[Response, int]:
        return error_response(404, "not_found", "no such job (it may have expired or been deleted)")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        code = CODE_OF_STATUS.get(status, f"http_{status}")
        message = error.description or error.name
        if status == 413:
            message = f"the request is larger than the limit of {app.config['MAX_CONTENT_LENGTH']} bytes"
        response, status = error_response(status, code, message)
        for name, value in error.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response, status

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(OperationalError)
    def _redis_down(error: Exception) -> tuple[Response, int]:
        log.warning("Redis unavailable: %s", error)
        response, status = error_response(503, "unavailable", UNAVAILABLE_MESSAGE)
        response.headers["Retry-After"] = "5"
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "internal error; it has been logged")
