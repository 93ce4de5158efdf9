"""Field finding in line, digit and page modes on images drawn in code."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from segmentation.elements import Box
from segmentation.errors import InvalidInput
from segmentation.fields import (
    DIGIT_SHARE_OF_CELL,
    digit_field,
    find_fields,
    line_field,
    line_ink,
    line_pieces,
    painted_over,
    prepare_page,
    printed_row,
    without_printed_row,
    writing_height,
)

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _string_image(background: np.ndarray, text: str, *, guide_y: int | None) -> np.ndarray:
    """Draw ``text`` in thick dark strokes on ``background`` (modified copy), optionally over a guide line."""
    image = background.copy()
    if guide_y is not None:
        cv2.line(image, (5, guide_y), (image.shape[1] - 5, guide_y), 60, 2)
    for i, ch in enumerate(text):
        cv2.putText(image, ch, (20 + 60 * i, 92), FONT, 2.2, 20, 6)
    return image


def _digits_only(text: str, shape: tuple[int, int]) -> np.ndarray:
    """The same digits drawn alone, as an ink mask (ink = 255)."""
    image = _string_image(np.full(shape, 255, np.uint8), text, guide_y=None)
    return np.where(image < 128, 255, 0).astype(np.uint8)


def _textured(shape: tuple[int, int]) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    image = np.full(shape, 238, np.uint8)
    image[np.sin(xx / 3.0 + yy / 5.0) > 0.5] = 205
    image[(xx + 2 * yy) % 17 == 0] = 195
    return image


@pytest.mark.parametrize("background", ["plain", "textured"])
def test_line_field_keeps_digits_and_drops_guide_line(background: str) -> None:
    shape = (130, 480)
    paper = np.full(shape, 240, np.uint8) if background == "plain" else _textured(shape)
    text = "402719"
    image = _string_image(paper, text, guide_y=110)

    field = line_field(image)

    page_ink = np.zeros(shape, np.uint8)
    page_ink[field.box.y : field.box.y2, field.box.x : field.box.x2] = field.ink
    expected = _digits_only(text, shape)
    found_digits = np.count_nonzero(page_ink & expected) / np.count_nonzero(expected)
    assert found_digits > 0.95
    # The guide line at y=110 is gone: no ink below the digits' baseline region except stubs.
    assert np.count_nonzero(page_ink[105:116]) < 0.1 * 2 * (shape[1] - 10)
    # Nothing of the background texture: extra ink is at most the digits' anti-aliased edge.
    extra = np.count_nonzero(page_ink & ~expected)
    assert extra < 0.1 * np.count_nonzero(expected)
    assert field.kind == "free"
    assert field.ink.shape == (field.box.h, field.box.w)


def test_line_field_guide_line_through_digits_is_removed_digits_kept() -> None:
    shape = (130, 480)
    text = "58302"
    image = _string_image(np.full(shape, 238, np.uint8), text, guide_y=80)  # through the lower halves
    field = line_field(image)
    page_ink = np.zeros(shape, np.uint8)
    page_ink[field.box.y : field.box.y2, field.box.x : field.box.x2] = field.ink
    expected = _digits_only(text, shape)
    # Strokes lying along the line (the tail of a 5 or 3) are lost with it; crossings are kept.
    assert np.count_nonzero(page_ink & expected) > 0.9 * np.count_nonzero(expected)
    _, labels = cv2.connectedComponents(page_ink, connectivity=8)
    assert len(np.unique(labels[expected > 0])) - 1 <= len(text) + 1
    # Between the digits the line is gone.
    gaps = np.flatnonzero(expected[40:95].max(axis=0) == 0)
    gaps = gaps[(gaps > 30) & (gaps < 300)]
    assert gaps.size > 20
    assert np.count_nonzero(page_ink[75:86, gaps]) == 0


@pytest.mark.mnist
def test_line_field_on_synthetic_lines_has_no_guide_line(mnist_dir: Path) -> None:
    from recognition.synthetic import load_digit_source, make_line

    source = load_digit_source(mnist_dir)
    rng = np.random.default_rng(11)
    for _ in range(8):
        gray, text = make_line(rng, source)
        field = line_field(gray)
        digits = sum(ch.isdigit() for ch in text)
        # The crop spans the string: at least ~0.3 digit heights per digit, and no row is a line across it.
        assert field.box.w >= 0.3 * field.box.h * digits
        assert (field.ink > 0).mean(axis=1).max() < 0.8
        # No background texture: ink is a small share of the crop.
        assert (field.ink > 0).mean() < 0.4


@pytest.mark.parametrize("walls", [False, True])
def test_line_field_removes_a_frame_around_the_string(walls: bool) -> None:
    shape = (140, 480)
    text = "7105"
    image = np.full(shape, 240, np.uint8)
    cv2.rectangle(image, (8, 20), (330, 118), 50, 2)  # an amount box
    if walls:  # ... or the boxes of a comb
        for x in (88, 168, 248):
            cv2.line(image, (x, 20), (x, 118), 50, 2)
    for i, ch in enumerate(text):
        cv2.putText(image, ch, (25 + 80 * i, 95), FONT, 2.0, 20, 6)
    field = line_field(image)
    page_ink = np.zeros(shape, np.uint8)
    page_ink[field.box.y : field.box.y2, field.box.x : field.box.x2] = field.ink
    expected = np.zeros(shape, np.uint8)
    for i, ch in enumerate(text):
        cv2.putText(expected, ch, (25 + 80 * i, 95), FONT, 2.0, 255, 6)
    expected = np.where(expected > 127, 255, 0).astype(np.uint8)  # putText anti-aliases
    assert np.count_nonzero(page_ink & expected) > 0.97 * np.count_nonzero(expected)
    assert np.count_nonzero(page_ink & ~expected) < 0.03 * np.count_nonzero(expected)
    # The tall "1" standing between guide-free rows is not a frame side.
    assert page_ink[60:90, 105:125].any()


def _in_a_box(text: str, crop: str) -> tuple[np.ndarray, np.ndarray]:
    """``text`` written in a printed box and the image cut out of it as ``crop`` says, and the
    digits alone as an ink mask (ink = 255) in the same frame."""
    image = np.full((150, 480), 240, np.uint8)
    expected = np.zeros_like(image)
    cv2.rectangle(image, (10, 22), (330, 116), 50, 3)  # 94 px high, the digits ~45
    for i, ch in enumerate(text):
        cv2.putText(image, ch, (25 + 80 * i, 92), FONT, 2.0, 20, 6)
        cv2.putText(expected, ch, (25 + 80 * i, 92), FONT, 2.0, 255, 6)
    rows, cols = {
        "along": (slice(21, 118), slice(9, 332)),  # along the box's outer edge: its rules on the image's edges
        "inside top and bottom": (slice(25, 114), slice(0, 345)),  # only the sides are left
        "inside bottom": (slice(5, 114), slice(0, 345)),
    }[crop]
    return image[rows, cols], np.where(expected[rows, cols] > 127, 255, 0).astype(np.uint8)


@pytest.mark.parametrize("crop", ["along", "inside top and bottom", "inside bottom"])
def test_line_field_removes_the_box_an_amount_was_cut_out_of(crop: str) -> None:
    image, expected = _in_a_box("7105", crop)
    field = line_field(image)
    page_ink = np.zeros(image.shape, np.uint8)
    page_ink[field.box.y : field.box.y2, field.box.x : field.box.x2] = field.ink
    assert np.count_nonzero(page_ink & expected) > 0.97 * np.count_nonzero(expected)
    assert np.count_nonzero(page_ink & ~expected) < 0.03 * np.count_nonzero(expected)


@pytest.mark.parametrize("text", ["1001", "1.1", "1,000"])
def test_line_field_keeps_straight_ones_of_a_tight_crop(text: str) -> None:
    """Ruler-straight 1s running from the top to the bottom of a tightly cropped line are writing, not a box's sides."""
    image = np.full((120, 400), 240, np.uint8)
    x = 20
    for ch in text:
        if ch == "1":
            cv2.line(image, (x, 20), (x, 100), 20, 6)
            x += 40
        elif ch in ".,":
            cv2.circle(image, (x, 96), 4, 20, -1)
            x += 25
        else:
            cv2.ellipse(image, (x + 20, 62), (17, 36), 0, 0, 360, 20, 6)
            x += 60
    tight = image[17:104, : x + 10]  # the 1s run from edge to edge
    field = line_field(tight)
    stats = cv2.connectedComponentsWithStats(field.ink, connectivity=8)[2][1:]
    tall = stats[:, cv2.CC_STAT_HEIGHT] >= 0.9 * field.box.h
    narrow = stats[:, cv2.CC_STAT_WIDTH] <= 12
    assert np.count_nonzero(tall & narrow) == text.count("1")


def test_line_field_box_is_tight() -> None:
    image = np.full((100, 300), 250, np.uint8)
    cv2.rectangle(image, (40, 30), (70, 80), 0, -1)
    field = line_field(image)
    assert field.box.to_list() == [40, 30, 31, 51]


def test_digit_field_same_binary_for_any_colour_pair() -> None:
    def draw(ink: int, paper: int) -> np.ndarray:
        image = np.full((160, 140), paper, np.uint8)
        cv2.putText(image, "4", (25, 130), FONT, 4.0, ink, 14)
        return image

    black_on_white = digit_field(draw(0, 255))
    white_on_black = digit_field(draw(255, 0))
    # Yellow (R=G=255, B=0) on blue (B=255) after BGR->gray.
    yellow = int(cv2.cvtColor(np.array([[[0, 255, 255]]], np.uint8), cv2.COLOR_BGR2GRAY)[0, 0])
    blue = int(cv2.cvtColor(np.array([[[255, 0, 0]]], np.uint8), cv2.COLOR_BGR2GRAY)[0, 0])
    yellow_on_blue = digit_field(draw(yellow, blue))

    assert black_on_white.box == white_on_black.box == yellow_on_blue.box
    assert np.array_equal(black_on_white.ink, white_on_black.ink)
    assert np.array_equal(black_on_white.ink, yellow_on_blue.ink)
    assert black_on_white.ink.max() == 255
    assert black_on_white.cells == (black_on_white.box,)


@pytest.mark.parametrize("level", [0, 128, 255])
def test_digit_field_empty_image_is_invalid(level: int) -> None:
    rng = np.random.default_rng(level)
    image = np.clip(level + rng.normal(0, 6, (64, 64)), 0, 255).astype(np.uint8)
    with pytest.raises(InvalidInput, match="no ink found"):
        digit_field(image)


def test_line_field_blank_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="no ink found"):
        line_field(np.full((80, 300), 230, np.uint8))


def _form_page(skew_deg: float = 0.0) -> tuple[np.ndarray, dict[str, tuple[int, int, int, int]]]:
    """A small form at ~150 dpi: a label, a 6-box comb with an empty 3rd cell, three free strings.

    Returns the page and the drawn field rectangles ``[x0, y0, x1, y1]`` in the upright frame.
    """
    page = np.full((1000, 1240), 242, np.uint8)
    cv2.putText(page, "Customer number", (100, 290), FONT, 0.6, 40, 1)
    x0, y0, cw, ch = 100, 320, 70, 80
    cv2.rectangle(page, (x0, y0), (x0 + 6 * cw, y0 + ch), 40, 2)
    for i in range(1, 6):
        cv2.line(page, (x0 + i * cw, y0), (x0 + i * cw, y0 + ch), 40, 2)
    for i, digit in enumerate("31 415"):
        if digit != " ":
            cv2.putText(page, digit, (x0 + i * cw + 14, y0 + ch - 14), FONT, 1.8, 10, 5)
    cv2.line(page, (250, 620), (700, 620), 40, 2)
    cv2.putText(page, "12345", (270, 615), FONT, 2.0, 10, 6)  # sits on its guide line
    cv2.putText(page, "678", (800, 615), FONT, 2.0, 10, 6)
    cv2.putText(page, "9021", (200, 850), FONT, 2.0, 10, 6)
    drawn = {
        "comb": (x0, y0, x0 + 6 * cw, y0 + ch),
        "12345": (270, 570, 450, 617),
        "678": (800, 570, 910, 617),
        "9021": (200, 805, 345, 852),
    }
    if skew_deg:
        matrix = cv2.getRotationMatrix2D((620, 500), skew_deg, 1.0)
        page = cv2.warpAffine(page, matrix, (1240, 1000), borderValue=242)
    return page, drawn


def _iou(box: Box, rect: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = rect
    ix = max(0, min(box.x2, x1) - max(box.x, x0))
    iy = max(0, min(box.y2, y1) - max(box.y, y0))
    inter = ix * iy
    return inter / (box.area + (x1 - x0) * (y1 - y0) - inter)


@pytest.mark.parametrize("skew", [0.0, 3.0, -4.0])
def test_find_fields_comb_and_free_strings_in_reading_order(skew: float) -> None:
    page, drawn = _form_page(skew)
    prepared = prepare_page(page)
    assert prepared.skew_deg == pytest.approx(skew, abs=0.5)

    fields = find_fields(prepared)

    # The small printed label is dropped; comb first, then the two strings of one line, then the last.
    assert [f.kind for f in fields] == ["comb", "free", "free", "free"]
    assert [f.name for f in fields] == ["field-1", "field-2", "field-3", "field-4"]
    for field, key in zip(fields, ["comb", "12345", "678", "9021"], strict=True):
        assert _iou(field.box, drawn[key]) > 0.7, (key, field.box)
        assert field.ink.shape == (field.box.h, field.box.w)
        assert np.array_equal(field.ink, prepared.ink[field.box.y : field.box.y2, field.box.x : field.box.x2])
    comb = fields[0]
    assert len(comb.cells) == 6
    ink_per_cell = [np.count_nonzero(prepared.ink[c.y : c.y2, c.x : c.x2]) for c in comb.cells]
    assert ink_per_cell[2] == 0
    assert all(count > 100 for i, count in enumerate(ink_per_cell) if i != 2)
    # The guide line under "12345" is gone; the comb's lines too.
    assert np.count_nonzero(prepared.ink[610:630, 470:700]) == 0
    assert np.count_nonzero(prepared.rules[610:630, 470:700]) > 200
    assert np.count_nonzero(prepared.ink[310:330, 100:520]) < 100


def test_a_comb_scanned_faint_is_still_a_comb() -> None:
    page, drawn = _form_page()
    light = (255 - (255 - page.astype(np.float32)) * 0.2).round().astype(np.uint8)  # rules 40 levels under the paper
    prepared = prepare_page(light)
    assert len(prepared.combs) == 1 and len(prepared.combs[0].cells) == 6
    fields = find_fields(prepared)
    assert [f.kind for f in fields] == ["comb", "free", "free", "free"]
    assert _iou(fields[0].box, drawn["comb"]) > 0.7


def test_empty_page_has_no_fields() -> None:
    rng = np.random.default_rng(3)
    page = np.clip(235 + rng.normal(0, 5, (700, 500)), 0, 255).astype(np.uint8)
    prepared = prepare_page(page)
    assert find_fields(prepared) == []
    assert prepared.ink.shape == page.shape


def test_writing_height_follows_the_comb_cells_or_the_digits() -> None:
    page, _ = _form_page()
    prepared = prepare_page(page)
    # The comb's cells are drawn 80 px high between 2 px rules: found 76-78 px inside them.
    assert DIGIT_SHARE_OF_CELL * 74 <= (writing_height(prepared) or 0) <= DIGIT_SHARE_OF_CELL * 80
    # No comb: the digits' height (Hershey digits at scale 2.0 are 43-44 px), not the label's.
    free = np.full((700, 1000), 242, np.uint8)
    cv2.putText(free, "Customer number", (100, 120), FONT, 0.6, 40, 1)
    for y, text in ((250, "12345"), (400, "678"), (550, "9021")):
        cv2.putText(free, text, (200, y), FONT, 2.0, 10, 6)
    height = writing_height(prepare_page(free))
    assert height is not None and 40 <= height <= 48
    # Halved, the estimate halves.
    small = cv2.resize(free, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    assert writing_height(prepare_page(small)) == pytest.approx(height / 2, abs=2)
    assert writing_height(prepare_page(np.full((300, 400), 242, np.uint8))) is None


@pytest.mark.mnist
def test_find_fields_matches_synthetic_form_truth(mnist_dir: Path) -> None:
    from recognition.synthetic import load_digit_source, make_form

    source = load_digit_source(mnist_dir)
    rng = np.random.default_rng(2024)
    truth_count = matched = kinds = cells = combs = 0
    for _ in range(6):
        gray, truth = make_form(rng, source)
        prepared = prepare_page(gray)
        assert prepared.skew_deg == pytest.approx(truth["skew_deg"], abs=0.5)
        fields = find_fields(prepared)
        for expected in truth["fields"]:
            truth_count += 1
            x, y, w, h = expected["bbox"]
            best = max(fields, key=lambda f: _iou(f.box, (x, y, x + w, y + h)), default=None)
            if best is None or _iou(best.box, (x, y, x + w, y + h)) < 0.5:
                continue
            matched += 1
            kinds += best.kind == expected["kind"]
            if expected["kind"] == "comb":
                combs += 1
                cells += len(best.cells) == len(expected["cells"])
    assert matched >= 0.9 * truth_count
    assert kinds >= 0.9 * matched
    assert cells >= 0.8 * combs


def test_line_field_keeps_a_point_written_on_the_guide_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import segmentation.fields as fields_module

    image = np.full((120, 400), 238, np.uint8)
    cv2.line(image, (10, 90), (390, 90), 60, 2)  # the guide line
    cv2.putText(image, "12", (40, 88), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 20, 5)
    cv2.circle(image, (160, 90), 3, 20, -1)  # the decimal point, on the line
    cv2.putText(image, "5", (175, 88), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 20, 5)
    point = np.count_nonzero(cv2.circle(np.zeros_like(image), (160, 90), 3, 255, -1))

    def point_pixels() -> int:
        field = line_field(image)
        ink = np.zeros(image.shape, np.uint8)
        ink[field.box.y : field.box.y2, field.box.x : field.box.x2] = field.ink
        return int(np.count_nonzero(ink[84:97, 154:167]))

    assert point_pixels() >= 0.8 * point
    monkeypatch.setattr(fields_module, "ALONG_EXTRA_PX", 0)  # removal alone takes it with the line
    assert point_pixels() == 0


def test_line_field_reads_the_ink_it_is_given() -> None:
    """The reader binarises a line once, to measure its skew, and hands that ink on: it is read as given."""
    image = _string_image(_textured((130, 480)), "402719", guide_y=110)
    ink = line_ink(image)
    assert line_field(image, ink=ink).box == line_field(image).box
    ink[:, :140] = 0  # the first two digits gone from the ink given (not from the image)
    given = line_field(image, ink=ink)
    assert given.box.x >= 140 > line_field(image).box.x


def _under_a_label(boxed: bool) -> tuple[np.ndarray, np.ndarray]:
    """A printed "PAY TO THE ORDER OF" (letters 14 px high) 3 px above "40719" written 45 px high,
    in a printed box whose top rule the letters touch when ``boxed``; and the digits alone as an
    ink mask (ink = 255)."""
    image = np.full((130, 480), 236, np.uint8)
    cv2.putText(image, "PAY TO THE ORDER OF", (8, 24), FONT, 0.6, 30, 2)
    if boxed:
        cv2.rectangle(image, (4, 25), (470, 112), 50, 2)
    expected = np.zeros_like(image)
    for canvas, level in ((image, 20), (expected, 255)):
        cv2.putText(canvas, "40719", (30, 67), FONT, 1.9, level, 6)
    if not boxed:  # the digits' tops 3 px under the letters: nearer than the writing's band lets apart
        assert 26 <= int(np.flatnonzero(expected.any(axis=1))[0]) <= 29
    return image, np.where(expected > 127, 255, 0).astype(np.uint8)


@pytest.mark.parametrize("boxed", [False, True])
def test_a_printed_label_right_above_the_writing_is_painted_over(boxed: bool) -> None:
    image, expected = _under_a_label(boxed)
    gray, ink = without_printed_row(image, line_ink(image))
    # No letter is left, nor anything of one to binarise again; their feet on the box's rule (rows
    # 24-26) stay with it.
    assert not ink[:21].any() and not line_ink(gray)[:21].any()
    field = line_field(gray, ink=ink)
    page_ink = np.zeros(image.shape, np.uint8)
    page_ink[field.box.y : field.box.y2, field.box.x : field.box.x2] = field.ink
    assert np.count_nonzero(page_ink & expected) > 0.97 * np.count_nonzero(expected)
    assert np.count_nonzero(page_ink & ~expected) < 0.03 * np.count_nonzero(expected)
    if boxed:  # the box's rule under the letters is still there (line_field removes it as a rule)
        assert np.count_nonzero(ink[24:28, 4:471]) > 0.9 * 2 * 467


def test_printed_row_leaves_level_writing_and_points_and_finds_printed_text_below() -> None:
    """Printed digits are as level as printed letters, but with nothing taller beside them they are the
    writing; points on the baseline are level too, but far apart; a printed word under the writing is a row."""
    ink = np.zeros((130, 560), np.uint8)
    cv2.putText(ink, "4 0 7 1 9", (20, 80), FONT, 1.9, 255, 6)
    assert printed_row(ink) is None
    for x in (95, 200, 305, 410):
        cv2.circle(ink, (x, 88), 4, 255, -1)  # "4.0.7.1.9", the points just under the digits
    assert printed_row(ink) is None
    cv2.putText(ink, "DOLLARS", (20, 118), FONT, 0.6, 255, 2)
    row = printed_row(ink)
    assert row is not None and row[102:].any() and not row[:100].any()


def test_printed_row_is_not_searched_for_among_more_pieces_than_a_line_has() -> None:
    """Pieces are compared pairwise: a page of text sent as a line would cost memory by the square."""
    ink = np.zeros((200, 4000), np.uint8)
    ink[10:60:12, 20:3980:12] = 255
    ink = cv2.dilate(ink, np.ones((6, 6), np.uint8))  # 5 rows of 330 level dots, closely set ...
    cv2.putText(ink, "7", (100, 190), FONT, 4.0, 255, 14)  # ... above the writing
    assert printed_row(ink) is None


def test_line_pieces_come_left_to_right_with_overlapping_ones_joined_and_specks_and_rules_left_out() -> None:
    ink = np.zeros((120, 520), np.uint8)
    cv2.putText(ink, "R", (10, 80), FONT, 1.6, 255, 4)
    ink[20:95, 78:84] = 255  # a $'s bar ...
    cv2.putText(ink, "S", (62, 80), FONT, 1.6, 255, 4)  # ... through its S: one piece
    cv2.putText(ink, "4", (160, 80), FONT, 1.9, 255, 6)
    ink[30:36, 232:256] = 255  # a 5's loose top bar over its body: one piece
    cv2.putText(ink, "5", (230, 80), FONT, 1.9, 255, 6)
    ink[100:102, 300:302] = 255  # a speck
    ink[96:99, 5:515] = 255  # a guide line under it all, crossing no stroke: taken out
    pieces = line_pieces(ink)
    assert [box.x for box in pieces.boxes] == sorted(box.x for box in pieces.boxes) and len(pieces) == 4
    r, dollar, four, five = pieces.boxes
    assert r.x2 <= dollar.x < 78 and dollar.x2 >= 84 and dollar.h >= 75 and four.x >= 150 and five.x <= 232
    assert pieces[1].shape == (dollar.h, dollar.w) and pieces[1][:, 78 - dollar.x].any()
    assert pieces[-1] is pieces[3] and pieces[3][30 - five.y].any()  # the 5's top bar is in it
    assert all(box.y2 <= 96 for box in pieces.boxes)  # no piece of the rule
    # A piece's ink is its own: the R's box holds none of the $.
    assert np.array_equal(pieces[0] > 0, ink[r.y : r.y2, r.x : r.x2] > 0)


def test_painted_over_paints_the_ink_and_its_rim_with_the_paper_and_leaves_the_rest() -> None:
    image = np.full((100, 300), 230, np.uint8)
    cv2.putText(image, "R", (10, 70), FONT, 1.6, 25, 4, cv2.LINE_AA)
    cv2.putText(image, "47", (120, 70), FONT, 1.9, 25, 6, cv2.LINE_AA)
    ink = line_ink(image)
    printed = ink.copy()
    printed[:, 100:] = 0
    gray, left = painted_over(image, ink, printed)
    assert not left[:, :100].any() and np.array_equal(left[:, 100:], ink[:, 100:])
    assert not line_ink(gray)[:, :100].any()  # nothing of the R to binarise again, rims included
    assert np.array_equal(gray[:, 110:], image[:, 110:])
