"""Synthetic forms and digit strings built from MNIST test digits, with ground truth.

Used by tests, ``formdigits sample`` and the benchmarks; nothing here is used at
inference. Images are grayscale ``NDArray[np.uint8]`` (H, W), dark ink on light paper.
Truth boxes are ``[x, y, w, h]`` in the upright page frame: the page is drawn upright,
then rotated about its centre, which is the frame :func:`segmentation.fields.prepare_page`
returns to when it deskews.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.mnist import DigitSet, load_split

Gray = NDArray[np.uint8]
FONT = cv2.FONT_HERSHEY_SIMPLEX
TITLES = ("APPLICATION FORM", "ORDER FORM", "SURVEY", "CLAIM FORM", "REGISTRATION")
LABELS = ("Account number", "Postal code", "Amount", "Date", "Phone", "Customer ID", "Quantity", "Reference")
SEPARATORS = (",", ".", "-")
# MNIST pixels above this level are the digit's ink when cropping to its box.
MNIST_INK_LEVEL = 30


# Share of comb digits drawn oversize (1.0-1.2 of the cell's height, reaching over its walls).
COMB_OVERSIZE = 0.15


@dataclass(frozen=True, slots=True)
class FormParams:
    """Form size and degradations; sizes scale with ``width`` (1240 px = A4 at 150 dpi)."""

    width: int = 1240
    height: int = 1754
    max_skew_deg: float = 5.0
    max_blur_sigma: float = 1.0
    max_noise_sigma: float = 6.0
    jpeg_probability: float = 0.5
    texture_probability: float = 0.25
    comb_oversize: float = COMB_OVERSIZE


def security_pattern(shape: tuple[int, ...], rng: np.random.Generator) -> NDArray[np.float32]:
    """A guilloche-like background of wavy lines, 1.0 on the lines and 0.0 elsewhere, float32 (H, W)."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    period = float(rng.uniform(3.0, 7.0))
    waves = np.sin(xx / period + 3.0 * np.sin(yy / float(rng.uniform(8, 20))))
    return (waves > 0.6).astype(np.float32)


def load_digit_source(mnist_dir: Path) -> DigitSet:
    """MNIST t10k digits (never seen in training): ``images`` (N, 28, 28) ink bright, ``labels`` (N,)."""
    return load_split(Path(mnist_dir), "t10k")


def digit_alpha(source: DigitSet, label: int, height_px: int, rng: np.random.Generator) -> NDArray[np.float32]:
    """A random MNIST ``label`` as ink coverage (0..1, float32), cropped to its ink, ``height_px`` tall, slanted a bit."""
    index = int(rng.choice(np.flatnonzero(source.labels == label)))
    image = source.images[index]
    rows = np.flatnonzero(image.max(axis=1) > MNIST_INK_LEVEL)
    cols = np.flatnonzero(image.max(axis=0) > MNIST_INK_LEVEL)
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0
    h, w = crop.shape
    width = max(2, round(w * height_px / h))
    alpha = cv2.resize(crop, (width, height_px), interpolation=cv2.INTER_CUBIC)
    shear = float(rng.uniform(-0.15, 0.15))
    pad = int(abs(shear) * height_px) + 1
    matrix = np.array([[1.0, shear, pad - shear * height_px / 2.0], [0.0, 1.0, 0.0]], np.float32)
    alpha = cv2.warpAffine(alpha, matrix, (width + 2 * pad, height_px))
    cols = np.flatnonzero(alpha.max(axis=0) > 0.1)
    return np.clip(alpha[:, cols[0] : cols[-1] + 1], 0.0, 1.0)


def separator_alpha(kind: str, digit_height: int) -> tuple[NDArray[np.float32], int]:
    """A drawn ``,`` ``.`` or ``-`` as ink coverage, and its top offset from the digits' top."""
    size = max(6, digit_height // 3)
    canvas = np.zeros((size, size), np.float32)
    radius = max(2, digit_height // 16)
    if kind == "-":
        thickness = max(2, digit_height // 12)
        cv2.line(canvas, (1, size // 2), (size - 2, size // 2), 1.0, thickness)
        return canvas, digit_height // 2 - size // 2
    cv2.circle(canvas, (size // 2, radius + 1), radius, 1.0, -1)
    if kind == ",":
        cv2.line(canvas, (size // 2 + radius // 2, radius + 1), (size // 2 - radius, size - 2), 1.0, max(2, radius))
    return canvas, digit_height - radius - 2


def stamp(page: NDArray[np.float32], alpha: NDArray[np.float32], x: int, y: int, ink: float) -> list[int] | None:
    """Darken ``page`` with ``alpha`` at (x, y) towards level ``ink``; returns the tight ink box or None."""
    h, w = alpha.shape
    if x < 0 or y < 0 or x + w > page.shape[1] or y + h > page.shape[0]:
        return None
    region = page[y : y + h, x : x + w]
    region[:] = region * (1.0 - alpha) + ink * alpha
    rows = np.flatnonzero(alpha.max(axis=1) > 0.3)
    cols = np.flatnonzero(alpha.max(axis=0) > 0.3)
    if rows.size == 0:
        return None
    return [x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]


def union_box(boxes: list[list[int]]) -> list[int]:
    """The ``[x, y, w, h]`` box holding all ``boxes``."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return [x0, y0, x1 - x0, y1 - y0]


def draw_string(
    page: NDArray[np.float32],
    source: DigitSet,
    rng: np.random.Generator,
    *,
    x: int,
    baseline: int,
    height: int,
    length: int,
    ink: float,
    separators: bool = True,
    overlap: float = 0.15,
) -> tuple[str, list[int], list[list[int]]] | None:
    """Draw a digit string with its bottom on ``baseline``; None if it won't fit.

    Returns its text, its tight box and one tight box per character of the text.

    Gaps between digits are uniform in ``[-overlap, 0.3]`` x the height, so some digits
    touch or overlap; with ``separators`` a ``,`` ``.`` or ``-`` may follow a digit.
    """
    text, boxes = "", []
    for position in range(length):
        digit = int(rng.integers(0, 10))
        h = max(8, round(height * rng.uniform(0.85, 1.1)))
        alpha = digit_alpha(source, digit, h, rng)
        top = baseline - h + int(rng.integers(-h // 12, h // 12 + 1))
        box = stamp(page, alpha, x, top, ink)
        if box is None:
            return None
        text, x = text + str(digit), box[0] + box[2] + round(height * rng.uniform(-overlap, 0.3))
        boxes.append(box)
        if separators and position < length - 1 and rng.random() < 0.12:
            kind = str(rng.choice(SEPARATORS))
            mark, offset = separator_alpha(kind, height)
            x += round(0.15 * height)
            mark_box = stamp(page, mark, x, baseline - height + offset, ink)
            if mark_box is None:
                return None
            text, x = text + kind, mark_box[0] + mark_box[2] + round(0.2 * height)
            boxes.append(mark_box)
    return text, union_box(boxes), boxes


def draw_comb(
    page: NDArray[np.float32],
    source: DigitSet,
    rng: np.random.Generator,
    x0: int,
    y0: int,
    scale: float,
    oversize_share: float = COMB_OVERSIZE,
) -> dict[str, Any]:
    """A row of boxes with one digit per cell (some empty, some crossing the lines)."""
    cells = int(rng.integers(4, 11))
    cell_w, cell_h = round(rng.uniform(50, 70) * scale), round(rng.uniform(62, 82) * scale)
    thickness = max(1, round(rng.uniform(1, 3) * scale))
    line_level = float(rng.uniform(20, 90))
    cv2.rectangle(page, (x0, y0), (x0 + cells * cell_w, y0 + cell_h), line_level, thickness)
    for i in range(1, cells):
        cv2.line(page, (x0 + i * cell_w, y0), (x0 + i * cell_w, y0 + cell_h), line_level, thickness)
    ink = float(rng.uniform(0, 70))
    truth_cells: list[dict[str, Any]] = []
    for i in range(cells):
        cell = [x0 + i * cell_w, y0, cell_w, cell_h]
        if rng.random() < 0.15:
            truth_cells.append({"bbox": cell, "text": ""})
            continue
        digit = int(rng.integers(0, 10))
        oversize = rng.random() < oversize_share
        h = round(cell_h * (rng.uniform(1.0, 1.2) if oversize else rng.uniform(0.55, 0.85)))
        alpha = digit_alpha(source, digit, h, rng)
        w = alpha.shape[1]
        x = x0 + i * cell_w + (cell_w - w) // 2 + int(rng.integers(-cell_w // 10, cell_w // 10 + 1))
        y = y0 + (cell_h - h) // 2 + int(rng.integers(-cell_h // 10, cell_h // 10 + 1))
        stamp(page, alpha, x, y, ink)
        truth_cells.append({"bbox": cell, "text": str(digit)})
    text = "".join(c["text"] for c in truth_cells)
    return {"kind": "comb", "bbox": [x0, y0, cells * cell_w, cell_h], "text": text, "cells": truth_cells}


def _draw_free(
    page: NDArray[np.float32], source: DigitSet, rng: np.random.Generator, x0: int, baseline: int, scale: float
) -> dict[str, Any] | None:
    """A handwritten string on a guide line."""
    height = round(rng.uniform(40, 65) * scale)
    length = int(rng.integers(3, 9))
    line_end = min(page.shape[1] - round(40 * scale), x0 + round(length * 0.9 * height + 80 * scale))
    cv2.line(page, (x0, baseline + 2), (line_end, baseline + 2), float(rng.uniform(30, 110)), max(1, round(scale)))
    drawn = draw_string(
        page, source, rng, x=x0 + round(15 * scale), baseline=baseline, height=height, length=length,
        ink=float(rng.uniform(0, 70)),
    )  # fmt: skip
    if drawn is None:
        return None
    text, box, _ = drawn
    return {"kind": "free", "bbox": box, "text": text, "cells": []}


def degrade(
    page: NDArray[np.float32], rng: np.random.Generator, params: FormParams, scale: float, angle: float
) -> Gray:
    """Rotate by ``angle`` degrees (counter-clockwise), blur, add noise, maybe JPEG-compress; returns uint8."""
    h, w = page.shape
    paper = float(np.median(page))
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    rotated = np.asarray(cv2.warpAffine(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=paper))
    sigma = float(rng.uniform(0.0, params.max_blur_sigma)) * scale
    if sigma > 0.3:
        rotated = np.asarray(cv2.GaussianBlur(rotated, (0, 0), sigma))
    noisy = rotated + rng.normal(0.0, rng.uniform(1.0, params.max_noise_sigma), rotated.shape)
    gray: Gray = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < params.jpeg_probability:
        quality = int(rng.integers(50, 91))
        ok, encoded = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            gray = np.asarray(cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE), dtype=np.uint8)
    return gray


def make_form(
    rng: np.random.Generator, digits_source: DigitSet, params: FormParams = FormParams()
) -> tuple[Gray, dict[str, Any]]:
    """A filled-in form: title, labels, 2-4 comb fields and 1-3 free strings, skewed and degraded.

    Returns ``(gray, truth)``: the (height, width) uint8 page and ``{"fields": [{"name",
    "kind", "bbox", "text", "cells"}], "skew_deg"}`` with boxes in the upright frame,
    fields in reading order (each on its own row), named ``field-1``...
    """
    scale = params.width / 1240.0
    page = np.full((params.height, params.width), float(rng.uniform(215, 250)), np.float32)
    shade = np.linspace(float(rng.uniform(0.85, 1.0)), 1.0, params.width, dtype=np.float32)
    page *= shade[None, :] if rng.random() < 0.5 else shade[::-1][None, :]
    if rng.random() < params.texture_probability:
        page -= security_pattern(page.shape, rng) * float(rng.uniform(10, 30))
    # Printed text goes on its own uint8 layer (cv2.putText draws on 8-bit images only).
    printed = np.full(page.shape, 255, np.uint8)
    title = str(rng.choice(TITLES))
    cv2.putText(
        printed, title, (round(120 * scale), round(110 * scale)), FONT, 1.4 * scale, 30, max(1, round(3 * scale))
    )

    kinds = ["comb"] * int(rng.integers(2, 5)) + ["free"] * int(rng.integers(1, 4))
    rng.shuffle(kinds)
    fields: list[dict[str, Any]] = []
    y = round(200 * scale)
    row_h = (params.height - y - round(80 * scale)) // len(kinds)
    for kind in kinds:
        x0 = round(rng.uniform(80, 200) * scale)
        label = str(rng.choice(LABELS))
        label_y = y + round(25 * scale)
        label_size = (FONT, 0.6 * scale, max(1, round(scale)))
        top = label_y + round(20 * scale)
        baseline = top + round(85 * scale)
        if kind == "free" and rng.random() < 0.5:
            # The label on the string's line, to its left (close to the digits, much smaller).
            cv2.putText(printed, label, (x0, baseline), *label_size[:2], 40, label_size[2])
            (label_w, _), _ = cv2.getTextSize(label, *label_size)
            x0 += label_w + round(rng.uniform(10, 40) * scale)
        else:
            cv2.putText(printed, label, (x0, label_y), *label_size[:2], 40, label_size[2])
        if kind == "comb":
            field = draw_comb(page, digits_source, rng, x0, top + round(10 * scale), scale, params.comb_oversize)
        else:
            drawn = _draw_free(page, digits_source, rng, x0, baseline, scale)
            if drawn is None:
                y += row_h
                continue
            field = drawn
        fields.append(field)
        y += row_h
    for number, field in enumerate(fields, start=1):
        field["name"] = f"field-{number}"
    page *= printed.astype(np.float32) / 255.0
    angle = float(rng.uniform(-params.max_skew_deg, params.max_skew_deg))
    gray = degrade(page, rng, params, scale, angle)
    return gray, {"fields": fields, "skew_deg": angle}


def _line_paper(
    rng: np.random.Generator, height: int, width: int, digit_h: int
) -> tuple[NDArray[np.float32], float, int]:
    """A line's paper (maybe a security background, maybe a guide line under the writing) for
    digits ``digit_h`` high: ``(page, paper level, baseline)``."""
    paper = float(rng.uniform(215, 250))
    page = np.full((height, width), paper, np.float32)
    if rng.random() < 0.6:
        page -= security_pattern(page.shape, rng) * float(rng.uniform(15, 40))
    baseline = (height + digit_h) // 2
    if rng.random() < 0.7:
        guide_y = baseline + int(rng.integers(-digit_h // 5, 4))
        cv2.line(page, (4, guide_y), (width - 4, guide_y), float(rng.uniform(40, 120)), int(rng.integers(1, 4)))
    return page, paper, baseline


def make_line(rng: np.random.Generator, digits_source: DigitSet, *, height: int = 120) -> tuple[Gray, str]:
    """A hard line-mode string (cheque amount, ZIP code): ``(gray, text)``.

    Digits touch and overlap, strokes are sometimes broken, separators appear, a guide
    line may run under or through the digits, a box may frame the string, and the
    background may be a tinted security pattern. ``gray`` is (height, W) uint8 with W fitting the string.
    """
    gray, text, _ = make_line_with_boxes(rng, digits_source, height=height)
    return gray, text


def make_line_with_boxes(
    rng: np.random.Generator, digits_source: DigitSet, *, height: int = 120
) -> tuple[Gray, str, list[list[int]]]:
    """:func:`make_line` plus the tight box ``[x, y, w, h]`` of each character of the text."""
    length = int(rng.integers(3, 10))
    digit_h = round(height * rng.uniform(0.45, 0.65))
    width = round(length * digit_h * 1.8 + 2 * digit_h)  # room for the widest string; cropped below
    page, paper, baseline = _line_paper(rng, height, width, digit_h)
    drawn = draw_string(
        page, digits_source, rng, x=digit_h // 2, baseline=baseline, height=digit_h, length=length,
        ink=float(rng.uniform(0, 60)), overlap=0.3,
    )  # fmt: skip
    if drawn is None:
        raise ValueError(f"a {length}-digit string does not fit a {width}-px line")
    text, box, char_boxes = drawn
    if rng.random() < 0.3:
        # A broken stroke: a thin gap of paper across one digit.
        x = box[0] + int(rng.integers(0, max(1, box[2])))
        cv2.line(page, (x, box[1]), (x + digit_h // 4, box[1] + box[3]), paper, 1)
    page = np.ascontiguousarray(page[:, : min(width, box[0] + box[2] + digit_h // 2)])
    if rng.random() < 0.2:
        # An amount box around the string.
        level, thickness = float(rng.uniform(40, 120)), int(rng.integers(1, 3))
        cv2.rectangle(page, (2, 3), (page.shape[1] - 3, height - 4), level, thickness)
    page += rng.normal(0.0, rng.uniform(1.0, 5.0), page.shape).astype(np.float32)
    return np.clip(page, 0, 255).astype(np.uint8), text, char_boxes


def make_cents_line(rng: np.random.Generator, digits_source: DigitSet, *, height: int = 120) -> tuple[Gray, str]:
    """An amount with its cents written raised, as on many cheques (125 and a small 50 high after it):
    ``(gray, text)``, the text the digits (and the main part's separators) with no mark for the cents.

    The main part is drawn like :func:`make_line`'s strings (overlaps, separators, a guide line
    under it, a security background); two digits 0.45-0.65 as high follow it, their tops near
    the main digits' tops, underlined by hand half of the time.
    """
    length = int(rng.integers(1, 7))
    digit_h = round(height * rng.uniform(0.45, 0.6))
    width = round((length + 2) * digit_h * 1.8 + 2 * digit_h)
    page, _, baseline = _line_paper(rng, height, width, digit_h)
    ink = float(rng.uniform(0, 60))
    main = draw_string(
        page, digits_source, rng, x=digit_h // 2, baseline=baseline, height=digit_h, length=length, ink=ink,
        overlap=0.3,
    )  # fmt: skip
    if main is None:
        raise ValueError(f"a {length}-digit amount does not fit a {width}-px line")
    text, box, _ = main
    small = round(digit_h * rng.uniform(0.45, 0.65))
    top = max(small // 4 + 2, box[1] + int(rng.integers(-digit_h // 10, digit_h // 10 + 1)))  # on the line
    cents = draw_string(
        page, digits_source, rng, x=box[0] + box[2] + round(digit_h * rng.uniform(0.05, 0.3)),
        baseline=top + small, height=small, length=2, ink=ink, separators=False, overlap=0.1,
    )  # fmt: skip
    if cents is None:
        raise ValueError("the cents do not fit the line")
    cents_text, cents_box, _ = cents
    end = cents_box[0] + cents_box[2]
    if rng.random() < 0.5:
        reach = round(small * rng.uniform(0.0, 0.3))
        y = cents_box[1] + cents_box[3] + round(small * rng.uniform(0.05, 0.25))
        thick = max(2, round(digit_h * rng.uniform(0.05, 0.09)))
        tilt = int(rng.integers(-2, 3))
        cv2.line(page, (cents_box[0] - reach, y), (end + reach, y + tilt), ink, thick, cv2.LINE_AA)
        end += reach
    page = np.ascontiguousarray(page[:, : min(width, end + digit_h // 2)])
    page += rng.normal(0.0, rng.uniform(1.0, 5.0), page.shape).astype(np.float32)
    return np.clip(page, 0, 255).astype(np.uint8), text + cents_text


CHECK_SIGNS = ("$", "$", "#", "*")
CHECK_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX)


def make_check_line(rng: np.random.Generator, digits_source: DigitSet, *, height: int = 120) -> tuple[Gray, str]:
    """A cheque amount: a :func:`make_line` string with a printed sign before it (``$``, ``#``, ``*``)
    and/or a hand-drawn fence after it (a long stroke or ``=``); ``(gray, text)``, text as
    :func:`make_line`'s (the sign and the fence are not part of it).

    The signs are printed with OpenCV's fonts; the networks learnt currency signs from
    hand-drawn shapes (:mod:`recognition.nondigits`), never from these.
    """
    gray, text = make_line(rng, digits_source, height=height)
    rows = np.flatnonzero((gray < np.median(gray) - 60).any(axis=1))
    digit_h = int(rows[-1] - rows[0] + 1) if rows.size else height // 2
    paper = float(np.median(gray))
    ink = float(rng.uniform(0, 60))
    lead, trail = rng.random() < 0.8, rng.random() < 0.5
    if not lead and not trail:
        lead = True
    parts = [gray.astype(np.float32)]
    if lead:
        sign, font = str(rng.choice(CHECK_SIGNS)), int(rng.choice(CHECK_FONTS))
        scale = digit_h * rng.uniform(0.8, 1.1) / 24.0  # a scale of 1 prints digits about 22 px high
        thickness = max(1, round(scale * rng.uniform(1.5, 3.0)))
        (w, h), _ = cv2.getTextSize(sign, font, scale, thickness)
        printed = np.full((height, w + round(digit_h * rng.uniform(0.2, 0.6)) + 8), round(paper), np.uint8)
        baseline = min(height - 4, (height + h) // 2 + int(rng.integers(-3, 4)))
        cv2.putText(printed, sign, (4, baseline), font, scale, round(ink), thickness, cv2.LINE_AA)  # uint8 only
        parts.insert(0, printed.astype(np.float32))
    if trail:
        length = round(digit_h * rng.uniform(0.6, 1.5))
        pad = np.full((height, length + digit_h // 2), paper, np.float32)
        y, thick = height // 2 + int(rng.integers(-digit_h // 6, digit_h // 6 + 1)), max(2, digit_h // 12)
        x0 = round(digit_h * rng.uniform(0.1, 0.3))
        for dy in (-digit_h // 8, digit_h // 8) if rng.random() < 0.4 else (0,):
            cv2.line(pad, (x0, y + dy), (x0 + length, y + dy + int(rng.integers(-3, 4))), ink, thick, cv2.LINE_AA)
        parts.append(pad)
    out = np.hstack(parts)
    out += rng.normal(0.0, 2.0, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8), text


def field_at(truth_field: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The read field (JSON form) whose box holds the centre of a ground-truth field, if any."""
    x, y, w, h = truth_field["bbox"]
    cx, cy = x + w / 2, y + h / 2
    for f in fields:
        fx, fy, fw, fh = f["bbox"]
        if fx <= cx < fx + fw and fy <= cy < fy + fh:
            return f
    return None


def truth_digits(truth_field: dict[str, Any]) -> str:
    """The digits a ground-truth field should read as (separators left out, like ``text``)."""
    return "".join(c for c in truth_field["text"] if c.isdigit())


def skeleton(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The one-pixel-wide centre lines of a binary mask's strokes (ink > 0 -> 255): Zhang-Suen thinning.

    Zhang and Suen, "A fast parallel algorithm for thinning digital patterns" (CACM 1984): each
    pass takes off the border pixels whose removal keeps every stroke connected and its ends in
    place, from the south-east, then from the north-west, until a pass takes none.
    """
    image = np.pad((mask > 0).astype(np.uint8), 1)
    centre = image[1:-1, 1:-1]  # a view: clearing it clears ``image``
    while True:
        removed = False
        for first in (True, False):
            p = image
            # The 8 neighbours clockwise from the one above (P2 .. P9 in the paper).
            ring = [
                p[:-2, 1:-1],
                p[:-2, 2:],
                p[1:-1, 2:],
                p[2:, 2:],
                p[2:, 1:-1],
                p[2:, :-2],
                p[1:-1, :-2],
                p[:-2, :-2],
            ]
            count = sum(n.astype(np.int32) for n in ring)
            turns = sum(((ring[i] == 0) & (ring[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            up, right, down, left = ring[0], ring[2], ring[4], ring[6]
            if first:
                side = ((up & right & down) == 0) & ((right & down & left) == 0)
            else:
                side = ((up & right & left) == 0) & ((up & down & left) == 0)
            gone = (centre == 1) & (count >= 2) & (count <= 6) & (turns == 1) & side
            if gone.any():
                centre[gone] = 0
                removed = True
        if not removed:
            return (centre * 255).astype(np.uint8)


def redraw_with_pen(gray: Gray, width: int, *, ink: float = 30.0) -> Gray:
    """A clean line image (dark ink on even paper) drawn again with a round pen ``width`` px wide.

    MNIST strokes are about an eighth of a digit's height wide; a ballpoint on a 300 dpi scan
    draws about a twentieth. The ink (Otsu) is thinned to its centre lines, which are drawn again
    with a disc ``width`` px across, anti-aliased, on the image's paper level. Meant for lines with
    no background pattern or guide line (those would be redrawn as strokes too); filled loops
    come back as spurs, as a thinning makes them.
    """
    if width < 1:
        raise ValueError(f"a pen is at least 1 px wide, not {width}")
    _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    centre_lines = skeleton(np.asarray(mask, dtype=np.uint8))
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    stroke = cv2.dilate(centre_lines, pen) if width > 1 else centre_lines
    alpha = cv2.GaussianBlur(stroke.astype(np.float32) / 255.0, (0, 0), 0.6)
    paper = float(np.median(gray))
    return np.asarray(np.clip(paper - (paper - ink) * alpha, 0, 255), dtype=np.uint8)


FRAMES = ("box", "tight", "cut", "cut-bottom")


def framed(gray: Gray, rng: np.random.Generator, kind: str) -> Gray:
    """A line image as cut out of a printed amount box around its writing (benchmark data).

    The box (1-3 px, gray level 20-110, sometimes blurred) lies 2-9 px above and below the
    writing and 3-11 px beside it. ``kind``: ``box``, the box with a few px of paper around it;
    ``tight``, cut along the box's outer edge (its rules on the image's edges); ``cut``, cut
    inside its top and bottom rules (only the sides are left, running off the image);
    ``cut-bottom``, inside its bottom rule only.
    """
    if kind not in FRAMES:
        raise ValueError(f"unknown frame {kind!r}; expected one of {FRAMES}")
    dark = gray < float(np.median(gray)) - 60
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    thick, level = int(rng.integers(1, 4)), float(rng.uniform(20, 110))
    margin = int(rng.integers(3, 14))
    paper = float(np.median(gray))  # not the edge replicated: ink cut by the edge (a tall $) would be drawn on
    out = np.asarray(cv2.copyMakeBorder(gray, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=paper))
    h, w = out.shape
    top = max(1, int(rows[0]) + margin - int(rng.integers(2, 10)))
    bottom = min(h - 2, int(rows[-1]) + margin + int(rng.integers(2, 10)))
    left = max(1, int(cols[0]) + margin - int(rng.integers(3, 12)))
    right = min(w - 2, int(cols[-1]) + margin + int(rng.integers(3, 12)))
    for start, end in (((left, top), (left, bottom)), ((right, top), (right, bottom))):
        cv2.line(out, start, end, level, thick)
    for start, end in (((left, top), (right, top)), ((left, bottom), (right, bottom))):
        cv2.line(out, start, end, level, thick)
    if rng.random() < 0.5:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), 0.8))
    half = thick // 2
    around = (max(0, left - 6), right + 7)
    crop = {
        "box": (slice(max(0, top - 6), bottom + 7), slice(*around)),
        "tight": (slice(top - half, bottom + half + 1), slice(left - half, right + half + 1)),
        "cut": (slice(top + thick + 1, bottom - thick), slice(*around)),
        "cut-bottom": (slice(max(0, top - 6), bottom - thick), slice(*around)),
    }[kind]
    return np.ascontiguousarray(out[crop])


def tilted(gray: Gray, angle_deg: float) -> Gray:
    """``gray`` turned ``angle_deg`` counter-clockwise (a slanted amount, a sheet scanned askew) on
    a canvas grown to hold all of it, the paper's median level around (benchmark data)."""
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = (round(w * cos + h * sin), round(w * sin + h * cos))
    matrix[0, 2] += size[0] / 2.0 - w / 2.0
    matrix[1, 2] += size[1] / 2.0 - h / 2.0
    return np.asarray(cv2.warpAffine(gray, matrix, size, borderValue=float(np.median(gray))), np.uint8)
