"""Field finding in line, digit and page modes on images drawn in code."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from segmentation.errors import InvalidInput
from segmentation.fields import digit_field, line_field

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _string_image(background: np.ndarray, text: str, *, guide_y: int | None) -> np.ndarray:
    """Draw ``text`` in thick dark strokes on ``background`` (modified copy), optionally over a guide line."""
    image = background.copy()
    if guide_y is not None:
        cv2.line(image, (5, guide_y), (image.shape[1] - 5, guide_y), 60, 2)
    for i, ch in enumerate(text):
        cv2.putText(image, ch, (20 + 60 * i, 92), FONT, 2.2, 20, 6)
    return image


def _digits_only(text: str, shape: tuple[int, int]) -> np.ndarray:
    """The same digits drawn alone, as an ink mask (ink = 255)."""
    image = _string_image(np.full(shape, 255, np.uint8), text, guide_y=None)
    return np.where(image < 128, 255, 0).astype(np.uint8)


def _textured(shape: tuple[int, int]) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    image = np.full(shape, 238, np.uint8)
    image[np.sin(xx / 3.0 + yy / 5.0) > 0.5] = 205
    image[(xx + 2 * yy) % 17 == 0] = 195
    return image


@pytest.mark.parametrize("background", ["plain", "textured"])
def test_line_field_keeps_digits_and_drops_guide_line(background: str) -> None:
    shape = (130, 480)
    paper = np.full(shape, 240, np.uint8) if background == "plain" else _textured(shape)
    text = "402719"
    image = _string_image(paper, text, guide_y=110)

    field = line_field(image)

    page_ink = np.zeros(shape, np.uint8)
    page_ink[field.box.y : field.box.y2, field.box.x : field.box.x2] = field.ink
    expected = _digits_only(text, shape)
    found_digits = np.count_nonzero(page_ink & expected) / np.count_nonzero(expected)
    assert found_digits > 0.95
    # The guide line at y=110 is gone: no ink below the digits' baseline region except stubs.
    assert np.count_nonzero(page_ink[105:116]) < 0.1 * 2 * (shape[1] - 10)
    # Nothing of the background texture: extra ink is at most the digits' anti-aliased edge.
    extra = np.count_nonzero(page_ink & ~expected)
    assert extra < 0.1 * np.count_nonzero(expected)
    assert field.kind == "free"
    assert field.ink.shape == (field.box.h, field.box.w)


def test_line_field_box_is_tight() -> None:
    image = np.full((100, 300), 250, np.uint8)
    cv2.rectangle(image, (40, 30), (70, 80), 0, -1)
    field = line_field(image)
    assert field.box.to_list() == [40, 30, 31, 51]


def test_digit_field_same_binary_for_any_colour_pair() -> None:
    def draw(ink: int, paper: int) -> np.ndarray:
        image = np.full((160, 140), paper, np.uint8)
        cv2.putText(image, "4", (25, 130), FONT, 4.0, ink, 14)
        return image

    black_on_white = digit_field(draw(0, 255))
    white_on_black = digit_field(draw(255, 0))
    # Yellow (R=G=255, B=0) on blue (B=255) after BGR->gray.
    yellow = int(cv2.cvtColor(np.array([[[0, 255, 255]]], np.uint8), cv2.COLOR_BGR2GRAY)[0, 0])
    blue = int(cv2.cvtColor(np.array([[[255, 0, 0]]], np.uint8), cv2.COLOR_BGR2GRAY)[0, 0])
    yellow_on_blue = digit_field(draw(yellow, blue))

    assert black_on_white.box == white_on_black.box == yellow_on_blue.box
    assert np.array_equal(black_on_white.ink, white_on_black.ink)
    assert np.array_equal(black_on_white.ink, yellow_on_blue.ink)
    assert black_on_white.ink.max() == 255
    assert black_on_white.cells == (black_on_white.box,)


@pytest.mark.parametrize("level", [0, 128, 255])
def test_digit_field_empty_image_is_invalid(level: int) -> None:
    rng = np.random.default_rng(level)
    image = np.clip(level + rng.normal(0, 6, (64, 64)), 0, 255).astype(np.uint8)
    with pytest.raises(InvalidInput, match="no ink found"):
        digit_field(image)


def test_line_field_blank_is_invalid() -> None:
    with pytest.raises(InvalidInput, match="no ink found"):
        line_field(np.full((80, 300), 230, np.uint8))
