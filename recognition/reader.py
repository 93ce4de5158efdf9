"""Read pages: segmentation proposes, the classifier scores, the best path over the atoms wins.

Three modes (:data:`MODES`): ``digit`` reads the whole image as one digit (any colours),
``line`` reads it as one handwritten digit string, ``page`` finds the comb and free fields
of a scanned form and reads each. Every candidate crop of an image is classified in one
batched model call. Boxes in the results are page pixels (the deskewed page in ``page`` mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.decoding import (
    StringPlan,
    decode_string,
    digit_result,
    normalise_mask,
    plan_string,
    separator_kind,
)
from recognition.model import REJECT
from recognition.results import DigitResult, FieldResult, PageResult, Separator
from segmentation.elements import Box, Field, GrayImage, Page
from segmentation.errors import InvalidInput
from segmentation.fields import PageParams, digit_field, find_fields, line_field, prepare_page

MODES = ("page", "line", "digit")
# Ink in a comb cell whose larger side is below this share of the cell height is dust.
CELL_SPECK_SHARE = 0.1


class ProbabilityModel(Protocol):
    """What the reader needs of a classifier: calibrated (N, 11) probabilities of (N, 28, 28) images."""

    def probabilities(self, images: NDArray[np.float32]) -> NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class ReadParams:
    """Reader tuning; ``review_threshold``: a digit below this confidence marks its field ``needs_review``.

    ``min_margin``: a string whose best reading beats the best reading with another text
    by fewer nats than this is marked ``needs_review`` (log 4: four times as likely).
    """

    review_threshold: float = 0.90
    max_atoms_per_digit: int = 4
    page: PageParams = field(default_factory=PageParams)
    min_margin: float = 1.386


def read_image(
    model: ProbabilityModel, gray: GrayImage, mode: str, params: ReadParams = ReadParams(), *, page_number: int = 1
) -> PageResult:
    """Read one grayscale image (dark ink on light paper, or any colours in ``digit`` mode) in ``mode``.

    ``gray`` is 2-D uint8; in ``digit`` mode ink and background may be any two gray levels.
    Raises ``InvalidInput`` for an unknown mode or an unusable image.
    """
    if mode not in MODES:
        raise InvalidInput(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    height, width = int(gray.shape[0]), int(gray.shape[1])
    if mode == "digit":
        fields = (read_digit(model, digit_field(gray), params),)
    elif mode == "line":
        fields = (read_string(model, line_field(gray, params.page), params),)
    else:
        prepared = prepare_page(gray, params.page)
        fields = read_fields(model, find_fields(prepared, params.page), params)
    return PageResult(page=page_number, width=width, height=height, fields=fields)


def read_page(model: ProbabilityModel, page: Page, mode: str, params: ReadParams = ReadParams()) -> PageResult:
    """Read a loaded :class:`Page`; the result carries its page number."""
    return read_image(model, page.image, mode, params, page_number=page.number)


def _ink_box(ink: GrayImage) -> Box | None:
    """The bounding box of the ink (255) of a binary image, or None when it is blank."""
    points = cv2.findNonZero(ink)
    if points is None:
        return None
    return Box(*(int(v) for v in cv2.boundingRect(points)))


def read_digit(model: ProbabilityModel, digit: Field, params: ReadParams = ReadParams()) -> FieldResult:
    """Read a field holding one digit (``digit`` mode): at most one digit, never a separator.

    A blank field or a not-a-digit verdict gives an empty text marked ``needs_review``.
    """
    box = _ink_box(digit.ink)
    empty = FieldResult(digit.name, digit.box, "", 1.0, True, (), kind="digit")
    if box is None:
        return empty
    try:
        image = normalise_mask(digit.ink[box.y : box.y2, box.x : box.x2])
    except InvalidInput:
        return empty
    p = model.probabilities(image[np.newaxis])[0]
    best = int(np.argmax(p))
    if best == REJECT:
        return FieldResult(digit.name, digit.box, "", 1.0, True, (), kind="digit")
    result = digit_result(best, p, box.shifted(digit.box.x, digit.box.y))
    return FieldResult(
        name=digit.name,
        box=digit.box,
        text=str(best),
        confidence=result.confidence,
        needs_review=result.confidence < params.review_threshold,
        digits=(result,),
        kind="digit",
    )


def read_string(model: ProbabilityModel, string: Field, params: ReadParams = ReadParams()) -> FieldResult:
    """Read a free field (binary ink = 255 covering ``string.box``) as a digit string; one model call."""
    plan = plan_string(string.ink, params.max_atoms_per_digit)
    return _decode(plan, model.probabilities(plan.images), string, params)


def _decode(plan: StringPlan, probabilities: NDArray[np.float32], string: Field, params: ReadParams) -> FieldResult:
    return decode_string(
        plan,
        probabilities,
        name=string.name,
        offset=string.box,
        review_threshold=params.review_threshold,
        min_margin=params.min_margin,
    )


@dataclass(frozen=True, slots=True)
class _CombPlan:
    """The non-empty cells of a comb field: ``cell_index[i]`` holds ``boxes[i]`` (field coordinates)."""

    cell_index: tuple[int, ...]
    boxes: tuple[Box, ...]
    masks: tuple[GrayImage, ...]
    images: NDArray[np.float32] = field(repr=False)


def plan_comb(comb: Field) -> _CombPlan:
    """One candidate per non-empty cell: the ink pieces whose centre lies in the cell, dust dropped."""
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(comb.ink, connectivity=8)
    cells = [c.shifted(-comb.box.x, -comb.box.y) for c in comb.cells]
    members: list[list[int]] = [[] for _ in cells]
    for label in range(1, count):
        w, h = int(stats[label, cv2.CC_STAT_WIDTH]), int(stats[label, cv2.CC_STAT_HEIGHT])
        cx = float(centroids[label, 0])
        for i, cell in enumerate(cells):
            if cell.x <= cx < cell.x2 and max(w, h) >= CELL_SPECK_SHARE * cell.h:
                members[i].append(label)
                break
    indices: list[int] = []
    boxes: list[Box] = []
    masks: list[GrayImage] = []
    images: list[NDArray[np.float32]] = []
    for i, labels_in_cell in enumerate(members):
        if not labels_in_cell:
            continue
        box = Box(*(int(v) for v in stats[labels_in_cell[0], :4]))
        for label in labels_in_cell[1:]:
            box = box.union(Box(*(int(v) for v in stats[label, :4])))
        window = labels[box.y : box.y2, box.x : box.x2]
        mask = np.where(np.isin(window, labels_in_cell), 255, 0).astype(np.uint8)
        try:
            images.append(normalise_mask(mask))
        except InvalidInput:
            continue
        indices.append(i)
        boxes.append(box)
        masks.append(mask)
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), np.float32)
    return _CombPlan(tuple(indices), tuple(boxes), tuple(masks), stacked)


def decode_comb(comb: Field, plan: _CombPlan, probabilities: NDArray[np.float32], params: ReadParams) -> FieldResult:
    """Per cell: the digit, or None (empty or a mark); marks that are not punctuation need review."""
    cells: list[int | None] = [None] * len(comb.cells)
    digits: list[DigitResult] = []
    separators: list[Separator] = []
    review = False
    for cell_index, box, mask, p in zip(plan.cell_index, plan.boxes, plan.masks, probabilities, strict=True):
        page_box = box.shifted(comb.box.x, comb.box.y)
        best = int(np.argmax(p))
        if best == REJECT:
            cell = comb.cells[cell_index]
            top = cell.y - comb.box.y
            kind = separator_kind(box, mask, top, top + cell.h)
            separators.append(Separator(position=len(digits), kind=kind, box=page_box))
            review = review or kind == "other"
            continue
        cells[cell_index] = best
        digits.append(digit_result(best, p, page_box))
    return FieldResult(
        name=comb.name,
        box=comb.box,
        text="".join(str(d.digit) for d in digits),
        confidence=math.prod(d.confidence for d in digits),
        needs_review=review or any(d.confidence < params.review_threshold for d in digits),
        digits=tuple(digits),
        separators=tuple(separators),
        kind="comb",
        cells=tuple(cells),
    )


def read_fields(
    model: ProbabilityModel, fields: list[Field], params: ReadParams = ReadParams()
) -> tuple[FieldResult, ...]:
    """Read comb and free fields of one page with a single batched model call, in the given order."""
    plans: list[StringPlan | _CombPlan] = [
        plan_comb(f) if f.kind == "comb" else plan_string(f.ink, params.max_atoms_per_digit) for f in fields
    ]
    sizes = [p.images.shape[0] for p in plans]
    images = np.concatenate([p.images for p in plans]) if plans else np.zeros((0, 28, 28), np.float32)
    probabilities = model.probabilities(images) if len(images) else np.zeros((0, 11), np.float32)
    results: list[FieldResult] = []
    start = 0
    for f, plan, size in zip(fields, plans, sizes, strict=True):
        rows = probabilities[start : start + size]
        start += size
        if isinstance(plan, _CombPlan):
            results.append(decode_comb(f, plan, rows, params))
        else:
            results.append(_decode(plan, rows, f, params))
    return tuple(results)
