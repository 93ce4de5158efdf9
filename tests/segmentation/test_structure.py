"""Rule finding and removal that keeps crossing strokes, and comb detection, on masks drawn in code."""

from __future__ import annotations

import cv2
import numpy as np

from segmentation import structure


def _remove_horizontal(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    horizontal = structure.find_rules(ink, 100, vertical=False)
    return structure.remove_rules(ink, horizontal, np.zeros_like(ink), stroke_px=3)


def test_a_rule_on_the_image_edge_is_removed_and_is_no_vertical_run() -> None:
    """An image cut along a printed box has the box's rules on its edges: beyond them there is no ink."""
    ink = np.zeros((60, 300), np.uint8)
    ink[0:3, :] = 255  # the box's top rule along the image's top edge
    cv2.line(ink, (150, 0), (152, 45), 255, 4)  # a stroke hanging from it
    # Three rows are no vertical run of six, though OpenCV's default border would extend them upwards.
    for beyond, expected in ((False, False), (True, True)):  # True: a piece's crop, whose edge is no edge
        runs = structure.find_rules(ink, 6, vertical=True, ink_beyond_edge=beyond)
        assert runs[:, 145:160].any()  # the stroke
        assert (runs[:, :140].any() or runs[:, 165:].any()) == expected

    clean, _ = _remove_horizontal(ink)

    assert np.count_nonzero(clean[0:3, 10:130]) == 0 and np.count_nonzero(clean[0:3, 175:290]) == 0
    assert clean[1:45, 145:158].any(axis=1).all()  # the stroke stays whole


def test_ruled_line_is_removed_but_crossing_stroke_stays_connected() -> None:
    ink = np.zeros((200, 400), np.uint8)
    cv2.line(ink, (10, 100), (390, 100), 255, 3)  # the printed rule, rows 99..101
    cv2.line(ink, (200, 60), (205, 140), 255, 4)  # a handwritten stroke crossing it
    cv2.line(ink, (300, 70), (330, 99), 255, 4)  # a stroke ending on the rule from above

    clean, removed = _remove_horizontal(ink)

    # The rule is gone away from the strokes.
    assert np.count_nonzero(clean[96:105, 10:180]) == 0
    assert np.count_nonzero(clean[96:105, 340:390]) == 0
    assert np.count_nonzero(removed) > 0.8 * 3 * 300
    # The crossing stroke keeps its pixels above, across and below the rule, in one piece.
    _, labels = cv2.connectedComponents(clean, connectivity=8)
    top, middle, bottom = labels[62, 200], labels[100, 203], labels[138, 205]
    assert top != 0 and top == middle == bottom
    # The stroke ending on the rule keeps its pixels down to the rule's ragged edge.
    ending = clean[60:100, 295:340]
    assert 60 + np.flatnonzero(ending.any(axis=1)).max() >= 94


def test_a_point_on_a_guide_line_and_a_stroke_along_it_keep_their_pixels() -> None:
    ink = np.zeros((200, 400), np.uint8)
    cv2.line(ink, (10, 100), (390, 100), 255, 2)  # the guide line, rows 100..101
    cv2.circle(ink, (120, 100), 4, 255, -1)  # the point of an amount, written on the line
    cv2.line(ink, (220, 97), (300, 97), 255, 4)  # the bottom stroke of a 2, lying on the line

    clean, _ = _remove_horizontal(ink)

    point = cv2.circle(np.zeros_like(ink), (120, 100), 4, 255, -1) > 0
    assert np.count_nonzero(clean[point]) >= 0.75 * np.count_nonzero(point)
    assert clean[96:99, 225:295].all()
    assert np.count_nonzero(clean[98:104, 20:100]) == 0 and np.count_nonzero(clean[98:104, 320:390]) == 0


def test_a_stroke_no_thicker_than_the_line_comes_back_where_it_thickens_the_band() -> None:
    ink = np.zeros((200, 400), np.uint8)
    cv2.line(ink, (10, 100), (390, 100), 255, 2)  # the guide line, rows 99..101
    cv2.rectangle(ink, (150, 98), (170, 102), 255, -1)  # a stroke along the 3-row line: 5 rows, removed with it
    cv2.line(ink, (160, 60), (160, 98), 255, 4)  # the digit it belongs to, standing on it
    cv2.rectangle(ink, (300, 98), (320, 102), 255, -1)  # the same thickening, touching no ink

    horizontal = structure.find_rules(ink, 100, vertical=False)
    clean, removed = structure.remove_rules(ink, horizontal, np.zeros_like(ink), stroke_px=3)
    assert (
        np.count_nonzero(clean[98:103, 150:156]) + np.count_nonzero(clean[98:103, 165:171]) == 0
    )  # taken with the line
    restored = structure.restore_strokes_along(clean, removed, horizontal, extra_px=2, reach_px=3)
    assert np.count_nonzero(restored[98:103, 151:170]) >= 0.75 * 5 * 19  # back, joined to its digit
    _, labels = cv2.connectedComponents(restored, connectivity=8)
    assert labels[100, 152] == labels[70, 160] != 0
    assert np.count_nonzero(restored[95:106, 290:330]) == 0  # alone it is the line's, not ink
    assert np.count_nonzero(restored[98:104, 20:140]) == 0  # and the bare line stays removed
    assert np.array_equal(restored & ~clean, restored ^ clean)  # only pixels are added


def test_slanted_stroke_crossing_rule_stays_connected() -> None:
    ink = np.zeros((200, 400), np.uint8)
    cv2.line(ink, (10, 100), (390, 100), 255, 2)
    cv2.line(ink, (150, 50), (210, 150), 255, 5)
    clean, _ = _remove_horizontal(ink)
    _, labels = cv2.connectedComponents(clean, connectivity=8)
    assert labels[52, 151] != 0 and labels[52, 151] == labels[148, 209]


def test_short_horizontal_stroke_is_not_a_rule() -> None:
    ink = np.zeros((100, 200), np.uint8)
    cv2.line(ink, (40, 50), (110, 50), 255, 4)  # a digit's bar, 70 px
    assert not structure.find_rules(ink, 100, vertical=False).any()


def test_pooled_rules_find_the_same_lines() -> None:
    ink = np.zeros((300, 600), np.uint8)
    cv2.line(ink, (20, 101), (580, 101), 255, 1)
    cv2.line(ink, (20, 200), (580, 203), 255, 2)
    plain = structure.find_rules(ink, 100, vertical=False)
    pooled = structure.find_rules(ink, 100, vertical=False, pool=2)
    # The same lines up to a pixel at their ends.
    assert np.count_nonzero(pooled & plain) >= np.count_nonzero(plain) - 8
    assert np.count_nonzero(pooled & ~ink) == 0


def _comb(ink: np.ndarray, x0: int, y0: int, cell_w: int, cell_h: int, cells: int, thickness: int = 2) -> None:
    cv2.rectangle(ink, (x0, y0), (x0 + cells * cell_w, y0 + cell_h), 255, thickness)
    for i in range(1, cells):
        cv2.line(ink, (x0 + i * cell_w, y0), (x0 + i * cell_w, y0 + cell_h), 255, thickness)


def test_comb_of_six_boxes_is_found_with_its_cells() -> None:
    ink = np.zeros((300, 700), np.uint8)
    _comb(ink, 100, 100, 70, 80, 6)
    # Digits in the cells, one a "1" spanning nearly the whole cell height.
    cv2.line(ink, (140, 105), (140, 175), 255, 5)
    cv2.circle(ink, (205, 140), 22, 255, 5)
    horizontal = structure.find_rules(ink, 100, vertical=False)

    combs, walls = structure.find_combs(ink, horizontal, min_cell_px=20, max_cell_px=200)

    assert len(combs) == 1
    comb = combs[0]
    assert len(comb.cells) == 6
    assert abs(comb.box.x - 99) <= 2 and abs(comb.box.x2 - 522) <= 2
    assert abs(comb.box.y - 99) <= 2 and abs(comb.box.y2 - 182) <= 2
    for i, cell in enumerate(comb.cells):
        assert abs(cell.x - (100 + 70 * i)) <= 3 and abs(cell.w - 70) <= 4
    # Walls cover the seven wall columns, not the digits.
    assert walls[140, 100] == 255 and walls[140, 240] == 255
    assert walls[140, 140] == 0


def test_tall_ones_filling_cells_from_rule_to_rule_are_not_walls() -> None:
    ink = np.zeros((300, 700), np.uint8)
    _comb(ink, 100, 100, 55, 80, 5)
    for x in (175, 190, 230, 290):  # oversize 1s and a bold stroke, each a full-height column
        cv2.line(ink, (x, 95), (x, 185), 255, 5)
    horizontal = structure.find_rules(ink, 100, vertical=False)
    combs, _ = structure.find_combs(ink, horizontal, min_cell_px=20, max_cell_px=200)
    assert len(combs) == 1
    assert [round((c.x - 100) / 55) for c in combs[0].cells] == [0, 1, 2, 3, 4]
    assert all(abs(c.w - 55) <= 5 for c in combs[0].cells)


def test_regular_walls_keep_a_wall_widened_by_a_stroke_and_give_up_on_uneven_ones() -> None:
    even = [(0, 4), (50, 54), (100, 104), (150, 154)]
    assert structure._regular_walls(even) == even
    widened = [(0, 4), (50, 54), (92, 104), (150, 154)]  # a stroke along the third wall
    assert structure._regular_walls(widened) == widened
    stray = [(0, 4), (20, 24), (50, 54), (77, 80), (100, 104), (150, 154)]
    assert structure._regular_walls(stray) == even
    assert structure._regular_walls([(0, 4), (30, 34), (100, 104), (120, 124), (180, 184)]) is None


def test_single_box_and_underline_pairs_are_not_combs() -> None:
    ink = np.zeros((400, 700), np.uint8)
    cv2.rectangle(ink, (100, 50), (300, 130), 255, 2)  # one box
    cv2.line(ink, (100, 250), (600, 250), 255, 2)  # two underlines one above the other
    cv2.line(ink, (100, 330), (600, 330), 255, 2)
    horizontal = structure.find_rules(ink, 100, vertical=False)
    combs, walls = structure.find_combs(ink, horizontal, min_cell_px=20, max_cell_px=200)
    assert combs == []
    assert not walls.any()


def test_comb_lines_are_removed_but_digit_crossing_a_wall_stays() -> None:
    ink = np.zeros((300, 700), np.uint8)
    _comb(ink, 100, 100, 70, 80, 4)
    cv2.line(ink, (150, 140), (190, 140), 255, 4)  # a bar crossing the wall at x=170
    horizontal = structure.find_rules(ink, 100, vertical=False)
    combs, walls = structure.find_combs(ink, horizontal, min_cell_px=20, max_cell_px=200)
    clean, removed = structure.remove_rules(ink, horizontal, walls, stroke_px=3)
    assert len(combs) == 1
    assert clean[140, 150:191].all()
    # Everything else of the comb is gone.
    leftover = clean.copy()
    leftover[130:150, 145:195] = 0
    assert np.count_nonzero(leftover) == 0
    assert np.count_nonzero(removed) > 0
