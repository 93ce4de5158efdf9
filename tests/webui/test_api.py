"""The JSON API with Flask's test client against a real Redis (no worker: jobs stay queued)."""

from __future__ import annotations

import base64
import csv
import io

import numpy as np
import pytest
from conftest import png_bytes

from webui.app import create_app
from worker.jobs import JobStore, PlannedFile
from worker.settings import Settings

PNG = png_bytes(np.full((20, 30), 255, dtype=np.uint8))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _files(*items: tuple[str, bytes]) -> dict[str, object]:
    return {"files": [(io.BytesIO(data), name) for name, data in items]}


def _error(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.is_json, response.data[:200]
    body = response.get_json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_submit_returns_202_with_id_and_url(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/jobs", data={**_files(("a.png", PNG), ("b.pdf", PDF)), "mode": "line"})
    assert response.status_code == 202
    body = response.get_json()
    assert body["url"] == f"/api/v1/jobs/{body['id']}" and response.headers["Location"] == body["url"]
    job = client.get(body["url"]).get_json()
    assert job["state"] == "queued" and job["mode"] == "line"
    assert [r["source"] for r in job["results"]] == ["a.png", "b.pdf"]
    assert job["progress"] == {"done": 0, "total": 0}


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({}, 400, "bad_request"),
        ({"mode": "page"}, 400, "bad_request"),
        ({**_files(("a.png", PNG)), "mode": "paragraph"}, 400, "bad_request"),
        (_files(("empty.png", b"")), 400, "invalid_input"),
        (_files(("notes.png", b"just some text, renamed")), 415, "unsupported_format"),
        (_files(("page.html", b"<!doctype html><html></html>")), 415, "unsupported_format"),
        (_files(("a.png", PNG), ("b.txt", b"hello")), 415, "unsupported_format"),
    ],
)
def test_bad_submissions_get_json_errors(client, data, status, code) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/jobs", data=data)
    assert response.status_code == status
    assert _error(response)["code"] == code


def test_oversize_upload_is_refused_before_reading(settings: Settings) -> None:
    app = create_app(Settings.from_env({**settings.to_env(), "FORMDIGITS_MAX_UPLOAD_BYTES": "1000"}))
    client = app.test_client()
    big = PNG + b"\0" * 200_000
    response = client.post("/api/v1/jobs", data=_files(("big.png", big)))
    assert response.status_code == 413
    assert _error(response)["code"] == "too_large"
    response = client.post("/api/v1/digits", data=big, content_type="image/png")
    assert response.status_code == 413


def test_digits_accepts_png_body_and_data_url(client) -> None:  # type: ignore[no-untyped-def]
    raw = client.post("/api/v1/digits", data=PNG, content_type="image/png")
    assert raw.status_code == 202
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    js = client.post("/api/v1/digits", json={"image": data_url})
    assert js.status_code == 202
    job = client.get(js.get_json()["url"]).get_json()
    assert job["mode"] == "digit" and job["progress"]["total"] == 1


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"data": PDF, "content_type": "image/png"}, 415),
        ({"data": b"GIF89", "content_type": "text/plain"}, 415),
        ({"json": {"image": "not a data url"}}, 400),
        ({"json": {"image": "data:image/png;base64,@@@"}}, 400),
        ({"json": {"picture": "x"}}, 400),
        ({"json": 1}, 400),  # JSON, but not an object (hypothesis found a 500 here)
        ({"json": ["data:image/png;base64,AAAA"]}, 400),
        ({"data": b"", "content_type": "image/png"}, 400),
    ],
)
def test_bad_digit_submissions(client, kwargs, status) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/digits", **kwargs)
    assert response.status_code == status
    _error(response)


def test_unknown_jobs_are_404_and_delete_removes(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/v1/jobs/" + "A" * 32, "/api/v1/jobs/nope/results.csv", "/api/v1/jobs/x/pages/1/overlay.png"):
        response = client.get(path)
        assert response.status_code == 404 and _error(response)["code"] == "not_found"
    url = client.post("/api/v1/jobs", data=_files(("a.png", PNG))).get_json()["url"]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404


def test_results_downloads_and_overlay(app, client) -> None:  # type: ignore[no-untyped-def]
    store: JobStore = app.extensions["formdigits_store"]
    job_id = client.post("/api/v1/jobs", data=_files(("=cmd.png", PNG), ("b.png", PNG))).get_json()["id"]
    store.set_plan(job_id, [PlannedFile("=cmd.png", "upload:0", 1), PlannedFile("b.png", "upload:1", 1)])
    field = {
        "name": "field-1", "kind": "free", "bbox": [1, 2, 3, 4], "text": "42", "separators": [],
        "confidence": 0.97, "needs_review": False, "digits": [],
    }  # fmt: skip
    flagged = {**field, "name": "field-2", "needs_review": True, "review": ["low_confidence", "close_reading"]}
    store.record_page(job_id, 0, 1, {"page": 1, "width": 30, "height": 20, "fields": [field, flagged]}, PNG)
    store.record_failed_page(job_id, 1, 1, "no ink")
    rows = list(csv.reader(io.StringIO(client.get(f"/api/v1/jobs/{job_id}/results.csv").get_data(as_text=True))))
    assert rows == [
        ["source", "page", "field", "kind", "text", "separators", "confidence", "needs_review", "review", "error"],
        ["'=cmd.png", "1", "field-1", "free", "42", "", "0.9700", "false", "", ""],
        ["'=cmd.png", "1", "field-2", "free", "42", "", "0.9700", "true", "low_confidence close_reading", ""],
        ["b.png", "1", "", "", "", "", "", "", "", "no ink"],
    ]
    body = client.get(f"/api/v1/jobs/{job_id}/results.json").get_json()
    assert body == {"results": client.get(f"/api/v1/jobs/{job_id}").get_json()["results"]}
    png = client.get(f"/api/v1/jobs/{job_id}/pages/1/overlay.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data == PNG
    assert client.get(f"/api/v1/jobs/{job_id}/pages/2/overlay.png").status_code == 404


def test_security_headers_on_every_answer(client) -> None:  # type: ignore[no-untyped-def]
    for response in (client.get("/api/v1/openapi.json"), client.get("/api/v1/jobs/x"), client.get("/healthz")):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]


def test_openapi_document_lists_the_api(client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert {"/jobs", "/digits", "/jobs/{job_id}", "/jobs/{job_id}/results.csv", "/jobs/{job_id}/results.json"} <= set(
        doc["paths"]
    )
    assert "/jobs/{job_id}/pages/{n}/overlay.png" in doc["paths"]


def test_rate_limit_on_posts(settings: Settings) -> None:
    app = create_app(Settings.from_env({**settings.to_env(), "FORMDIGITS_RATE_LIMIT": "2"}))
    client = app.test_client()
    statuses = [client.post("/api/v1/digits", data=PNG, content_type="image/png").status_code for _ in range(3)]
    assert statuses == [202, 202, 429]
    assert _error(client.post("/api/v1/jobs", data=_files(("a.png", PNG))))["code"] == "rate_limited"
    assert client.get("/api/v1/openapi.json").status_code == 200  # reads are not limited


def test_healthz_needs_a_fresh_worker_heartbeat(app, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/healthz")
    assert response.status_code == 503 and "worker" in response.get_json()["reason"]
    app.extensions["formdigits_store"].beat("w@test")
    assert client.get("/healthz").status_code == 200


def test_redis_down_gives_503_json(settings: Settings) -> None:
    app = create_app(Settings.from_env({**settings.to_env(), "REDIS_URL": "redis://127.0.0.1:1/0"}))
    client = app.test_client()
    for response in (
        client.get("/api/v1/jobs/" + "A" * 32),
        client.post("/api/v1/digits", data=PNG, content_type="image/png"),
        client.get("/healthz"),
    ):
        assert response.status_code == 503 and response.is_json
        assert b"Traceback" not in response.data


def test_polling_without_results(app, client) -> None:  # type: ignore[no-untyped-def]
    store: JobStore = app.extensions["formdigits_store"]
    job_id = client.post("/api/v1/jobs", data=_files(("a.png", PNG))).get_json()["id"]
    store.set_plan(job_id, [PlannedFile("a.png", "upload:0", 2)])
    store.record_failed_page(job_id, 0, 1, "no ink")
    light = client.get(f"/api/v1/jobs/{job_id}?results=0").get_json()
    full = client.get(f"/api/v1/jobs/{job_id}").get_json()
    assert light["progress"] == full["progress"] == {"done": 1, "total": 2}
    assert light["results"] == [] and len(full["results"][0]["pages"]) == 1
