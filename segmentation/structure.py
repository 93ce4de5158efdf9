"""Printed structure of a form: ruled lines, comb fields (rows of boxes), and their removal.

Inputs and outputs are binary masks, ``NDArray[np.uint8]`` (H, W) with ink = 255, in the
(deskewed) page frame. Printed rules are found with long thin morphological openings;
they are removed from the ink only where the ink is no thicker than the rule itself,
so digits that touch, cross or run along a line keep their strokes.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from segmentation.cleanup import as_gray, joined_to
from segmentation.elements import Box, GrayImage

# A comb wall is a column that is ink over at least this share of the band between two rules.
WALL_COVERAGE = 0.9
# Cells narrower than this share of the median cell width are split by a stray stroke, not a wall.
MIN_CELL_WIDTH_SHARE = 0.55
# Comb walls are evenly spaced: a wall lies within this share of the pitch (or this many
# pixels) of its place; columns of ink elsewhere are strokes (see _regular_walls).
PITCH_TOLERANCE = 0.12
MIN_PITCH_TOLERANCE_PX = 3
# ... for at least this many cells: two cells have one inner wall, which some column always fits.
MIN_REGULAR_CELLS = 3
# Cells of a comb are "similar size": width within these shares of the median width.
CELL_WIDTH_RANGE = (0.6, 1.6)
# Cell aspect (width / height) a box of one digit can have.
CELL_ASPECT_RANGE = (0.3, 3.0)
# Printed lines have ragged, anti-aliased edges up to this many pixels beyond their solid core.
RAGGED_EDGE_PX = 2
# Ink across a rule at least this many pixels thicker than the rule (its measured thickness plus
# two) is kept: a stroke crossing, touching or running along the rule, or a point on it. 60
# synthetic forms: field exact 85.9% -> 91.2% against the old test (a run of the rule plus a
# stroke width on each side, which cut points off guide lines and bit into digits on box
# lines); 0 px left noisy guide lines of hard synthetic lines in place.
KEEP_RUN_PX = 1
# Breaks up to twice this many pixels long in a faint printed rule are bridged.
RULE_BREAK_PX = 4
# Two rules bound a comb when they overlap along x by this share of the longer one.
MIN_RULE_OVERLAP = 0.8


@dataclass(frozen=True, slots=True)
class Comb:
    """A row of >= 2 adjacent, similar boxes; ``box`` is the outer rectangle, ``cells`` the insides, left to right."""

    box: Box
    cells: tuple[Box, ...]


def find_rules(
    ink: GrayImage, min_length_px: int, *, vertical: bool, pool: int = 1, ink_beyond_edge: bool = True
) -> GrayImage:
    """Pixels of straight horizontal (or vertical) runs at least ``min_length_px`` long (ink = 255).

    With ``pool`` > 1 the opening runs on a ``pool`` x ``pool`` max-pooled copy (any ink
    in a block counts), ``pool``^2 times cheaper; the result is mapped back and
    restricted to the ink, so it may include ink right next to a rule, which
    :func:`remove_rules` then tests like any rule pixel.

    With ``ink_beyond_edge`` (OpenCV's default border) a run reaching the image's edge counts as
    going on beyond it: right for a piece cut out of a larger image (an underline running to the
    edge of its piece's box), wrong for a whole image whose edge cuts through a printed frame
    (the frame's top rule along the image's top edge would be a long vertical run too).
    """
    if pool > 1:
        h, w = ink.shape
        small = cv2.resize(ink, ((w + pool - 1) // pool, (h + pool - 1) // pool), interpolation=cv2.INTER_AREA)
        pooled = as_gray(cv2.threshold(small, 0, 255, cv2.THRESH_BINARY)[1])
        rules = find_rules(pooled, max(2, min_length_px // pool), vertical=vertical, ink_beyond_edge=ink_beyond_edge)
        if not rules.any():
            return np.zeros_like(ink)
        big = cv2.resize(rules, (rules.shape[1] * pool, rules.shape[0] * pool), interpolation=cv2.INTER_NEAREST)
        return as_gray(cv2.bitwise_and(big[:h, :w], ink))
    size = (1, int(min_length_px)) if vertical else (int(min_length_px), 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, size)
    # Thicken by a pixel across and bridge 2-px breaks along first, so a thin, faint line that
    # steps by a row (slight skew) or fades in places stays one run.
    across = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 5) if vertical else (5, 3))
    thick = cv2.dilate(ink, across)
    if ink_beyond_edge:
        runs = cv2.morphologyEx(thick, cv2.MORPH_OPEN, kernel)
    else:
        runs = cv2.morphologyEx(thick, cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return as_gray(cv2.bitwise_and(runs, ink))


def find_frame_sides(ink: GrayImage, horizontal: GrayImage, min_length_px: int, *, reach_px: int) -> GrayImage:
    """Vertical rules that join two horizontal rules (sides of a box or frame, comb walls), ink = 255.

    A vertical run at least ``min_length_px`` long counts only when both its ends come
    within ``reach_px`` of a horizontal rule, so a tall handwritten ``1`` standing on a
    guide line is not taken for a frame.
    """
    if not horizontal.any():
        return np.zeros_like(ink)
    return _vertical_sides(ink, horizontal, min_length_px, reach_px, lambda y, y2, top, bottom: top and bottom)


def find_cut_frame_sides(
    ink: GrayImage, horizontal: GrayImage, min_length_px: int, *, reach_px: int, edge_px: int
) -> GrayImage:
    """Vertical rules of a frame cut by the image's edge (an amount box cropped inside its top or
    bottom rule, or both), ink = 255: each end comes within ``reach_px`` of a horizontal rule or
    within ``edge_px`` of the image's top or bottom edge, and at least one end is at an edge
    (:func:`find_frame_sides` finds those joined to rules at both ends). A handwritten ``1``
    can run from edge to edge of a tight crop too: the caller weighs these against the writing.
    """
    h = ink.shape[0]

    def cut(y: int, y2: int, top_joined: bool, bottom_joined: bool) -> bool:
        top_cut, bottom_cut = y <= edge_px, y2 >= h - edge_px
        return (top_cut or bottom_cut) and (top_cut or top_joined) and (bottom_cut or bottom_joined)

    return _vertical_sides(ink, horizontal, min_length_px, reach_px, cut)


def _vertical_sides(
    ink: GrayImage,
    horizontal: GrayImage,
    min_length_px: int,
    reach_px: int,
    keep: Callable[[int, int, bool, bool], bool],
) -> GrayImage:
    """The vertical runs of ``ink`` at least ``min_length_px`` long (no ink beyond the image's edge)
    that ``keep(top row, row past the bottom, top end near a rule, bottom end near a rule)`` takes;
    an end is near a rule within ``reach_px`` of a horizontal one."""
    vertical = find_rules(ink, min_length_px, vertical=True, ink_beyond_edge=False)
    sides = np.zeros_like(ink)
    if not vertical.any():
        return sides
    near = cv2.dilate(horizontal, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 2 * reach_px + 1)))
    contours, _ = cv2.findContours(vertical, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if keep(y, y + h, bool(near[y, x : x + w].any()), bool(near[y + h - 1, x : x + w].any())):
            sides[y : y + h, x : x + w] = vertical[y : y + h, x : x + w]
    return sides


def rule_thickness(rules: GrayImage, *, vertical: bool) -> int:
    """Typical thickness in pixels of the rules in a mask, rounded up; 0 when there are none.

    Area divided by the number of edge pixels on one side (pixels with no rule pixel just
    above, or just left of, them): for a rule of thickness t and length L, t*L / L.
    """
    area = cv2.countNonZero(rules)
    if area == 0:
        return 0
    inner = rules[:, 1:] & rules[:, :-1] if vertical else rules[1:, :] & rules[:-1, :]
    edges = area - cv2.countNonZero(inner)
    return max(1, math.ceil(area / max(1, edges)))


def _regions(band: GrayImage, reach_px: int, *, vertical: bool) -> list[tuple[slice, slice]]:
    """Row/column slices around each piece of a rule band, widened by ``reach_px`` across the rule."""
    contours, _ = cv2.findContours(band, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    h, w = band.shape
    regions = []
    for contour in contours:
        x, y, bw, bh = cv2.boundingRect(contour)
        if vertical:
            regions.append((slice(y, y + bh), slice(max(0, x - reach_px), min(w, x + bw + reach_px))))
        else:
            regions.append((slice(max(0, y - reach_px), min(h, y + bh + reach_px)), slice(x, x + bw)))
    return regions


Regions = list[tuple[slice, slice]]


def _strip_rule(
    ink: GrayImage, other: GrayImage | None, band: GrayImage, regions: Regions, run: int, *, vertical: bool
) -> GrayImage:
    """Band pixels to remove: those whose run across the rule is shorter than ``run``.

    Runs are measured in ``ink`` less ``other`` (the other direction's rule band, if any),
    region by region: no page-sized copy of the tested ink is made.
    """
    across = cv2.getStructuringElement(cv2.MORPH_RECT, (run, 1) if vertical else (1, run))
    removed = np.zeros_like(band)
    h, w = band.shape
    # Work only around the rules: they cover a small share of a page.
    for rows, cols in regions:
        tested = ink[rows, cols] if other is None else cv2.subtract(ink[rows, cols], other[rows, cols])
        strokes = _runs_across(as_gray(tested), as_gray(across), _image_edges(rows, cols, h, w, vertical=vertical), run)
        removed[rows, cols] |= as_gray(cv2.subtract(band[rows, cols], strokes))
    return removed


def _image_edges(rows: slice, cols: slice, h: int, w: int, *, vertical: bool) -> tuple[bool, bool]:
    """Whether a region reaches the image's edge before (top or left) and after (bottom or right) a rule."""
    start, stop, size = (cols.start, cols.stop, w) if vertical else (rows.start, rows.stop, h)
    return start == 0, stop == size


def _runs_across(tested: GrayImage, across: GrayImage, edges: tuple[bool, bool], run: int) -> GrayImage:
    """The pixels of ``tested`` on a run of at least ``run`` pixels across the rule (an opening by ``across``).

    Beyond a region's own border the opening sees ink (OpenCV's default border for erosion), so a
    stroke leaving the region counts as long; beyond the image's edge there is no ink: a rule
    printed along the edge of a cropped image (an amount box cut out with its frame) would
    otherwise look like a stroke running off the image and be kept.
    """
    before, after = (run if edge else 0 for edge in edges)
    if not (before or after):
        return as_gray(cv2.morphologyEx(tested, cv2.MORPH_OPEN, across))
    vertical = across.shape[0] == 1  # a horizontal kernel: runs across a vertical rule
    pad = (0, 0, before, after) if vertical else (before, after, 0, 0)
    padded = cv2.copyMakeBorder(tested, *pad, cv2.BORDER_CONSTANT, value=0)
    opened = cv2.morphologyEx(padded, cv2.MORPH_OPEN, across)
    h, w = tested.shape
    return as_gray(opened[pad[0] : pad[0] + h, pad[2] : pad[2] + w])


def _repair(clean: GrayImage, removed: GrayImage, regions: Regions, thickness: int, *, vertical: bool) -> None:
    """Close gaps across a removed rule, in place, only inside the removed band."""
    bridge = cv2.getStructuringElement(cv2.MORPH_RECT, (thickness + 2, 1) if vertical else (1, thickness + 2))
    for rows, cols in regions:
        closed = cv2.morphologyEx(clean[rows, cols], cv2.MORPH_CLOSE, bridge)
        clean[rows, cols] |= as_gray(cv2.bitwise_and(closed, removed[rows, cols]))


def remove_rules(
    ink: GrayImage, horizontal: GrayImage, vertical: GrayImage, *, stroke_px: int
) -> tuple[GrayImage, GrayImage]:
    """Remove printed rules from the ink but keep handwriting that crosses or touches them.

    A rule pixel is removed only where the ink across the rule is no thicker than the rule:
    for a horizontal rule, the vertical run through the pixel (ignoring vertical rules) must
    be shorter than the rule's thickness plus ``KEEP_RUN_PX``. So a stroke that crosses,
    touches or runs along the rule keeps its pixels, and so does a point sitting on it.
    Gaps left in strokes are then repaired by a short closing across the rule, restricted
    to the removed band; ``stroke_px`` sizes the neighbourhood searched around each rule.
    Returns ``(clean, removed)``, both binary (H, W) uint8 masks.
    """
    # Binary masks (0 or 255) throughout: a saturating subtraction is "and not", with no
    # page-sized complement made for it (an A4 page at 300 dpi is 8.7 MB a mask).
    bands = _rule_bands(ink, horizontal, vertical)
    thickness_by = {is_vertical: thickness for is_vertical, (_, thickness) in bands.items()}
    regions_by = {
        is_vertical: _regions(band, thickness + 2 * stroke_px, vertical=is_vertical)
        for is_vertical, (band, thickness) in bands.items()
    }
    removed_by = {
        # Crossings between rules (comb corners) are not strokes: test runs without the other rules.
        is_vertical: _strip_rule(
            ink,
            bands[not is_vertical][0] if (not is_vertical) in bands else None,
            bands[is_vertical][0],
            regions_by[is_vertical],
            thickness_by[is_vertical] + KEEP_RUN_PX,
            vertical=is_vertical,
        )
        for is_vertical in bands
    }
    del bands  # page-sized masks not needed past here
    removed = np.zeros_like(ink)
    for mask in removed_by.values():
        removed |= mask
    clean = as_gray(cv2.subtract(ink, removed))
    for is_vertical, mask in removed_by.items():
        _repair(clean, mask, regions_by[is_vertical], thickness_by[is_vertical], vertical=is_vertical)
    return clean, as_gray(cv2.subtract(removed, clean, dst=removed))


def _rule_bands(ink: GrayImage, horizontal: GrayImage, vertical: GrayImage) -> dict[bool, tuple[GrayImage, int]]:
    """Per direction with rules (True: vertical), the ink on its rules widened across by
    ``RAGGED_EDGE_PX`` (ragged, anti-aliased edges), and the rules' thickness + 2."""
    widen = {False: (1, 2 * RAGGED_EDGE_PX + 1), True: (2 * RAGGED_EDGE_PX + 1, 1)}
    bands: dict[bool, tuple[GrayImage, int]] = {}
    for rules, is_vertical in ((horizontal, False), (vertical, True)):
        if cv2.countNonZero(rules):
            band = as_gray(cv2.dilate(rules, cv2.getStructuringElement(cv2.MORPH_RECT, widen[is_vertical])))
            cv2.bitwise_and(band, ink, dst=band)
            bands[is_vertical] = (band, rule_thickness(rules, vertical=is_vertical) + 2)
    return bands


def _rule_segments(horizontal: GrayImage) -> list[Box]:
    """Boxes of the horizontal rules, top to bottom; pieces of a faint rule a few pixels apart are one rule."""
    bridged = cv2.dilate(horizontal, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * RULE_BREAK_PX + 1, 1)))
    contours, _ = cv2.findContours(bridged, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        boxes.append(Box(int(x) + RULE_BREAK_PX, int(y), max(1, int(w) - 2 * RULE_BREAK_PX), int(h)))
    return sorted(boxes, key=lambda b: (b.y, b.x))


def _walls(coverage: np.ndarray) -> list[tuple[int, int]]:
    """Runs ``(start, stop)`` of consecutive True columns."""
    padded = np.concatenate([[False], coverage, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def _drop_stray_walls(walls: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Remove inner walls that cut a cell much narrower than the others (a stroke filling a column)."""
    while len(walls) > 3:
        widths = np.array([walls[i + 1][0] - walls[i][1] for i in range(len(walls) - 1)], dtype=np.float64)
        narrow = int(np.argmin(widths))
        if widths[narrow] >= MIN_CELL_WIDTH_SHARE * float(np.median(widths)):
            break
        # Drop the wall between the narrow cell and its narrower neighbour (never an outer wall).
        left = widths[narrow - 1] if narrow > 0 else np.inf
        right = widths[narrow + 1] if narrow + 1 < widths.size else np.inf
        drop = narrow if left <= right else narrow + 1
        drop = min(max(drop, 1), len(walls) - 2)
        walls = walls[:drop] + walls[drop + 1 :]
    return walls


def _regular_walls(walls: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """The walls at a regular pitch between the outer two, if some are; None if no pitch fits.

    Printed combs space their walls evenly; a stroke filling a column between the rules (a
    tall 1, the side of a bold 0) does not fall on that pitch. The most cells (at least
    ``MIN_REGULAR_CELLS``) whose inner walls all lie within ``PITCH_TOLERANCE`` of the pitch
    (or ``MIN_PITCH_TOLERANCE_PX``) of their place win. ``walls``: runs (start, stop) of wall
    columns, left to right, the outer walls first and last. Held-out forms: the two of 458
    combs whose grid had been found wrong (tall 1s taken for walls) are right; comb fields
    418 -> 421 of 458 and 550 -> 552 of 597.
    """
    if len(walls) < 3:
        return None
    starts = np.array([a for a, _ in walls], dtype=np.float64)
    stops = np.array([b for _, b in walls], dtype=np.float64)
    first, span = (starts[0] + stops[0]) / 2.0, (starts[-1] + stops[-1] - starts[0] - stops[0]) / 2.0
    for cells in range(len(walls) - 1, MIN_REGULAR_CELLS - 1, -1):
        pitch = span / cells
        tolerance = max(MIN_PITCH_TOLERANCE_PX, PITCH_TOLERANCE * pitch)
        chosen = [0]
        for k in range(1, cells):
            # How far the place is from each run of wall columns (0 inside one: a stroke along a
            # wall widens the run off centre).
            place = first + k * pitch
            distance = np.maximum(0.0, np.maximum(starts - place, place - stops))
            nearest = int(np.argmin(distance))
            if distance[nearest] > tolerance:
                break
            chosen.append(nearest)
        else:
            return [walls[i] for i in [*chosen, len(walls) - 1]]
    return None


def _comb_between(ink: GrayImage, top: Box, bottom: Box, walls_mask: GrayImage) -> Comb | None:
    """The comb bounded by two horizontal rules, if walls join them; draws its walls into ``walls_mask``."""
    x0, x1 = max(top.x, bottom.x), min(top.x2, bottom.x2)
    y0, y1 = top.y2 + 1, bottom.y - 1
    if x1 - x0 < 2 or y1 - y0 < 4:
        return None
    coverage = ink[y0:y1, x0:x1].mean(axis=0) >= WALL_COVERAGE * 255
    found = _walls(coverage)
    walls = _regular_walls(found) or _drop_stray_walls(found)
    if len(walls) < 3:
        return None
    inner_h = bottom.y - top.y2
    cells = [Box(x0 + a[1], top.y2, b[0] - a[1], inner_h) for a, b in itertools.pairwise(walls)]
    median_w = float(np.median([c.w for c in cells]))
    lo, hi = CELL_WIDTH_RANGE
    keep = [c for c in cells if lo * median_w <= c.w <= hi * median_w]
    keep = [c for c in keep if CELL_ASPECT_RANGE[0] <= c.w / max(1, c.h) <= CELL_ASPECT_RANGE[1]]
    if len(keep) < 2:
        return None
    left, right = x0 + walls[0][0], x0 + walls[-1][1]
    for a, b in walls:
        walls_mask[top.y : bottom.y2, max(0, x0 + a - RAGGED_EDGE_PX) : x0 + b + RAGGED_EDGE_PX] = 255
    return Comb(Box(left, top.y, right - left, bottom.y2 - top.y), tuple(keep))


def find_combs(
    ink: GrayImage, horizontal: GrayImage, *, min_cell_px: int, max_cell_px: int
) -> tuple[list[Comb], GrayImage]:
    """Comb fields: two horizontal rules joined by >= 3 walls that cut >= 2 similar cells.

    ``ink`` is the binary page, ``horizontal`` its horizontal rules (:func:`find_rules`).
    For each rule, the rules below it that overlap it along x, at a distance (cell
    height) in ``[min_cell_px, max_cell_px]``, are tried nearest first until one makes a comb.
    Returns the combs (page coordinates, top to bottom) and a mask of their walls
    (ink = 255, restricted to ink) for :func:`remove_rules`.
    """
    walls_mask = np.zeros_like(ink)
    segments = _rule_segments(horizontal)
    combs: list[Comb] = []
    for i, top in enumerate(segments):
        for bottom in segments[i + 1 :]:
            gap = bottom.y - top.y2
            if gap > max_cell_px:
                break
            overlap = min(top.x2, bottom.x2) - max(top.x, bottom.x)
            if overlap < MIN_RULE_OVERLAP * max(top.w, bottom.w) or gap < min_cell_px:
                continue
            # A digit's bar may sit between the rules: try lower rules until one makes a comb.
            comb = _comb_between(ink, top, bottom, walls_mask)
            if comb is not None:
                combs.append(comb)
                break
    return combs, as_gray(cv2.bitwise_and(walls_mask, ink))


def restore_strokes_along(
    clean: GrayImage, removed: GrayImage, horizontal: GrayImage, *, extra_px: int, reach_px: int
) -> GrayImage:
    """``clean`` with the removed pixels of horizontal rules put back where a stroke ran along the rule.

    Such a stroke (a point or the foot of a digit on a guide line) is no thicker across the
    rule than the rule plus a pixel or two, so :func:`remove_rules` takes it with the rule,
    but it leaves the removed band thicker there. Per piece of each rule, columns whose
    removed run (within ``reach_px`` of the rule) is at least ``extra_px`` above the piece's
    median are put back, where they touch the clean ink.
    """
    if not removed.any() or not horizontal.any():
        return clean
    along = as_gray(cv2.dilate(horizontal, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * reach_px + 1))))
    cv2.bitwise_and(removed, along, dst=along)
    out = clean.copy()
    h, w = clean.shape
    # Rule by rule, in a window around it: a page-sized label image would cost tens of MB.
    for rows, cols in _regions(horizontal, reach_px, vertical=False):
        piece = along[rows, cols] > 0
        counts = piece.sum(axis=0)
        present = counts[counts > 0]
        if present.size == 0:
            continue
        back = piece & (counts >= float(np.median(present)) + extra_px)[np.newaxis, :]
        if not back.any():
            continue
        # The window and a margin, so that ink just beyond the rule's ends counts as touching.
        y0, y1 = max(0, rows.start - 1), min(h, rows.stop + 1)
        x0, x1 = max(0, cols.start - 1), min(w, cols.stop + 1)
        extra = np.zeros((y1 - y0, x1 - x0), bool)
        extra[rows.start - y0 : rows.stop - y0, cols.start - x0 : cols.stop - x0] = back
        out[y0:y1, x0:x1][joined_to(clean[y0:y1, x0:x1] > 0, extra)] = 255
    return out
