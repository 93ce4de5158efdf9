"""Contract tests of the one input normaliser shared by training and inference."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from recognition.normalise import _drop_specks, _ink_levels, normalise_digit
from segmentation.errors import InvalidInput


def _digit(text: str = "7", size: int = 120, thickness: int = 8) -> np.ndarray:
    """Dark ink on light paper, like a scan: a digit drawn with a Hershey font."""
    image = np.full((size, size), 235, np.uint8)
    cv2.putText(
        image, text, (size // 5, size * 4 // 5), cv2.FONT_HERSHEY_SIMPLEX, size / 40, 20, thickness, cv2.LINE_AA
    )
    return image


def _bbox(image: np.ndarray, level: float = 0.0) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(image.max(axis=1) > level)
    cols = np.flatnonzero(image.max(axis=0) > level)
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    ys, xs = np.indices(image.shape)
    return float((ys * image).sum() / total), float((xs * image).sum() / total)


def test_output_is_28x28_float_ink_bright() -> None:
    out = normalise_digit(_digit())
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert out.max() == pytest.approx(1.0, abs=0.05)
    assert out[0].max() == 0.0 and out[:, 0].max() == 0.0  # background is 0


def test_polarity_is_detected_either_way() -> None:
    dark_on_light = _digit("3")
    light_on_dark = 255 - dark_on_light
    a = normalise_digit(dark_on_light)
    b = normalise_digit(light_on_dark)
    assert np.abs(a - b).mean() < 0.01


def test_known_polarity_of_binary_masks() -> None:
    mask = np.zeros((50, 30), np.uint8)
    cv2.line(mask, (15, 5), (15, 45), 255, 4)
    out = normalise_digit(mask, ink_is_bright=True)
    top, bottom, _, _ = _bbox(out)
    assert bottom - top + 1 == 20


def test_longer_side_fits_20_pixels_keeping_aspect() -> None:
    wide = np.full((40, 200), 255, np.uint8)
    cv2.rectangle(wide, (10, 15), (190, 24), 0, -1)  # a dash 181 x 10
    out = normalise_digit(wide)
    top, bottom, left, right = _bbox(out, 0.5)
    assert right - left + 1 == 20
    assert 1 <= bottom - top + 1 <= 2  # 10/181 of 20 px, rounded


def test_centre_of_mass_is_at_14_14() -> None:
    out = normalise_digit(_digit("7"))
    cy, cx = _centre_of_mass(out)
    assert abs(cy - 14.0) <= 0.5 and abs(cx - 14.0) <= 0.5


def test_size_and_stroke_width_do_not_change_the_shape_much() -> None:
    small = normalise_digit(_digit("5", size=60, thickness=4))
    large = normalise_digit(_digit("5", size=240, thickness=16))
    assert np.abs(small - large).mean() < 0.08


def test_colour_input_is_converted() -> None:
    gray = _digit("2")
    colour = cv2.merge([gray, gray, np.full_like(gray, 255)])
    out = normalise_digit(colour)
    assert out.shape == (28, 28) and out.max() > 0.9


def test_background_noise_does_not_shrink_the_digit() -> None:
    rng = np.random.default_rng(1)
    clean = _digit("4")
    noisy = np.clip(clean.astype(np.float32) + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    noisy[rng.random(clean.shape) < 0.002] = 0  # pepper specks away from the digit
    a, b = normalise_digit(clean), normalise_digit(noisy)
    assert _bbox(b, 0.3) == pytest.approx(_bbox(a, 0.3), abs=2)


def test_normalising_twice_changes_nothing() -> None:
    once = normalise_digit(_digit("8"))
    twice = normalise_digit((once * 255).astype(np.uint8), ink_is_bright=True)
    assert np.abs(twice - once).mean() < 0.01


def test_mnist_digits_come_back_unchanged(mnist_dir: Path) -> None:
    from recognition.mnist import load_split

    digits = load_split(mnist_dir, "t10k").images[:200]
    out = np.stack([normalise_digit(d, ink_is_bright=True) for d in digits])
    assert np.abs(out * 255 - digits).mean() < 1.0


@pytest.mark.parametrize(
    ("crop", "message"),
    [
        (np.zeros((0, 0), np.uint8), "empty"),
        (np.zeros((1, 1), np.uint8), "single pixel"),
        (np.full((30, 30), 200, np.uint8), "no ink"),
        (np.zeros((4, 4, 4, 4), np.uint8), "2-D"),
    ],
)
def test_unusable_crops_raise_clear_errors(crop: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        normalise_digit(crop)


def test_faint_texture_without_ink_is_no_ink() -> None:
    rng = np.random.default_rng(0)
    texture = (200 + rng.integers(0, 10, (40, 40))).astype(np.uint8)
    with pytest.raises(InvalidInput, match="no ink"):
        normalise_digit(texture)


@pytest.mark.parametrize("seed", range(6))
def test_ink_levels_are_the_background_mean_and_the_inks_90th_percentile(seed: int) -> None:
    """The histogram's arithmetic against the pixels indexed out directly (few and many ink pixels)."""
    rng = np.random.default_rng(seed)
    gray = rng.integers(0, 120, (30, 40), dtype=np.uint8)
    ink = rng.random(gray.shape) < (0.01 if seed % 2 else 0.3)
    gray[ink] = rng.integers(121, 256, int(ink.sum()), dtype=np.uint8)
    values = gray[gray > 120]
    background, peak = _ink_levels(gray, 120.0)
    assert background == float(np.mean(gray[gray <= 120]))
    rank = values.size - 1 if values.size < 20 else int(0.9 * values.size)
    assert peak == float(np.partition(values, rank)[rank])


def test_ink_levels_refuse_a_crop_that_is_all_ink_or_all_background() -> None:
    with pytest.raises(InvalidInput, match="no ink"):
        _ink_levels(np.full((5, 5), 200, np.uint8), 100.0)
    with pytest.raises(InvalidInput, match="no ink"):
        _ink_levels(np.full((5, 5), 50, np.uint8), 100.0)


def test_specks_are_dropped_and_the_digit_kept() -> None:
    mask = np.zeros((40, 40), np.uint8)
    cv2.circle(mask, (20, 20), 12, 255, 3)
    lone = mask.copy()
    mask[2, 2] = mask[37, 37] = 255  # dust: one pixel each
    cv2.circle(mask, (20, 20), 4, 255, -1)  # a dot inside the ring: its own piece, big enough to stay
    kept = _drop_specks(mask)
    assert kept[2, 2] == 0 and kept[37, 37] == 0
    assert kept[20, 20] == 255
    assert np.array_equal(kept[lone > 0], lone[lone > 0])
    assert _drop_specks(lone) is lone  # one piece: nothing to do
