"""The overlay renderer: boxes drawn where the reader found them, shrunk for big pages, PNG out."""

from __future__ import annotations

import cv2
import numpy as np

from recognition.overlay import FIELD_OK, FIELD_REVIEW, overlay_png, render_overlay
from recognition.results import DigitResult, FieldResult, PageResult
from segmentation.elements import Box


def page_result(needs_review: bool, width: int = 400, height: int = 300) -> PageResult:
    digit = DigitResult(digit=7, confidence=0.99, box=Box(110, 110, 30, 60), alternatives=((7, 0.99),))
    field = FieldResult("field-1", Box(100, 100, 200, 80), "7", 0.99, needs_review, (digit,))
    return PageResult(page=1, width=width, height=height, fields=(field,))


def test_field_box_colour_says_whether_it_needs_review() -> None:
    gray = np.full((300, 400), 255, np.uint8)
    for review, colour in ((False, FIELD_OK), (True, FIELD_REVIEW)):
        picture = render_overlay(gray, page_result(review))
        assert picture.shape == (300, 400, 3)
        # The field's bottom edge (y = 180) is drawn in the field colour; the page stays faded white elsewhere.
        assert tuple(int(v) for v in picture[180, 200]) == colour
        assert tuple(int(v) for v in picture[250, 350]) == (255, 255, 255)


def test_big_pages_are_shrunk_and_encoded_as_png() -> None:
    gray = np.full((3508, 2480), 255, np.uint8)
    png = overlay_png(gray, page_result(False, 2480, 3508), max_width_px=1000)
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[1] == 1000 and abs(decoded.shape[0] - 1415) <= 1
