"""Separator kinds from a mark's shape and place in its string's band (top 10, baseline 70)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognition.decoding import separator_kind
from segmentation.elements import Box

TOP, BASELINE = 10, 70


def dot(w: int, h: int) -> np.ndarray:
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, (w // 2, h // 2), (max(1, w // 2 - 1), max(1, h // 2 - 1)), 0, 0, 360, 255, -1)
    return mask


@pytest.mark.parametrize(
    ("box", "kind"),
    [
        (Box(100, 60, 9, 9), "point"),  # round, on the baseline
        (Box(100, 70, 9, 9), "point"),  # round, under a baseline set high by the digits' jitter
        (Box(100, 63, 6, 10), "point"),  # on a guide line: taller than wide with the line's thickness, but small
        (Box(100, 64, 8, 14), "comma"),  # taller than wide, reaching below the baseline
        (Box(100, 56, 7, 12), "comma"),  # clearly taller than wide, above the baseline
        (Box(100, 36, 24, 6), "dash"),
    ],
)
def test_marks_are_told_apart_by_shape_and_place(box: Box, kind: str) -> None:
    assert separator_kind(box, dot(box.w, box.h), TOP, BASELINE) == kind
