"""Training samples cut by the page reader itself from synthetic fields: what the network meets on forms.

MNIST digits are clean, centred and alone. On a form the network sees what the
segmentation hands it: a comb cell with a remnant of a box line, a digit with a bite
taken where a rule was removed, a neighbour's stroke reaching over a wall, half of two
touching digits. This module draws comb fields and free strings from *training* digits
(:mod:`recognition.synthetic`), degrades them like a scan, runs the real segmentation
(:func:`segmentation.fields.prepare_page`, :func:`recognition.combs.plan_comb`,
:func:`recognition.decoding.plan_string`) and labels each candidate it produces from the
drawing's ground truth:

- a comb cell candidate takes the digit drawn in that cell, or not-a-digit when the cell
  was left empty (ink there is a neighbour's or a rule's);
- a free-string candidate that matches one drawn character (IoU >= ``MATCH_IOU``) takes
  its digit, or not-a-digit for a separator; one that overlaps characters but matches none
  (IoU < ``WRONG_IOU``: a slice of a digit, two digits merged) is not-a-digit; anything in
  between is ambiguous and left out, and so are thin wrong cuts (a slice of a digit is a 1);
- hard line-mode strings (:func:`recognition.synthetic.make_line_with_boxes`) are cut by
  :func:`segmentation.fields.line_field` and labelled like free strings;
- a candidate cut from a printed title line (letters, a few digits) is read the same way:
  letters are not-a-digit.

Used only for training; nothing here runs at inference. Never feed it MNIST test digits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.combs import plan_comb
from recognition.decoding import plan_string
from recognition.mnist import DigitSet
from recognition.model import REJECT
from recognition.pairs import IGNORE as PAIR_IGNORE
from recognition.reader import ReadParams
from recognition.synthetic import (
    FormParams,
    degrade,
    draw_comb,
    draw_string,
    make_line_with_boxes,
    security_pattern,
    stamp,
    union_box,
)
from segmentation.elements import Box, Field
from segmentation.errors import InvalidInput
from segmentation.fields import REFERENCE_LONG_SIDE_PX, find_fields, line_field, prepare_page
from segmentation.grouping import inside_share

log = logging.getLogger(__name__)

# A candidate matching a drawn character this well (intersection over union) is that character.
MATCH_IOU = 0.75
# A candidate overlapping drawn characters but matching none of them this well is a wrong cut.
WRONG_IOU = 0.4
# A candidate holding this share of the boxes of two characters is a merge, not-a-digit
# (a 4 with a thin 1 touching it can match the 4 with IoU > MATCH_IOU: labelled a 4, it taught
# the network to swallow 1s); a match may hold at most OTHER_COVER of any other character.
MERGED_COVER = 0.8
OTHER_COVER = 0.5
# Wrong cuts kept per right one, so not-a-digit does not swamp the digits.
WRONG_PER_RIGHT = 0.3
# Only wrong cuts at least this wide for their height are taught: a thin slice of a digit is
# a 1 to anyone, and teaching it as not-a-digit taught the network to drop real 1s (a fine-tune
# with thin slices lost a 1 in 8 of 60 forms' free strings).
WRONG_MIN_ASPECT = 0.5
# Strings are cut exactly as the reader cuts them.
READ = ReadParams()
# Share of comb digits drawn oversize in the strips cut for the comb pair network: at the forms'
# 0.15 the reader plans 0.36 pair candidates a comb, at 0.5 0.90 (150 held-out strips each).
COMB_PAIR_OVERSIZE = 0.5
# Free-string pair candidates (free_pair_samples): every run that is exactly two neighbouring
# digits is kept, and every digit with a separator; of the runs of one character, and of those
# matching no character or pair (a digit and a slice of the next), these shares. In 600 held-out
# hard lines the reader plans 1,654 runs of two digits, 3,168 of one character and 5,802 others
# (loose matches among them, left out); 45% of 3,000 samples cut so are pairs (44% of 24,000 cut
# from training digits, in 98 s).
FREE_PAIR_KEEP_SINGLE = 0.5
FREE_PAIR_KEEP_OTHER = 0.3
# Share of free pair draws that are a hard line-mode string; the rest are the free strings of form strips.
FREE_PAIR_LINE_SHARE = 0.6
# Printed titles: the reader must not read printed words as digits. Their letters are
# not-a-digit, except letters a digit is commonly written like (O, I, l, S, Z, B, g, q ...),
# which are left out; printed digits among them keep their digit.
PRINTED_PROBABILITY = 0.35
# Share of draws that are a hard line-mode string (recognition.synthetic.make_line: overlapping
# digits, broken strokes, guide lines, frames, security backgrounds) instead of a form strip.
LINE_SHARE = 0.3
PRINTED_LETTERS = "CEFHKMNPRUVWXcekmnpruvwx"
PRINTED_DIGITS = "0123456789"
PRINTED_DIGIT_SHARE = 0.15
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)

Images = NDArray[np.float32]
Labels = NDArray[np.int64]


def _iou(a: Box, b: Box) -> float:
    inter_w = min(a.x2, b.x2) - max(a.x, b.x)
    inter_h = min(a.y2, b.y2) - max(a.y, b.y)
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    inter = inter_w * inter_h
    return inter / float(a.w * a.h + b.w * b.h - inter)


def _strip(rng: np.random.Generator, digits: DigitSet) -> tuple[NDArray[np.uint8], dict, dict | None, dict | None]:
    """A degraded strip of page: a comb field, a free string on a guide line, maybe a printed title line.

    Returns ``(gray, comb_truth, free_truth, printed_truth)``; boxes are in the upright frame, which the
    deskew of :func:`prepare_page` returns to. The strip is as wide as a page at the
    reference scale, so the segmentation uses its usual pixel sizes.
    """
    scale = float(rng.uniform(0.9, 1.3))
    width, height = round(REFERENCE_LONG_SIDE_PX * scale), round(420 * scale)
    page = np.full((height, width), float(rng.uniform(215, 250)), np.float32)
    if rng.random() < 0.25:
        page -= security_pattern(page.shape, rng) * float(rng.uniform(10, 30))
    comb = draw_comb(page, digits, rng, round(rng.uniform(60, 400) * scale), round(40 * scale), scale)
    baseline = round(265 * scale)
    x0 = round(rng.uniform(60, 400) * scale)
    text_height = round(rng.uniform(40, 65) * scale)
    guide_end = min(width - 10, x0 + round(10 * text_height))
    if rng.random() < 0.7:
        cv2.line(page, (x0, baseline + 2), (guide_end, baseline + 2), float(rng.uniform(30, 110)), max(1, round(scale)))
    drawn = draw_string(
        page, digits, rng, x=x0 + round(15 * scale), baseline=baseline, height=text_height,
        length=int(rng.integers(3, 9)), ink=float(rng.uniform(0, 70)),
    )  # fmt: skip
    free = None if drawn is None else {"text": drawn[0], "bbox": drawn[1], "chars": drawn[2]}
    printed = None
    if rng.random() < PRINTED_PROBABILITY:
        printed = _printed_line(page, rng, round(rng.uniform(60, 400) * scale), round(385 * scale), scale)
    angle = float(rng.uniform(-3.0, 3.0))
    return degrade(page, rng, FormParams(), scale, angle), comb, free, printed


def _printed_line(
    page: NDArray[np.float32], rng: np.random.Generator, x: int, baseline: int, scale: float
) -> dict | None:
    """Print a title-sized line of letters (and a few digits) on ``page``; its truth like a free string's.

    None when no character fitted on the page.
    """
    font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
    size, thickness = float(rng.uniform(0.9, 1.8)) * scale, max(1, round(rng.uniform(1, 4) * scale))
    level = float(rng.uniform(20, 70))
    text = "".join(
        str(rng.choice(list(PRINTED_DIGITS if rng.random() < PRINTED_DIGIT_SHARE else PRINTED_LETTERS)))
        for _ in range(int(rng.integers(4, 11)))
    )
    chars: list[str] = []
    boxes: list[list[int]] = []
    for char in text:
        (w, h), _ = cv2.getTextSize(char, font, size, thickness)
        y0, x1 = max(0, baseline - 2 * h), min(page.shape[1], x + 2 * w + 2 * thickness)
        if x1 <= x:
            break
        layer = np.zeros((min(page.shape[0], baseline + h) - y0, x1 - x), np.uint8)
        cv2.putText(layer, char, (0, baseline - y0), font, size, 255, thickness, cv2.LINE_AA)
        box = stamp(page, layer.astype(np.float32) / 255.0, x, y0, level)
        if box is not None:
            chars.append(char)
            boxes.append(box)
        x += w
    if not boxes:
        return None
    return {"text": "".join(chars), "bbox": union_box(boxes), "chars": boxes}


def _drawn_in(truth: dict, cell: Box) -> str | None:
    """The digit drawn in the truth's comb cell holding ``cell``'s centre ("" for an empty cell), or
    None when no single truth cell holds it (a misfound wall)."""
    cx, cy = cell.x + cell.w / 2.0, cell.y + cell.h / 2.0
    found = [c["text"] for c in truth["cells"] if (box := Box(*c["bbox"])).x <= cx < box.x2 and box.y <= cy < box.y2]
    return found[0] if len(found) == 1 else None


def _comb_samples(fields: list, truth: dict) -> tuple[list[Images], list[int]]:
    images: list[Images] = []
    labels: list[int] = []
    for f in fields:
        if f.kind != "comb":
            continue
        plan = plan_comb(f)
        for row, index in enumerate(plan.entry):
            drawn = _drawn_in(truth, f.cells[plan.cell_index[index]])
            if drawn is None:
                continue
            box = plan.boxes[index]
            if not drawn and box.w < WRONG_MIN_ASPECT * box.h:
                continue  # a thin stroke of a neighbour in an empty cell is a 1 to anyone
            images.append(plan.images[row])
            labels.append(int(drawn) if drawn else REJECT)
    return images, labels


@dataclass(frozen=True, slots=True)
class _Cut:
    """A candidate the reader planned in a free field, measured against the drawn characters."""

    box: Box  # page coordinates
    image: Images
    iou: NDArray[np.float64]  # with each drawn character's box
    covers: NDArray[np.float64]  # share of each drawn character's box it holds
    best: int  # the character it matches best

    def others(self, *held: int) -> float:
        """The largest share it holds of a character other than ``held``."""
        return float(np.delete(self.covers, list(held)).max(initial=0.0))

    def matches(self) -> bool:
        """Whether it is the character ``best`` (IoU >= MATCH_IOU, under OTHER_COVER of any other)."""
        return bool(self.iou[self.best] >= MATCH_IOU) and self.others(self.best) < OTHER_COVER


def _free_cuts(fields: list, truth: dict, *, pairs: bool) -> Iterator[_Cut]:
    """The candidates (with ``pairs``, the pair candidates) the reader plans in the free fields over
    ``truth``'s string, measured against its characters."""
    chars = [Box(*b) for b in truth["chars"]]
    char_boxes = np.asarray(truth["chars"], dtype=np.int64).reshape(-1, 4)
    span = Box(*truth["bbox"])
    for f in fields:
        if f.kind != "free" or _iou(f.box, span) < 0.3:
            continue
        plan = plan_string(f.ink, READ.max_atoms_per_digit, READ.string, pairs=pairs)
        candidates, images = (plan.pair_candidates, plan.pair_images) if pairs else (plan.candidates, plan.images)
        for candidate, image in zip(candidates, images, strict=True):
            box = candidate.box.shifted(f.box.x, f.box.y)
            iou = np.asarray([_iou(box, c) for c in chars])
            yield _Cut(box, image, iou, inside_share(char_boxes, box), int(np.argmax(iou)))


def _free_samples(fields: list, truth: dict, rng: np.random.Generator) -> tuple[list[Images], list[int]]:
    right: list[tuple[Images, int]] = []
    wrong: list[Images] = []
    for cut in _free_cuts(fields, truth, pairs=False):
        if np.count_nonzero(cut.covers >= MERGED_COVER) >= 2:
            wrong.append(cut.image)  # two characters in one candidate, however wide
        elif cut.matches():
            char = truth["text"][cut.best]
            right.append((cut.image, int(char) if char.isdigit() else REJECT))
        elif 0.0 < cut.iou[cut.best] < WRONG_IOU and cut.box.w >= WRONG_MIN_ASPECT * cut.box.h:
            wrong.append(cut.image)
    keep = int(WRONG_PER_RIGHT * len(right))
    if len(wrong) > keep:
        wrong = [wrong[i] for i in rng.choice(len(wrong), keep, replace=False)]
    return [i for i, _ in right] + wrong, [label for _, label in right] + [REJECT] * len(wrong)


def _comb_strip(rng: np.random.Generator, digits: DigitSet, oversize_share: float) -> tuple[NDArray[np.uint8], dict]:
    """A degraded strip of page holding one comb field (``oversize_share`` of its digits oversize) and its truth."""
    scale = float(rng.uniform(0.9, 1.3))
    width, height = round(REFERENCE_LONG_SIDE_PX * scale), round(180 * scale)
    page = np.full((height, width), float(rng.uniform(215, 250)), np.float32)
    if rng.random() < 0.25:
        page -= security_pattern(page.shape, rng) * float(rng.uniform(10, 30))
    x0 = round(rng.uniform(60, 400) * scale)
    comb = draw_comb(page, digits, rng, x0, round(40 * scale), scale, oversize_share)
    return degrade(page, rng, FormParams(), scale, float(rng.uniform(-3.0, 3.0))), comb


def _comb_pair_samples(fields: list, truth: dict) -> tuple[list[Images], list[tuple[int, int, int]]]:
    """The comb pair candidates the reader plans (two cells joined by ink across their wall), labelled
    from the drawing: (1, left, right) when both cells hold a digit, else (0, IGNORE, IGNORE)
    (one digit and its spill)."""
    images: list[Images] = []
    targets: list[tuple[int, int, int]] = []
    for f in fields:
        if f.kind != "comb":
            continue
        plan = plan_comb(f, pairs=True)
        for image, j in zip(plan.pair_images, plan.pair_left, strict=True):
            a = plan.cell_index[j]
            left, right = _drawn_in(truth, f.cells[a]), _drawn_in(truth, f.cells[a + 1])
            if left is None or right is None or not (left or right):
                continue  # a misfound wall, or ink with no digit drawn on either side
            images.append(image)
            targets.append((1, int(left), int(right)) if left and right else (0, PAIR_IGNORE, PAIR_IGNORE))
    return images, targets


def comb_pair_samples(
    digits: DigitSet, count: int, seed: int, oversize_share: float = COMB_PAIR_OVERSIZE
) -> tuple[Images, NDArray[np.int64]]:
    """``count`` comb pair candidates cut by the page reader: images (N, 28, 56) float32 and targets
    (N, 3) int64 = is_pair, left, right (as :func:`recognition.pairs.pair_batch`). Deterministic for a
    given ``seed`` and digit set."""
    rng = np.random.default_rng((seed, 4_242))
    images: list[Images] = []
    targets: list[tuple[int, int, int]] = []
    while len(targets) < count:
        gray, comb = _comb_strip(rng, digits, oversize_share)
        new_images, new_targets = _comb_pair_samples(find_fields(prepare_page(gray)), comb)
        images += new_images
        targets += new_targets
    return np.stack(images[:count]).astype(np.float32), np.asarray(targets[:count], dtype=np.int64)


def _hard_line(rng: np.random.Generator, digits: DigitSet) -> tuple[Field, dict] | None:
    """A hard line-mode string (:func:`recognition.synthetic.make_line_with_boxes`) cut as line mode
    cuts it, and its truth like a free string's; None when line mode finds no ink in it."""
    line, text, boxes = make_line_with_boxes(rng, digits, height=int(rng.integers(80, 160)))
    try:
        field = line_field(line)
    except InvalidInput:
        return None
    return field, {"text": text, "bbox": field.box.to_list(), "chars": boxes}


def _free_pair_samples(
    fields: list, truth: dict, rng: np.random.Generator
) -> tuple[list[Images], list[tuple[int, int, int]]]:
    """The pair candidates the reader plans in the free fields over ``truth``'s string, labelled
    from the drawing: (1, left, right) for a run that is exactly two neighbouring digits (it holds
    MERGED_COVER of both, matches their union at MATCH_IOU, and less than OTHER_COVER of any other
    character), else (0, IGNORE, IGNORE): a digit and a separator matched so; one character
    (thinned by FREE_PAIR_KEEP_SINGLE); a run matching no character or pair (a digit and a slice
    of the next, three digits; thinned by FREE_PAIR_KEEP_OTHER). Runs in between (a character or
    two matched loosely) are left out."""
    images: list[Images] = []
    targets: list[tuple[int, int, int]] = []
    for cut in _free_cuts(fields, truth, pairs=True):
        held = np.flatnonzero(cut.covers >= MERGED_COVER)
        if len(held) == 2 and held[1] == held[0] + 1:
            union = Box(*union_box([truth["chars"][i] for i in held]))
            if _iou(cut.box, union) < MATCH_IOU or cut.others(*held) >= OTHER_COVER:
                continue  # two characters, loosely: left out
            left, right = (truth["text"][i] for i in held)
            both = left.isdigit() and right.isdigit()
            images.append(cut.image)  # two characters: two digits, or a digit and a separator (not a pair)
            targets.append((1, int(left), int(right)) if both else (0, PAIR_IGNORE, PAIR_IGNORE))
            continue
        single = cut.matches()
        if single and rng.random() >= FREE_PAIR_KEEP_SINGLE:
            continue
        if not single and (cut.iou[cut.best] >= WRONG_IOU or rng.random() >= FREE_PAIR_KEEP_OTHER):
            continue  # a loose match of one character is neither
        images.append(cut.image)
        targets.append((0, PAIR_IGNORE, PAIR_IGNORE))
    return images, targets


def free_pair_samples(digits: DigitSet, count: int, seed: int) -> tuple[Images, NDArray[np.int64]]:
    """``count`` free-string pair candidates cut by the reader: images (N, 28, 56) float32 and targets
    (N, 3) int64 = is_pair, left, right (as :func:`recognition.pairs.pair_batch`), from hard line-mode
    strings (FREE_PAIR_LINE_SHARE) and the free strings of form strips. Deterministic for a given
    ``seed`` and digit set."""
    rng = np.random.default_rng((seed, 5_151))
    images: list[Images] = []
    targets: list[tuple[int, int, int]] = []
    while len(targets) < count:
        if rng.random() < FREE_PAIR_LINE_SHARE:
            hard = _hard_line(rng, digits)
            if hard is None:
                continue
            fields, truth = [hard[0]], hard[1]
        else:
            gray, _, free, _ = _strip(rng, digits)
            if free is None:
                continue
            fields, truth = find_fields(prepare_page(gray)), free
        new_images, new_targets = _free_pair_samples(fields, truth, rng)
        images += new_images
        targets += new_targets
    return np.stack(images[:count]).astype(np.float32), np.asarray(targets[:count], dtype=np.int64)


def field_samples(digits: DigitSet, count: int, seed: int) -> tuple[Images, Labels]:
    """``count`` labelled candidates ``(images (N, 28, 28) float32, labels (N,) int64)`` from synthetic fields.

    Deterministic for a given ``seed`` and digit set.
    """
    rng = np.random.default_rng((seed, 31_337))
    images: list[Images] = []
    labels: list[int] = []
    while len(labels) < count:
        if rng.random() < LINE_SHARE:
            hard = _hard_line(rng, digits)
            if hard is None:
                continue
            line_images, line_labels = _free_samples([hard[0]], hard[1], rng)
            images += line_images
            labels += line_labels
            continue
        gray, comb, free, printed = _strip(rng, digits)
        fields = find_fields(prepare_page(gray))
        new_images, new_labels = _comb_samples(fields, comb)
        for truth in (free, printed):
            if truth is not None:
                more_images, more_labels = _free_samples(fields, truth, rng)
                new_images += more_images
                new_labels += more_labels
        images += new_images
        labels += new_labels
    stacked = np.stack(images[:count]).astype(np.float32)
    return stacked, np.asarray(labels[:count], dtype=np.int64)
