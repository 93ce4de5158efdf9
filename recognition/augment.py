"""Training-time distortions of MNIST digits, and the degraded test set built from them.

Real handwriting from forms differs from MNIST in slant, stroke width, pen, scanner
noise, broken strokes and tight cuts. Each distortion here works on an ink-bright
uint8 image (ink = 255) at twice MNIST's resolution, and every sample ends in the same
:func:`recognition.normalise.normalise_digit` used at inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from recognition.normalise import normalise_digit
from segmentation.cleanup import as_gray
from segmentation.errors import InvalidInput

UPSCALE = 2
MARGIN = 8  # pixels of padding at MNIST scale, so rotations do not clip ink


@dataclass(frozen=True, slots=True)
class Distortions:
    """Probabilities and ranges of each distortion. Defaults are the training mix."""

    p_affine: float = 0.85
    rotate_deg: float = 12.0
    shear: float = 0.35  # slant, as x-shear per unit of height
    scale_range: tuple[float, float] = (0.8, 1.2)  # independent x and y scale: aspect changes
    p_elastic: float = 0.3
    elastic_alpha: float = 5.0
    elastic_sigma: float = 5.0
    p_thickness: float = 0.35
    p_broken: float = 0.12
    p_border_cut: float = 0.1
    max_cut: float = 0.12
    p_blur: float = 0.15
    p_noise: float = 0.3
    noise_sigma: float = 25.0


# The degraded copy of MNIST test: every sample gets several distortions at once.
DEGRADED = Distortions(
    p_affine=1.0,
    rotate_deg=15.0,
    shear=0.45,
    scale_range=(0.7, 1.3),
    p_elastic=0.6,
    elastic_alpha=7.0,
    p_thickness=0.6,
    p_broken=0.35,
    p_border_cut=0.25,
    max_cut=0.15,
    p_blur=0.4,
    p_noise=0.8,
    noise_sigma=40.0,
)


def _enlarge(digit: NDArray[np.uint8]) -> NDArray[np.uint8]:
    padded = cv2.copyMakeBorder(digit, MARGIN, MARGIN, MARGIN, MARGIN, cv2.BORDER_CONSTANT, value=0)
    size = padded.shape[0] * UPSCALE
    return as_gray(cv2.resize(padded, (size, size), interpolation=cv2.INTER_LINEAR))


def _affine(image: NDArray[np.uint8], d: Distortions, rng: np.random.Generator) -> NDArray[np.uint8]:
    h, w = image.shape
    angle = np.deg2rad(rng.uniform(-d.rotate_deg, d.rotate_deg))
    shear = rng.uniform(-d.shear, d.shear)
    sx, sy = rng.uniform(*d.scale_range), rng.uniform(*d.scale_range)
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    centre = np.array([w / 2, h / 2])
    offset = centre - linear @ centre
    matrix = np.hstack([linear, offset[:, None]]).astype(np.float32)
    return as_gray(cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0))


def _elastic(image: NDArray[np.uint8], d: Distortions, rng: np.random.Generator) -> NDArray[np.uint8]:
    h, w = image.shape
    sigma = d.elastic_sigma * UPSCALE
    alpha = d.elastic_alpha * UPSCALE
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), sigma)
    norm = max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = np.asarray(grid_x + dx / norm * alpha, dtype=np.float32)
    map_y = np.asarray(grid_y + dy / norm * alpha, dtype=np.float32)
    return as_gray(cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderValue=0))


def _thickness(image: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    size = int(rng.integers(2, 5))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    if rng.random() < 0.6:
        return as_gray(cv2.dilate(image, kernel))
    thinner = as_gray(cv2.erode(image, kernel))
    # Never erase the digit: keep the original when erosion removes most of the ink.
    return thinner if np.count_nonzero(thinner > 128) > 0.35 * np.count_nonzero(image > 128) else image


def _break_strokes(image: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    out = image.copy()
    _h, w = image.shape
    ys, xs = np.nonzero(image > 128)
    if ys.size == 0:
        return out
    for _ in range(int(rng.integers(1, 3))):
        i = int(rng.integers(ys.size))
        angle = rng.uniform(0, np.pi)
        length = rng.uniform(0.15, 0.35) * w
        dx, dy = np.cos(angle) * length / 2, np.sin(angle) * length / 2
        p1 = (int(xs[i] - dx), int(ys[i] - dy))
        p2 = (int(xs[i] + dx), int(ys[i] + dy))
        cv2.line(out, p1, p2, 0, thickness=int(rng.integers(2, 5)))
    return out


def _border_cut(image: NDArray[np.uint8], d: Distortions, rng: np.random.Generator) -> NDArray[np.uint8]:
    ys, xs = np.nonzero(image > 64)
    if ys.size == 0:
        return image
    out = image.copy()
    side = int(rng.integers(4))
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    cut_y = int((y1 - y0) * rng.uniform(0.03, d.max_cut))
    cut_x = int((x1 - x0) * rng.uniform(0.03, d.max_cut))
    if side == 0:
        out[: y0 + cut_y] = 0
    elif side == 1:
        out[y1 - cut_y + 1 :] = 0
    elif side == 2:
        out[:, : x0 + cut_x] = 0
    else:
        out[:, x1 - cut_x + 1 :] = 0
    return out if np.count_nonzero(out > 128) > 0.6 * np.count_nonzero(image > 128) else image


def _noise(image: NDArray[np.uint8], d: Distortions, rng: np.random.Generator) -> NDArray[np.uint8]:
    h, w = image.shape
    ink = image.astype(np.float32) * rng.uniform(0.6, 1.0)
    background = rng.uniform(0, 50)
    # A smooth gradient stands in for uneven illumination and paper tint.
    gx, gy = np.meshgrid(np.linspace(-1, 1, w), np.linspace(-1, 1, h))
    gradient = (gx * rng.uniform(-1, 1) + gy * rng.uniform(-1, 1)) * rng.uniform(0, 20)
    noisy = ink + background + gradient + rng.normal(0, rng.uniform(3, d.noise_sigma), (h, w))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def distort_digit(
    digit: NDArray[np.uint8], rng: np.random.Generator, d: Distortions = Distortions()
) -> NDArray[np.float32]:
    """Distort one 28x28 ink-bright MNIST digit and normalise it again: (28, 28) float32 0..1."""
    image = _enlarge(digit)
    if rng.random() < d.p_affine:
        image = _affine(image, d, rng)
    if rng.random() < d.p_elastic:
        image = _elastic(image, d, rng)
    if rng.random() < d.p_thickness:
        image = _thickness(image, rng)
    if rng.random() < d.p_broken:
        image = _break_strokes(image, rng)
    if rng.random() < d.p_border_cut:
        image = _border_cut(image, d, rng)
    if rng.random() < d.p_blur:
        image = as_gray(cv2.GaussianBlur(image, (0, 0), rng.uniform(0.8, 2.0)))
    if rng.random() < d.p_noise:
        image = _noise(image, d, rng)
    return normalise_digit(image, ink_is_bright=True)


def distort_or_retry(
    digit: NDArray[np.uint8], rng: np.random.Generator, d: Distortions = Distortions(), tries: int = 4
) -> NDArray[np.float32]:
    """:func:`distort_digit`, drawing again when a draw erased the ink; the clean digit last."""
    for _ in range(tries):
        try:
            return distort_digit(digit, rng, d)
        except InvalidInput:
            continue
    return normalise_digit(digit, ink_is_bright=True)


def degrade_set(images: NDArray[np.uint8], seed: int = 2026) -> NDArray[np.float32]:
    """The degraded copy of a digit set (e.g. MNIST test): (N, 28, 28) float32, reproducible."""
    rng = np.random.default_rng(seed)
    return np.stack([distort_or_retry(img, rng, DEGRADED) for img in images])
