"""Read comb fields: one digit per printed cell, empty cells recorded.

The field's ink (binary, ink = 255, printed lines already removed) is shared out among the
cells: a piece of ink belongs to the cell holding most of its width; a piece spread over
several cells (digits touching across a removed rule) is cut at the cell boundaries.
Flat pieces hugging the comb's top or bottom rule outside the cells are remnants of the
rule and belong to no cell.

Each cell is read alone from its best candidate (its ink, its ink without rule remnants,
the whole piece it was cut from, or its ink without the slices of a neighbour's piece). Where ink joins two neighbouring cells, two more
readings compete on one best path over the cells: the pair network (:mod:`recognition.pairs`)
reads the two cells' ink whole as two digits, or the ink of one cell is the spill of its
neighbour's oversize digit and that cell is left empty. The pair network's p(two digits)
weighs the readings with a digit on each side against the one with a single digit.
With a line network (:mod:`recognition.sequence`), the comb's reading is then judged whole
(:func:`judged_comb`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.ctc import digits_only, sequence_log_likelihoods
from recognition.decoding import LINE_WEIGHT, P_FLOOR, digit_result, log_p, separator_kind
from recognition.model import REJECT
from recognition.normalise import normalise_mask, normalise_pair
from recognition.pairs import LEFT, PAIR, RIGHT, digit_of_pair
from recognition.results import (
    LINE_NETWORK,
    LINE_NETWORK_DOUBT,
    LOW_CONFIDENCE,
    UNKNOWN_INK,
    DigitResult,
    FieldResult,
    Separator,
    all_reasons,
    reasons,
)
from segmentation.cleanup import joined_to
from segmentation.elements import Box, Field, GrayImage, union_of
from segmentation.errors import InvalidInput

# Ink in a comb cell whose larger side is below this share of the cell height is dust.
CELL_SPECK_SHARE = 0.1
# A piece filling at least this share of the width of several cells holds one digit per
# such cell (two digits touching across a removed rule); an oversize digit reaching into
# the next cell fills less of it (a 21-px Hershey 2 reaching 9 px into a 32-px cell: 0.28).
SPAN_CELL_SHARE = 0.35
# Half-width, as a share of the cell height, of the strip along each printed cell border where
# rule remnants survive line removal (a stroke running along a rule keeps the rule under it):
# 0.035 of a 62-82 px synthetic cell (~2.5 px) read the most cells of 40 forms (699/720; 0.02: 698, 0.06: 696, 0.09: 692).
RIM_SHARE = 0.035
# A cell whose ink is at least this share of the cell height tall holds a digit even when the
# classifier prefers not-a-digit (a digit damaged by rule removal or a neighbour's stroke):
# 60 forms' comb fields read 151 -> 152 right with the shipped model, 156 -> 162 with a model
# also trained on field samples (0.7: 161).
DIGIT_HEIGHT_SHARE = 0.5
# Ink whose width and height are both below this share of the cell height is not a digit,
# whatever the classifier says: it is a mark, or the tip of a neighbour's oversize digit
# reaching into an empty cell (read "1" or "4" before). 200 held-out forms: comb fields
# 557 -> 560 of 597, none worse (the same at 0.3 and 0.4; at 0.25, 559).
MIN_DIGIT_SHARE = 0.35
# A piece lying wholly outside the cells, within this share of the cell height of their top or
# bottom edge, is a remnant of the comb's rule (a thick, blurred rule is left in dashes where its
# ink is thicker than the rule found), not a digit. On 150 held-out forms a comb "719" read
# "72552" (dashes above and below two empty cells) and now "713"; comb fields 411 -> 410, the
# one lost a comb whose grid was found wrong and had been read right by chance. 0.1 kept
# remnants 6 px from the cell.
RULE_REMNANT_SHARE = 0.175
# A stroke running along a printed rule (the bar of a 7 or a 5, the top of a 9's loop on the
# comb's top rule, the side of an 8 on a wall) is no thicker across the rule than the rule
# plus a pixel or two, so rule removal takes it away with the rule: a 7 was read as a 1, a 9
# as a 4, an 8 as a 3. It leaves the removed band thicker there than the bare rule. Where the
# band around a cell's border is at least ALONG_RULE_EXTRA_PX thicker than the rule's median
# (measured within ALONG_RULE_SHARE of the cell height of the border), its pixels touching
# the cell's ink are put back in one more candidate for the cell, with the ink beyond the rule
# that they join to it (the part of a bar above the top rule, which belongs to no cell).
# 200 held-out forms: comb fields 560 -> 569 of 597, none worse; at 1 px, 566 (2 worse); at
# 3 px, 565; without the ink beyond the rule, 567.
ALONG_RULE_EXTRA_PX = 2
ALONG_RULE_SHARE = 0.15
# That candidate was one among the cell's others, the one read surest kept; but a 7 whose bar went
# with the rule is a sure 1 (1.000) beside the sure 7 (0.999) of the ink put back, and an 8 whose
# side went with a wall a 3 (0.998) beside an 8 (0.996). Where it reads a digit at least this
# sure, it is the cell's reading. 400 held-out forms (seeds 2026, 2027): comb fields 1,151 ->
# 1,153 of 1,204, none worse; at 0.9 and 0.8, 1,153 (three better, one worse: the bar of a
# neighbour's oversize 5 along the rule over a 0 made it a 6), at 0.5, 1,152.
ALONG_RULE_TRUST = 0.99
# A cell joined by ink to its neighbour, where the pair network takes the two cells' ink for two
# digits (p >= PAIR_FUSE_MIN), is read from both views: its own ink, cut at the wall and so often
# missing a stroke or holding a slice of the neighbour, and the pair network's reading of the two
# cells whole (a log-linear pool, PAIR_FUSE_WEIGHT on the pair network's side). Read from its own ink
# alone, a 6 whose neighbour's oversize 2 ran through it was an 8, however sure the pair network
# of "62". With session 18's comb pair network, 200 held-out forms (seed 2026): comb fields
# 575 -> 579 of 597, none worse (weight 0.3: 577, 0.7: 579, 1.0: 578; PAIR_FUSE_MIN 0.2 and 0.8
# read the same); 200 more (seed 2027): 571 -> 572 of 607. With session 17's, 572 -> 573 of 597.
PAIR_FUSE_MIN = 0.5
PAIR_FUSE_WEIGHT = 0.5
# Alternatives below this probability are not worth a CTC score.
COMB_ALTERNATIVE_FLOOR = 1e-4
# A comb whose every digit the cells read at least this sure is not offered to the line network
# (worth_judging): 200 held-out forms read the same 575 combs at 0.9, 0.95, 0.99 and 0.999 as
# with every comb judged; at 0.99 a 150 dpi page reads ~10 ms faster on one core.
COMB_JUDGE_BELOW = 0.99
# A comb whose cells' reading the line network kept, but with a reading of one digit changed or
# dropped scoring within this many nats of it, is marked for review (reason LINE_NETWORK_DOUBT),
# as a free string with a close second reading is. 600 held-out forms at 150 dpi (seeds
# 2026-2028), the readings the same: misread fields flagged 81 -> 91 of 141, right ones 361 -> 378
# of 2,859 (raising the review threshold costs about 4 right fields per misread caught). Counted
# against a page's reading, such flags turned one of them upside down: see reader._flagged_for_turn.
COMB_REVIEW_MARGIN = 3.0
# A digit whose box abuts its neighbour's (at most this many pixels apart, the two cut from one
# piece of ink at the wall between their cells) may be the spill of the neighbour's oversize
# digit, read as a digit because it is digit tall (DIGIT_HEIGHT_SHARE): the left edge of an
# oversize 0 read as a 1 before it ("40659275" read "410659275"), the tail of a 0 read 6. The line
# network judges the comb with each such digit dropped too (judged_comb). 600 held-out forms
# (seeds 2026-2028): comb fields at 300 dpi 1,708 -> 1,710 of 1,795, at 150 dpi 1,707 -> 1,708
# of 1,797, none worse; with any digit offered, abutting or not, a "66" lost a 6.
COMB_DROP_GAP_PX = 1


@dataclass(frozen=True, slots=True)
class CombPlan:
    """The non-empty cells of a comb field: ``cell_index[i]`` holds ``masks[i]`` at ``boxes[i]`` (field coordinates)."""

    cell_index: tuple[int, ...]
    boxes: tuple[Box, ...]
    masks: tuple[GrayImage, ...] = field(repr=False)
    images: NDArray[np.float32] = field(repr=False)
    # ``entry[r]``: the non-empty cell (index into ``cell_index``) that image row ``r`` is a candidate for.
    entry: tuple[int, ...] = field(repr=False)
    # Pair candidates: ``pair_left[k]`` (index into ``cell_index``) and the next non-empty cell,
    # adjacent and joined by ink across their wall, read whole by the pair network.
    pair_left: tuple[int, ...] = ()
    pair_images: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 28, 56), np.float32), repr=False)
    # (image row of a spill candidate, the adjacent non-empty cell whose ink it holds entirely): a
    # whole-piece candidate, or a cell's ink with that neighbour's alone (rows only spills use).
    absorbs: tuple[tuple[int, int], ...] = ()
    # Image rows of candidates with strokes along the cell's rules put back (see ALONG_RULE_EXTRA_PX).
    along: tuple[int, ...] = ()


# The field's ink as connected pieces: (count, labels, stats) of cv2.connectedComponentsWithStats.
Pieces = tuple[int, NDArray[np.int32], NDArray[np.int32]]


def _pieces(ink: GrayImage) -> Pieces:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    return int(count), np.asarray(labels, np.int32), np.asarray(stats, np.int32)


def _cell_owners(comb: Field, pieces: Pieces) -> NDArray[np.int32]:
    """Per ink pixel of the field, 1 + the index of the cell it belongs to (0 = background).

    A piece goes whole to the cell holding most of its columns, unless it fills at least
    ``SPAN_CELL_SHARE`` of the width of two or more cells (digits touching across a removed
    rule): then it is cut at the boundaries between those cells, and columns reaching into
    other cells follow the nearest of them.
    """
    cells = [c.shifted(-comb.box.x, -comb.box.y) for c in comb.cells]
    widths = np.array([max(1, c.w) for c in cells], dtype=np.float64)
    bounds = np.array([(a.x2 + b.x) / 2.0 for a, b in pairwise(cells)], dtype=np.float64)
    column_cell = np.searchsorted(bounds, np.arange(comb.ink.shape[1]) + 0.5).astype(np.int32)
    count, labels, stats = pieces
    owners = np.zeros(comb.ink.shape, np.int32)
    rim = max(1, round(RIM_SHARE * cells[0].h))
    band = round(RULE_REMNANT_SHARE * cells[0].h)
    top, bottom = min(c.y for c in cells) + rim, max(c.y2 for c in cells) - rim
    for label in range(1, count):
        x, y, w, h = (int(v) for v in stats[label, :4])
        if (top - band <= y and y + h <= top) or (bottom <= y and y + h <= bottom + band):
            continue  # along the comb's top or bottom rule, outside the cells: a remnant of the rule
        columns = column_cell[x : x + w]
        cover = np.bincount(columns, minlength=len(cells)) / widths
        spanned = np.flatnonzero(cover >= SPAN_CELL_SHARE)
        piece = labels[y : y + h, x : x + w] == label
        region = owners[y : y + h, x : x + w]
        if spanned.size < 2:
            region[piece] = int(np.argmax(np.bincount(columns))) + 1
            continue
        nearest = spanned[np.abs(columns[:, None] - spanned[None, :]).argmin(axis=1)]
        region[piece] = np.broadcast_to(nearest + 1, piece.shape)[piece]
    return owners


def _cell_mask(owned: NDArray[np.bool_], min_side: float) -> tuple[Box, GrayImage] | None:
    """The box and mask (ink = 255) of one cell's ink without dust, or None when nothing is left."""
    rows, cols = np.flatnonzero(owned.any(axis=1)), np.flatnonzero(owned.any(axis=0))
    if rows.size == 0:
        return None
    y0, x0 = int(rows[0]), int(cols[0])  # label only the ink's bounding box, not the whole field
    inside = owned[y0 : int(rows[-1]) + 1, x0 : int(cols[-1]) + 1].astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inside, connectivity=8)
    keep = [i for i in range(1, count) if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) >= min_side]
    if not keep:
        return None
    box = union_of(Box(*(int(v) for v in stats[i, :4])) for i in keep)
    window = labels[box.y : box.y2, box.x : box.x2]
    return box.shifted(x0, y0), np.where(np.isin(window, keep), 255, 0).astype(np.uint8)


def _strip_rims(owned: NDArray[np.bool_], cell: Box, rim: int) -> NDArray[np.bool_]:
    """``owned`` without the ink in strips of ``rim`` px either side of the cell's four borders.

    Columns (rows) of a strip with ink just outside it on both sides (a stroke crossing the
    border) are kept. ``owned``: (H, W) bool in field coordinates; ``cell``: the cell inside.
    """
    out = owned.copy()
    h, w = owned.shape
    strips = (
        (max(0, cell.y - rim), min(h, cell.y + rim), True),
        (max(0, cell.y2 - rim), min(h, cell.y2 + rim), True),
        (max(0, cell.x - rim), min(w, cell.x + rim), False),
        (max(0, cell.x2 - rim), min(w, cell.x2 + rim), False),
    )
    for a, b, horizontal in strips:
        if b <= a:
            continue
        view = owned if horizontal else owned.T
        before = view[a - 1] if a > 0 else np.zeros(view.shape[1], bool)
        after = view[b] if b < view.shape[0] else np.zeros(view.shape[1], bool)
        crossing = before & after
        crossing = crossing | np.roll(crossing, 1) | np.roll(crossing, -1)
        target = out if horizontal else out.T
        target[a:b] &= crossing[np.newaxis, :]
    return out


def _whole_pieces(pieces: Pieces, owners: NDArray[np.int32]) -> tuple[dict[int, NDArray[np.bool_]], set[int]]:
    """Pieces cut between cells, uncut, keyed by the cell (0-based) holding most of each piece,
    and the cells ``c`` joined by one of them to cell ``c + 1``.

    An oversize digit reaching over a wall is cut like two touching digits; the whole piece
    is a second candidate for its main cell. ``owners``: (H, W) from :func:`_cell_owners`.
    """
    count, labels, stats = pieces
    whole: dict[int, NDArray[np.bool_]] = {}
    joined: set[int] = set()
    for label in range(1, count):
        x, y, w, h = (int(v) for v in stats[label, :4])
        piece = labels[y : y + h, x : x + w] == label
        cells = np.bincount(owners[y : y + h, x : x + w][piece])[1:]
        held = np.flatnonzero(cells)
        if held.size < 2:
            continue
        joined.update(int(a) for a, b in pairwise(held) if b == a + 1)
        mask = whole.setdefault(int(np.argmax(cells)), np.zeros(owners.shape, bool))
        mask[y : y + h, x : x + w] |= piece
    return whole, joined


def _candidate(
    owned: NDArray[np.bool_], min_side: float, normalise: Callable[[GrayImage], NDArray[np.float32]]
) -> tuple[Box, GrayImage, NDArray[np.float32]] | None:
    """Box, mask and normalised image of some owned ink without dust; None if nothing readable is left."""
    found = _cell_mask(owned, min_side)
    if found is None:
        return None
    try:
        return (*found, normalise(found[1]))
    except InvalidInput:
        return None


def _border_bands(comb: Field) -> list[tuple[int, int, int, int, bool]]:
    """Per cell and border, the band (y0, y1, x0, x1, across-is-vertical) around it in field coordinates.

    Four per cell, in order top, bottom, left, right; horizontal borders span the cell's
    columns, vertical ones the cell's rows less the bands' reach at either end (the corners,
    where the other rule crosses).
    """
    bands = []
    h, w = comb.ink.shape
    for cell in (c.shifted(-comb.box.x, -comb.box.y) for c in comb.cells):
        reach = max(2, round(ALONG_RULE_SHARE * cell.h))
        for y in (cell.y, cell.y2):
            bands.append((max(0, y - reach), min(h, y + reach), max(0, cell.x), min(w, cell.x2), True))
        for x in (cell.x, cell.x2):
            bands.append((max(0, cell.y + reach), min(h, cell.y2 - reach), max(0, x - reach), min(w, x + reach), False))
    return bands


def _along_rules(comb: Field) -> list[NDArray[np.bool_]]:
    """Per cell, the removed rule pixels around its borders where the band is thicker than the bare rule.

    Thickness is counted across the rule (removed pixels per column of a horizontal border's
    band, per row of a vertical one) against the median count of that border kind over the
    comb (the bare rule); columns (rows) at least ``ALONG_RULE_EXTRA_PX`` above it held a
    stroke along the rule. Empty masks when the field carries no rule mask.
    """
    out = [np.zeros(comb.ink.shape, bool) for _ in comb.cells]
    if comb.rules is None or not comb.cells:
        return out
    removed = comb.rules > 0
    bands = _border_bands(comb)
    counts = [removed[y0:y1, x0:x1].sum(axis=0 if horizontal else 1) for y0, y1, x0, x1, horizontal in bands]
    typical = {}
    for horizontal in (True, False):
        values = [c for c, band in zip(counts, bands, strict=True) if band[4] == horizontal and c.size]
        typical[horizontal] = float(np.median(np.concatenate(values))) if values else 0.0
    for k, ((y0, y1, x0, x1, horizontal), count) in enumerate(zip(bands, counts, strict=True)):
        thick = count >= typical[horizontal] + ALONG_RULE_EXTRA_PX
        if typical[horizontal] == 0 or not thick.any():
            continue
        region = removed[y0:y1, x0:x1] & (thick[np.newaxis, :] if horizontal else thick[:, np.newaxis])
        out[k // 4][y0:y1, x0:x1] |= region
    return out


def plan_comb(comb: Field, *, pairs: bool = False) -> CombPlan:
    """Normalised candidates per non-empty cell, ready for a batched model call.

    Each cell gets its owned ink and, when it differs, the same ink without rule remnants
    along the cell borders (:func:`_strip_rims`), the whole piece it was cut from, and its
    ink without the slices of pieces spread over several cells when what is left is digit
    tall (a neighbour's oversize digit reaching into the cell: 200 held-out forms, comb
    fields 555 -> 557 of 597, 3 better, 1 worse);
    :func:`decode_comb` keeps the candidate the classifier is surer of. With ``pairs``, the
    plan also holds the pair candidates (two adjacent cells joined by ink, for the pair
    network) and the spills (a whole-piece candidate holding all of a neighbour's ink and, when
    the piece runs into the other neighbour too, the cell's ink with that neighbour's alone: an
    oversize 5 reaching into an empty cell on its left and touching the 4 on its right is read
    as a 5 and its spill, not as all three cells' ink. 400 held-out forms with this session's comb
    pair network: comb fields 1,149 -> 1,151 of 1,204, none worse).
    """
    pieces = _pieces(comb.ink)
    owners = _cell_owners(comb, pieces)
    whole, joined = _whole_pieces(pieces, owners)
    spread = np.zeros(owners.shape, bool)
    for piece_mask in whole.values():
        spread |= piece_mask
    indices: list[int] = []
    boxes: list[Box] = []
    masks: list[GrayImage] = []
    images: list[NDArray[np.float32]] = []
    entry: list[int] = []
    whole_rows: dict[int, int] = {}
    absorbs: list[tuple[int, int]] = []
    along_rows: list[int] = []
    along = _along_rules(comb)
    unowned = (comb.ink > 0) & (owners == 0)
    for i, cell in enumerate(comb.cells):
        owned = owners == i + 1
        min_side = CELL_SPECK_SHARE * cell.h
        found = _candidate(owned, min_side, normalise_mask)
        if found is None:
            continue
        box, mask, image = found
        images.append(image)
        entry.append(len(indices))
        indices.append(i)
        boxes.append(box)
        masks.append(mask)
        rim = max(1, round(RIM_SHARE * cell.h))
        alternatives = [("rims", _strip_rims(owned, cell.shifted(-comb.box.x, -comb.box.y), rim))]
        if i in whole:
            alternatives.append(("whole", owned | whole[i]))
        own = owned & ~spread  # without the slices of pieces spread over several cells
        rows = np.flatnonzero(own.any(axis=1))
        if rows.size and rows[-1] - rows[0] + 1 >= DIGIT_HEIGHT_SHARE * cell.h:
            alternatives.append(("own", own))
        # The stroke's pieces left on the far side of the rule belong to no cell (remnants): they come back too.
        if along[i].any():
            alternatives.append(("along", owned | joined_to(owned, along[i] | unowned)))
        for kind, alternative in alternatives:
            found = None if np.array_equal(alternative, owned) else _candidate(alternative, min_side, normalise_mask)
            if found is None:
                continue
            images.append(found[2])
            entry.append(len(indices) - 1)
            if kind == "whole":
                whole_rows[len(images) - 1] = i
            elif kind == "along":
                along_rows.append(len(images) - 1)
    for row, i in whole_rows.items() if pairs else ():
        for k in (i - 1, i + 1):
            if k in indices and not np.any((owners == k + 1) & ~whole[i]):
                absorbs.append((row, indices.index(k)))
                # The digit with only this spill: the whole piece may also hold the other neighbour's digit.
                union = (owners == i + 1) | (owners == k + 1)
                if np.array_equal(union, (owners == i + 1) | whole[i]):
                    continue
                found = _candidate(union, CELL_SPECK_SHARE * comb.cells[i].h, normalise_mask)
                if found is not None:
                    images.append(found[2])
                    entry.append(indices.index(i))
                    absorbs.append((len(images) - 1, indices.index(k)))
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), np.float32)
    pair_left: list[int] = []
    pair_images: list[NDArray[np.float32]] = []
    for j, (a, b) in enumerate(pairwise(indices)) if pairs else ():
        if b != a + 1 or a not in joined:
            continue
        owned = (owners == a + 1) | (owners == b + 1)
        found = _candidate(owned, CELL_SPECK_SHARE * comb.cells[a].h, normalise_pair)
        if found is not None:
            pair_images.append(found[2])
            pair_left.append(j)
    pair_stack = np.stack(pair_images) if pair_images else np.zeros((0, 28, 56), np.float32)
    return CombPlan(
        tuple(indices),
        tuple(boxes),
        tuple(masks),
        stacked,
        tuple(entry),
        tuple(pair_left),
        pair_stack,
        tuple(absorbs),
        tuple(along_rows),
    )


def _best_candidates(plan: CombPlan, probabilities: NDArray[np.float32]) -> NDArray[np.float32]:
    """Per non-empty cell, the probabilities of its candidate with the most confident digit, unless
    its candidate with strokes along its rules put back reads a digit at ``ALONG_RULE_TRUST`` or more.

    The first (unaltered) candidate of a cell wins ties. ``probabilities``: (N, 11), one
    row per image; returns (len(plan.cell_index), 11).
    """
    best = np.zeros((len(plan.cell_index), probabilities.shape[1]), np.float32)
    score = np.full(len(plan.cell_index), -np.inf)
    digit_share = np.delete(probabilities, REJECT, axis=1).max(axis=1)
    absorbing = {row for row, _ in plan.absorbs}
    for row, index in enumerate(plan.entry):
        if row not in absorbing and digit_share[row] > score[index]:
            best[index], score[index] = probabilities[row], digit_share[row]
    for row in plan.along:  # the ink as written, when it reads surely as a digit (ALONG_RULE_TRUST)
        if digit_share[row] >= ALONG_RULE_TRUST:
            best[plan.entry[row]] = probabilities[row]
    return best


def _fused_with_pairs(
    plan: CombPlan, singles: NDArray[np.float32], pair_probabilities: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``singles`` with each cell of a likely pair read from both views (see ``PAIR_FUSE_MIN``).

    The pair network's view of a cell is :func:`recognition.pairs.digit_of_pair`'s 11 classes, so
    its doubt that the ink is two digits speaks for not-a-digit (the cell holding a mark, or a
    neighbour's spill).
    """
    views: dict[int, list[NDArray[np.float32]]] = {}
    for k, left in enumerate(plan.pair_left):
        q = pair_probabilities[k]
        if q[PAIR] >= PAIR_FUSE_MIN:
            views.setdefault(left, []).append(digit_of_pair(q, LEFT))
            views.setdefault(left + 1, []).append(digit_of_pair(q, RIGHT))
    fused = singles.copy()
    for j, sides in views.items():
        pair_log = np.mean([np.log(np.maximum(p, P_FLOOR)) for p in sides], axis=0)
        log = (1.0 - PAIR_FUSE_WEIGHT) * np.log(np.maximum(singles[j], P_FLOOR)) + PAIR_FUSE_WEIGHT * pair_log
        p = np.exp(log - log.max())
        fused[j] = p / p.sum()
    return fused


def _cell_class(p: NDArray[np.float32], box: Box, cell: Box) -> int:
    """The class read in a cell: digit-tall ink is always a digit (see ``DIGIT_HEIGHT_SHARE``),
    ink smaller than ``MIN_DIGIT_SHARE`` of the cell never."""
    best = int(np.argmax(p))
    if max(box.w, box.h) < MIN_DIGIT_SHARE * cell.h:
        return REJECT  # too small for a digit in this box: a mark, or the tip of a neighbour's digit
    if best == REJECT and box.h >= DIGIT_HEIGHT_SHARE * cell.h:
        # Ink as tall as a digit in a box meant for one digit is that digit, however
        # damaged; its low confidence marks the field for review.
        best = int(np.argmax(p[:REJECT]))
    return best


# A reading of consecutive non-empty cells: (first entry, entry after the last, score in nats,
# per entry its class and 11 probabilities; class None: the ink belongs to a neighbour's digit).
CombEdge = tuple[int, int, float, tuple[tuple[int | None, NDArray[np.float32]], ...]]


def _comb_edges(
    plan: CombPlan,
    probabilities: NDArray[np.float32],
    singles: NDArray[np.float32],
    classes: list[int],
    pair_probabilities: NDArray[np.float32],
) -> list[CombEdge]:
    """The ways to read the cells: each alone, two joined cells as a pair, a cell as its neighbour's spill.

    Scores: log p(class) of a cell read alone; log p(two digits) + log p(left) + log p(right)
    of a pair; log p(digit) of the neighbour's whole piece + log p(not two digits) of the
    pair candidate across that wall for a spill (the pair network judges how many digits the
    joined ink holds).
    """
    edges: list[CombEdge] = [(j, j + 1, log_p(singles[j, c]), ((c, singles[j]),)) for j, c in enumerate(classes)]
    for k, left in enumerate(plan.pair_left):
        q = pair_probabilities[k]
        a, b = int(np.argmax(q[LEFT])), int(np.argmax(q[RIGHT]))
        score = log_p(q[PAIR]) + log_p(q[LEFT][a]) + log_p(q[RIGHT][b])
        edges.append((left, left + 2, score, ((a, digit_of_pair(q, LEFT)), (b, digit_of_pair(q, RIGHT)))))
    pair_at = {left: k for k, left in enumerate(plan.pair_left)}
    for row, covered in plan.absorbs:
        main = plan.entry[row]
        start = min(main, covered)
        wall = pair_at.get(start)
        if wall is None:  # the two cells' ink could not be normalised as a pair
            continue
        p = probabilities[row]
        digit = int(np.argmax(p[:REJECT]))
        readings: list[tuple[int | None, NDArray[np.float32]]] = [(digit, p), (None, singles[covered])]
        score = log_p(p[digit]) + log_p(1.0 - pair_probabilities[wall, PAIR])
        edges.append((start, start + 2, score, tuple(readings if main < covered else readings[::-1])))
    return edges


def _best_comb_path(n: int, edges: list[CombEdge], walls: dict[int, float]) -> list[CombEdge]:
    """The edges of the best-scoring path over ``n`` entries (each edge spans consecutive entries).

    ``walls[j]``: log p(two digits) of the ink joined across entries ``j`` and ``j + 1``,
    added when the path reads the two in separate edges and neither as a neighbour's spill.
    """
    # State: (entry reached, whether the last entry read belongs to a neighbour's digit).
    best: dict[tuple[int, bool], float] = {(0, True): 0.0}
    back: dict[tuple[int, bool], tuple[tuple[int, bool], CombEdge]] = {}
    for edge in sorted(edges, key=lambda e: e[0]):
        start, stop, score, readings = edge
        for last_none in (False, True):
            total = best.get((start, last_none))
            if total is None:
                continue
            if not last_none and readings[0][0] is not None:
                total += walls.get(start - 1, 0.0)
            state = (stop, readings[-1][0] is None)
            if total + score > best.get(state, -np.inf):
                best[state], back[state] = total + score, ((start, last_none), edge)
    state = max((s for s in best if s[0] == n), key=lambda s: best[s])
    path: list[CombEdge] = []
    while state in back:
        state, edge = back[state]
        path.append(edge)
    return path[::-1]


def decode_comb(
    comb: Field,
    plan: CombPlan,
    probabilities: NDArray[np.float32],
    review_threshold: float,
    pair_probabilities: NDArray[np.float32] | None = None,
) -> FieldResult:
    """Per cell: the digit, or None (empty or a mark); marks that are not punctuation need review.

    Digit-tall ink is always read as its most likely digit (see ``DIGIT_HEIGHT_SHARE``).
    With ``pair_probabilities`` ((len(plan.pair_left), 21), the pair network's reading of
    each pair candidate), the best path over the cells (:func:`_comb_edges`) may read two
    joined cells whole, or a cell's ink as the spill of its neighbour's digit (the cell
    is then empty and the digit's box takes the spill in).
    """
    cells: list[int | None] = [None] * len(comb.cells)
    digits: list[DigitResult] = []
    separators: list[Separator] = []
    unknown = False
    pairs = pair_probabilities if pair_probabilities is not None and len(plan.pair_left) else None
    singles = _best_candidates(plan, probabilities)
    if pairs is not None:
        singles = _fused_with_pairs(plan, singles, pairs)
    rows = list(singles)
    boxes = list(plan.boxes)
    alone = [_cell_class(p, box, comb.cells[i]) for i, box, p in zip(plan.cell_index, plan.boxes, singles, strict=True)]
    classes: list[int | None] = list(alone)
    if pairs is not None:
        walls = {left: log_p(pairs[k, PAIR]) for k, left in enumerate(plan.pair_left)}
        edges = _comb_edges(plan, probabilities, singles, alone, pairs)
        for start, _, _, readings in _best_comb_path(len(alone), edges, walls):
            for j, (c, p) in enumerate(readings, start):
                classes[j], rows[j] = c, p
            if readings[0][0] is None or readings[-1][0] is None:  # a digit and its spill: one box
                boxes[start] = boxes[start + 1] = boxes[start].union(boxes[start + 1])
    for cell_index, box, mask, p, best in zip(plan.cell_index, boxes, plan.masks, rows, classes, strict=True):
        page_box = box.shifted(comb.box.x, comb.box.y)
        cell = comb.cells[cell_index]
        if best is None:  # part of a neighbour's digit
            continue
        if best == REJECT:
            top = cell.y - comb.box.y
            kind = separator_kind(box, mask, top, top + cell.h)
            separators.append(Separator(position=len(digits), kind=kind, box=page_box))
            unknown = unknown or kind == "other"
            continue
        cells[cell_index] = best
        digits.append(digit_result(best, p, page_box))
    review = reasons((LOW_CONFIDENCE, any(d.confidence < review_threshold for d in digits)), (UNKNOWN_INK, unknown))
    return FieldResult(
        name=comb.name,
        box=comb.box,
        text="".join(str(d.digit) for d in digits),
        confidence=math.prod(d.confidence for d in digits),
        needs_review=bool(review),
        digits=tuple(digits),
        separators=tuple(separators),
        kind="comb",
        cells=tuple(cells),
        review=review,
    )


def worth_judging(comb: FieldResult) -> bool:
    """Whether the line network should judge ``comb``: it has a digit read below ``COMB_JUDGE_BELOW``."""
    return any(d.confidence < COMB_JUDGE_BELOW for d in comb.digits)


def judged_comb(
    comb: FieldResult,
    line_log_probs: NDArray[np.float32] | None,
    weight: float = LINE_WEIGHT,
    review_margin: float | None = COMB_REVIEW_MARGIN,
) -> FieldResult:
    """``comb`` with at most one digit changed to the alternative the line network's reading
    favours, or dropped as a neighbour's spill (see ``COMB_DROP_GAP_PX``).

    The cells read each digit alone; the line network (``line_log_probs``, (T, 14), its reading
    of the comb's ink, rules removed) reads the row whole. The reading kept is the best of the
    cells' own, each with one digit changed to one of its alternatives, and each with one digit
    abutting its neighbour dropped, by the sum of its digits' log-probabilities (a dropped digit:
    its p(not a digit)) plus ``weight`` x log p(its digits | the row), marks merged into the
    blank. Otherwise the cells decide which hold digits; a changed reading is marked ``needs_review``,
    and so is the cells' reading kept when a changed one scores within ``review_margin`` nats of it
    (None: never).

    200 held-out forms: comb fields 569 -> 575 of 597 at weight 0.25, 0.5 and 1.0 alike (at 1.0:
    11 read right, 5 misread that were right), 571 at 2.0; keeping only changes the network also reads on
    its own: 571-572; allowing two changed digits: 575.
    """
    if line_log_probs is None or not comb.digits:
        return comb
    own = tuple(d.digit for d in comb.digits)
    # The cells' reading (no change), then each with one digit changed or dropped (None):
    # (position, digit, its probability).
    changes: list[tuple[int, int | None, float] | None] = [None]
    changes += [
        (position, digit, p)
        for position, result in enumerate(comb.digits)
        for digit, p in result.alternatives
        if digit != result.digit and p >= COMB_ALTERNATIVE_FLOOR
    ]
    changes += [
        (position, None, none)
        for position, none in enumerate(_spill_chances(comb.digits))
        if none >= COMB_ALTERNATIVE_FLOOR
    ]
    if len(changes) == 1:
        return comb
    texts = [comb.text if c is None else _changed_text(own, c[0], c[1]) for c in changes]
    likelihoods = sequence_log_likelihoods(digits_only(line_log_probs), texts)
    priors = [
        0.0 if c is None else math.log(c[2] / max(comb.digits[c[0]].confidence, COMB_ALTERNATIVE_FLOOR))
        for c in changes
    ]
    scores = np.asarray(priors) + weight * np.asarray(likelihoods)
    change = changes[int(np.argmax(scores))]
    if change is None:
        if review_margin is not None and scores[0] - scores[1:].max() < review_margin:
            return replace(comb, needs_review=True, review=all_reasons(comb.review, (LINE_NETWORK_DOUBT,)))
        return comb
    position, digit, p = change
    read: list[DigitResult | None] = list(comb.digits)
    read[position] = None if digit is None else replace(comb.digits[position], digit=digit, confidence=p)
    digits = [d for d in read if d is not None]
    values = iter(None if d is None else d.digit for d in read)  # one per cell holding a digit
    return replace(
        comb,
        text="".join(str(d.digit) for d in digits),
        digits=tuple(digits),
        cells=tuple(None if cell is None else next(values) for cell in comb.cells),
        confidence=math.prod(d.confidence for d in digits),
        needs_review=True,
        review=all_reasons(comb.review, (LINE_NETWORK,)),
    )


def _spill_chances(digits: tuple[DigitResult, ...]) -> list[float]:
    """Per digit of a comb, p(not a digit) if its box abuts a neighbouring digit's (the two were cut
    from one piece of ink at the wall between their cells: see ``COMB_DROP_GAP_PX``), else 0."""
    out = []
    for position, result in enumerate(digits):
        near = digits[max(0, position - 1) : position] + digits[position + 1 : position + 2]
        abuts = any(result.box.x_overlap(n.box) >= -COMB_DROP_GAP_PX for n in near)
        out.append(result.not_a_digit if abuts else 0.0)
    return out


def _changed_text(digits: tuple[int, ...], position: int, digit: int | None) -> str:
    """``digits`` as text with the one at ``position`` changed to ``digit``, or dropped (None)."""
    text = [str(d) for d in digits]
    text[position] = "" if digit is None else str(digit)
    return "".join(text)
