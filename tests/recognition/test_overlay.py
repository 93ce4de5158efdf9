"""The overlay renderer: a small palette PNG of the page with coloured field and digit boxes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from recognition.overlay import MAX_SIDE_PX, OK, REVIEW, render_overlay_png
from recognition.results import DigitResult, FieldResult, PageResult
from segmentation.elements import Box


def _field(box: Box, review: bool) -> FieldResult:
    digit = DigitResult(7, 0.9, Box(box.x + 2, box.y + 2, 10, 20), ((7, 0.9), (1, 0.05), (2, 0.01)))
    return FieldResult("field-1", box, "7", 0.9, review, (digit,))


def test_overlay_is_scaled_palette_png_with_field_colours() -> None:
    page = np.full((3000, 2000), 250, dtype=np.uint8)
    result = PageResult(1, 2000, 3000, (_field(Box(200, 400, 600, 200), False), _field(Box(200, 1400, 600, 200), True)))
    png = render_overlay_png(page, result)
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and picture.mode == "P"
    assert max(picture.size) == MAX_SIDE_PX and picture.size == (667, 1000)
    pixels = np.asarray(picture)
    scale = MAX_SIDE_PX / 3000
    # The field boxes' left edges carry their colour: OK for the first, REVIEW for the second.
    assert pixels[round(500 * scale), round(200 * scale)] == OK
    assert pixels[round(1500 * scale), round(200 * scale)] == REVIEW
    assert len(png) < 50_000


def test_small_page_keeps_its_size() -> None:
    page = np.full((60, 80), 255, dtype=np.uint8)
    picture = Image.open(io.BytesIO(render_overlay_png(page, PageResult(1, 80, 60, ()))))
    assert picture.size == (80, 60)


def test_a_page_the_reader_turned_is_drawn_turned_with_its_boxes_on_it() -> None:
    page = np.full((300, 200), 250, dtype=np.uint8)  # fed sideways: read turned 90 degrees, 200 high
    result = PageResult(1, 200, 300, (_field(Box(40, 120, 200, 50), False),), rotation=90)
    picture = Image.open(io.BytesIO(render_overlay_png(page, result)))
    assert picture.size == (300, 200)
    assert np.asarray(picture)[145, 40] == OK  # the field's left edge, in the turned frame
    assert PageResult.from_dict(result.to_dict()) == result
