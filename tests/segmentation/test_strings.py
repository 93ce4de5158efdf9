"""String over-segmentation on strings drawn in code (Hershey digits, ink = 255)."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from segmentation.elements import Box, union_of
from segmentation.errors import InvalidInput
from segmentation.strings import (
    WIDE_MERGED_SHARE,
    WIDE_SHARE,
    StringParams,
    StringSegmentation,
    _int_median,
    segment_string,
)

SCALE, THICK, BASE_Y = 1.3, 4, 48


def draw_text(canvas: NDArray[np.uint8], text: str, x: int) -> None:
    """Draw binary Hershey text (ink = 255) onto ``canvas``; putText anti-aliases thick strokes."""
    layer = np.zeros_like(canvas)
    cv2.putText(layer, text, (x, BASE_Y), cv2.FONT_HERSHEY_SIMPLEX, SCALE, 255, THICK)
    canvas[layer > 127] = 255


def draw_digits(text: str, step: int) -> tuple[NDArray[np.uint8], list[tuple[int, int]]]:
    """A string of Hershey digits ``step`` px apart, and each digit's drawn column span [x0, x1)."""
    canvas = np.zeros((64, 24 + step * len(text) + 30), np.uint8)
    spans = []
    for i, ch in enumerate(text):
        alone = np.zeros_like(canvas)
        draw_text(alone, ch, 8 + i * step)
        cols = np.flatnonzero(alone.any(axis=0))
        spans.append((int(cols[0]), int(cols[-1]) + 1))
        np.maximum(canvas, alone, out=canvas)
    return canvas, spans


def atom_coverage(seg: StringSegmentation, shape: tuple[int, ...]) -> NDArray[np.int32]:
    """How many atoms claim each pixel."""
    count = np.zeros(shape, np.int32)
    for atom in seg.atoms:
        b = atom.box
        count[b.y : b.y2, b.x : b.x2] += atom.mask > 0
    return count


@pytest.mark.parametrize("step", [20, 19, 18])
def test_touching_zeros_are_cut_at_the_seam(step: int) -> None:
    ink, spans = draw_digits("00", step)
    assert cv2.connectedComponents(ink)[0] - 1 == 1, "the zeros must touch for this test"
    seg = segment_string(ink)
    assert len(seg.atoms) >= 2
    # Some split of the atoms into a left and a right run reproduces the two zeros.
    seams = []
    for k in range(1, len(seg.atoms)):
        left, right = seg.compose(0, k).box, seg.compose(k, len(seg.atoms)).box
        seams.append(abs(left.x2 - spans[1][0]) + abs(right.x - spans[0][1]) + abs(left.x - spans[0][0]))
    assert min(seams) <= 8


def test_three_touching_zeros_get_at_least_two_cuts() -> None:
    ink, spans = draw_digits("000", 19)
    seg = segment_string(ink)
    cut_points = {a.box.x for a in seg.atoms[1:]}
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert any(start - 3 <= c <= end + 3 for c in cut_points), (cut_points, spans)


def test_every_ink_pixel_belongs_to_exactly_one_atom() -> None:
    ink, _ = draw_digits("000", 19)
    ink[5:9, 2:6] = 255  # a mark far from the band but big enough to keep
    seg = segment_string(ink)
    coverage = atom_coverage(seg, ink.shape)
    assert coverage.max() == 1
    assert np.array_equal(coverage > 0, seg.ink > 0)


def test_detached_top_bar_of_a_five_is_merged() -> None:
    canvas = np.zeros((64, 60), np.uint8)
    draw_text(canvas, "5", 8)
    rows = np.flatnonzero(canvas.any(axis=1))
    canvas[rows[0] + THICK + 1 : rows[0] + THICK + 4] = 0  # cut the bar off the stem
    assert cv2.connectedComponents(canvas)[0] - 1 == 2
    seg = segment_string(canvas)
    assert len(seg.atoms) == 1
    assert np.count_nonzero(seg.atoms[0].mask) == np.count_nonzero(canvas)
    assert seg.atoms[0].box.y <= rows[0] + 1


def test_separate_digits_are_not_merged_and_come_left_to_right() -> None:
    ink, spans = draw_digits("1717", 22)
    seg = segment_string(ink)
    xs = [a.box.x + a.box.w / 2 for a in seg.atoms]
    assert xs == sorted(xs)
    for atom in seg.atoms:
        inside = [x0 - 1 <= atom.box.x and atom.box.x2 <= x1 + 1 for x0, x1 in spans]
        assert any(inside), f"{atom.box} spans two digits {spans}"


@pytest.mark.parametrize("mark", [",", ".", "-"])
def test_small_separators_survive_as_their_own_atom(mark: str) -> None:
    canvas = np.zeros((64, 120), np.uint8)
    draw_text(canvas, "2", 8)
    draw_text(canvas, mark, 34)
    draw_text(canvas, "7", 56)
    seg = segment_string(canvas)
    mark_cols = np.flatnonzero(canvas[:, 34:54].any(axis=0)) + 34
    owners = [a for a in seg.atoms if a.box.x >= mark_cols[0] - 1 and a.box.x2 <= mark_cols[-1] + 2]
    assert len(owners) == 1


def test_specks_are_dropped_relative_to_the_string_height() -> None:
    ink, _ = draw_digits("77", 26)
    ink[2, 2] = 255
    ink[60:62, 70:72] = 255
    seg = segment_string(ink)
    assert seg.ink[2, 2] == 0 and seg.ink[60, 70] == 0
    assert all(max(a.box.w, a.box.h) > 3 for a in seg.atoms)


def test_cut_count_is_bounded() -> None:
    ink, _ = draw_digits("00000", 19)
    for cuts in (0, 1, 3):
        seg = segment_string(ink, StringParams(max_cuts_per_component=cuts))
        assert len(seg.atoms) <= cuts + 1


def test_band_is_the_digit_height() -> None:
    ink, _ = draw_digits("808", 24)
    rows = np.flatnonzero(ink.any(axis=1))
    seg = segment_string(ink)
    assert abs(seg.top - rows[0]) <= 1 and abs(seg.baseline - (rows[-1] + 1)) <= 1


def test_compose_holds_only_its_atoms_ink() -> None:
    ink, _ = draw_digits("000", 19)
    seg = segment_string(ink)
    whole = seg.compose(0, len(seg.atoms))
    assert np.count_nonzero(whole.mask) == np.count_nonzero(seg.ink)
    first = seg.compose(0, 1)
    assert np.count_nonzero(first.mask) == np.count_nonzero(seg.atoms[0].mask)
    with pytest.raises(InvalidInput):
        seg.compose(1, 1)
    with pytest.raises(InvalidInput):
        seg.compose(0, len(seg.atoms) + 1)


def test_blank_image_has_no_atoms() -> None:
    seg = segment_string(np.zeros((30, 40), np.uint8))
    assert seg.atoms == ()


def test_segmentation_is_deterministic() -> None:
    ink, _ = draw_digits("90817", 20)
    a, b = segment_string(ink), segment_string(ink.copy())
    assert [x.box for x in a.atoms] == [x.box for x in b.atoms]
    assert all(np.array_equal(x.mask, y.mask) for x, y in zip(a.atoms, b.atoms, strict=True))


def test_point_tucked_under_a_digit_is_not_merged_into_it() -> None:
    canvas = np.zeros((64, 80), np.uint8)
    draw_text(canvas, "7", 8)
    cols = np.flatnonzero(canvas.any(axis=0))
    rows = np.flatnonzero(canvas.any(axis=1))
    x = int(cols[-1]) - 4  # under the right end of the 7's bar, clear of its stem
    cv2.circle(canvas, (x, int(rows[-1]) + 1), 3, 255, -1)
    assert cv2.connectedComponents(canvas)[0] - 1 == 2
    seg = segment_string(canvas)
    assert len(seg.atoms) == 2
    assert min(a.box.h for a in seg.atoms) <= 8


def test_one_component_a_little_wider_than_a_digit_is_cut() -> None:
    """Two crossing strokes (overlapping digits) 0.8 of the height wide: one component, cut into atoms."""
    ink = np.zeros((60, 60), np.uint8)
    cv2.line(ink, (10, 10), (42, 49), 255, 3)
    cv2.line(ink, (42, 10), (10, 49), 255, 3)
    box = cv2.boundingRect(cv2.findNonZero(ink))
    assert cv2.connectedComponents(ink)[0] - 1 == 1
    assert WIDE_SHARE < box[2] / box[3] < WIDE_MERGED_SHARE, "the piece must lie between both thresholds"
    seg = segment_string(ink)
    assert len(seg.atoms) >= 2
    assert (atom_coverage(seg, ink.shape) == (ink > 0)).all()


def test_box_union_and_overlap() -> None:
    a, b, c = Box(0, 5, 10, 10), Box(6, 0, 10, 4), Box(30, 8, 2, 2)
    assert union_of([a]) == a
    assert union_of(iter([a, b, c])) == Box(0, 0, 32, 15)
    assert a.x_overlap(b) == 4 and b.x_overlap(a) == 4
    assert a.x_overlap(c) == -20  # the gap between them


def test_int_median_is_numpys_truncated() -> None:
    rng = np.random.default_rng(0)
    for size in range(1, 40):
        for _ in range(20):
            values = [int(v) for v in rng.integers(-5, 3000, size)]
            assert _int_median(values) == int(np.median(values))
