"""Illumination flattening, binarisation, specks, polarity and deskew on images drawn in code."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segmentation import cleanup

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text_page(shape: tuple[int, int] = (700, 900)) -> np.ndarray:
    """A page of printed text lines and one rule, dark on light."""
    page = np.full(shape, 240, np.uint8)
    for row, y in enumerate(range(80, shape[0] - 60, 70)):
        cv2.putText(page, f"{row} 40213 MEASURE 77 8812 form", (40, y), FONT, 1.1, 30, 2)
    cv2.line(page, (40, shape[0] - 40), (shape[1] - 40, shape[0] - 40), 40, 2)
    return page


@pytest.mark.parametrize("angle", [-7.0, -2.5, 0.0, 1.2, 4.0, 9.0])
def test_estimate_skew_recovers_known_angle(angle: float) -> None:
    page = _text_page()
    h, w = page.shape
    rotated = cv2.warpAffine(
        page, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h), borderMode=cv2.BORDER_REPLICATE
    )
    _, ink = cleanup.binarise(rotated, kernel_px=41)
    assert cleanup.estimate_skew(ink, 10.0) == pytest.approx(angle, abs=0.5)


def test_rotate_undoes_skew() -> None:
    page = _text_page()
    _, upright_ink = cleanup.binarise(page, kernel_px=41)
    rotated = cleanup.rotate(page, 5.0)
    back = cleanup.rotate(rotated, -cleanup.estimate_skew(cleanup.binarise(rotated, kernel_px=41)[1]))
    _, back_ink = cleanup.binarise(back, kernel_px=41)
    assert back.shape == page.shape
    # Rows of ink line up again: the row profiles correlate strongly.
    a, b = upright_ink.sum(axis=1).astype(float), back_ink.sum(axis=1).astype(float)
    assert np.corrcoef(a[100:-100], b[100:-100])[0, 1] > 0.8


def test_flattening_removes_shading_but_keeps_ink() -> None:
    page = _text_page()
    h, w = page.shape
    shade = np.linspace(0.45, 1.0, w)[None, :] * np.linspace(0.8, 1.0, h)[:, None]
    shaded = (page * shade).astype(np.uint8)
    _, clean_ink = cleanup.binarise(page, kernel_px=41)
    _, shaded_ink = cleanup.binarise(shaded, kernel_px=41)
    # A global threshold would call the dark side ink; the flattened one matches the clean page.
    assert np.count_nonzero(shaded[:, : w // 5] < 128) > 0.5 * (h * w // 5)
    difference = np.count_nonzero(clean_ink != shaded_ink)
    assert difference < 0.05 * np.count_nonzero(clean_ink)


def test_blank_and_tinted_pages_have_no_ink() -> None:
    rng = np.random.default_rng(1)
    blank = np.clip(230 + rng.normal(0, 8, (300, 400)), 0, 255).astype(np.uint8)
    tint = blank.copy()
    yy, xx = np.mgrid[0:300, 0:400]
    tint[np.sin(xx / 4.0) * np.cos(yy / 6.0) > 0.3] = 200
    for image in (blank, tint):
        _, ink = cleanup.binarise(image, kernel_px=41)
        assert np.count_nonzero(ink) < 0.001 * ink.size


def test_remove_specks_keeps_decimal_point() -> None:
    ink = np.zeros((100, 100), np.uint8)
    cv2.circle(ink, (30, 30), 3, 255, -1)  # a decimal point, ~29 px
    ink[70, 70] = 255
    ink[80:82, 10:12] = 255
    clean = cleanup.remove_specks(ink, 8)
    assert clean[30, 30] == 255
    assert np.count_nonzero(clean) == np.count_nonzero(ink[20:40, 20:40])
    assert ink[70, 70] == 255  # input untouched


def test_component_boxes_match_connected_components() -> None:
    ink = np.zeros((120, 160), np.uint8)
    cv2.circle(ink, (40, 50), 20, 255, 3)
    cv2.circle(ink, (40, 50), 4, 255, -1)  # inside the ring's hole
    cv2.rectangle(ink, (100, 20), (130, 90), 255, -1)
    boxes, areas, _ = cleanup.component_boxes(ink)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    expected = sorted(map(tuple, stats[1:count, :4].tolist()))
    assert sorted(map(tuple, boxes.tolist())) == expected
    # Pick's estimate is exact for the solid pieces.
    solid = {tuple(s[:4]): s[4] for s in stats[1:count].tolist()}
    assert areas[boxes[:, 2] == 31][0] == solid[(100, 20, 31, 71)]


@pytest.mark.parametrize(
    ("ink", "paper", "bright"), [(0, 255, False), (255, 0, True), (226, 29, True), (90, 200, False)]
)
def test_ink_is_bright_from_border(ink: int, paper: int, bright: bool) -> None:
    image = np.full((60, 60), paper, np.uint8)
    cv2.putText(image, "8", (12, 50), FONT, 1.6, ink, 5)
    assert cleanup.ink_is_bright(image) is bright


def test_joined_to_keeps_the_extra_pixels_reaching_the_ink_through_each_other() -> None:
    ink = np.zeros((20, 40), bool)
    ink[5:15, 5:8] = True  # a stroke
    extra = np.zeros_like(ink)
    extra[4, 8:20] = True  # a bar touching its top corner...
    extra[5, 19:25] = True  # ...continued, away from the stroke
    extra[10, 30:36] = True  # another bar, touching nothing
    joined = cleanup.joined_to(ink, extra)
    assert joined[4, 8:20].all() and joined[5, 19:25].all()
    assert not joined[10, 30:36].any() and not (joined & ~extra).any()
    assert not cleanup.joined_to(np.zeros_like(ink), extra).any()


def test_turn_is_clockwise_by_quarter_turns() -> None:
    gray = np.arange(6, dtype=np.uint8).reshape(2, 3)
    assert np.array_equal(cleanup.turn(gray, 90), np.rot90(gray, -1))
    assert np.array_equal(cleanup.turn(gray, 180), gray[::-1, ::-1])
    assert np.array_equal(cleanup.turn(gray, 270), np.rot90(gray, 1))
    assert cleanup.turn(gray, 0) is gray
    with pytest.raises(ValueError, match="multiple of 90"):
        cleanup.turn(gray, 45)


def test_the_dark_surround_of_a_sheet_is_painted_paper_and_the_sheet_left_alone() -> None:
    page = np.full((1000, 700), 235, np.uint8)
    cv2.putText(page, "42", (100, 300), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 20, 8)  # handwriting-thick digits
    cv2.rectangle(page, (300, 600), (600, 700), 10, -1)  # a solid printed block inside the sheet
    cv2.line(page, (0, 900), (200, 900), 20, 6)  # a stroke running off the sheet's edge
    scan = np.full((1100, 800), 12, np.uint8)  # the scanner's black bed around the sheet
    scan[60:1060, 40:740] = page
    blanked, small = cleanup.blank_dark_margins(scan)
    assert small.shape == scan.shape and small[:20].min() >= 200  # the reduced copy (1100 px: factor 1) painted too
    assert blanked[:60].min() >= 200 and blanked[:, :40].min() >= 200 and blanked[1060:].min() >= 200
    assert np.array_equal(blanked[80:1040, 60:720], scan[80:1040, 60:720])  # the sheet itself untouched
    assert blanked[960, 140] < 60  # the stroke at the sheet's edge is ink still
    # A sheet without a surround is returned as it is, the solid block and all.
    assert cleanup.blank_dark_margins(page)[0] is page


def test_a_faint_page_gets_a_lower_ink_floor_and_its_strokes_whole() -> None:
    page = np.full((300, 400), 235, np.uint8)
    cv2.putText(page, "47", (60, 220), cv2.FONT_HERSHEY_SIMPLEX, 5.0, 40, 12)
    light = (255 - (255 - page.astype(np.float32)) * 0.4).round().astype(np.uint8)  # ink 169 on 247
    assert cleanup.contrast_floor(cv2.subtract(np.full_like(page, 235), page), 70) == 70
    assert cleanup.contrast_floor(cv2.subtract(np.full_like(light, 247), light), 70) == 39  # half of 78
    _, strong = cleanup.binarise(page, kernel_px=41)
    _, faint = cleanup.binarise(light, kernel_px=41)
    overlap = np.count_nonzero(strong & faint) / np.count_nonzero(strong | faint)
    assert overlap > 0.9
    # A blank page with scanner noise stays blank: the floor never goes under MIN_FAINT_CONTRAST.
    rng = np.random.default_rng(0)
    noise = np.clip(rng.normal(240, 6, (300, 400)), 0, 255).astype(np.uint8)
    assert not cleanup.binarise(noise, kernel_px=41)[1].any()


def test_the_contrast_floor_of_a_flattened_page_needs_no_complement_of_it() -> None:
    rng = np.random.default_rng(3)
    flat = rng.integers(200, 256, (1500, 1200), dtype=np.uint8)  # a faint page: nothing 56 under the paper
    inverted = cleanup.contrast_floor(flat, 45, minimum=20, inverted=True)
    assert inverted == cleanup.contrast_floor(255 - flat, 45, minimum=20)
    assert 20 <= inverted < 45


@pytest.mark.parametrize("angle", [0.0, 2.0, -7.0])
def test_a_line_of_writing_askew_is_measured_by_its_envelope(angle: float) -> None:
    ink = np.zeros((120, 420), np.uint8)
    for i, ch in enumerate("3850172"):
        cv2.putText(ink, ch, (20 + 55 * i, 85), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 6)
    matrix = cv2.getRotationMatrix2D((210, 60), angle, 1.0)
    turned = cv2.warpAffine(ink, matrix, (420, 120))
    turned = np.where(turned > 127, 255, 0).astype(np.uint8)
    assert abs(cleanup.estimate_line_skew(turned) - angle) < 0.5
