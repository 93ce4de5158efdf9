"""Every kind of synthetic non-digit draws ink and normalises into a frame."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.nondigits import GENERATORS, nondigit_sample


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_each_kind_makes_a_normalised_crop(kind: str) -> None:
    rng = np.random.default_rng(0)
    digits = np.zeros((3, 28, 28), np.uint8)
    digits[:, 6:22, 12:16] = 255  # a stand-in digit for halves and pairs
    for _ in range(10):
        out = nondigit_sample(rng, digits, kind)
        assert out.shape == (28, 28) and out.max() > 0.5
