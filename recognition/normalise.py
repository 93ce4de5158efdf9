"""The one input contract of the classifier: any digit crop -> a 28x28 MNIST-style image.

MNIST digits were made by fitting each digit's bounding box into 20x20 pixels keeping
the aspect ratio (anti-aliased), then placing it in a 28x28 frame so that its centre of
mass is at the centre. Drawings, crops cut from scans and MNIST itself all pass through
:func:`normalise_digit`, in training and in inference alike; segmentation's binary candidate
masks through :func:`normalise_mask` (edge-blurred first). The pair network's input, two
touching digits in 28x56, is made by :func:`normalise_pair`; the triple network's, three in 28x84,
by :func:`normalise_triple`.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from segmentation.cleanup import as_gray
from segmentation.elements import GrayImage
from segmentation.errors import InvalidInput

SIZE = 28
# MNIST's digit box (LeCun et al., "Gradient-based learning applied to document recognition").
BOX = 20
CENTRE = 14.0
# Below this contrast (on 0..255) between background and ink there is no ink to read.
MIN_CONTRAST = 24.0
# Ink pieces smaller than this many pixels, or this share of all ink, are dust and noise.
MIN_PIECE_PX = 3
MIN_PIECE_SHARE = 0.04
# A pixel this bright (of 1.0) next to ink belongs to the digit's anti-aliased edge.
EDGE_LEVEL = 0.05
NEIGHBOURS = np.ones((3, 3), np.uint8)
LEVELS = np.arange(256, dtype=np.int64)
LEVELS_F32 = LEVELS.astype(np.float32)
INDICES = np.arange(SIZE)
# Binary masks (segmentation's candidates): edge blur in pixels of the 20-px box height (the
# interim classifier read 1% of binarised MNIST test digits unblurred, 98.8% at 0.4, 98.6% at
# 0.6, 95.8% at 1.0), after padding so that solid ink (a dash) still has a background.
EDGE_SIGMA = 0.5
PAD_PX = 2
# The pair network's input (recognition.pairs): two digits fitted into PAIR_BOX (height,
# width, aspect kept), centred in a PAIR_SHAPE frame.
PAIR_SHAPE = (28, 56)
PAIR_BOX = (20, 48)
# The triple network's (three touching digits): the same margins, one digit wider.
TRIPLE_SHAPE = (28, 84)
TRIPLE_BOX = (20, 76)


def _ink_bright(image: NDArray[np.uint8], threshold: float) -> bool:
    """Whether ink is bright, deciding polarity from the border.

    The background is what most border pixels are; where the border is split evenly
    (a tight crop) the minority class is taken as ink.
    """
    border = np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])
    bright_border = float(np.mean(border > threshold))
    if bright_border == 0.5:
        return float(np.mean(image > threshold)) <= 0.5
    return bright_border < 0.5


def _drop_specks(mask: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Remove connected pieces too small to be part of the digit (noise, dust); ``mask`` is 0 or 255."""
    # Labels without their statistics are a third of the cost, and a piece's area is its label count.
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    if count <= 2:
        return mask
    areas = np.bincount(labels.ravel(), minlength=count)[1:]
    keep = areas >= max(MIN_PIECE_PX, MIN_PIECE_SHARE * float(areas.sum()))
    if not keep.any():
        keep = areas == areas.max()
    if keep.all():
        return mask  # every piece stays: the mask (0 or 255) is what the lookup below would rebuild
    lookup = np.zeros(count, dtype=np.uint8)
    lookup[1:][keep] = 255
    return lookup[labels]


def _ink_levels(gray: NDArray[np.uint8], threshold: float) -> tuple[float, float]:
    """The mean level of the background (levels up to ``threshold``) and the 90th percentile
    of the ink's (above it; the brightest below 20 ink pixels); InvalidInput if either is empty.

    Both follow from the histogram, exactly (the sums are of integers), at a fraction of the
    cost of indexing the pixels out.
    """
    histogram = np.bincount(gray.ravel(), minlength=256)
    below = np.cumsum(histogram)  # below[v]: pixels at level v or darker
    cut = int(threshold)
    background_count = int(below[cut])
    ink_count = gray.size - background_count
    if ink_count == 0 or background_count == 0:
        raise InvalidInput("the digit crop has no ink")
    background = int(histogram[: cut + 1] @ LEVELS[: cut + 1]) / background_count
    rank = ink_count - 1 if ink_count < 20 else int(0.9 * ink_count)
    return background, float(np.searchsorted(below, background_count + rank, side="right"))


def normalise_digit(crop: NDArray[np.generic], *, ink_is_bright: bool | None = None) -> NDArray[np.float32]:
    """Turn a digit crop into the classifier's 28x28 input, ink = 1.0, background = 0.0.

    ``crop`` is a 2-D array (grayscale or binary, uint8 or float in 0..255) or a 3-D
    colour array (converted to gray), of any size and either polarity. Pass
    ``ink_is_bright`` when the polarity is known (binary masks from segmentation are
    ink = 255); otherwise it is decided from the border. Raises ``InvalidInput`` for an
    empty or one-pixel crop, or one with no ink. An MNIST digit comes back unchanged
    (up to rounding).
    """
    if crop.ndim == 3 and crop.shape[2] in (3, 4):
        code = cv2.COLOR_BGRA2GRAY if crop.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        crop = cv2.cvtColor(np.clip(crop, 0, 255).astype(np.uint8), code)
    if crop.ndim != 2:
        raise InvalidInput(f"a digit crop must be a 2-D image, got shape {crop.shape}")
    if crop.size == 0:
        raise InvalidInput("the digit crop is empty")
    if crop.size == 1:
        raise InvalidInput("the digit crop is a single pixel; there is nothing to read")
    gray: NDArray[np.uint8] = np.asarray(crop if crop.dtype == np.uint8 else _clamp(crop, 0, 255), dtype=np.uint8)

    # Otsu's call binarises at the threshold it finds (level > threshold -> 255): its image is the
    # ink mask, the same as thresholding ``gray`` again at that threshold.
    threshold, otsu = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if ink_is_bright is None:
        ink_is_bright = _ink_bright(gray, threshold)
    if not ink_is_bright:
        gray = as_gray(cv2.bitwise_not(gray))
        threshold, otsu = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = as_gray(otsu)
    background, peak = _ink_levels(gray, threshold)
    if peak - background < MIN_CONTRAST:
        raise InvalidInput("the digit crop has no ink")

    # Stretch ink to 0..1 against the background level, so faint pencil reads like ink;
    # keep the anti-aliased edge next to real ink, drop background texture and specks.
    mask = _drop_specks(mask)
    near_ink = as_gray(cv2.dilate(mask, NEIGHBOURS))
    scaled = _stretched(gray, near_ink, background, peak)

    x, y, w, h = cv2.boundingRect((scaled > EDGE_LEVEL).view(np.uint8))
    digit = scaled[y : y + h, x : x + w]
    return place_in_frame(digit)


def _stretched(gray: GrayImage, near_ink: GrayImage, background: float, peak: float) -> NDArray[np.float32]:
    """``gray`` stretched to 0..1 from ``background`` to ``peak`` (clamped), 0 where ``near_ink``
    is 0.

    The stretch of a pixel depends on its level alone, so it is computed once per level (the
    same float32 operations on the same values as per pixel: the same results, bit for bit)
    and looked up. Levels away from ink (``near_ink`` 0, so ``gray & near_ink`` is level 0)
    look up level 0, which stretches to +0.0, as the background is never darker than black.
    """
    table = (LEVELS_F32 - background) * (1.0 / (peak - background))
    _clamp(table, 0.0, 1.0, out=table)
    return np.asarray(cv2.LUT(cv2.bitwise_and(gray, near_ink), table), dtype=np.float32)


def _clamp(values: NDArray[Any], low: float, high: float, out: NDArray[Any] | None = None) -> NDArray[Any]:
    """``np.clip`` without its per-call overhead (a tenth of a millisecond, per candidate several times)."""
    return np.minimum(np.maximum(values, low, out=out), high, out=out)


def place_in_frame(digit: NDArray[np.float32]) -> NDArray[np.float32]:
    """Fit a tight ink crop (ink bright, 0..1) into 20x20 keeping aspect, centre of mass at 14,14."""
    h, w = digit.shape
    scale = BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    fitted = np.asarray(cv2.resize(digit, (new_w, new_h), interpolation=interpolation), dtype=np.float32)
    _clamp(fitted, 0.0, 1.0, out=fitted)  # in place: the resized image is a new array

    total = float(fitted.sum())
    if total <= 0.0:
        raise InvalidInput("the digit crop has no ink")
    com_y = float((fitted.sum(axis=1) * INDICES[:new_h]).sum()) / total
    com_x = float((fitted.sum(axis=0) * INDICES[:new_w]).sum()) / total
    # MNIST puts the centre of mass at pixel index 14 (measured: 14.00 +- 0.28 on train).
    top = min(max(round(CENTRE - com_y), 0), SIZE - new_h)
    left = min(max(round(CENTRE - com_x), 0), SIZE - new_w)
    frame = np.zeros((SIZE, SIZE), dtype=np.float32)
    frame[top : top + new_h, left : left + new_w] = fitted
    return frame


def normalise_mask(mask: GrayImage) -> NDArray[np.float32]:
    """The classifier input (28, 28) of a binary candidate mask (ink = 255); InvalidInput if unreadable.

    A binary mask has hard edges that scanned and MNIST digits never have; it is blurred
    by about half a pixel of the 20-px digit box first, like a scanner's optics.
    """
    padded = cv2.copyMakeBorder(mask, PAD_PX, PAD_PX, PAD_PX, PAD_PX, cv2.BORDER_CONSTANT, value=0).astype(np.float32)
    sigma = EDGE_SIGMA * max(mask.shape) / 20.0
    blurred = cv2.GaussianBlur(padded, (0, 0), sigma)
    # Made uint8 here, it needs no clamping to 0..255 first: the blur's weights are positive and
    # sum to 1 (to float rounding), so of levels 0..255 it makes 0 to a hair over 255, which
    # truncate to the same levels clamped or not.
    return normalise_digit(blurred.astype(np.uint8), ink_is_bright=True)


def normalise_pair(
    mask: GrayImage, shape: tuple[int, int] = PAIR_SHAPE, box: tuple[int, int] = PAIR_BOX
) -> NDArray[np.float32]:
    """The pair network's input (28, 56), ink = 1.0, of a binary mask (ink = 255); InvalidInput if empty.

    The ink is fitted into 20x48 keeping its aspect and centred by its box (a pair has no one
    centre of mass to match), blurred like :func:`normalise_mask` at the scale it ends at.
    With ``shape`` and ``box`` of another network (:func:`normalise_triple`), the same in its frame.
    """
    rows = np.flatnonzero(mask.max(axis=1))
    cols = np.flatnonzero(mask.max(axis=0))
    if rows.size == 0 or rows.size * cols.size < 4:
        raise InvalidInput("the pair candidate has no ink")
    crop = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    (height, width), (box_h, box_w) = shape, box
    scale = min(box_h / h, box_w / w)
    padded = cv2.copyMakeBorder(crop, PAD_PX, PAD_PX, PAD_PX, PAD_PX, cv2.BORDER_CONSTANT, value=0)
    blurred = cv2.GaussianBlur(padded.astype(np.float32), (0, 0), max(0.3, EDGE_SIGMA / scale))
    new_h, new_w = max(1, round((h + 2 * PAD_PX) * scale)), max(1, round((w + 2 * PAD_PX) * scale))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    fitted = np.asarray(cv2.resize(blurred, (new_w, new_h), interpolation=interpolation), np.float32) / 255.0
    new_h, new_w = min(new_h, height), min(new_w, width)
    frame = np.zeros(shape, np.float32)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    frame[top : top + new_h, left : left + new_w] = np.minimum(fitted[:new_h, :new_w], 1.0)
    return frame


def normalise_triple(mask: GrayImage) -> NDArray[np.float32]:
    """The triple network's input (28, 84): :func:`normalise_pair` into a 20x76 box."""
    return normalise_pair(mask, TRIPLE_SHAPE, TRIPLE_BOX)
