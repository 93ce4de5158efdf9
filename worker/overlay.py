"""Overlay images for the job page: the page with field and digit boxes and the read values drawn on it.

Rendered by the worker right after reading (OpenCV lives on the worker side), stored as PNG
bytes in the job store, served as they are by the web process. Coordinates of the result are
page pixels; the overlay is scaled down to at most MAX_SIDE_PX so a 300 dpi page stays small.
"""

from __future__ import annotations

import cv2
import numpy as np

from recognition.results import PageResult
from segmentation.elements import GrayImage

# Long side of the overlay: enough to read digits on screen, ~10x fewer bytes than a 300 dpi page.
MAX_SIDE_PX = 1400
OK_BGR = (60, 160, 40)
REVIEW_BGR = (0, 140, 255)
DIGIT_BGR = (200, 90, 30)


def render_overlay_png(image: GrayImage, result: PageResult) -> bytes:
    """PNG bytes of ``image`` (H, W) uint8 grayscale with ``result``'s boxes and values drawn in colour."""
    scale = min(1.0, MAX_SIDE_PX / max(image.shape[:2]))
    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if scale < 1.0:
        canvas = cv2.resize(canvas, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    thickness = max(1, round(2 * max(canvas.shape[:2]) / 1000))
    font_scale = max(0.4, max(canvas.shape[:2]) / 1600)
    for field in result.fields:
        colour = REVIEW_BGR if field.needs_review else OK_BGR
        for digit in field.digits:
            x, y, w, h = (round(v * scale) for v in digit.box.to_list())
            cv2.rectangle(canvas, (x, y), (x + w, y + h), DIGIT_BGR, max(1, thickness // 2))
        x, y, w, h = (round(v * scale) for v in field.box.to_list())
        cv2.rectangle(canvas, (x, y), (x + w, y + h), colour, thickness)
        label = field.text or "(empty)"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        top = max(0, y - th - base - 2)
        cv2.rectangle(canvas, (x, top), (x + tw + 4, top + th + base + 2), colour, -1)
        cv2.putText(canvas, label, (x + 2, top + th), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), thickness)
    ok, png = cv2.imencode(".png", np.ascontiguousarray(canvas))
    if not ok:
        raise RuntimeError("OpenCV could not encode the overlay as PNG")
    return png.tobytes()
