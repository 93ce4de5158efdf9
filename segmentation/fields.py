"""Find the fields of a page: comb fields (a row of boxes) and free digit strings, in reading order.

Page mode: :func:`prepare_page` (flatten, binarise, deskew, remove printed rules) then
:func:`find_fields`. Line mode: :func:`line_field`, the whole image is one string. Digit
mode: :func:`digit_field`, the whole image is one digit in any pair of colours.

All images are ``NDArray[np.uint8]`` (H, W); grayscale is dark ink on light paper except
in digit mode; binary masks have ink = 255. Boxes are in the deskewed page frame.

Known limitation: printed text cannot be told from handwriting in general. Printed
labels much smaller than the handwritten digits are dropped; larger printed text (a
title, big labels) may come back as a ``free`` field for the reader to reject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import cv2
import numpy as np
from numpy.typing import NDArray

from segmentation import cleanup, grouping, structure
from segmentation.elements import Box, Field, GrayImage
from segmentation.errors import InvalidInput

# Sizes below are in pixels at the reference scale: an A4 page at 150 dpi, long side 1754 px,
# where handwritten digits are about 40-70 px tall (a 5-10 mm digit).
REFERENCE_LONG_SIDE_PX = 1754
# An ink component belongs to a comb when this share of its box lies inside the comb.
COMB_MEMBER_SHARE = 0.3
# Handwritten digits fill about this share of a comb cell's height (label-size reference).
DIGIT_SHARE_OF_CELL = 0.7
# writing_height: with no comb on the page, this percentile of the heights of the ink's pieces at
# least MIN_WRITING_PIECE_PX tall and at most FLAT_PIECE_RATIO times as wide as tall.
WRITING_PERCENTILE = 75
MIN_WRITING_PIECE_PX = 4
FLAT_PIECE_RATIO = 3.0
# On a faint page the printed rules' contrast floor (PageParams.min_rule_contrast) drops as the ink's
# does (segmentation.cleanup.contrast_floor), not under this.
MIN_FAINT_RULE_CONTRAST = 20
# From this scale (~200 dpi A4) up, rules are searched at half resolution.
RULE_POOL_FROM_SCALE = 1.3


@dataclass(frozen=True, slots=True)
class PageParams:
    """Tuning of page preparation and field finding.

    Pixel sizes are at the reference scale (long page side ``REFERENCE_LONG_SIDE_PX``)
    and are scaled with the page; in line and digit modes they scale with the image height.
    """

    max_skew_deg: float = 10.0
    # Ink is at least this many gray levels darker than the paper (keeps security tints out).
    min_ink_contrast: int = cleanup.MIN_INK_CONTRAST
    # Printed rules are found among pixels at least this much darker than the paper.
    min_rule_contrast: int = 45
    # Closing width of the paper estimate: wider than any stroke.
    paper_kernel_px: int = 41
    # Ink components smaller than this are dust (a decimal point is ~20 px).
    speck_area_px: int = 8
    # Printed rules: horizontal runs at least this long (longer than a digit's bar), vertical ones.
    min_rule_length_px: int = 100
    min_vertical_rule_px: int = 160
    # A stroke continues this far beyond a rule to count as crossing it.
    stroke_ext_px: int = 3
    # Comb cell height range.
    min_cell_px: int = 20
    max_cell_px: int = 200
    # Free strings: components join when the horizontal gap is at most this share of the taller one.
    join_gap_share: float = 1.2
    # Free fields lower than this are noise; lower than this share of the digit height, printed labels.
    min_field_height_px: int = 15
    label_height_share: float = 0.45
    # Line mode: a guide line is a horizontal run longer than this share of the image height.
    line_rule_height_share: float = 1.2


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page ready for field finding; every image has the input's shape.

    ``gray``: deskewed grayscale (dark ink on light paper). ``ink``: binary (ink = 255),
    printed lines removed and strokes that crossed them repaired. ``rules``: binary mask of
    the removed printed lines and boxes. ``skew_deg``: the rotation that was undone
    (degrees, counter-clockwise positive as in ``cv2.getRotationMatrix2D``). ``combs``:
    the rows of boxes found while removing the rules, which :func:`find_fields` reports.
    All boxes found later are in the deskewed page's coordinates.
    """

    gray: GrayImage
    ink: GrayImage
    rules: GrayImage
    skew_deg: float
    combs: tuple[structure.Comb, ...] = ()


def _check_gray(gray: GrayImage) -> None:
    if gray.ndim != 2 or gray.size == 0:
        raise InvalidInput(f"expected a non-empty 2-D grayscale image, got shape {gray.shape}")
    if gray.dtype != np.uint8:
        raise InvalidInput(f"expected a uint8 image, got {gray.dtype}")


def _tight_field(ink: GrayImage, kind: str) -> Field:
    """The ink's tight crop as the one field of an image; raises when there is no ink."""
    found = cleanup.tight_box(ink)
    if found is None:
        raise InvalidInput("no ink found")
    box = Box(*found)
    crop = np.ascontiguousarray(ink[box.y : box.y2, box.x : box.x2])
    cells = (box,) if kind == "comb" else ()
    return Field(name="field-1", kind=kind, box=box, ink=crop, cells=cells)


# Strokes along a guide line (a point on it, the foot of a 2) are removed with it but leave the
# removed band thicker: where it is this many pixels thicker than the line's median, the
# pixels touching the ink go back (structure.restore_strokes_along). 900 held-out hard lines:
# exact 0.740 -> 0.772 (34 better, 5 worse; 1 px: 0.773, 3 px: 0.761); 200 held-out forms:
# free fields 362 -> 364 of 401, with their separators 331 -> 340. Comb rules are left to the
# comb reader's own candidates (recognition.combs): restoring along them here read 563
# comb fields instead of 569.
ALONG_EXTRA_PX = 2
# An amount cut out of a printed box inside the box's top or bottom rule keeps the box's sides,
# running off the image: vertical rules at least CUT_SIDE_HEIGHT_SHARE of the image high, each end
# within CUT_EDGE_SHARE of the image's top or bottom edge (or on a guide line). They were read as 1s
# and threw the writing's height off. The rest of the ink (the writing) must be at least
# MIN_WRITING_SHARE of their height. Any such side at least CUT_SIDE_OVER_WRITING times as tall as
# the writing goes. So do the two outermost when they are alike within CUT_PAIR_HEIGHT_TOLERANCE,
# the writing lies between them, they are CUT_PAIR_OVER_WRITING times as tall as it, and they hang
# from a rule (the box's top) or are printed thinner than the pen's strokes (CUT_PAIR_THIN_SHARE of
# their width): ruler-straight 1s a little taller than the 0s of a tightly cropped "1001" stay.
# 300 held-out hard lines by their digits (bench_reader.py --frame): cut 15.7% -> 61.0%, cut-bottom
# 21.7% -> 83.3% (as drawn: 88.7%). Without the thinness test, cut lines read 68.0%; a pair rule at
# 1.0 instead of 1.05 read more of them in a first trial (129 against 98 of 150) but took the 1s of
# 4 of 300 tight crops of held-out strings starting and ending in 1 (at 1.05, none).
CUT_SIDE_HEIGHT_SHARE = 0.8
CUT_EDGE_SHARE = 0.05
CUT_SIDE_OVER_WRITING = 1.25
MIN_WRITING_SHARE = 0.25
CUT_PAIR_HEIGHT_TOLERANCE = 0.1
CUT_PAIR_OVER_WRITING = 1.05
CUT_PAIR_THIN_SHARE = 0.8
# A line image is read deskewed when its writing or guide line is at least this askew (measured by
# cleanup.estimate_line_skew): the guide line of a line tilted 1 degree was no longer found as a
# rule. 150 held-out hard lines by their digits, tilted -1 / +2 / -3 / +5 / -8 degrees: 122 / 112 /
# 74 / 72 / 54 -> 124 / 127 / 127 / 125 / 121 (level: 130). 300 held-out lines each, level (the
# benchmark's sets), exact: simple 286, hard 257, check 216 -> 214, cents 245 -> 243: a level line
# measured askew now and then, though the estimate must be LINE_SKEW_MIN_GAIN times sharper askew.
MIN_LINE_SKEW_DEG = 0.5
# A line image ~100 px high holds ~60 px digits, like the reference page: line mode's sizes in
# pixels scale with the image's height over LINE_REFERENCE_PX.
LINE_REFERENCE_PX = 100.0
# A line image is cut to its writing and a quarter of its height around when that is under this
# share of the image's height or width (line_content). Held-out cheque lines in a box, tilted within
# 2 degrees, with half their height of paper around: 70.3% by the digits at 0.6, 76.7% at 0.8 and
# 0.9 (the box's rules, shorter than 1.2 image heights, were kept); the level sets: at 0.8 2 more
# exact of 1,200, at 0.9 2 more too but 22 changed.
CONTENT_MARGIN_SHARE = 0.25
CONTENT_CROP_BELOW = 0.8
# A line image's writing is about this share of its height (60 px digits in a 100 px line): an image
# whose every piece is a speck to its own height's measure is measured as a line this much higher
# than its tallest piece. A whole A4 page at 300 dpi sent as a line, "40719" 110 px high in it,
# was "no ink found"; now it reads.
SMALL_WRITING_SHARE = 0.6
# Ink at least this share of the tallest piece's height above or below the writing's band of rows
# is not read (a printed "PAY TO THE ORDER OF" above the amount): 150 held-out hard lines with such
# a line 2-3 px above their own top rows read 13 right, now 104 (with no gap asked for, 130, but
# raised cents or a comma set apart by a row would go too); the benchmark's sets read the same.
BAND_GAP_SHARE = 0.15
# A printed line of text above or below the writing (a label the crop caught, its letters touching
# the amount's box or too near the writing for BAND_GAP_SHARE) is at least PRINTED_MIN_PIECES pieces
# whose tops and bottoms are level within PRINTED_LEVEL_SHARE of their height (at least
# PRINTED_LEVEL_PX), the writing's pieces at least PRINTED_WRITING_RATIO times as tall, and the row
# lies wholly above their median top or below their median bottom: without_printed_row paints it
# over before the line is read. 300 held-out hard / cheque lines with "PAY TO THE ORDER OF" right
# above (bench_reader.py --label) read 61.7% / 60.3% exactly, now 86.3% / 73.7% (as without the
# label: 86.7% / 73.7%); 6,600 lines without a label (tilted, shrunk and framed too) read the same.
# Found with the rules left in, the digits' feet under a guide line were rows of pieces too (hard
# lines 85.4% -> 78.8%).
PRINTED_MIN_PIECES = 4
# Pieces are compared pairwise: an image with more (a page of text sent as a line) is not searched.
PRINTED_MAX_PIECES = 600
PRINTED_LEVEL_SHARE = 0.2
PRINTED_LEVEL_PX = 2
PRINTED_WRITING_RATIO = 1.5
# A printed row's pieces are at most this many times as wide as high: a tilted box's rules leave
# level dashes behind when their straight runs are taken out (MNIST-test hard lines tilted within
# 2 degrees: 2 of 300 lost their box's bottom rule to this and read its sides as 1s). At 2.5, the
# bottoms of letters cut by the image's top edge (an O's, a D's) were left out too, and with them
# the row (held-out hard lines with such a cut label: 107 -> 93 of 120).
PRINTED_MAX_FLATNESS = 4.0
# ... and set closely, the median gap between neighbours at most PRINTED_MAX_GAP_SHARE of their
# height: points on the baseline of "00.1086.5.6.3" are level too, with digits between them.
PRINTED_MAX_GAP_SHARE = 1.5
# What is painted over: the letters and this edge around them (their anti-aliased rims).
PRINTED_EDGE = np.ones((5, 5), np.uint8)
# Pieces of a line overlapping the one before in x by this share of the narrower are one piece
# (line_pieces: a $'s bar, a 5's loose top bar), when the reader looks at the line's ends for a
# currency printed before (or after) the amount.
PIECE_OVERLAP_SHARE = 0.5


def line_field(gray: GrayImage, params: PageParams = PageParams(), *, ink: GrayImage | None = None) -> Field:
    """The whole image as one free digit string (``line`` mode); guide lines and background removed.

    ``gray``: (H, W) uint8, dark ink on light (possibly textured or tinted) paper, e.g. a
    cheque amount or a ZIP code. Returns a ``free`` field whose box is the tight ink
    crop in image coordinates and whose ink is that crop (ink = 255). Horizontal guide
    lines longer than ``line_rule_height_share`` x the image height, vertical lines
    joining two of them (a frame, box walls), and the sides of a box the image was cut out of
    (running off its top or bottom edge, see ``CUT_SIDE_HEIGHT_SHARE``) are removed where no
    stroke crosses them. ``ink``: ``gray`` binarised by :func:`line_ink`, when the caller has it.
    Raises ``InvalidInput("no ink found")`` on a blank image.
    """
    _check_gray(gray)
    h = gray.shape[0]
    if ink is None:
        ink = line_ink(gray, params)
    stroke_px = _line_stroke_px(h, params)
    horizontal = _line_rules(ink, params)
    # A frame around the string (an amount box, the boxes of a ZIP code) goes too, and so do
    # the sides of a box the image was cropped from inside its top or bottom rule.
    sides = structure.find_frame_sides(ink, horizontal, max(10, h // 4), reach_px=stroke_px)
    sides |= _cut_frame_sides(ink, horizontal, stroke_px)
    if horizontal.any() or sides.any():
        ink, removed = structure.remove_rules(ink, horizontal, sides, stroke_px=stroke_px)
        if ALONG_EXTRA_PX and horizontal.any():
            ink = structure.restore_strokes_along(ink, removed, horizontal, extra_px=ALONG_EXTRA_PX, reach_px=stroke_px)
    ink = cleanup.remove_specks(ink, _line_speck_px(h, params))
    return _tight_field(ink, "free")


def _line_rules(ink: GrayImage, params: PageParams) -> GrayImage:
    """The horizontal rules (255) of a ``line`` image's ink: runs longer than ``line_rule_height_share``
    of its height (guide lines, a box's rules)."""
    h, w = ink.shape
    rule_length = _px(params.line_rule_height_share, h, 20)
    if rule_length > w:
        return np.zeros_like(ink)
    return structure.find_rules(ink, rule_length, vertical=False, ink_beyond_edge=False)


def _line_stroke_px(height: int, params: PageParams) -> int:
    """How far from a rule a ``line`` image ``height`` px high is searched for strokes crossing it."""
    return _px(params.stroke_ext_px, height / LINE_REFERENCE_PX, 2)


def _line_speck_px(height: int, params: PageParams) -> int:
    """The area in pixels under which a piece of a ``line`` image ``height`` px high is a speck."""
    return _px(params.speck_area_px, (height / LINE_REFERENCE_PX) ** 2, 3)


def without_printed_row(
    gray: GrayImage, ink: GrayImage, params: PageParams = PageParams()
) -> tuple[GrayImage, GrayImage]:
    """A ``line`` image (``gray``) and its ink (:func:`line_ink`) without a row of printed text above or
    below the writing (a label the crop caught, see ``PRINTED_MIN_PIECES``): its letters painted over
    with the paper around them. Both come back as they are when there is no such row.

    The letters are found with long horizontal rules left out (a label sitting on an amount box's top
    rule is one piece with it), and only their own pixels and the edge around them are painted:
    the rule and the writing stay.
    """
    row = printed_row(ink, params)
    if row is None:
        return gray, ink
    return painted_over(gray, ink, row)


def painted_over(gray: GrayImage, ink: GrayImage, printed: GrayImage) -> tuple[GrayImage, GrayImage]:
    """A ``line`` image (``gray``) and its ink without the ink ``printed`` (255, the image's size): its
    pixels and the edge around them (their anti-aliased rims) painted with the paper around them."""
    others = cv2.bitwise_and(ink, cv2.bitwise_not(printed))
    edge = cv2.bitwise_and(cv2.dilate(printed, PRINTED_EDGE), cv2.bitwise_not(others))
    x, y, w, h = cv2.boundingRect(edge)
    around = gray[y : y + h, x : x + w][ink[y : y + h, x : x + w] == 0]
    paper = int(np.median(around)) if around.size else int(np.median(gray))
    painted = gray.copy()
    painted[edge > 0] = paper
    return painted, cleanup.as_gray(others)


class LinePieces(Sequence[GrayImage]):
    """The pieces of a ``line`` image's ink left to right (:func:`line_pieces`): ``boxes[k]`` is piece
    k's box, and ``pieces[k]`` its own ink (255) cut to that box, drawn when first asked for (the
    reader looks at a line's two end pieces, seldom more)."""

    def __init__(self, ink: GrayImage, boxes: list[Box], contours: list[list[NDArray[np.int32]]]) -> None:
        self._ink, self.boxes, self._contours = ink, boxes, contours
        self._masks: dict[int, GrayImage] = {}

    def __len__(self) -> int:
        return len(self.boxes)

    @overload
    def __getitem__(self, k: int) -> GrayImage: ...
    @overload
    def __getitem__(self, k: slice) -> list[GrayImage]: ...
    def __getitem__(self, k: int | slice) -> GrayImage | list[GrayImage]:
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        k = range(len(self))[k]  # negative indices, and IndexError past the end
        if k not in self._masks:
            box = self.boxes[k]
            mask = np.zeros((box.h, box.w), np.uint8)
            cv2.drawContours(mask, self._contours[k], -1, 255, thickness=cv2.FILLED, offset=(-box.x, -box.y))
            self._masks[k] = cleanup.as_gray(cv2.bitwise_and(mask, self._ink[box.y : box.y2, box.x : box.x2]))
        return self._masks[k]


def line_pieces(ink: GrayImage, params: PageParams = PageParams(), *, rules: bool = True) -> LinePieces:
    """The pieces of a ``line`` image's ink (:func:`line_ink`) left to right, each its box and its own
    ink (255) cut to the box (:class:`LinePieces`): long horizontal rules taken out as
    :func:`line_field` takes them (strokes crossing them stay; not looked for with ``rules`` False,
    for a field's ink that has none left), specks left out, and pieces overlapping the one before
    in x by ``PIECE_OVERLAP_SHARE`` of the narrower joined (a ``$``'s bar, an ``i``'s dot, a 5's
    loose top bar); none for an image of more than ``PRINTED_MAX_PIECES`` pieces.
    """
    h = ink.shape[0]
    pieces, boxes, areas, contours = (
        _pieces_without_rules(ink, params) if rules else (ink, *cleanup.component_boxes(ink))
    )
    kept = np.flatnonzero(areas >= _line_speck_px(h, params))
    if len(kept) > PRINTED_MAX_PIECES:
        return LinePieces(pieces, [], [])
    groups: list[list[int]] = []
    spans: list[tuple[int, int]] = []
    for k in kept[np.argsort(boxes[kept, 0], kind="stable")]:
        x0, x1 = int(boxes[k, 0]), int(boxes[k, 0] + boxes[k, 2])
        if spans:
            g0, g1 = spans[-1]
            if min(g1, x1) - max(g0, x0) >= PIECE_OVERLAP_SHARE * min(x1 - x0, g1 - g0):
                groups[-1].append(int(k))
                spans[-1] = (min(g0, x0), max(g1, x1))
                continue
        groups.append([int(k)])
        spans.append((x0, x1))
    group_boxes = []
    for group in groups:
        x0, y0 = int(boxes[group, 0].min()), int(boxes[group, 1].min())
        x1, y1 = int((boxes[group, 0] + boxes[group, 2]).max()), int((boxes[group, 1] + boxes[group, 3]).max())
        group_boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    return LinePieces(pieces, group_boxes, [[contours[j] for j in group] for group in groups])


def _pieces_without_rules(
    ink: GrayImage, params: PageParams
) -> tuple[GrayImage, NDArray[np.int64], NDArray[np.int64], list[NDArray[np.int32]]]:
    """A ``line`` image's ink without its long horizontal rules, as :func:`line_field` removes them
    (strokes crossing a rule stay whole), and its pieces (:func:`cleanup.component_boxes`)."""
    pieces = ink
    rules = _line_rules(ink, params)
    if rules.any():
        pieces = structure.remove_rules(
            ink, rules, np.zeros_like(ink), stroke_px=_line_stroke_px(ink.shape[0], params)
        )[0]
    return pieces, *cleanup.component_boxes(pieces)


def printed_row(ink: GrayImage, params: PageParams = PageParams()) -> GrayImage | None:
    """The pieces (255) of a row of printed text above or below the writing in a ``line`` image's ink, or None.

    A row is at least ``PRINTED_MIN_PIECES`` closely set pieces whose tops and bottoms are level,
    lying wholly above or below the pieces ``PRINTED_WRITING_RATIO`` times as tall. Handwritten
    digits are not that level: their tops and bottoms wander by more than a fifth of their height,
    and a row of them is the writing, not above or below it. An image of more than
    ``PRINTED_MAX_PIECES`` pieces is not searched.
    """
    h = ink.shape[0]
    _, boxes, areas, contours = _pieces_without_rules(ink, params)
    # Letters, not specks, nor the dashes a tilted rule leaves behind (its level runs taken out).
    kept = np.flatnonzero((areas >= _line_speck_px(h, params)) & (boxes[:, 2] <= PRINTED_MAX_FLATNESS * boxes[:, 3]))
    if not PRINTED_MIN_PIECES < len(kept) <= PRINTED_MAX_PIECES:
        return None
    boxes, contours = boxes[kept], [contours[k] for k in kept]
    tops, heights = boxes[:, 1], boxes[:, 3]
    bottoms = tops + heights
    tolerance = np.maximum(PRINTED_LEVEL_PX, np.round(PRINTED_LEVEL_SHARE * heights))
    # level[i, j]: piece j's top and bottom are level with piece i's, within piece i's tolerance.
    level = (np.abs(tops[None, :] - tops[:, None]) <= tolerance[:, None]) & (
        np.abs(bottoms[None, :] - bottoms[:, None]) <= tolerance[:, None]
    )
    for i in np.argsort(-level.sum(axis=1), kind="stable"):
        row = level[i]
        if row.sum() < PRINTED_MIN_PIECES:
            return None
        row_top, row_bottom = int(tops[row].min()), int(bottoms[row].max())
        writing = ~row & (heights >= PRINTED_WRITING_RATIO * (row_bottom - row_top))
        if not writing.any():
            continue
        slack = int(tolerance[i])
        members = np.flatnonzero(row)
        members = members[np.argsort(boxes[members, 0], kind="stable")]
        gaps = boxes[members[1:], 0] - (boxes[members[:-1], 0] + boxes[members[:-1], 2])
        close = float(np.median(gaps)) <= PRINTED_MAX_GAP_SHARE * (row_bottom - row_top)
        if close and (
            row_bottom <= float(np.median(tops[writing])) + slack
            or row_top >= float(np.median(bottoms[writing])) - slack
        ):
            mask = np.zeros_like(ink)
            cv2.drawContours(mask, [contours[j] for j in members], -1, 255, thickness=cv2.FILLED)
            # Their feet on a rule went with it when it was removed, and stay with it (a rule broken
            # under them would no longer be one).
            return cleanup.as_gray(cv2.bitwise_and(mask, ink))
    return None


def line_ink(gray: GrayImage, params: PageParams = PageParams()) -> GrayImage:
    """A ``line`` image binarised (ink = 255) as :func:`line_field` reads it, its rules still in."""
    _check_gray(gray)
    return cleanup.binarise(gray, kernel_px=max(15, gray.shape[0]), min_contrast=params.min_ink_contrast)[1]


def line_content(ink: GrayImage, params: PageParams = PageParams()) -> Box | None:
    """The part of a ``line`` image to read when its writing fills little of it (a loose crop, an
    amount in a corner of a larger image): the ink's extent (specks left out) and a margin of
    ``CONTENT_MARGIN_SHARE`` of its height. None when that is most of the image already
    (``CONTENT_CROP_BELOW`` of its height and of its width) or the image has no ink. Ink set
    apart above or below the writing's band of rows (:func:`_writing_band`: a printed line the
    crop caught) is left out of it, and the margin stops short of it.

    The line's kernels and lengths scale with the image's height (a guide line is a rule when
    longer than 1.2 image heights): 150 held-out hard lines with their own height of paper on
    every side read 95 right instead of 130.
    """
    h, w = ink.shape
    # The pieces remove_specks keeps, as boxes: a piece fills every row of its box.
    boxes, areas, _ = cleanup.component_boxes(ink)
    kept = areas >= _line_speck_px(h, params)
    if not kept.any() and len(boxes):
        # Writing far smaller than the image (a whole page sent as a line) is all specks to the
        # image's own measure: take the measure of a line as high as its tallest piece needs.
        kept = areas >= _line_speck_px(min(h, round(int(boxes[:, 3].max()) / SMALL_WRITING_SHARE)), params)
    boxes = boxes[kept]
    if not len(boxes):
        return None
    inked = np.zeros(h + 1, np.int64)
    np.add.at(inked, boxes[:, 1], 1)
    np.add.at(inked, boxes[:, 1] + boxes[:, 3], -1)
    rows = np.cumsum(inked[:h]) > 0
    start, stop = _writing_band(rows, boxes)
    band = boxes[(boxes[:, 1] >= start) & (boxes[:, 1] + boxes[:, 3] <= stop)]
    x, y = int(band[:, 0].min()), int(band[:, 1].min())
    box_w, box_h = int((band[:, 0] + band[:, 2]).max()) - x, int((band[:, 1] + band[:, 3]).max()) - y
    margin = max(4, round(CONTENT_MARGIN_SHARE * box_h))
    x0, y0 = max(0, x - margin), max(0, y - margin)
    x1, y1 = min(w, x + box_w + margin), min(h, y + box_h + margin)
    apart = rows[:start].any() or rows[stop:].any()
    if apart:  # the margin stops short of the ink left out
        above, below = np.flatnonzero(rows[:start]), np.flatnonzero(rows[stop:])
        y0 = max(y0, int(above.max()) + 1) if above.size else y0
        y1 = min(y1, stop + int(below.min())) if below.size else y1
    elif y1 - y0 >= CONTENT_CROP_BELOW * h and x1 - x0 >= CONTENT_CROP_BELOW * w:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


def _writing_band(rows: NDArray[np.bool_], boxes: NDArray[np.int64]) -> tuple[int, int]:
    """The band of rows (start, stop) holding the tallest of the pieces ``boxes`` (x, y, w, h), grown
    over rows with ink (``rows``) and gaps under ``BAND_GAP_SHARE`` of that piece's height: ink
    beyond it is set apart (a printed line above or below the amount caught by the crop), ink
    nearer (raised cents, a comma under the baseline) is in it."""
    top, height = (int(v) for v in boxes[int(np.argmax(boxes[:, 3])), [1, 3]])
    gap = max(2, round(BAND_GAP_SHARE * height))
    start, stop = top, top + height
    while True:
        above = np.flatnonzero(rows[max(0, start - gap) : start])
        below = np.flatnonzero(rows[stop : stop + gap])
        if not above.size and not below.size:
            return start, stop
        start = max(0, start - gap) + int(above[0]) if above.size else start
        stop = stop + int(below[-1]) + 1 if below.size else stop


def line_skew(ink: GrayImage, params: PageParams = PageParams()) -> float:
    """The skew in degrees (the convention of :func:`cleanup.estimate_skew`) of the writing and guide
    lines of a ``line`` image's ink (:func:`line_ink`), or 0.0 under ``MIN_LINE_SKEW_DEG``: a slanted
    amount, a tilted scan."""
    skew = cleanup.estimate_line_skew(ink, params.max_skew_deg)
    return skew if abs(skew) >= MIN_LINE_SKEW_DEG else 0.0


def _cut_frame_sides(ink: GrayImage, horizontal: GrayImage, stroke_px: int) -> GrayImage:
    """The sides of a frame cut by the image's edge (:func:`structure.find_cut_frame_sides`) that
    are no handwriting, ink = 255.

    Each is at least ``CUT_SIDE_HEIGHT_SHARE`` of the image high, and the rest of the ink (the
    writing) at least ``MIN_WRITING_SHARE`` as tall as it (a tightly cropped ``1.1`` keeps its 1s).
    The two outermost, as tall as each other within ``CUT_PAIR_HEIGHT_TOLERANCE`` with all the
    writing between them, are a box's two sides; any other is a side only when it is at least
    ``CUT_SIDE_OVER_WRITING`` times as tall as the writing (a tightly cropped ``1,000`` keeps its 1).
    """
    h = ink.shape[0]
    edge_px = max(2, round(CUT_EDGE_SHARE * h))
    found = structure.find_cut_frame_sides(
        ink, horizontal, round(CUT_SIDE_HEIGHT_SHARE * h), reach_px=stroke_px, edge_px=edge_px
    )
    sides = np.zeros_like(ink)
    if not found.any():
        return sides
    rules = cv2.dilate(cv2.bitwise_or(found, horizontal), cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    writing_ink = cleanup.as_gray(cv2.subtract(ink, rules))
    writing = cleanup.tight_box(writing_ink)
    if writing is None:
        return sides
    writing_x, _, writing_w, writing_h = writing
    count, labels, stats, _ = cv2.connectedComponentsWithStats(found, connectivity=8)
    tall = [i for i in range(1, count) if stats[i, cv2.CC_STAT_HEIGHT] >= CUT_SIDE_HEIGHT_SHARE * h]
    tall = [i for i in tall if writing_h >= MIN_WRITING_SHARE * stats[i, cv2.CC_STAT_HEIGHT]]
    keep = [i for i in tall if stats[i, cv2.CC_STAT_HEIGHT] >= CUT_SIDE_OVER_WRITING * writing_h]
    if len(tall) >= 2:
        left, right = (
            min(tall, key=lambda i: stats[i, cv2.CC_STAT_LEFT]),
            max(tall, key=lambda i: stats[i, cv2.CC_STAT_LEFT]),
        )
        heights = stats[left, cv2.CC_STAT_HEIGHT], stats[right, cv2.CC_STAT_HEIGHT]
        outside = (
            stats[left, cv2.CC_STAT_LEFT] + stats[left, cv2.CC_STAT_WIDTH] <= writing_x
            and stats[right, cv2.CC_STAT_LEFT] >= writing_x + writing_w
        )
        alike = min(heights) >= (1 - CUT_PAIR_HEIGHT_TOLERANCE) * max(heights)
        if outside and alike and min(heights) >= CUT_PAIR_OVER_WRITING * writing_h:
            half_widths = _half_stroke_widths(ink, writing_ink, [labels == left, labels == right])
            hanging = all(_hangs_from_rule(horizontal, stats[i], stroke_px) for i in (left, right))
            if hanging or max(half_widths[1:]) <= CUT_PAIR_THIN_SHARE * half_widths[0]:
                keep += [left, right]
    for label in set(keep):
        sides[labels == label] = 255
    return sides


def _hangs_from_rule(horizontal: GrayImage, stat: NDArray[np.int32], reach_px: int) -> bool:
    """Whether a vertical run (its connected-component ``stat``) starts within ``reach_px`` below a horizontal rule."""
    x, y, w = int(stat[cv2.CC_STAT_LEFT]), int(stat[cv2.CC_STAT_TOP]), int(stat[cv2.CC_STAT_WIDTH])
    return bool(horizontal[max(0, y - reach_px) : y + reach_px + 1, max(0, x - 1) : x + w + 1].any())


def _half_stroke_widths(ink: GrayImage, writing: GrayImage, sides: list[NDArray[np.bool_]]) -> list[float]:
    """Half the typical stroke width of ``writing`` (the median distance to the paper along its
    strokes' ridges), then of each side (the median over its rows of the largest such distance)."""
    distance = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
    ridge = (distance >= cv2.dilate(distance, np.ones((3, 3), np.uint8))) & (writing > 0)
    widths = [float(np.median(distance[ridge])) if ridge.any() else 0.0]
    for side in sides:
        along = np.where(side, distance, 0.0).max(axis=1)
        widths.append(float(np.median(along[along > 0])))
    return widths


def digit_field(gray: GrayImage) -> Field:
    """The whole image as one digit (``digit`` mode): any ink/background colour pair, e.g. light ink on dark.

    ``gray``: (H, W) uint8 in either polarity; the background is what most of the border
    is. Returns a one-cell ``comb`` field (one digit per cell) whose box and cell are the
    tight ink crop in image coordinates and whose ink is that crop (ink = 255). Raises
    ``InvalidInput("no ink found")`` when the image holds no ink.
    """
    _check_gray(gray)
    if cleanup.ink_is_bright(gray):
        gray = cleanup.as_gray(cv2.bitwise_not(gray))
    h, w = gray.shape
    params = PageParams()
    _, ink = cleanup.binarise(gray, kernel_px=max(15, max(h, w) // 2), min_contrast=params.min_ink_contrast)
    scale = max(h, w) / 100.0
    ink = cleanup.remove_specks(ink, max(3, round(params.speck_area_px * scale * scale)))
    return _tight_field(ink, "comb")


def _page_scale(shape: tuple[int, ...]) -> float:
    return max(shape[0], shape[1]) / REFERENCE_LONG_SIDE_PX


def _px(value: float, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(value * scale))


def prepare_page(gray: GrayImage, params: PageParams = PageParams()) -> PreparedPage:
    """Flatten illumination, binarise, despeckle, deskew and remove printed structure.

    ``gray``: (H, W) uint8 page, dark ink on light paper. The skew is measured on a
    reduced copy (long side ~1000 px), the page rotated back, then binarised at full
    resolution; rules and combs are found and the rules removed (see
    :mod:`segmentation.structure`). An empty page gives empty masks, not an error.
    """
    _check_gray(gray)
    scale = _page_scale(gray.shape)
    # 0. The sheet's dark surround out, on the page and on the reduced copy the skew is measured on.
    gray, small = cleanup.blank_dark_margins(gray)

    # 1. Skew, on a reduced copy: the projection profile needs no fine detail.
    factor = cleanup.reduced_factor(gray.shape)
    _, small_ink = cleanup.binarise(
        small, kernel_px=_px(params.paper_kernel_px, scale / factor, 9), min_contrast=params.min_ink_contrast
    )
    skew = cleanup.estimate_skew(small_ink, params.max_skew_deg)
    upright = cleanup.rotate(gray, -skew)

    # 2. Ink at full resolution.
    flat, ink = cleanup.binarise(
        upright, kernel_px=_px(params.paper_kernel_px, scale, 9), min_contrast=params.min_ink_contrast
    )
    # Printed lines are often fainter than handwriting; a long run needs less contrast to count.
    # On a faint scan the rules are as faint as the ink: their floor drops with the ink's (contrast_floor).
    rule_contrast = cleanup.contrast_floor(
        flat, params.min_rule_contrast, minimum=MIN_FAINT_RULE_CONTRAST, inverted=True
    )
    faint = cleanup.as_gray(cv2.threshold(flat, 255 - rule_contrast, 255, cv2.THRESH_BINARY_INV)[1])
    del flat  # page-sized masks are let go as soon as they are spent: peak memory is the budget

    # 3. Printed structure: long rules, combs (two rules joined by walls), long vertical rules.
    # Rules are searched on a max-pooled copy above ~200 dpi: 4x cheaper, still 1 px lines.
    pool = 2 if scale >= RULE_POOL_FROM_SCALE else 1
    horizontal = structure.find_rules(faint, _px(params.min_rule_length_px, scale, 20), vertical=False, pool=pool)
    combs, walls = structure.find_combs(
        faint, horizontal, min_cell_px=_px(params.min_cell_px, scale, 6), max_cell_px=_px(params.max_cell_px, scale, 20)
    )
    long_vertical = structure.find_rules(faint, _px(params.min_vertical_rule_px, scale, 30), vertical=True, pool=pool)
    vertical = cleanup.as_gray(cv2.bitwise_or(long_vertical, walls, dst=long_vertical))
    del faint, walls

    # 4. Remove the rules where no stroke crosses them, then the dust.
    stroke_px = _px(params.stroke_ext_px, scale, 2)
    clean, removed = structure.remove_rules(ink, horizontal, vertical, stroke_px=stroke_px)
    del ink, vertical
    if ALONG_EXTRA_PX:
        # Guide lines (rules outside the combs; comb cells get their own candidates, recognition.combs).
        guides = horizontal  # not needed past here: changed in place
        for comb in combs:
            b = comb.box
            guides[max(0, b.y - stroke_px) : b.y2 + stroke_px, max(0, b.x - stroke_px) : b.x2 + stroke_px] = 0
        clean = structure.restore_strokes_along(clean, removed, guides, extra_px=ALONG_EXTRA_PX, reach_px=stroke_px)
        cv2.subtract(removed, clean, dst=removed)
    clean = cleanup.remove_specks(clean, _px(params.speck_area_px, scale * scale, 3))
    return PreparedPage(gray=upright, ink=clean, rules=removed, skew_deg=skew, combs=tuple(combs))


def writing_height(prepared: PreparedPage) -> float | None:
    """The typical height in pixels of the page's handwriting; None on a page with no ink.

    ``DIGIT_SHARE_OF_CELL`` of the median comb cell height on a page with combs, else the
    ``WRITING_PERCENTILE`` of the heights of the ink's pieces at least ``MIN_WRITING_PIECE_PX``
    tall (printed rules removed; flat pieces, wider than ``FLAT_PIECE_RATIO`` times their
    height, left out: remnants of rules, dashes). Printed labels are smaller than the digits
    written beside them and fall below the percentile. On 8 synthetic forms each at 100, 150
    and 300 dpi the two estimates were 27-33 / 42-51 / 80-102 px (cells) and 19-32 / 41-54 /
    68-97 px (pieces).
    """
    cells = [c.h for comb in prepared.combs for c in comb.cells]
    if cells:
        return float(np.median(cells)) * DIGIT_SHARE_OF_CELL
    boxes, _, _ = cleanup.component_boxes(prepared.ink)
    heights = boxes[(boxes[:, 3] >= MIN_WRITING_PIECE_PX) & (boxes[:, 2] <= FLAT_PIECE_RATIO * boxes[:, 3]), 3]
    return float(np.percentile(heights, WRITING_PERCENTILE)) if heights.size else None


def find_fields(prepared: PreparedPage, params: PageParams = PageParams()) -> list[Field]:
    """Comb and free fields in reading order, named ``field-1``, ``field-2``, ...

    Combs are those found by :func:`prepare_page` (``prepared.combs``); a comb field's
    box is the comb's outer rectangle grown to take in digits that overflow it, its
    cells the inner cell boxes. The remaining ink is grouped into free strings (see
    :mod:`segmentation.grouping`). Reading order: fields whose vertical centres fall in
    the same band form a line; lines top to bottom, left to right within a line.
    """
    ink = prepared.ink
    scale = _page_scale(ink.shape)
    boxes, _, _ = cleanup.component_boxes(ink)
    taken = np.zeros(boxes.shape[0], dtype=bool)

    placed: list[tuple[str, Box, tuple[Box, ...]]] = []
    for comb in prepared.combs:
        members = grouping.inside_share(boxes, comb.box) >= COMB_MEMBER_SHARE
        members &= ~taken
        taken |= members
        box = grouping.grow_box(comb.box, boxes[members], comb.cells[0].h // 2, ink.shape)
        placed.append(("comb", box, comb.cells))

    free = grouping.group_strings(boxes[~taken], join_gap_share=params.join_gap_share)
    heights = [b.h for b in free]
    reference = (
        float(np.median([c.h for comb in prepared.combs for c in comb.cells])) * DIGIT_SHARE_OF_CELL
        if prepared.combs
        else (float(np.percentile(heights, 90)) if heights else 0.0)
    )
    min_height = max(_px(params.min_field_height_px, scale), params.label_height_share * reference)
    placed.extend(("free", b, ()) for b in free if b.h >= min_height)

    ordered = grouping.reading_order([p[1] for p in placed])
    fields = []
    for number, index in enumerate(ordered, start=1):
        kind, box, cells = placed[index]
        crop = np.ascontiguousarray(ink[box.y : box.y2, box.x : box.x2])
        rules = np.ascontiguousarray(prepared.rules[box.y : box.y2, box.x : box.x2]) if kind == "comb" else None
        fields.append(Field(name=f"field-{number}", kind=kind, box=box, ink=crop, cells=cells, rules=rules))
    return fields
