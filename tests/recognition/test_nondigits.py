"""Every kind of synthetic non-digit draws ink and normalises into a frame."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.nondigits import GENERATORS, PRINTED_SIGNS, _typeface, nondigit_sample


@pytest.mark.parametrize("kind", sorted(GENERATORS))
def test_each_kind_makes_a_normalised_crop(kind: str) -> None:
    rng = np.random.default_rng(0)
    digits = np.zeros((3, 28, 28), np.uint8)
    digits[:, 6:22, 12:16] = 255  # a stand-in digit for halves and pairs
    for _ in range(10):
        out = nondigit_sample(rng, digits, kind)
        assert out.shape == (28, 28) and out.max() > 0.5


def test_printed_signs_are_glyphs_of_the_typeface() -> None:
    """A sign the typeface lacks prints as the same empty box as any other it lacks."""
    font = _typeface(48)
    signs = sorted(set(PRINTED_SIGNS))
    bitmaps = {bytes(np.asarray(font.getmask(s))) for s in signs}
    assert len(bitmaps) == len(signs)
    missing = {bytes(np.asarray(font.getmask(s))) for s in ("\u20b9", "\u20aa")}  # rupee and shekel signs: absent
    assert not bitmaps & missing
