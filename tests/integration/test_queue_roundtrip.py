"""Jobs through a real Redis and a real Celery worker process (not eager mode), submitted over the API."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from conftest import draw_digit_image, png_bytes, wait_for
from PIL import Image

from recognition.documents import read_document
from webui.app import create_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(service_settings, worker_process):  # type: ignore[no-untyped-def]
    app = create_app(service_settings)
    yield app.test_client()
    app.extensions["formdigits_store"].redis.close()


def digit_line(digits: str, height: int = 90) -> np.ndarray:
    """A line of handwritten-looking digits, dark on white, (height, ~70 * len) uint8."""
    tiles = [draw_digit_image(int(d), size=height, thickness=8) for d in digits]
    margin = np.full((height, 20), 255, dtype=np.uint8)
    return np.hstack([margin, *tiles, margin])


def two_page_tiff(first: np.ndarray, second: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(first).save(out, format="TIFF", save_all=True, append_images=[Image.fromarray(second)])
    return out.getvalue()


def finished_job(api, url: str, timeout_s: float = 60.0) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    def poll() -> dict[str, Any] | None:
        job = api.get(url).get_json()
        return job if job["state"] in ("done", "failed") else None

    return wait_for(poll, timeout_s, f"job {url}", interval_s=0.1)  # type: ignore[no-any-return]


def in_process(classifier, name: str, data: bytes, mode: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What ``formdigits read`` makes of one file: the reference for the queued results.

    The job store keeps no ``error_code`` per file (only per page), so that key is left out.
    """
    document = read_document(classifier, name, data, mode)
    del document["error_code"]
    return document


def assert_same(actual: Any, expected: Any, path: str = "") -> None:
    """Equal structures; floats equal within 1e-5 (the worker runs torch on one thread)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=1e-5), path
    else:
        assert actual == expected, path


def test_two_files_three_pages_match_in_process_read(api, classifier) -> None:  # type: ignore[no-untyped-def]
    files = {
        "amounts.tiff": two_page_tiff(digit_line("407"), digit_line("1958")),
        "zip.png": png_bytes(digit_line("36")),
    }
    response = api.post(
        "/api/v1/jobs",
        data={"mode": "line", "files": [(io.BytesIO(data), name) for name, data in files.items()]},
    )
    assert response.status_code == 202
    url = response.get_json()["url"]
    job = finished_job(api, url)
    assert job["state"] == "done"
    assert job["progress"] == {"done": 3, "total": 3}
    expected = [in_process(classifier, name, data, "line") for name, data in files.items()]
    assert_same(job["results"], expected)
    # Every page got an overlay PNG, addressed 1..3 over the whole job.
    for n in (1, 2, 3):
        overlay = api.get(f"{url}/pages/{n}/overlay.png")
        assert overlay.status_code == 200 and overlay.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert api.get(f"{url}/pages/4/overlay.png").status_code == 404


def test_corrupt_page_fails_alone(api) -> None:  # type: ignore[no-untyped-def]
    good = png_bytes(digit_line("25"))
    truncated = good[: len(good) // 2]
    response = api.post(
        "/api/v1/jobs",
        data={"mode": "line", "files": [(io.BytesIO(good), "good.png"), (io.BytesIO(truncated), "cut.png")]},
    )
    assert response.status_code == 202
    job = finished_job(api, response.get_json()["url"])
    assert job["state"] == "done"
    good_result, cut_result = job["results"]
    assert good_result["error"] is None and good_result["pages"][0]["fields"]
    # The header is readable, so the file is planned with one page; decoding that page fails.
    assert cut_result["error"] is None
    (page,) = cut_result["pages"]
    assert page["page"] == 1 and page["fields"] == []
    assert "truncated" in page["error"]


def test_drawn_digit_round_trip(api) -> None:  # type: ignore[no-untyped-def]
    # Light ink on a dark background: digit mode reads any colour pair.
    drawing = png_bytes(draw_digit_image(3, size=200, ink=240, paper=30, thickness=14))
    response = api.post("/api/v1/digits", data=drawing, content_type="image/png")
    assert response.status_code == 202
    job = finished_job(api, response.get_json()["url"], timeout_s=30)
    assert job["state"] == "done"
    (field,) = job["results"][0]["pages"][0]["fields"]
    assert field["text"] == "3"
    assert len(field["digits"][0]["probabilities"]) == 10
