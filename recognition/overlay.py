"""Overlay images for the job page: the page with field and digit boxes and the read values drawn on it.

Shared by ``formdigits read --overlay`` and the worker, which renders it right after reading and
stores the PNG bytes in the job store for the web process to serve as they are. Coordinates of
the result are page pixels of the deskewed page (the page is rotated the way the reader did);
the overlay is scaled down to at most MAX_SIDE_PX.

It must cost little next to reading the page (the queue's whole overhead budget is 15%), so
it is an 8-bit palette PNG: 16 gray levels for the page plus a few drawing colours, fast
zlib level. On a noisy 150 dpi A4 page this takes ~13 ms and ~70 KB, where a full-colour
1400 px PNG took ~110 ms and 2 MB (measured with benchmarks/bench_service.py's pages).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from recognition.results import PageResult
from segmentation.cleanup import as_gray, rotate, turn
from segmentation.elements import GrayImage

MAX_SIDE_PX = 1000
PNG_COMPRESS_LEVEL = 1
GRAY_LEVELS = 16
# Palette indexes after the gray ramp, and their RGB colours.
OK, REVIEW, DIGIT, WHITE = GRAY_LEVELS, GRAY_LEVELS + 1, GRAY_LEVELS + 2, GRAY_LEVELS + 3
PALETTE_RGB = [(40, 160, 60), (255, 140, 0), (30, 90, 200), (255, 255, 255)]


def _palette() -> list[int]:
    ramp = [round(i * 255 / (GRAY_LEVELS - 1)) for i in range(GRAY_LEVELS)]
    return [v for g in ramp for v in (g, g, g)] + [v for rgb in PALETTE_RGB for v in rgb]


def render_overlay_png(image: GrayImage, result: PageResult) -> bytes:
    """PNG bytes of ``image`` (H, W) uint8 grayscale with ``result``'s boxes and values drawn in colour.

    Field boxes are green, or orange when the field needs review, with the read text on a label
    above them; digit boxes are blue.
    """
    scale = min(1.0, MAX_SIDE_PX / max(image.shape[:2]))
    small = as_gray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)) if scale < 1.0 else image
    # Turn and deskew like the reader did, on the small copy: both commute with scaling.
    small = rotate(turn(small, result.rotation), -result.skew_deg)
    canvas = np.ascontiguousarray(small // (256 // GRAY_LEVELS), dtype=np.uint8)  # palette indexes 0..15
    thickness = max(1, round(2 * max(canvas.shape) / 1000))
    font_scale = max(0.4, max(canvas.shape) / 1600)
    for field in result.fields:
        colour = REVIEW if field.needs_review else OK
        for digit in field.digits:
            x, y, w, h = (round(v * scale) for v in digit.box.to_list())
            cv2.rectangle(canvas, (x, y), (x + w, y + h), DIGIT, 1)
        x, y, w, h = (round(v * scale) for v in field.box.to_list())
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, thickness)
        label = field.text or "(empty)"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        top = max(0, y - th - base - 2)
        cv2.rectangle(canvas, (x, top), (x + tw + 4, top + th + base + 2), colour, -1)
        cv2.putText(canvas, label, (x + 2, top + th), cv2.FONT_HERSHEY_SIMPLEX, font_scale, WHITE, 1)
    picture = Image.fromarray(canvas)
    picture.putpalette(_palette())
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()
