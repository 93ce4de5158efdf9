"""The drawing page (and the security headers of every page) against a real stack in headless Chromium.

Playwright's string predicates (``wait_for_function``) need ``eval``, which the pages' CSP
forbids, so the tests wait on selectors and the data-* attributes the scripts set.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.browser.console import PageErrors

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.timeout(120)]

RESULT_TIMEOUT_MS = 30_000

# Strokes in canvas pixels (the canvas is 280 x 280 and shown at that size): a "7" as one
# polyline (top bar, then the diagonal down), a "1" as one slightly slanted line (a plumb
# vertical bar is a box-line remnant as much as a 1, and the classifier rightly doubts it).
SEVEN = [[(80, 60), (200, 60), (120, 230)]]
ONE = [[(155, 45), (130, 235)]]
THREE = [[(80, 60), (190, 60), (130, 130), (200, 180), (150, 235), (80, 215)]]
DASH = [[(30, 140), (250, 140)]]


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


def test_a_dash_is_not_a_digit(page, live_service) -> None:  # type: ignore[no-untyped-def]
    tab, errors = page
    tab.goto("/draw")
    draw_strokes(tab, DASH)
    shown, _ = read_drawing(tab)
    assert shown == "not a digit"
    assert tab.get_attribute("#answer", "data-state") == "nondigit"
    assert tab.get_attribute("#answer", "data-stale") is None
    # Changing the drawing dims the answer until it is read again.
    tab.click("#undo")
    assert tab.get_attribute("#answer", "data-stale") == "true"
    assert errors.messages == []


def test_loaded_image_is_read(page, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A picture of a light "3" on dark paper, loaded instead of drawn (polarity is the server's business)."""
    tab, errors = page
    image = np.full((200, 160), 25, np.uint8)
    stroke = np.array([(x * 160 // 280, y * 200 // 280) for x, y in THREE[0]], np.int32)
    cv2.polylines(image, [stroke], False, 235, 14, cv2.LINE_AA)
    assert cv2.imwrite(str(tmp_path / "three.png"), image)

    tab.goto("/draw")
    tab.set_input_files("#image-input", str(tmp_path / "three.png"))
    tab.locator("#read-digit:not([disabled])").wait_for()
    # The margins around the non-square picture take its paper colour.
    assert tab.input_value("#background-colour") == "#191919"
    shown, probabilities = read_drawing(tab)
    assert shown == "3"
    assert max(range(10), key=lambda d: probabilities[d]) == 3
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


def test_drawing_with_touch(browser, live_service) -> None:  # type: ignore[no-untyped-def]
    """A finger on a touch screen draws too (Pointer Events with pointerType touch, touch-action: none)."""
    context = browser.new_context(base_url=live_service.url, has_touch=True, viewport={"width": 400, "height": 900})
    try:
        tab = context.new_page()
        errors = PageErrors(tab)
        tab.goto("/draw")
        assert tab.locator("#draw-canvas").evaluate("c => getComputedStyle(c).touchAction") == "none"
        box = tab.locator("#draw-canvas").bounding_box()
        assert box is not None
        scale = box["width"] / 280
        cdp = context.new_cdp_session(tab)
        for stroke in SEVEN:
            points = [(box["x"] + x * scale, box["y"] + y * scale) for x, y in stroke]
            path = [points[0]]
            for (x0, y0), (x1, y1) in itertools.pairwise(points):
                path += [(x0 + (x1 - x0) * t / 6, y0 + (y1 - y0) * t / 6) for t in range(1, 7)]
            for i, (x, y) in enumerate(path):
                kind = "touchStart" if i == 0 else "touchMove"
                cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        shown, _ = read_drawing(tab)
        assert shown == "7"
        assert errors.messages == []
    finally:
        context.close()
