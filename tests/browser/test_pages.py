"""The browser pages against a real stack (Redis, a Celery worker, the Flask app) in headless Chromium.

Playwright's string predicates (``wait_for_function``) need ``eval``, which the pages' CSP
forbids, so the tests wait on selectors and the data-* attributes the scripts set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]

RESULT_TIMEOUT_MS = 30_000

# Strokes in canvas pixels (the canvas is 280 x 280 and shown at that size): a "7" as one
# polyline (top bar, then the diagonal down), a "1" as one slightly slanted line (a plumb
# vertical bar is a box-line remnant as much as a 1, and the classifier rightly doubts it).
SEVEN = [[(80, 60), (200, 60), (120, 230)]]
ONE = [[(155, 45), (130, 235)]]


class PageErrors:
    """Console errors, warnings and uncaught exceptions of one page (CSP violations land here)."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type in ("error", "warning"):
            self.messages.append(f"console.{message.type}: {message.text}")


@pytest.fixture
def page(browser, live_service) -> Iterator[tuple[object, PageErrors]]:  # type: ignore[no-untyped-def]
    context = browser.new_context(base_url=live_service.url, viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    errors = PageErrors(tab)
    try:
        yield tab, errors
    finally:
        context.close()


def draw_strokes(tab, strokes: list[list[tuple[int, int]]]) -> None:  # type: ignore[no-untyped-def]
    """Draw polylines on the canvas with real mouse events (pointerdown / pointermove / pointerup)."""
    box = tab.locator("#draw-canvas").bounding_box()
    assert box is not None
    sx, sy = box["width"] / 280, box["height"] / 280
    for stroke in strokes:
        (x, y), *rest = stroke
        tab.mouse.move(box["x"] + x * sx, box["y"] + y * sy)
        tab.mouse.down()
        for x, y in rest:
            tab.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=6)
        tab.mouse.up()


def read_drawing(tab) -> tuple[str, list[float]]:  # type: ignore[no-untyped-def]
    """Press "Read the digit", wait for the answer; return the shown digit and the ten bar values."""
    tab.click("#read-digit")
    tab.wait_for_selector("#answer[data-state=digit], #answer[data-state=nondigit]", timeout=RESULT_TIMEOUT_MS)
    bars = tab.locator("#prob-chart .prob-bar")
    values = [float(bars.nth(i).get_attribute("data-p") or "nan") for i in range(bars.count())]
    return (tab.text_content("#answer-digit") or "").strip(), values


@pytest.mark.parametrize(
    ("strokes", "ink", "background", "expected"),
    [(SEVEN, "#000000", "#ffffff", "7"), (ONE, "#000000", "#ffffff", "1"), (SEVEN, "#f5f5a0", "#102040", "7")],
    ids=["seven-dark-on-light", "one-dark-on-light", "seven-light-on-dark"],
)
def test_drawn_digit_is_read(page, live_service, strokes, ink, background, expected) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    response = tab.goto("/draw")
    assert response is not None and response.ok
    tab.fill("#stroke-colour", ink)
    tab.fill("#background-colour", background)
    tab.fill("#stroke-width", "20")
    assert tab.is_disabled("#read-digit")
    draw_strokes(tab, strokes)

    digit, probabilities = read_drawing(tab)

    assert digit == expected
    assert len(probabilities) == 10
    assert max(range(10), key=lambda d: probabilities[d]) == int(expected)
    assert 0.0 < sum(probabilities) <= 1.0 + 1e-3
    confidence = tab.text_content("#answer-confidence") or ""
    assert confidence.startswith("Confidence ") and confidence.endswith("%")
    # The drawing was remembered as one of this browser's jobs.
    stored = json.loads(tab.evaluate("() => localStorage.getItem('formdigits.jobs')"))
    assert stored[0]["kind"] == "drawing"
    assert errors.messages == []


def test_undo_and_clear(page, live_service) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    tab.goto("/draw")
    draw_strokes(tab, SEVEN + ONE)
    assert tab.is_enabled("#undo") and tab.is_enabled("#read-digit")
    tab.click("#undo")
    tab.click("#undo")
    assert tab.is_disabled("#undo") and tab.is_disabled("#read-digit")
    draw_strokes(tab, ONE)
    tab.click("#clear")
    assert tab.is_disabled("#read-digit")
    assert errors.messages == []


def write_digit_string(path: Path, text: str) -> None:
    """A white PNG with ``text`` drawn in dark, handwriting-thick Hershey digits (one line)."""
    image = np.full((120, 60 + 55 * len(text)), 255, np.uint8)
    cv2.putText(image, text, (30, 90), cv2.FONT_HERSHEY_SIMPLEX, 2.4, 0, 7, cv2.LINE_AA)
    assert cv2.imwrite(str(path), image)


def test_upload_two_files_and_see_both_results(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    texts = {"amount.png": "2024", "zip.png": "4705"}
    for name, text in texts.items():
        write_digit_string(tmp_path / name, text)

    tab.goto("/")
    assert tab.is_disabled("#submit-button")
    tab.set_input_files("#file-input", [str(tmp_path / name) for name in texts])
    assert tab.locator("#file-list li").count() == 2
    tab.check("input[name=mode][value=line]")
    tab.click("#submit-button")

    tab.wait_for_url("**/jobs/*", timeout=RESULT_TIMEOUT_MS)
    job_id = tab.get_attribute("#job", "data-job-id")
    tab.wait_for_selector("#job-state[data-state=done]", timeout=RESULT_TIMEOUT_MS)
    tab.wait_for_selector("#job-results .source")

    # Both files are shown, each with its page, its overlay image and its field table.
    assert tab.locator(".source > h2").all_text_contents() == list(texts)
    assert tab.locator(".page .overlay").count() == 2
    tab.wait_for_load_state("networkidle")
    for i in range(2):
        assert tab.locator(".page .overlay").nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert tab.text_content("#progress-text") == "2 of 2"

    # What the table shows is what the API returned, and the reader got the strings right.
    job = tab.request.get(f"/api/v1/jobs/{job_id}").json()
    for source, result in zip(tab.locator(".source").all(), job["results"], strict=True):
        fields = result["pages"][0]["fields"]
        shown = source.locator(".field-text").all_text_contents()
        assert shown == [f["text"] for f in fields]
        assert shown == [texts[result["source"]]]
    for suffix in ("results.csv", "results.json"):
        href = tab.get_attribute(f"#download-{suffix.split('.')[1]}", "href")
        assert href is not None and href.endswith(f"/api/v1/jobs/{job_id}/{suffix}")
        assert tab.request.get(href).ok

    # The jobs page lists it from localStorage with its state, and can forget it.
    tab.goto("/jobs")
    row = tab.locator(f"#jobs-body tr[data-job-id='{job_id}']")
    row.locator(".state-badge[data-state=done]").wait_for()
    assert "amount.png" in (row.text_content() or "")
    row.get_by_role("button", name="Forget").click()
    assert tab.locator(f"#jobs-body tr[data-job-id='{job_id}']").count() == 0
    assert errors.messages == []


def test_upload_error_is_shown(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    (tmp_path / "notes.png").write_text("this is text, not a picture")
    tab.goto("/")
    tab.set_input_files("#file-input", [str(tmp_path / "notes.png")])
    tab.click("#submit-button")
    # Either the API refuses it at once (4xx shown on the upload page) or the job page shows the file's error.
    tab.wait_for_selector("#upload-error:not([hidden]), #job-results .alert.error", timeout=RESULT_TIMEOUT_MS)
    assert (tab.text_content("#upload-error:not([hidden]), #job-results .alert.error") or "").strip()
    assert not [m for m in errors.messages if "Content Security Policy" in m]


def test_security_headers_on_pages(page, live_service) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    for path in ("/", "/draw", "/jobs", "/jobs/" + "A" * 32):
        response = tab.goto(path)
        assert response is not None
        headers = response.headers
        csp = headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers.get("x-content-type-options") == "nosniff"
    # An unknown job says so instead of spinning forever.
    tab.wait_for_selector("#job-state[data-state=missing]", timeout=RESULT_TIMEOUT_MS)
    assert not tab.locator("#job-error").is_hidden()
    assert not [m for m in errors.messages if "Content Security Policy" in m]
