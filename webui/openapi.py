"""The hand-written OpenAPI 3.1 document of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from webui.app import API_PREFIX

ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Malformed request",
        404: "Unknown job",
        413: "Upload too large",
        415: "Unsupported file type",
        429: "Too many submissions",
        503: "Redis unavailable",
    }
    return {str(s): {"description": text[s], "content": {"application/json": {"schema": ERROR}}} for s in statuses}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{32}$"},
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as a plain dict."""
    accepted = _json({"$ref": "#/components/schemas/Accepted"}, "Accepted: poll the job at `url`")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "formdigits",
            "version": "1",
            "description": "Batch OCR of handwritten digits: submit files, poll the job, fetch the results.",
        },
        "servers": [{"url": API_PREFIX}],
        "paths": {
            "/jobs": {
                "post": {
                    "summary": "Submit files (images, PDFs, TIFFs or ZIP archives of them) as one job",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["files"],
                                    "properties": {
                                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                                        "mode": {
                                            "type": "string",
                                            "enum": ["page", "line", "digit"],
                                            "default": "page",
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"202": accepted, **_errors(400, 413, 415, 429, 503)},
                }
            },
            "/digits": {
                "post": {
                    "summary": "Submit one drawn digit (read in `digit` mode)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary"}},
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["image"],
                                    "properties": {"image": {"type": "string", "description": "a data: URL"}},
                                }
                            },
                        },
                    },
                    "responses": {"202": accepted, **_errors(400, 413, 415, 429, 503)},
                }
            },
            "/jobs/{job_id}": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "State, progress and results so far",
                    "responses": {"200": _json({"$ref": "#/components/schemas/Job"}, "The job"), **_errors(404, 503)},
                },
                "delete": {
                    "summary": "Delete the job and everything stored for it",
                    "responses": {"204": {"description": "Deleted"}, **_errors(404, 503)},
                },
            },
            "/jobs/{job_id}/results.json": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "Results as `formdigits read --format json` prints them",
                    "responses": {
                        "200": _json(
                            {"type": "object", "properties": {"results": {"$ref": "#/components/schemas/Results"}}},
                            "Results",
                        ),
                        **_errors(404, 503),
                    },
                },
            },
            "/jobs/{job_id}/results.csv": {
                "parameters": [JOB_ID],
                "get": {
                    "summary": "One row per field: source,page,field,kind,text,separators,confidence,needs_review,review,error",
                    "responses": {
                        "200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                        **_errors(404, 503),
                    },
                },
            },
            "/jobs/{job_id}/pages/{n}/overlay.png": {
                "parameters": [
                    JOB_ID,
                    {"name": "n", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
                ],
                "get": {
                    "summary": "The n-th page of the job (1-based, all files in order) with boxes and values drawn",
                    "responses": {
                        "200": {
                            "description": "PNG",
                            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        **_errors(404, 503),
                    },
                },
            },
        },
        "components": {"schemas": SCHEMAS},
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            }
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["id", "url"],
        "properties": {"id": {"type": "string"}, "url": {"type": "string"}},
    },
    "Job": {
        "type": "object",
        "required": ["id", "state", "progress", "created", "finished", "results"],
        "properties": {
            "id": {"type": "string"},
            "state": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
            "mode": {"type": "string", "enum": ["page", "line", "digit"]},
            "progress": {
                "type": "object",
                "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}},
            },
            "created": {"type": "string", "format": "date-time"},
            "finished": {"type": ["string", "null"], "format": "date-time"},
            "error": {"type": "string"},
            "results": {"$ref": "#/components/schemas/Results"},
        },
    },
    "Results": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["source", "error", "pages"],
            "properties": {
                "source": {"type": "string"},
                "error": {"type": ["string", "null"]},
                "pages": {"type": "array", "items": {"$ref": "#/components/schemas/Page"}},
            },
        },
    },
    "Page": {
        "type": "object",
        "required": ["page", "fields"],
        "properties": {
            "page": {"type": "integer"},
            "width": {"type": "integer"},
            "height": {"type": "integer"},
            "error": {"type": ["string", "null"]},
            "fields": {"type": "array", "items": {"$ref": "#/components/schemas/Field"}},
        },
    },
    "Field": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "kind": {"type": "string"},
            "bbox": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4},
            "text": {"type": "string"},
            "separators": {"type": "array", "items": {"type": "object"}},
            "confidence": {"type": "number"},
            "needs_review": {"type": "boolean"},
            "review": {
                "type": "array",
                "description": "why the field needs review: low_confidence, close_reading, close_marks, "
                "line_network, unknown_ink, no_digit",
                "items": {"type": "string"},
            },
            "digits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "digit": {"type": "integer"},
                        "confidence": {"type": "number"},
                        "bbox": {"type": "array", "items": {"type": "integer"}},
                        "alternatives": {"type": "array", "items": {"type": "array"}},
                        "probabilities": {"type": "array", "items": {"type": "number"}},
                    },
                },
            },
        },
    },
}
