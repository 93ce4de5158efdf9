"""Distortions keep a readable digit, are reproducible, and the degraded set is deterministic."""

from __future__ import annotations

import cv2
import numpy as np

from recognition.augment import DEGRADED, degrade_set, distort_digit, distort_or_retry


def _mnist_like(label: str = "3") -> np.ndarray:
    canvas = np.zeros((56, 56), np.uint8)
    cv2.putText(canvas, label, (10, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.8, 255, 5, cv2.LINE_AA)
    return cv2.resize(canvas, (28, 28), interpolation=cv2.INTER_AREA)


def test_distorted_digits_are_normalised_frames() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = distort_or_retry(_mnist_like(), rng, DEGRADED)
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert out.max() > 0.5
        rows = np.flatnonzero(out.max(axis=1) > 0.05)
        cols = np.flatnonzero(out.max(axis=0) > 0.05)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21  # the 20 px box, plus edge


def test_same_seed_same_distortion() -> None:
    a = distort_digit(_mnist_like(), np.random.default_rng(5))
    b = distort_digit(_mnist_like(), np.random.default_rng(5))
    c = distort_digit(_mnist_like(), np.random.default_rng(6))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_degraded_set_is_reproducible() -> None:
    images = np.stack([_mnist_like(str(d)) for d in range(10)])
    assert np.array_equal(degrade_set(images), degrade_set(images))
