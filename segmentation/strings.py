"""Over-segment a digit string into atoms; the reader groups consecutive atoms into digits.

A string image (binary, ink = 255, field coordinates) is cut into *atoms*: connected
pieces of ink, with broken strokes merged back (a 5 whose top bar is detached) and wide
pieces (likely touching digits such as "00") sliced at candidate cut columns. Cutting too
often is cheap, the reader re-joins atoms; cutting too little loses digits, so the cuts are
generous. Every ink pixel that survives speck removal belongs to exactly one atom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from segmentation.cleanup import tight_box
from segmentation.elements import Box, DigitCandidate, GrayImage, union_of
from segmentation.errors import InvalidInput
from segmentation.structure import find_rules

# Pieces whose larger side is below this share of the string height are dust; a handwritten
# point is about 0.12-0.2 of the digit height, so this keeps points, commas and dashes.
SPECK_SHARE = 0.08
SPECK_MIN_PX = 2
# Broken strokes: pieces overlapping in x by at least this share of the narrower one are
# merged when one lies mostly above the other (vertical overlap below VERTICAL_SHARE of the
# shorter), or always when the overlap reaches CONTAINED_SHARE.
MERGE_X_SHARE = 0.5
VERTICAL_SHARE = 0.3
CONTAINED_SHARE = 0.85
# A piece wider than this share of the string height probably holds touching digits
# (handwritten digits are 0.3-0.8 as wide as high, printed ones up to 0.82). One connected
# component is cut from WIDE_SHARE on: overlapping pairs such as a 1 inside a 9 are hardly
# wider than one digit (0.85 -> 0.75: bench_reader --set hard 0.42 -> 0.435, free fields
# of 40 synthetic forms 75 -> 77 of 87, simple 0.945 -> 0.94; 0.65 cuts printed digits);
# a piece merged from broken strokes is more often one broken digit, and is cut only from
# WIDE_MERGED_SHARE on.
WIDE_SHARE = 0.75
WIDE_MERGED_SHARE = 0.85
# Cuts leave atoms at least this share of the string height wide.
MIN_ATOM_SHARE = 0.2
# Pieces at most MARK_SHARE of the height with their centre below LOW_MARK_CENTRE of the
# band (0 = top, 1 = baseline) are points or commas, never a broken stroke of a digit.
MARK_SHARE = 0.35
LOW_MARK_CENTRE = 0.7
# Typical digit width as a share of the string height, to guess how many digits a wide
# piece holds (0.6 rather than 0.7: one more even cut in overlapping pairs; bench_reader
# --set hard 200 lines, with decoding.CUT_PENALTY 0.5: exact 0.41 -> 0.42, simple unchanged).
DIGIT_WIDTH_SHARE = 0.6
# A contour notch at least this share of the string height deep is a cut candidate.
NOTCH_SHARE = 0.1
# Pieces at least this share of the tallest piece's height define the string's band.
BAND_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class StringParams:
    """Tuning of string over-segmentation."""

    max_cuts_per_component: int = 3


@dataclass(frozen=True, slots=True)
class Segment:
    """An atom: a connected piece of ink or a slice of a touching group, in field coordinates (ink = 255).

    ``cut_before`` / ``cut_after``: the atom's left / right edge is a cut through ink.
    """

    box: Box
    mask: GrayImage = field(repr=False)
    cut_before: bool = False
    cut_after: bool = False


@dataclass(frozen=True, slots=True)
class StringSegmentation:
    """The atoms of one string, left to right; a digit is the union of 1..k consecutive atoms.

    ``ink`` is the binary string image (ink = 255) with specks removed. ``top`` and
    ``baseline`` bound the band of the full-height pieces (rows, field coordinates;
    ``baseline`` is one past the band's last row), ``height`` = ``baseline - top``.
    """

    ink: GrayImage = field(repr=False)
    atoms: tuple[Segment, ...]
    top: int = 0
    baseline: int = 0

    @property
    def height(self) -> int:
        """The string height in pixels (at least 1)."""
        return max(1, self.baseline - self.top)

    def compose(self, start: int, stop: int) -> DigitCandidate:
        """The candidate made of atoms ``start .. stop-1``: their union box and only their ink."""
        if not 0 <= start < stop <= len(self.atoms):
            raise InvalidInput(f"no atoms {start}..{stop - 1} in a string of {len(self.atoms)}")
        chosen = self.atoms[start:stop]
        if len(chosen) == 1:  # an atom's mask is its own tight box's: nothing to compose (nor to copy)
            return DigitCandidate(box=chosen[0].box, mask=chosen[0].mask)
        box = union_of(atom.box for atom in chosen)
        mask = np.zeros((box.h, box.w), dtype=np.uint8)
        for atom in chosen:
            y, x = atom.box.y - box.y, atom.box.x - box.x
            region = mask[y : y + atom.box.h, x : x + atom.box.w]
            np.maximum(region, atom.mask, out=region)
        return DigitCandidate(box=box, mask=mask)


def _low_mark(box: Box, top: int, baseline: int) -> bool:
    """Whether a piece is small and low in the band ``top..baseline``: a point or comma, never merged."""
    height = max(1, baseline - top)
    centre = (box.y + box.h / 2.0 - top) / height
    return max(box.w, box.h) <= MARK_SHARE * height and centre >= LOW_MARK_CENTRE


def _union_find_merge(boxes: list[Box], top: int, baseline: int) -> list[int]:
    """Group labels merging broken strokes: strong x-overlap with one piece above the other.

    A small piece low in the band (a point or comma under the end of a digit) is kept apart.
    """
    parent = list(range(len(boxes)))
    marks = [_low_mark(b, top, baseline) for b in boxes]

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if marks[i] or marks[j]:
                continue
            x_overlap = a.x_overlap(b)
            narrow = min(a.w, b.w)
            if x_overlap < MERGE_X_SHARE * narrow:
                continue
            y_overlap = max(0, min(a.y2, b.y2) - max(a.y, b.y))
            stacked = y_overlap <= VERTICAL_SHARE * min(a.h, b.h)
            if stacked or x_overlap >= CONTAINED_SHARE * narrow:
                parent[root(j)] = root(i)
    return [root(i) for i in range(len(boxes))]


def _band(boxes: list[Box]) -> tuple[int, int]:
    """Top row and baseline (one past the bottom row) of the full-height pieces."""
    tallest = max(b.h for b in boxes)
    tall = [b for b in boxes if b.h >= BAND_SHARE * tallest]
    return _int_median([b.y for b in tall]), _int_median([b.y2 for b in tall])


def _int_median(values: list[int]) -> int:
    """``int(np.median(values))`` of a few pixel coordinates (never none) without NumPy's overhead
    (a tenth of a millisecond a string): the middle value, or the mean of the two middle ones
    (exact in a float, as NumPy's is), truncated."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return int(ordered[middle]) if len(ordered) % 2 else int((ordered[middle - 1] + ordered[middle]) / 2)


def _contour_valleys(ink: NDArray[np.bool_]) -> NDArray[np.float32]:
    """Per column, how far the upper contour dips below, plus the lower one rises above, the
    highest (lowest) ink on both sides: the notch two touching digits leave between them (px)."""
    h = ink.shape[0]
    has_ink = ink.any(axis=0)
    first = np.where(has_ink, ink.argmax(axis=0), h).astype(np.int32)
    last = np.where(has_ink, h - 1 - ink[::-1].argmax(axis=0), -1).astype(np.int32)
    big = np.int32(h)
    top_left = np.concatenate([[big], np.minimum.accumulate(first)[:-1]])
    top_right = np.concatenate([np.minimum.accumulate(first[::-1])[::-1][1:], [big]])
    bottom_left = np.concatenate([[-1], np.maximum.accumulate(last)[:-1]])
    bottom_right = np.concatenate([np.maximum.accumulate(last[::-1])[::-1][1:], [-1]])
    upper = np.clip(first - np.maximum(top_left, top_right), 0, h)
    lower = np.clip(np.minimum(bottom_left, bottom_right) - last, 0, h)
    return (upper + lower).astype(np.float32)


def cut_columns(mask: NDArray[np.uint8], height: int, max_cuts: int) -> list[int]:
    """Candidate cut columns of a wide piece (ink = 255), left to right.

    Three sources, taken in this order while cuts are left and each cut stays at least
    ``MIN_ATOM_SHARE`` of the string ``height`` from the others and the piece's ends:
    (1) contour valleys, where the upper contour dips and the lower one rises between two
    digits, deepest first; (2) the piece divided evenly into the number of digits its
    width suggests; (3) valleys of the column cost (distance between upper and lower
    contour plus ink count, small where two round digits touch), cheapest first.
    """
    w = mask.shape[1]
    margin = max(2, round(MIN_ATOM_SHARE * height))
    if w < 2 * margin + 1 or max_cuts <= 0:
        return []
    ink = mask > 0
    has_ink = ink.any(axis=0)
    first = np.where(has_ink, ink.argmax(axis=0), 0)
    last = np.where(has_ink, mask.shape[0] - 1 - ink[::-1].argmax(axis=0), -1)
    cost = ((last - first + 1) + ink.sum(axis=0)).astype(np.float32) / float(height)
    cost = np.convolve(cost, np.ones(3, np.float32) / 3.0, mode="same")
    notch = _contour_valleys(ink)

    chosen: list[int] = []

    def take(c: int) -> None:
        if len(chosen) < max_cuts and margin <= c <= w - margin and all(abs(c - o) >= margin for o in chosen):
            chosen.append(c)

    inner = range(margin, w - margin)
    deep = [c for c in inner if notch[c] >= NOTCH_SHARE * height and notch[c] >= max(notch[c - 1], notch[c + 1])]
    for c in sorted(deep, key=lambda c: (-float(notch[c]), float(cost[c]), c)):
        take(int(c))
    digits = int(np.clip(round(w / (DIGIT_WIDTH_SHARE * height)), 2, max_cuts + 1))
    for i in range(1, digits):
        take(round(w * i / digits))
    valleys = [c for c in inner if cost[c] <= cost[c - 1] and cost[c] <= cost[c + 1]]
    for c in sorted(valleys, key=lambda c: (float(cost[c]), c)):
        take(int(c))
    return sorted(chosen)


def segment_string(ink: GrayImage, params: StringParams = StringParams()) -> StringSegmentation:
    """Atoms of a binary string image (ink = 255): components, merged broken strokes, cuts of touching digits.

    ``ink`` is 2-D uint8, ink = 255, in field coordinates; the atoms' boxes are in the
    same frame. An image without ink gives no atoms.
    """
    if ink.ndim != 2:
        raise InvalidInput(f"a string image must be 2-D, got shape {ink.shape}")
    binary = np.where(ink > 127, 255, 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    boxes = [Box(*(int(v) for v in stats[i, :4])) for i in range(1, count)]
    if not boxes:
        return StringSegmentation(ink=binary, atoms=(), top=0, baseline=0)

    # 1. Drop dust relative to the string height.
    top, baseline = _band(boxes)
    height = max(1, baseline - top)
    speck = max(SPECK_MIN_PX, SPECK_SHARE * height)
    kept = [i for i, b in enumerate(boxes) if max(b.w, b.h) >= speck]
    lookup = np.zeros(count, dtype=np.int32)
    for i in kept:
        lookup[i + 1] = i + 1
    labels = lookup[labels]
    clean = np.where(labels > 0, 255, 0).astype(np.uint8)
    if not kept:
        return StringSegmentation(ink=clean, atoms=(), top=top, baseline=baseline)

    # 2. Merge broken strokes into pieces; the band is that of the full-height pieces.
    groups = _union_find_merge([boxes[i] for i in kept], top, baseline)
    pieces: dict[int, list[int]] = {}
    for i, g in zip(kept, groups, strict=True):
        pieces.setdefault(g, []).append(i + 1)
    piece_boxes: list[Box] = []
    for members in pieces.values():
        piece_boxes.append(union_of(boxes[m - 1] for m in members))
    top, baseline = _band(piece_boxes)
    height = max(1, baseline - top)

    # 3. Slice wide pieces at candidate cut columns.
    atoms: list[Segment] = []
    for members, box in zip(pieces.values(), piece_boxes, strict=True):
        window = labels[box.y : box.y2, box.x : box.x2]
        # One member (most pieces): a comparison, the same as np.isin's and several times cheaper.
        inside = window == members[0] if len(members) == 1 else np.isin(window, members)
        mask = np.where(inside, 255, 0).astype(np.uint8)
        cuts: list[int] = []
        wide = WIDE_SHARE if len(members) == 1 else WIDE_MERGED_SHARE
        if box.w > wide * height:
            cuts = cut_columns(mask, height, params.max_cuts_per_component)
        for left, right in zip([0, *cuts], [*cuts, box.w], strict=True):
            atoms.extend(_slice_atom(mask, box, left, right))

    atoms.sort(key=lambda a: (a.box.x + a.box.w / 2.0, a.box.y))
    return StringSegmentation(ink=clean, atoms=tuple(atoms), top=top, baseline=baseline)


def _slice_atom(mask: NDArray[np.uint8], box: Box, left: int, right: int) -> list[Segment]:
    """The atom of columns ``left .. right-1`` of a piece's mask, trimmed to its ink (none if empty)."""
    part = mask[:, left:right]
    rows = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0))
    if rows.size == 0:
        return []
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    atom_box = Box(box.x + left + x0, box.y + y0, x1 - x0, y1 - y0)
    mask_part = np.ascontiguousarray(part[y0:y1, x0:x1])
    return [Segment(atom_box, mask_part, cut_before=left > 0, cut_after=right < box.w)]


# Raised writing at the end of a string: cents written small and high after an amount (125
# and a raised 50, as on many cheques), often underlined. The band is that of the digit-like
# pieces at least RAISED_BAND_SHARE of the 75th percentile of their heights (of the tallest
# with fewer than RAISED_PERCENTILE_PIECES of them): a printed $ before an amount may be much
# taller than its digits. Raised pieces end the string (by their right edges), end at most
# RAISED_BOTTOM_SHARE of the way down the band and are at most RAISED_MAX_HEIGHT_SHARE of its
# height tall, not counting an underline along their bottom (horizontal runs at least
# RAISED_UNDERLINE_SHARE of the piece wide and RAISED_UNDERLINE_MIN_SHARE of the band long,
# their rows at most RAISED_UNDERLINE_THICK_SHARE of the band, above its baseline, under two
# pieces RAISED_MIN_HEIGHT_SHARE tall: cents are two digits, a 1 on its foot is none); together they
# are at least RAISED_MIN_HEIGHT_SHARE of the band tall, RAISED_MIN_WIDTH_SHARE of it wide and
# at most RAISED_MAX_ASPECT times as wide as tall (two digits: a stroke is none, nor are the
# digits of an amount after a taller printed $), a line alone lies under them (a fence after
# an amount is no underline), and none stands over a main piece (MERGE_X_SHARE: the detached flag of a 5,
# the top of a broken 3). The underline is in neither part.
RAISED_BAND_SHARE = 0.75
RAISED_PERCENTILE_PIECES = 4
RAISED_BOTTOM_SHARE = 0.75
RAISED_MAX_HEIGHT_SHARE = 0.75
RAISED_MIN_HEIGHT_SHARE = 0.4
RAISED_MIN_WIDTH_SHARE = 0.25
RAISED_UNDERLINE_SHARE = 0.9
RAISED_UNDERLINE_MIN_SHARE = 0.3
RAISED_UNDERLINE_THICK_SHARE = 0.25
RAISED_MAX_ASPECT = 2.5


def raised_tail(ink: GrayImage) -> tuple[GrayImage, GrayImage] | None:
    """A string's ink (binary, ink = 255) split into its main writing and raised writing at its
    end (see ``RAISED_*``): two images of ``ink``'s shape, or None when it ends in no such writing."""
    binary = np.where(ink > 127, 255, 0).astype(np.uint8)
    count, found, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    labels = np.asarray(found, dtype=np.int32)
    if count < 3:
        return None
    boxes = [Box(*(int(v) for v in stats[i, :4])) for i in range(1, count)]
    # Digit-like pieces (no specks, no strokes flatter than 2:1) give the band's height.
    heights = [b.h for b in boxes if b.h >= 0.3 * max(c.h for c in boxes) and b.w <= 2 * b.h]
    if not heights:
        return None
    tallest = float(np.percentile(heights, 75) if len(heights) >= RAISED_PERCENTILE_PIECES else max(heights))
    speck = max(SPECK_MIN_PX, SPECK_SHARE * tallest)
    kept = [i for i, b in enumerate(boxes) if max(b.w, b.h) >= speck]
    tall = [boxes[i] for i in kept if boxes[i].h >= RAISED_BAND_SHARE * tallest]
    top, baseline = _int_median([b.y for b in tall]), _int_median([b.y2 for b in tall])
    height = max(1, baseline - top)
    order = sorted(kept, key=lambda i: boxes[i].x2)
    raised: list[int] = []
    written: dict[int, Box] = {}  # the raised pieces' boxes without an underline
    lines: list[tuple[Box, NDArray[np.bool_]]] = []  # underlines: the piece's box and their pixels in it
    for i in reversed(order):
        b, line = _without_underline(labels, i + 1, boxes[i], top, height)
        if b is not None and (b.y2 > top + RAISED_BOTTOM_SHARE * height or b.h > RAISED_MAX_HEIGHT_SHARE * height):
            break
        if b is None and written and boxes[i].x_overlap(union_of(written.values())) < boxes[i].w / 2:
            break  # a stroke left of the raised writing, not under it, is the amount's (a 5's flag)
        raised.append(i)
        if b is not None:
            written[i] = b
        if line is not None:
            lines.append((boxes[i], line))
    main = [i for i in kept if i not in raised]
    if not written or not any(boxes[i].h >= RAISED_BAND_SHARE * tallest for i in main):
        return None
    cents = union_of(written.values())
    if (
        cents.h < RAISED_MIN_HEIGHT_SHARE * height
        or not RAISED_MIN_WIDTH_SHARE * height <= cents.w <= RAISED_MAX_ASPECT * cents.h
    ):
        return None
    if any(a.x_overlap(boxes[j]) > MERGE_X_SHARE * min(a.w, boxes[j].w) for a in written.values() for j in main):
        return None
    if any(boxes[i].x_overlap(cents) < boxes[i].w / 2 for i in raised if i not in written):
        return None  # a line alone underlines the cents: no fence beside them
    tail = np.isin(labels, np.array(raised) + 1)
    main_ink, tail_ink = np.where(tail, 0, binary).astype(np.uint8), np.where(tail, 255, 0).astype(np.uint8)
    for box, line in lines:  # the underline goes
        tail_ink[box.y : box.y2, box.x : box.x2][line] = 0
    return main_ink, tail_ink


def _without_underline(
    labels: NDArray[np.int32], label: int, box: Box, top: int, height: int
) -> tuple[Box | None, NDArray[np.bool_] | None]:
    """Piece ``label`` (``box``) without an underline along its bottom (see ``RAISED_*``): raised cents
    underlined, the line touching them or alone. Returns the box of the rest (``box`` when there is
    no such line, None when the piece is only the line) and the line's pixels in ``box`` (or None)."""
    flat = box.h <= RAISED_UNDERLINE_THICK_SHARE * height
    if box.y2 > top + height or (box.y2 <= top + RAISED_BOTTOM_SHARE * height and not flat):
        return box, None  # raised as it is, or below the baseline: no line to take off
    mask = np.where(labels[box.y : box.y2, box.x : box.x2] == label, 255, 0).astype(np.uint8)
    length = max(8, round(RAISED_UNDERLINE_SHARE * box.w), round(RAISED_UNDERLINE_MIN_SHARE * height))
    under = find_rules(mask, length, vertical=False)
    if not flat:
        under[: box.h - max(2, box.h // 3)] = 0  # along the bottom of the writing it underlines
    rows = np.flatnonzero(under.any(axis=1))
    if not rows.size or rows.size > RAISED_UNDERLINE_THICK_SHARE * height:
        return box, None
    line = cv2.dilate(under, np.ones((3, 1), np.uint8)) > 0
    rest = np.where(line, 0, mask).astype(np.uint8)
    found = tight_box(rest)
    if found is None or np.count_nonzero(rest) < 0.1 * np.count_nonzero(mask):
        return None, mask > 0
    pieces = cv2.connectedComponentsWithStats(rest, connectivity=8)[2][1:]
    if np.count_nonzero(pieces[:, cv2.CC_STAT_HEIGHT] >= RAISED_MIN_HEIGHT_SHARE * height) < 2:
        return box, None  # a digit on its foot (a 1, a 3's curve), not two digits on a line
    return Box(*found).shifted(box.x, box.y), line & (mask > 0)
