"""Training strings for the line network, cut by the reader's own segmentation from synthetic drawings.

The line network (:mod:`recognition.sequence`) reads the ink mask the reader hands the decoder,
so its samples are made the same way: a string is drawn from digits of a :class:`DigitSet`,
degraded like a scan, and cut out by the real segmentation; the sample is that field's ink
mask at :data:`recognition.sequence.LINE_HEIGHT` pixels and the drawn text (digits and the
marks ``, . -``). Three kinds, in ``KIND_SHARES``:

- ``line``: a hard line-mode string (:func:`recognition.synthetic.make_line_with_boxes`:
  overlapping digits, broken strokes, separators, guide lines, frames, security backgrounds)
  cut by :func:`segmentation.fields.line_field`;
- ``strip``: a strip of form (:func:`recognition.fieldsamples._strip`: a comb, a free string
  on a guide line, maybe a printed title) read by :func:`segmentation.fields.find_fields`, the
  sample being the free field that matches the drawn string (IoU >= ``FIELD_MATCH_IOU``);
- ``simple``: MNIST digits pasted side by side at gaps of -2..6 px (a 28-px digit), scaled to
  60 px, cut by ``line_field``;
- ``font``: digits (and marks) in OpenCV's Hershey fonts, upright, italic or script, thin to
  bold, each drawn from a gap of a fifth of its height to a third of its width into the one
  before, cut by ``line_field``: neat narrow hands that MNIST has few of (two narrow zeros
  touching read as "010" before these were in the mix).

Used only for training and its evaluation; nothing here runs at inference. Never feed it MNIST
test digits for training.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.fieldsamples import _iou, _strip
from recognition.mnist import DigitSet
from recognition.sequence import scale_line
from recognition.synthetic import MNIST_INK_LEVEL, make_line_with_boxes
from segmentation.elements import Box
from segmentation.errors import InvalidInput
from segmentation.fields import find_fields, line_field, prepare_page

KIND_SHARES = {"line": 0.4, "strip": 0.35, "simple": 0.1, "font": 0.15}
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)
MARKS = ",.-"
FIELD_MATCH_IOU = 0.6

Sample = tuple[NDArray[np.uint8], str]  # (ink mask scaled to LINE_HEIGHT rows by scale_line, text)


def _simple(rng: np.random.Generator, digits: DigitSet) -> tuple[NDArray[np.uint8], str]:
    count = int(rng.integers(3, 9))
    picks = rng.choice(len(digits), count, replace=False)
    crops = []
    for index in picks:
        image = digits.images[index]
        columns = np.flatnonzero(image.max(axis=0) > MNIST_INK_LEVEL)
        crops.append(image[:, columns[0] : columns[-1] + 1])
    gaps = [int(g) for g in rng.integers(-2, 7, count - 1)] + [0]
    canvas = np.zeros((28, sum(c.shape[1] for c in crops) + sum(gaps) + 10), np.uint8)
    x = 5
    for crop, gap in zip(crops, gaps, strict=True):
        region = canvas[:, x : x + crop.shape[1]]
        np.maximum(region, crop, out=region)
        x += crop.shape[1] + gap
    scaled = cv2.resize(255 - canvas, None, fx=60 / 28, fy=60 / 28, interpolation=cv2.INTER_CUBIC)
    gray = np.asarray(cv2.copyMakeBorder(scaled, 20, 20, 10, 10, cv2.BORDER_CONSTANT, value=255), dtype=np.uint8)
    return gray, "".join(str(int(digits.labels[i])) for i in picks)


def _font(rng: np.random.Generator) -> tuple[NDArray[np.uint8], str]:
    font = int(rng.choice(FONTS)) | (cv2.FONT_ITALIC if rng.random() < 0.2 else 0)
    scale, thickness = float(rng.uniform(1.0, 2.2)), int(rng.integers(1, 6))
    text = ""
    for position in range(int(rng.integers(3, 9))):
        text += str(int(rng.integers(0, 10)))
        if position < 7 and rng.random() < 0.12:
            text += str(rng.choice(list(MARKS)))
    text = text.rstrip(MARKS)
    canvas = np.zeros((140, 60 + 70 * len(text)), np.uint8)
    x = 20
    for char in text:
        layer = np.zeros_like(canvas)
        cv2.putText(layer, char, (x, 100), font, scale, 255, thickness, cv2.LINE_AA)
        columns = np.flatnonzero(layer.max(axis=0) > 127)
        rows = np.flatnonzero(layer.max(axis=1) > 127)
        np.maximum(canvas, layer, out=canvas)
        width, height = columns[-1] - columns[0] + 1, rows[-1] - rows[0] + 1
        into = -0.2 * height if char in MARKS else float(rng.uniform(-0.2 * height, width / 3))
        x = int(columns[-1]) + 1 - round(into)
        if x >= canvas.shape[1] - 70:
            break
    gray = np.asarray(255 - canvas, dtype=np.uint8)
    return gray, text


def line_sample(rng: np.random.Generator, digits: DigitSet) -> Sample | None:
    """One sample of a kind drawn by ``KIND_SHARES``; None when the drawing or its cut failed (draw again)."""
    kind = rng.choice(list(KIND_SHARES), p=list(KIND_SHARES.values()))
    try:
        if kind == "strip":
            gray, _, free, _ = _strip(rng, digits)
            if free is None:
                return None
            span = Box(*free["bbox"])
            fields = [f for f in find_fields(prepare_page(gray)) if f.kind == "free"]
            best = max(fields, key=lambda f: _iou(f.box, span), default=None)
            if best is None or _iou(best.box, span) < FIELD_MATCH_IOU:
                return None
            ink, text = best.ink, str(free["text"])
        else:
            if kind == "line":
                gray, text, _ = make_line_with_boxes(rng, digits, height=int(rng.integers(80, 160)))
            elif kind == "font":
                gray, text = _font(rng)
            else:
                gray, text = _simple(rng, digits)
            ink = line_field(gray).ink
    except (InvalidInput, ValueError):
        return None
    mask = scale_line(ink)
    return None if mask is None else (mask, text)


def line_samples(digits: DigitSet, count: int, seed: int) -> list[Sample]:
    """``count`` samples, deterministic for a given ``seed`` and digit set."""
    rng = np.random.default_rng((seed, 4242))
    out: list[Sample] = []
    while len(out) < count:
        sample = line_sample(rng, digits)
        if sample is not None:
            out.append(sample)
    return out
