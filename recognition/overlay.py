"""Draw what was read onto the page: field boxes, digit boxes and the values, for people to check.

The CLI (``formdigits read --overlay``) and the worker (the web UI's overlay images) share
this renderer. OpenCV only; the page result's boxes are in the (deskewed) page frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.results import PageResult
from segmentation.cleanup import rotate
from segmentation.elements import GrayImage

# BGR colours: sure fields green, fields to review orange, digit boxes blue, separators grey.
FIELD_OK = (60, 160, 40)
FIELD_REVIEW = (0, 140, 255)
DIGIT_BOX = (200, 90, 20)
SEPARATOR_BOX = (150, 150, 150)
# Overlays of big scans are shrunk to this width: enough to check, small enough to serve quickly.
MAX_OVERLAY_WIDTH_PX = 1600


def render_overlay(
    gray: GrayImage, result: PageResult, *, max_width_px: int = MAX_OVERLAY_WIDTH_PX
) -> NDArray[np.uint8]:
    """A BGR picture of ``gray`` (H, W) with the fields and digits of ``result`` drawn on it.

    ``gray`` is the page as loaded; it is deskewed the way the reader did, so boxes fit.
    """
    gray = rotate(gray, -result.skew_deg)
    scale = min(1.0, max_width_px / max(1, gray.shape[1]))
    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        canvas = cv2.resize(canvas, size, interpolation=cv2.INTER_AREA)
    # Faded page so the drawing stands out.
    canvas = cv2.addWeighted(canvas, 0.6, np.full_like(canvas, 255), 0.4, 0)
    thickness = max(1, round(2 * scale * max(1.0, gray.shape[1] / 1000)))
    font_scale = max(0.4, 0.9 * scale * max(1.0, gray.shape[1] / 1200))

    def rect(box: list[int]) -> tuple[tuple[int, int], tuple[int, int]]:
        x, y, w, h = (round(v * scale) for v in box)
        return (x, y), (x + w, y + h)

    for fr in result.fields:
        colour = FIELD_REVIEW if fr.needs_review else FIELD_OK
        top_left, bottom_right = rect(fr.box.to_list())
        cv2.rectangle(canvas, top_left, bottom_right, colour, thickness)
        for digit in fr.digits:
            a, b = rect(digit.box.to_list())
            cv2.rectangle(canvas, a, b, DIGIT_BOX, max(1, thickness // 2))
        for sep in fr.separators:
            a, b = rect(sep.box.to_list())
            cv2.rectangle(canvas, a, b, SEPARATOR_BOX, max(1, thickness // 2))
        label = f"{fr.name}: {fr.text or '-'} ({fr.confidence:.2f})"
        origin = (top_left[0], max(12, top_left[1] - 4))
        cv2.putText(canvas, label, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), thickness + 2)
        cv2.putText(canvas, label, origin, cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, thickness)
    return canvas


def overlay_png(gray: GrayImage, result: PageResult, *, max_width_px: int = MAX_OVERLAY_WIDTH_PX) -> bytes:
    """The overlay of :func:`render_overlay` encoded as PNG bytes."""
    ok, buffer = cv2.imencode(".png", render_overlay(gray, result, max_width_px=max_width_px))
    if not ok:  # pragma: no cover - cv2 only fails on invalid arrays, which render_overlay never makes
        raise RuntimeError("PNG encoding of the overlay failed")
    return bytes(buffer)
