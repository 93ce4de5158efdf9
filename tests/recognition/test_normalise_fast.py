"""The normaliser's fast paths give the very images of the straightforward code they replace, bit for bit.

``_reference_digit`` is :func:`recognition.normalise.normalise_digit` as it was before its fast
paths (Otsu's image reused as the mask, the stretch looked up per level, all specks kept without a
relabelling): every reading depends on these images, so they must not move by a float's last bit.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from recognition.normalise import (
    EDGE_LEVEL,
    EDGE_SIGMA,
    MIN_CONTRAST,
    MIN_PIECE_PX,
    MIN_PIECE_SHARE,
    NEIGHBOURS,
    PAD_PX,
    _clamp,
    _drop_specks,
    _ink_levels,
    normalise_digit,
    normalise_mask,
    place_in_frame,
)
from segmentation.errors import InvalidInput


def _reference_specks(mask: np.ndarray) -> np.ndarray:
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    if count <= 2:
        return mask
    areas = np.bincount(labels.ravel(), minlength=count)[1:]
    keep = areas >= max(MIN_PIECE_PX, MIN_PIECE_SHARE * float(areas.sum()))
    if not keep.any():
        keep = areas == areas.max()
    lookup = np.zeros(count, dtype=np.uint8)
    lookup[1:][keep] = 255
    return lookup[labels]


def _reference_digit(gray: np.ndarray) -> np.ndarray:
    """The old ``normalise_digit`` of a uint8 crop whose ink is bright."""
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.threshold(gray, threshold, 255, cv2.THRESH_BINARY)[1]
    background, peak = _ink_levels(gray, threshold)
    if peak - background < MIN_CONTRAST:
        raise InvalidInput("the digit crop has no ink")
    mask = _reference_specks(mask)
    near_ink = cv2.dilate(mask, NEIGHBOURS)
    scaled = (gray.astype(np.float32) - background) * (1.0 / (peak - background))
    _clamp(scaled, 0.0, 1.0, out=scaled)
    scaled[near_ink == 0] = 0.0
    x, y, w, h = cv2.boundingRect((scaled > EDGE_LEVEL).view(np.uint8))
    return place_in_frame(scaled[y : y + h, x : x + w])


def _reference_mask(mask: np.ndarray) -> np.ndarray:
    padded = cv2.copyMakeBorder(mask, PAD_PX, PAD_PX, PAD_PX, PAD_PX, cv2.BORDER_CONSTANT, value=0).astype(np.float32)
    blurred = cv2.GaussianBlur(padded, (0, 0), EDGE_SIGMA * max(mask.shape) / 20.0)
    return _reference_digit(np.asarray(_clamp(blurred, 0, 255), dtype=np.uint8))


def _candidate_mask(rng: np.random.Generator) -> np.ndarray:
    """A binary candidate like segmentation's: strokes, a blob or two, now and then dust apart from them."""
    h, w = int(rng.integers(12, 90)), int(rng.integers(6, 120))
    mask = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(1, 4))):
        p, q = (int(rng.integers(0, w)), int(rng.integers(0, h))), (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(mask, p, q, 255, int(rng.integers(1, 6)))
    if rng.random() < 0.5:
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(mask, centre, int(rng.integers(2, max(3, min(h, w) // 2))), 255, int(rng.integers(1, 5)))
    for _ in range(int(rng.integers(0, 4))):  # dust: pieces small enough to be dropped, or big enough to stay
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        mask[y : y + int(rng.integers(1, 4)), x : x + int(rng.integers(1, 4))] = 255
    return mask


def _same(a: np.ndarray | str, b: np.ndarray | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def _outcome(normalise: object, image: np.ndarray) -> np.ndarray | str:
    try:
        return normalise(image)  # type: ignore[operator, no-any-return]
    except InvalidInput as exc:
        return str(exc)


@pytest.mark.parametrize("seed", range(4))
def test_binary_masks_normalise_bit_for_bit_as_before(seed: int) -> None:
    rng = np.random.default_rng(seed)
    masks = [_candidate_mask(rng) for _ in range(150)]
    assert all(_same(_outcome(normalise_mask, m), _outcome(_reference_mask, m)) for m in masks)


@pytest.mark.parametrize("seed", range(4))
def test_gray_crops_normalise_bit_for_bit_as_before(seed: int) -> None:
    """Bright ink on darker, uneven paper with noise and specks: every branch of the stretch and the speck removal."""
    rng = np.random.default_rng(100 + seed)
    for _ in range(100):
        mask = _candidate_mask(rng)
        paper = rng.integers(0, 90)
        gray = np.where(mask > 0, rng.integers(120, 256), paper).astype(np.float32)
        gray = cv2.GaussianBlur(gray, (3, 3), 0) + rng.normal(0, rng.uniform(0, 20), mask.shape)
        crop = np.clip(gray, 0, 255).astype(np.uint8)
        assert _same(_outcome(lambda c: normalise_digit(c, ink_is_bright=True), crop), _outcome(_reference_digit, crop))


def test_the_cases_the_fast_paths_take_are_among_the_generated_ones() -> None:
    """Pieces all kept (no relabelling) and pieces dropped both occur, or the tests above prove little."""
    rng = np.random.default_rng(0)
    kept = dropped = 0
    for _ in range(150):
        mask = _candidate_mask(rng)
        if cv2.connectedComponents(mask, connectivity=8)[0] > 2:
            same = _drop_specks(mask) is mask
            kept, dropped = kept + same, dropped + (not same)
    assert kept >= 10 and dropped >= 10
