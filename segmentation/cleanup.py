"""Pixel clean-up before structure and field finding: illumination, binarisation, specks, skew.

All images are ``NDArray[np.uint8]``, 2-D. Grayscale inputs are dark ink on light paper
unless said otherwise; binary masks have ink = 255, background = 0. Nothing here knows
about forms: these are the generic steps shared by page, line and digit modes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from segmentation.elements import GrayImage

# Ink must be at least this much darker (0..255) than the flattened paper. Keeps light
# security patterns, coloured paper tints and scanner noise out of the ink; dark pencil
# (~150 on white) still passes. Chosen on the synthetic check backgrounds (tint <= 215).
MIN_INK_CONTRAST = 70
# contrast_floor: on a faint page the floor is this share of its ink's core contrast (the level its
# INK_CORE_PX most contrasted pixels reach), never under MIN_FAINT_CONTRAST.
FAINT_SHARE = 0.5
INK_CORE_PX = 2000
MIN_FAINT_CONTRAST = 35
FLOOR_SAMPLE_PX = 1_000_000
# The background estimate is taken at a reduced scale where the closing kernel is this wide.
REDUCED_KERNEL_PX = 9
# Skew search: a coarse sweep, then a fine one around the best coarse angle.
COARSE_STEP_DEG = 0.5
FINE_STEP_DEG = 0.05
# At most this many ink points vote in the projection profile (random subsample).
MAX_SKEW_POINTS = 40_000
# A line's skew is measured on at least this many columns holding ink.
MIN_LINE_SKEW_COLUMNS = 10
# A line is askew only when its envelope's profile is this much sharper askew than level: a level
# line's estimate wanders 1 degree or more on 10-20% of synthetic hard, cheque and cents lines, its
# profile mostly less than 1.2 times sharper there (300 held-out level lines each: at 1.0, 8 more
# misread; at 1.2, 4; lines tilted up to 2 degrees: 84.3% against 84.0% by the digits).
LINE_SKEW_MIN_GAIN = 1.2
# Below this angle a rotation is not worth its interpolation blur.
MIN_ROTATION_DEG = 0.05
# reduced_copy's long side; blank_dark_margins: how much darker than the paper the surround is,
# the side of the square that fits only in solid areas, and how far their soft rim reaches (px of
# the reduced copy: ~1.7 mm for an A4 page).
REDUCED_SIDE_PX = 1000
MARGIN_PAPER_PERCENTILE = 90
MARGIN_CONTRAST = 100
MARGIN_SOLID_PX = 11
MARGIN_GROW_PX = 2


def as_gray(image: object) -> GrayImage:
    """An OpenCV result typed as the uint8 image it is (no copy, no check): OpenCV's stubs are generic."""
    return cast(GrayImage, image)


def estimate_paper(gray: GrayImage, kernel_px: int) -> GrayImage:
    """The paper brightness under every pixel, (H, W) uint8, >= 1.

    A grayscale closing removes dark features narrower than ``kernel_px`` (the ink); it
    is computed at a reduced scale for speed, smoothed and resized back.
    """
    h, w = gray.shape
    # An integer factor keeps INTER_AREA on its fast path.
    factor = max(1, int(kernel_px / REDUCED_KERNEL_PX))
    small_w, small_h = max(1, -(-w // factor)), max(1, -(-h // factor))
    small = cv2.resize(gray, (small_w, small_h), interpolation=cv2.INTER_AREA) if factor > 1 else gray
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (REDUCED_KERNEL_PX, REDUCED_KERNEL_PX))
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    paper = cv2.blur(paper, (REDUCED_KERNEL_PX, REDUCED_KERNEL_PX), borderType=cv2.BORDER_REPLICATE)
    if factor > 1:
        paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(paper, 1)


def blank_dark_margins(gray: GrayImage) -> tuple[GrayImage, GrayImage]:
    """``gray`` with the dark surround of the sheet painted paper-coloured (a scanner's black bed or
    lid showing around a sheet fed askew or shifted, the black edges of a photocopy), and its
    :func:`reduced_copy` painted alike (prepare_page measures the skew on it).

    On the reduced copy, pixels at least ``MARGIN_CONTRAST`` darker than the paper (the
    ``MARGIN_PAPER_PERCENTILE`` of the levels, paper even where the surround is most of the image)
    form solid areas where a ``MARGIN_SOLID_PX`` square fits (no pen stroke is that thick); those
    touching the image's edge, grown by ``MARGIN_GROW_PX`` (their soft rim), are outside the sheet.
    Left alone, their edges were read as rules, their corners as digits. They are painted the
    sheet's median level. Returns the images themselves when there are none.
    """
    small = reduced_copy(gray)
    dark = (small < _level_at(small, MARGIN_PAPER_PERCENTILE) - MARGIN_CONTRAST).astype(np.uint8)
    kernel = np.ones((MARGIN_SOLID_PX, MARGIN_SOLID_PX), np.uint8)
    solid = cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)
    if not solid.any():
        return gray, small
    _, labels = cv2.connectedComponents(solid, connectivity=8)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    edge = edge[edge > 0]
    if edge.size == 0:
        return gray, small
    grown = cv2.dilate(np.isin(labels, edge).astype(np.uint8), np.ones((2 * MARGIN_GROW_PX + 1,) * 2, np.uint8))
    outside = as_gray(grown)
    sheet = small[outside == 0]
    if sheet.size == 0:
        return gray, small  # nothing but dark: no sheet to read, and nothing to tell it from
    level = round(_level_at(sheet, 50))
    h, w = gray.shape
    out, out_small = gray.copy(), small.copy()
    out[cv2.resize(outside, (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)] = level
    out_small[outside.astype(bool)] = level
    return out, out_small


def reduced_factor(shape: tuple[int, ...]) -> int:
    """The whole factor :func:`reduced_copy` divides an image of ``shape`` by (long side ~``REDUCED_SIDE_PX``)."""
    return max(1, round(max(shape[0], shape[1]) / REDUCED_SIDE_PX))


def reduced_copy(gray: GrayImage) -> GrayImage:
    """``gray`` reduced (pixel area) by :func:`reduced_factor`: the copy skew and margins are measured on."""
    h, w = gray.shape
    factor = reduced_factor(gray.shape)
    return as_gray(cv2.resize(gray, (-(-w // factor), -(-h // factor)), interpolation=cv2.INTER_AREA))


def _level_at(levels: NDArray[np.uint8], percentile: float) -> float:
    """The gray level at ``percentile`` of ``levels`` (uint8, any shape), from its histogram (no sort)."""
    cumulative = np.cumsum(np.bincount(levels.ravel(), minlength=256))
    return float(np.searchsorted(cumulative, percentile / 100 * cumulative[-1]))


def flatten_illumination(gray: GrayImage, kernel_px: int) -> GrayImage:
    """Divide the image by its paper estimate (:func:`estimate_paper`); paper becomes ~255.

    Shading, coloured paper and uneven scans come out flat. ``gray``: (H, W) uint8, dark
    ink on light paper; returns the same shape and dtype.
    """
    return as_gray(cv2.divide(gray, estimate_paper(gray, kernel_px), scale=255.0))


def ink_threshold(flat: GrayImage, min_contrast: int = MIN_INK_CONTRAST) -> float:
    """The gray level at or below which a flattened pixel is ink: Otsu, capped by the contrast floor."""
    otsu, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(min(otsu, 255 - min_contrast))


def binarise(gray: GrayImage, *, kernel_px: int, min_contrast: int = MIN_INK_CONTRAST) -> tuple[GrayImage, GrayImage]:
    """Flatten then threshold a grayscale image (dark ink on light paper).

    A pixel is ink when its flattened level is at or below :func:`ink_threshold` and it
    is also at least ``min_contrast`` gray levels darker than its paper in absolute
    terms (so noise on dark paper, amplified by the division, stays out). Returns
    ``(flat, ink)``: the flattened gray (paper ~255) and the binary mask (ink = 255),
    both (H, W) uint8. A blank page gives an all-zero mask whatever Otsu says.
    """
    paper = estimate_paper(gray, kernel_px)
    flat = as_gray(cv2.divide(gray, paper, scale=255.0))
    contrast = as_gray(cv2.subtract(paper, gray))
    min_contrast = contrast_floor(contrast, min_contrast)
    threshold = ink_threshold(flat, min_contrast)
    # THRESH_BINARY_INV: a pixel at or below the threshold becomes ink (255).
    _, ink = cv2.threshold(flat, threshold, 255, cv2.THRESH_BINARY_INV)
    _, contrasted = cv2.threshold(contrast, min_contrast - 1, 255, cv2.THRESH_BINARY)
    return flat, as_gray(cv2.bitwise_and(ink, contrasted))


def contrast_floor(
    contrast: GrayImage, min_contrast: int, minimum: int = MIN_FAINT_CONTRAST, *, inverted: bool = False
) -> int:
    """The contrast floor of ink on this page: ``min_contrast``, or on a faint page (a light scan,
    pencil) ``FAINT_SHARE`` of its ink's contrast, not under ``minimum``.

    The ink's contrast is that of its core: the level the ``INK_CORE_PX`` most contrasted pixels
    reach (a few digits' worth). A page of dark ink keeps the full floor (its core is at least
    ``min_contrast / FAINT_SHARE``), so security tints stay out; on a page scanned so light that
    its ink is 80 levels under the paper, the fixed floor of 70 kept only the strokes' cores.
    ``contrast``: paper minus gray, (H, W) uint8; with ``inverted``, the flattened page itself (its
    contrast is 255 minus it), so that no page-sized complement is made for a sample.
    """
    # Counted on every step-th row and column of a large page (a 300 dpi page: 1 pixel in 9), the core scaled alike.
    step = max(1, math.ceil(math.sqrt(contrast.size / FLOOR_SAMPLE_PX)))
    sample = contrast[::step, ::step]
    if inverted:
        sample = 255 - sample
    counts = np.bincount(sample.ravel(), minlength=256)
    above = np.cumsum(counts[::-1])[::-1]  # above[c]: sampled pixels with contrast c or more
    core = int(np.flatnonzero(above >= min(INK_CORE_PX / step**2, sample.size))[-1])
    return int(max(minimum, min(min_contrast, FAINT_SHARE * core)))


def component_boxes(ink: GrayImage) -> tuple[NDArray[np.int64], NDArray[np.int64], list[NDArray[np.int32]]]:
    """Boxes, pixel areas and outer contours of the 8-connected ink components (ink = 255).

    Returns ``(boxes, areas, contours)``: ``boxes`` (N, 4) int64 rows ``x, y, w, h``;
    ``areas`` (N,) pixel counts estimated from the outer contour with Pick's theorem
    (exact for solid pieces, holes included); ``contours`` for erasing with
    ``cv2.drawContours``. Outer contours are several times faster than
    ``connectedComponentsWithStats`` on a full page. A component inside another's hole
    is a component of its own.
    """
    contours, hierarchy = cv2.findContours(ink, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return np.zeros((0, 4), np.int64), np.zeros(0, np.int64), []
    outer = [c for c, link in zip(contours, hierarchy[0], strict=True) if link[3] < 0]
    boxes = np.array([cv2.boundingRect(c) for c in outer], dtype=np.int64).reshape(-1, 4)
    areas = (
        np.array([cv2.contourArea(c) + cv2.arcLength(c, True) / 2.0 + 1.0 for c in outer], dtype=np.float64)
        .round()
        .astype(np.int64)
    )
    return boxes, areas, cast(list[NDArray[np.int32]], outer)


def remove_specks(ink: GrayImage, min_area_px: int) -> GrayImage:
    """Drop 8-connected ink components smaller than ``min_area_px`` pixels (dust, noise); returns a copy."""
    if min_area_px <= 1:
        return ink
    _, areas, contours = component_boxes(ink)
    specks = [contours[i] for i in np.flatnonzero(areas < min_area_px)]
    if not specks:
        return ink
    clean = ink.copy()
    cv2.drawContours(clean, specks, -1, 0, thickness=cv2.FILLED)
    return clean


def ink_is_bright(gray: GrayImage) -> bool:
    """Whether the ink is lighter than the background, judged from the image border.

    The background is what most border pixels are (split at Otsu's threshold); when the
    border is split evenly the minority class of the whole image is the ink.
    """
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    bright_border = float(np.mean(border > threshold))
    if bright_border == 0.5:
        return float(np.mean(gray > threshold)) <= 0.5
    return bright_border < 0.5


def _profile_score(xs: np.ndarray, ys: np.ndarray, angle_deg: float, height: int) -> float:
    """Sharpness of the row profile of points rotated by ``-angle_deg`` (sum of squared bin counts)."""
    theta = math.radians(angle_deg)
    rows = ys * math.cos(theta) + xs * math.sin(theta)
    counts = np.bincount(np.clip(rows + height, 0, 3 * height).astype(np.int64), minlength=3 * height + 1)
    return float(np.dot(counts, counts))


def estimate_skew(ink: GrayImage, max_deg: float = 10.0, seed: int = 0) -> float:
    """The skew of text lines and rules in a binary page (ink = 255), in degrees.

    Positive means the content is rotated counter-clockwise on screen (lines rise to the
    right), the convention of ``cv2.getRotationMatrix2D``; undo it with
    ``rotate(gray, -angle)``. Projection profile: the angle at which the ink's row
    histogram is sharpest, coarse sweep over ``[-max_deg, max_deg]`` then a fine one.
    Returns 0.0 when there is too little ink to tell.
    """
    ys, xs = np.nonzero(ink)
    if ys.size < 50:
        return 0.0
    if ys.size > MAX_SKEW_POINTS:
        pick = np.random.default_rng(seed).choice(ys.size, MAX_SKEW_POINTS, replace=False)
        ys, xs = ys[pick], xs[pick]
    h, w = ink.shape
    xs_f = xs.astype(np.float64) - w / 2.0
    ys_f = ys.astype(np.float64) - h / 2.0
    # Rising lines (counter-clockwise content) have y decreasing with x: rows = y + x*sin(angle).
    # Angle by angle: up to MAX_SKEW_POINTS points, too many to score every angle at once.
    best, _ = _sharpest_angle(lambda angles: np.array([_profile_score(xs_f, ys_f, a, h) for a in angles]), max_deg)
    return round(float(np.clip(best, -max_deg, max_deg)), 3)


def _sharpest_angle(scores: Callable[[np.ndarray], np.ndarray], max_deg: float) -> tuple[float, float]:
    """The angle whose profile ``scores`` rates sharpest, and its score: a sweep over
    ``[-max_deg, max_deg]`` in ``COARSE_STEP_DEG`` steps, then one in ``FINE_STEP_DEG`` around the best."""
    coarse = np.arange(-max_deg, max_deg + 1e-9, COARSE_STEP_DEG)
    best = float(coarse[int(np.argmax(scores(coarse)))])
    fine = np.arange(best - COARSE_STEP_DEG, best + COARSE_STEP_DEG + 1e-9, FINE_STEP_DEG)
    fine_scores = scores(fine)
    index = int(np.argmax(fine_scores))
    return float(fine[index]), float(fine_scores[index])


def estimate_line_skew(ink: GrayImage, max_deg: float = 10.0) -> float:
    """The skew of one line of writing in a binary image (ink = 255), in degrees (the convention
    of :func:`estimate_skew`); 0.0 when there is too little ink to tell.

    The projection profile of the ink's upper and lower envelope (each column's highest and lowest
    ink pixel): the writing's top and base lines, or its guide line. The whole ink's profile, made
    for pages of many lines, is weak on one short line of tall digits (a straight line of five
    digits was measured 1 degree or more askew one time in five; by its envelope, one in 75).
    """
    h, w = ink.shape
    cols = np.flatnonzero(ink.any(axis=0))
    if cols.size < MIN_LINE_SKEW_COLUMNS:
        return 0.0
    inked = ink[:, cols] > 0
    top, bottom = np.argmax(inked, axis=0), h - 1 - np.argmax(inked[::-1], axis=0)
    xs = np.concatenate([cols, cols]).astype(np.float64) - w / 2.0
    ys = np.concatenate([top, bottom]).astype(np.float64) - h / 2.0
    best, sharpest = _sharpest_angle(lambda angles: _profile_scores(xs, ys, angles, h), max_deg)
    if sharpest < LINE_SKEW_MIN_GAIN * _profile_scores(xs, ys, np.zeros(1), h)[0]:
        return 0.0  # hardly sharper askew than level: a level line's wobble
    return round(float(np.clip(best, -max_deg, max_deg)), 3)


def _profile_scores(xs: np.ndarray, ys: np.ndarray, angles_deg: np.ndarray, height: int) -> np.ndarray:
    """:func:`_profile_score` at each of ``angles_deg``, in one pass (one bincount for all angles)."""
    theta = np.radians(angles_deg)[:, None]
    rows = ys[None, :] * np.cos(theta) + xs[None, :] * np.sin(theta)
    bins = 3 * height + 1
    index = np.clip(rows + height, 0, 3 * height).astype(np.int64) + bins * np.arange(len(angles_deg))[:, None]
    counts = np.bincount(index.ravel(), minlength=bins * len(angles_deg)).reshape(len(angles_deg), bins)
    return np.einsum("ij,ij->i", counts, counts).astype(np.float64)


_QUARTER_TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def turn(gray: GrayImage, degrees: int) -> GrayImage:
    """``gray`` turned clockwise by ``degrees``: 0, 90, 180 or 270 (a sheet fed sideways or upside down)."""
    if degrees % 360 == 0:
        return gray
    if degrees % 360 not in _QUARTER_TURNS:
        raise ValueError(f"a page turns by a multiple of 90 degrees, not {degrees}")
    return as_gray(cv2.rotate(gray, _QUARTER_TURNS[degrees % 360]))


def rotate(gray: GrayImage, angle_deg: float) -> GrayImage:
    """Rotate about the centre by ``angle_deg`` (counter-clockwise positive), same shape, edges replicated."""
    if abs(angle_deg) < MIN_ROTATION_DEG:
        return gray
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
    return as_gray(cv2.warpAffine(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))


def tight_box(ink: GrayImage) -> tuple[int, int, int, int] | None:
    """``(x, y, w, h)`` of the ink (ink = 255) in a binary image, or None when there is none."""
    points = cv2.findNonZero(ink)
    if points is None:
        return None
    x, y, w, h = cv2.boundingRect(points)
    return int(x), int(y), int(w), int(h)


def joined_to(ink: NDArray[np.bool_], extra: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The pixels of ``extra`` 8-connected to ``ink``, directly or through other pixels of ``extra``.

    Both masks have one shape; only the bounding box of their union is labelled.
    """
    union = ink | extra
    joined = np.zeros_like(extra)
    rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
    if rows.size == 0 or not extra.any():
        return joined
    window = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
    _, labels = cv2.connectedComponents(union[window].astype(np.uint8), connectivity=8)
    touching = np.unique(labels[ink[window]])
    joined[window] = extra[window] & np.isin(labels, touching[touching > 0])
    return joined
