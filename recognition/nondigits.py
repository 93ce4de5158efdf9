"""Synthetic not-a-digit crops for the classifier's 11th class.

A page reader meets specks, punctuation (comma, point, dash, slash), remnants of
printed box lines, halves of digits and two digits merged into one blob. Each of these
is drawn here as an ink-bright uint8 crop and normalised like any digit, so the network
learns what they look like *after* normalisation. Shapes that are legitimately digits
(a plain vertical bar is a 1, a corner with a long down stroke is a 7) are not drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from recognition.normalise import normalise_digit
from segmentation.cleanup import as_gray
from segmentation.errors import InvalidInput

CANVAS = 64
MAX_TRIES = 5

Shape = NDArray[np.uint8]


def _canvas() -> Shape:
    return np.zeros((CANVAS, CANVAS), dtype=np.uint8)


def _blob(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    image = _canvas()
    axes = (int(rng.integers(6, 20)), int(rng.integers(6, 20)))
    cv2.ellipse(image, (32, 32), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    return image


def _dash(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    image = _canvas()
    length, thick = int(rng.integers(24, 58)), int(rng.integers(3, 9))
    angle = np.deg2rad(rng.uniform(-12, 12))
    dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
    cv2.line(image, (int(32 - dx), int(32 - dy)), (int(32 + dx), int(32 + dy)), 255, thick)
    return image


def _slash(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    image = _canvas()
    # Far from vertical: a slanted 1 rarely leans more than about 30 degrees.
    angle = np.deg2rad(rng.uniform(38, 70) * rng.choice([-1, 1]))
    length = rng.uniform(35, 58)
    dx, dy = np.sin(angle) * length / 2, np.cos(angle) * length / 2
    cv2.line(image, (int(32 - dx), int(32 + dy)), (int(32 + dx), int(32 - dy)), 255, int(rng.integers(3, 7)))
    return image


def _comma(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    image = _canvas()
    radius = int(rng.integers(5, 9))
    cv2.circle(image, (32, 26), radius, 255, -1)
    tail = np.array([[32 + radius - 2, 26], [32 + radius - 3, 40], [int(rng.integers(18, 28)), 50]], np.int32)
    cv2.polylines(image, [tail], False, 255, max(2, radius // 2))
    return image


def _corner(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    """Remnants of printed box lines: corners and T-joins that no digit looks like."""
    image = _canvas()
    thick = int(rng.integers(2, 6))
    a, b = int(rng.integers(8, 20)), int(rng.integers(44, 58))
    kind = int(rng.integers(4))
    if kind == 0:  # bottom-left corner
        cv2.line(image, (a, a), (a, b), 255, thick)
        cv2.line(image, (a, b), (b, b), 255, thick)
    elif kind == 1:  # bottom-right corner
        cv2.line(image, (b, a), (b, b), 255, thick)
        cv2.line(image, (a, b), (b, b), 255, thick)
    elif kind == 2:  # inverted T: a line with a short stub standing on it
        cv2.line(image, (a, b), (b, b), 255, thick)
        cv2.line(image, (32, b), (32, b - int(rng.integers(6, 16))), 255, thick)
    else:  # a long line with a short hook of handwriting left on it
        cv2.line(image, (4, 40), (60, 40), 255, thick)
        cv2.ellipse(image, (int(rng.integers(20, 44)), 34), (6, 6), 0, 180, 360, 255, thick)
    return image


def _half_digit(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    """A flat top or bottom slice of a digit (the part a bad cut leaves behind).

    Only slices clearly wider than tall are used: a narrow slice of a 1 or the left part of
    a 0 normalises to something a person would also read as a 1, and teaching the network
    to reject those made it reject real 1s and 0s.
    """
    for _ in range(MAX_TRIES):
        digit = digits[int(rng.integers(len(digits)))]
        ys, xs = np.nonzero(digit > 64)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        keep = max(2, int((y1 - y0) * rng.uniform(0.22, 0.4)))
        part = digit[y0 : y0 + keep, x0:x1] if rng.random() < 0.5 else digit[y1 - keep : y1, x0:x1]
        pys, pxs = np.nonzero(part > 64)
        if len(pxs) and np.ptp(pxs) + 1 >= 1.6 * (np.ptp(pys) + 1):
            return cv2.copyMakeBorder(part, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=0)
    return _dash(rng, digits)


def _pair(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    """Two (or three) digits touching or overlapping: one blob that must be split, not read."""
    count = 2 if rng.random() < 0.8 else 3
    parts = []
    for _ in range(count):
        digit = digits[int(rng.integers(len(digits)))]
        xs = np.nonzero(digit.max(axis=0) > 64)[0]
        parts.append(digit[:, xs.min() : xs.max() + 1])
    overlap = int(rng.integers(-1, 4))
    width = sum(p.shape[1] for p in parts) - overlap * (count - 1)
    image = np.zeros((28, width + 8), dtype=np.uint8)
    x = 4
    for part in parts:
        region = image[:, x : x + part.shape[1]]
        np.maximum(region, part, out=region)
        x += part.shape[1] - overlap
    return image


def _specks(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    image = _canvas()
    for _ in range(int(rng.integers(2, 6))):
        centre = (int(rng.integers(10, 54)), int(rng.integers(10, 54)))
        cv2.circle(image, centre, int(rng.integers(2, 6)), 255, -1)
    return image


def _stroke(image: Shape, points: NDArray[np.float64], thick: int) -> None:
    cv2.polylines(image, [np.round(points).astype(np.int32)], False, 255, thick, cv2.LINE_AA)


def _arc(centre: tuple[float, float], radii: tuple[float, float], start: float, stop: float) -> NDArray[np.float64]:
    """Points along an elliptic arc, angles in degrees (0 = right, 90 = down, as cv2 draws)."""
    t = np.deg2rad(np.linspace(start, stop, 24))
    return np.stack([centre[0] + radii[0] * np.cos(t), centre[1] + radii[1] * np.sin(t)], axis=1)


def _symbol(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    """A hand-drawn currency sign or mark written beside amounts: $, €, £, # or *.

    Cheque amounts begin with a printed or written currency sign and are fenced with marks;
    such ink is of digit size, and an S with a bar through it otherwise reads as an 8 or a 5.
    """
    image = _canvas()
    thick = int(rng.integers(3, 8))
    kind = str(rng.choice(["dollar", "dollar", "dollar", "euro", "pound", "hash", "star"]))
    h, w = rng.uniform(36, 52), rng.uniform(22, 34)
    top, left = 32 - h / 2, 32 - w / 2
    if kind == "dollar":
        thick = int(rng.integers(3, 12))  # printed signs are often bold
        r = (w / 2, h / 4)
        upper = _arc((32, top + h / 2 - r[1]), r, 330, 90)  # from the upper right over the top and round the left
        lower = _arc((32, top + h / 2 + r[1]), r, 270, 510)  # round the right to the lower left
        _stroke(image, np.concatenate([upper, lower]), thick)
        bars = 1 if rng.random() < 0.7 else 2
        stubs = rng.random() < 0.5  # the bar shows only above and below the S, as most typefaces print it
        for i in range(bars):
            x = 32 + (i - (bars - 1) / 2) * thick * 1.6 + rng.normal(0, 1)
            ends = [top - rng.uniform(3, 8), top + h + rng.uniform(3, 8)]
            pieces = [(ends[0], top + thick / 2), (top + h - thick / 2, ends[1])] if stubs else [tuple(ends)]
            for y0, y1 in pieces:
                _stroke(image, np.array([[x, y0], [x + rng.normal(0, 1), y1]]), max(2, thick - 1))
    elif kind == "euro":
        _stroke(image, _arc((32 + w / 6, 32), (w / 2, h / 2), 50, 310), thick)
        for dy in (-h / 9, h / 9):
            _stroke(image, np.array([[left - 4, 32 + dy], [32 + w / 6, 32 + dy]]), max(2, thick - 1))
    elif kind == "pound":
        hook = _arc((32 + w / 6, top + h / 4), (w / 3, h / 4), 0, -180)  # a hook over the top, open below right
        stem = np.array([[32 + w / 6 - w / 3, top + h / 4], [32 - w / 5, top + h * 0.75], [left, top + h]])
        base = np.array([[left, top + h], [left + w, top + h - rng.uniform(0, 4)]])
        _stroke(image, np.concatenate([hook, stem[1:], base[1:]]), thick)
        _stroke(image, np.array([[left, 32 + h / 12], [32 + w / 4, 32 + h / 12]]), max(2, thick - 1))
    elif kind == "hash":
        lean = rng.uniform(2, 8)
        for dx in (-w / 5, w / 5):
            _stroke(image, np.array([[32 + dx + lean, top], [32 + dx - lean, top + h]]), thick)
        for dy in (-h / 6, h / 6):
            _stroke(image, np.array([[left, 32 + dy], [left + w, 32 + dy]]), thick)
    else:  # star
        for angle in rng.uniform(-12, 12) + np.array([0.0, 60.0, 120.0]):
            a = np.deg2rad(angle + 90)
            dx, dy = np.cos(a) * h / 2.4, np.sin(a) * h / 2.4
            _stroke(image, np.array([[32 - dx, 32 - dy], [32 + dx, 32 + dy]]), thick)
    shear = float(rng.uniform(-0.25, 0.25))
    matrix = np.array([[1.0, shear, -shear * 32], [0.0, 1.0, 0.0]], np.float32)
    return np.asarray(cv2.warpAffine(image, matrix, (CANVAS, CANVAS)), dtype=np.uint8)


def _fence(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    """A hand-drawn fence after an amount: an equals sign (sometimes three strokes), its strokes
    long, near level and a little wavy; alone, a digit-size candidate of it read as a 2 or a 5."""
    image = _canvas()
    bars = 2 if rng.random() < 0.8 else 3
    length, thick = rng.uniform(30, 60), int(rng.integers(3, 8))
    gap = rng.uniform(1.6, 4.0) * thick
    slope = rng.uniform(-0.12, 0.12)
    left = 32 - length / 2
    for i in range(bars):
        y = 32 + (i - (bars - 1) / 2) * gap
        xs = np.linspace(left + rng.normal(0, 2), left + length + rng.normal(0, 2), 8)
        ys = y + slope * (xs - 32) + rng.normal(0, 0.7, xs.size)
        _stroke(image, np.stack([xs, ys], axis=1), thick)
    return image


# Signs printed before amounts and numbers, in Pillow's own typeface (Aileron, shipped with Pillow, so
# training needs no font of the machine's): the check-line benchmark prints its signs with OpenCV's
# Hershey fonts, which no network sees in training.
PRINTED_SIGNS = "$$$$###**%&"


@lru_cache(maxsize=32)
def _typeface(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _printed(rng: np.random.Generator, digits: NDArray[np.uint8]) -> Shape:
    return printed_sign(rng)


def printed_sign(rng: np.random.Generator) -> Shape:
    """A printed sign ($, #, *, %, &) in regular to heavy weight, upright or slanted: an ink-bright
    uint8 image (128 x 128) with the sign about its middle."""
    sign = PRINTED_SIGNS[int(rng.integers(len(PRINTED_SIGNS)))]
    size = int(rng.integers(40, 64))
    image = Image.new("L", (2 * CANVAS, 2 * CANVAS), 0)
    weight = int(rng.integers(0, 4))  # an outline of this many px: regular to heavy
    ImageDraw.Draw(image).text(
        (CANVAS, CANVAS), sign, font=_typeface(size), fill=255, anchor="mm", stroke_width=weight, stroke_fill=255
    )
    shear = float(rng.uniform(-0.25, 0.1))  # italics lean right: a negative x-shear per row going down
    matrix = np.array([[1.0, shear, -shear * CANVAS], [0.0, 1.0, 0.0]], np.float32)
    return np.asarray(cv2.warpAffine(np.asarray(image), matrix, (2 * CANVAS, 2 * CANVAS)), dtype=np.uint8)


GENERATORS: dict[str, Callable[[np.random.Generator, NDArray[np.uint8]], Shape]] = {
    "blob": _blob,
    "dash": _dash,
    "slash": _slash,
    "comma": _comma,
    "corner": _corner,
    "half": _half_digit,
    "pair": _pair,
    "specks": _specks,
    "symbol": _symbol,
    "printed": _printed,
    "fence": _fence,
}
# How often each kind is drawn; pairs and halves matter most to the segmenter's search.
WEIGHTS = {
    "blob": 1.0,
    "dash": 1.0,
    "slash": 0.7,
    "comma": 0.8,
    "corner": 0.8,
    "half": 1.5,
    "pair": 2.5,
    "specks": 0.6,
    "symbol": 2.0,
    "printed": 1.5,
    "fence": 1.0,
}


def nondigit_crop(rng: np.random.Generator, digits: NDArray[np.uint8], kind: str | None = None) -> Shape:
    """Draw one ink-bright non-digit crop of the given (or a random) kind; ``digits`` are MNIST images."""
    if kind is None:
        names = list(WEIGHTS)
        p = np.array([WEIGHTS[n] for n in names])
        kind = names[int(rng.choice(len(names), p=p / p.sum()))]
    return GENERATORS[kind](rng, digits)


def nondigit_sample(
    rng: np.random.Generator, digits: NDArray[np.uint8], kind: str | None = None
) -> NDArray[np.float32]:
    """A normalised (28, 28) float32 non-digit, blurred a little like scanned ink.

    A draw that leaves no ink (a thin slice of a faint digit, say) is drawn again;
    a blob, which always has ink, is the last resort.
    """
    for _ in range(MAX_TRIES):
        crop = nondigit_crop(rng, digits, kind)
        if rng.random() < 0.5:
            crop = as_gray(cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.5, 1.2)))
        try:
            return normalise_digit(crop, ink_is_bright=True)
        except InvalidInput:
            continue
    return normalise_digit(_blob(rng, digits), ink_is_bright=True)
