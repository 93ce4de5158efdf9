"""Lines drawn again with a thinner or thicker pen (benchmarks' ``--pen``): needs no MNIST."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognition.synthetic import redraw_with_pen, skeleton


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask: 2 x area / contour length."""
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return 2.0 * float(np.count_nonzero(mask)) / sum(cv2.arcLength(c, True) for c in contours)


def test_skeleton_of_a_thick_bar_and_ring_is_one_pixel_wide_and_keeps_their_shape() -> None:
    mask = np.zeros((60, 160), np.uint8)
    cv2.rectangle(mask, (10, 20), (90, 31), 255, -1)  # a bar 81 x 12
    cv2.circle(mask, (125, 30), 20, 255, 7)  # a ring
    lines = skeleton(mask)
    assert set(np.unique(lines)) == {0, 255}
    bar, ring = lines[:, :100], lines[:, 100:]
    assert np.count_nonzero(bar.max(axis=0)) >= 65  # about as long as the bar
    assert np.count_nonzero(bar, axis=0).max() == 1  # one pixel across it
    count, _ = cv2.connectedComponents(ring)
    assert count == 2  # the ring stays one closed stroke
    holes = cv2.connectedComponents(255 - ring, connectivity=4)[0]  # paper through no diagonal step
    assert holes == 3  # ... around its hole
    assert np.all(mask[lines > 0] > 0)  # inside the ink


@pytest.mark.parametrize("width", [3, 5, 9])
def test_redraw_with_pen_draws_strokes_of_the_pen_width(width: int) -> None:
    gray = np.full((120, 260), 230, np.uint8)
    cv2.putText(gray, "205", (20, 95), cv2.FONT_HERSHEY_SIMPLEX, 3, 20, 12)
    redrawn = redraw_with_pen(gray, width)
    assert redrawn.shape == gray.shape and redrawn.dtype == np.uint8
    _, ink = cv2.threshold(redrawn, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    assert abs(_stroke_width(ink) - width) <= 1.5
    assert np.median(redrawn) == 230  # the paper kept
    _, before = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    assert cv2.connectedComponents(ink)[0] == cv2.connectedComponents(before)[0]  # every digit still one stroke


def test_redraw_with_pen_refuses_no_pen() -> None:
    with pytest.raises(ValueError, match="at least 1 px"):
        redraw_with_pen(np.full((10, 10), 200, np.uint8), 0)
